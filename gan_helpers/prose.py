"""How long the notebooks' sentences are: the measure behind the plain-English rule (docs/maintainers.md).

``python -m gan_helpers.prose notebooks/*.ipynb`` prints each notebook's words per sentence and every sentence
over the limit, with its cell id. A sentence is what ends in ``.``, ``!`` or ``?`` before a space or the end of
a line; a heading, a list item and a table are not prose of that kind: a heading and a list item count as a
sentence each, a table and code count as nothing. Inline code and inline formulas count as one word each.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

#: The rule the notebooks keep (tests/test_docs.py): mean words per sentence and the longest one allowed.
MEAN_LIMIT, LONGEST = 18.0, 35

_ABBREVIATIONS = ("e.g.", "i.e.", "vs.", "etc.", "cf.", "Fig.", "approx.", "et al.")
_FENCE = re.compile(r"```.*?```", re.S)
_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)
_INLINE = re.compile(r"`[^`]*`|\$[^$\n]+\$")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_TAG = re.compile(r"<[^>]+>")
_END = re.compile(r"(?<=[.!?])[\"')*_]*\s+")


def sentences(markdown: str) -> list[str]:
    """The sentences of one markdown text (see the module's docstring for what counts)."""
    text = _FENCE.sub(" ", markdown)
    text = _DISPLAY_MATH.sub(" ", text)
    text = _INLINE.sub("X", text)
    text = _LINK.sub(r"\1", text)
    text = _TAG.sub(" ", text)
    for abbreviation in _ABBREVIATIONS:
        text = text.replace(abbreviation, abbreviation.replace(".", ""))
    chunks, headings, paragraph = [], [], []
    for line in text.splitlines():
        stripped = line.strip()
        starts_item = re.match(r"^([-*+]|\d+[.)])\s+", stripped)
        if not stripped or stripped.startswith("|") or stripped.startswith("#") or starts_item:
            chunks.append(" ".join(paragraph))
            paragraph = []
            if stripped.startswith("#"):
                chunks.append(None)
                headings.append(stripped.lstrip("#").strip())
            elif starts_item:
                paragraph = [stripped[starts_item.end():]]
            continue
        paragraph.append(stripped)
    chunks.append(" ".join(paragraph))
    found, heading = [], iter(headings)
    for chunk in chunks:
        if chunk is None:  # a heading is one sentence, whatever its dots ("2. The critic")
            found += [h for h in [next(heading)] if words(h)]
        else:
            found += [s.strip() for s in _END.split(chunk) if words(s)]
    return found


def words(sentence: str) -> int:
    """Words in a sentence: runs of letters or digits (a hyphenated word or a number counts once)."""
    return len(re.findall(r"[A-Za-z0-9\u0590-\u05FF][\w\u0590-\u05FF'’.,-]*", sentence))


def notebook_sentences(path) -> list[tuple[str, str]]:
    """Every sentence of a notebook's markdown cells, as (cell id, sentence)."""
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    return [(cell.get("id", "?"), s) for cell in cells if cell["cell_type"] == "markdown"
            for s in sentences("".join(cell["source"]))]


def summary(path) -> tuple[int, float, list[tuple[str, int, str]]]:
    """(sentences, mean words per sentence, [(cell id, words, sentence) over LONGEST])."""
    found = notebook_sentences(path)
    counts = [words(s) for _, s in found]
    mean = sum(counts) / len(counts) if counts else 0.0
    long = [(cell, n, s) for (cell, s), n in zip(found, counts) if n > LONGEST]
    return len(found), mean, long


def main(argv=None) -> int:
    paths = (argv if argv is not None else sys.argv[1:]) or sorted(Path("notebooks").glob("*.ipynb"))
    failed = False
    for path in paths:
        count, mean, long = summary(path)
        failed |= mean > MEAN_LIMIT or bool(long)
        print(f"{path}: {count} sentences, {mean:.1f} words each on average (limit {MEAN_LIMIT:g}), "
              f"{len(long)} over {LONGEST} words")
        for cell, n, sentence in long:
            print(f"  cell {cell}, {n} words: {sentence}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
