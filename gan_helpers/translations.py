"""Translations of the notebooks' prose, kept in step with the English.

Each notebook's translation is one file beside the notebooks, ``notebooks/<lang>/<notebook>.json``: for every
markdown cell, its id, the hash of the English it translates and the translation. A translated document
(the students' README, the glossary) is ``docs/<name>.<lang>.md`` whose first line names the English file and
its hash. When the English changes, its hash no longer matches and the translation is stale:
``python -m gan_helpers.translations status`` lists what to translate again (tests/test_translations.py
fails on it), and ``python -m gan_helpers.translations update`` adds the cells that have no translation yet.

The release (``python -m gan_helpers.student notebooks/ OUT --lang he``) puts each translation in place of
its English, right to left (:func:`right_to_left`). Code, identifiers, formulas and numbers stay as they are.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

#: The languages with a translation, and the direction of their script.
LANGUAGES = {"he": "rtl"}
#: How each translation starts the paragraph on where a notebook's outputs come from (the English is
#: ``student.OUTPUTS_NOTE``): the release leaves it out where it clears the outputs.
OUTPUTS_NOTES = {"he": "*הפלטים שלהלן"}
_DOC_HEADER = re.compile(r"^<!-- translates (\S+) sha256:([0-9a-f]{16}) -->\n")
_FENCE = re.compile(r"(^```.*?^```[ \t]*$)", re.S | re.M)


def english_hash(text: str) -> str:
    """The first 16 hex digits of the SHA-256 of ``text`` (trailing spaces and newlines ignored)."""
    normalised = "\n".join(line.rstrip() for line in text.strip().splitlines())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:16]


def check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"No translation into {lang!r}: the workbook has {', '.join(sorted(LANGUAGES))}. "
                         "Leave --lang out for English.")
    return lang


def translation_file(notebook: Path, lang: str) -> Path:
    notebook = Path(notebook)
    return notebook.parent / lang / f"{notebook.stem}.json"


def read(notebook: Path, lang: str) -> dict[str, dict]:
    """``{cell id: {"en_sha256": ..., "text": ...}}`` of a notebook's translation ({} when it has none)."""
    path = translation_file(notebook, lang)
    if not path.exists():
        return {}
    return {cell["id"]: cell for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]}


def markdown_cells(notebook: Path) -> list[tuple[str, str]]:
    """(id, source) of every markdown cell of a notebook, in order."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    return [(cell["id"], "".join(cell["source"])) for cell in cells if cell["cell_type"] == "markdown"]


def stale_cells(notebook: Path, lang: str) -> list[tuple[str, str]]:
    """(cell id, why) for each markdown cell whose translation is missing or translates other English."""
    translated = read(notebook, lang)
    found = []
    for cell_id, source in markdown_cells(notebook):
        entry = translated.get(cell_id)
        if entry is None or not entry.get("text", "").strip():
            found.append((cell_id, "no translation"))
        elif entry["en_sha256"] != english_hash(source):
            found.append((cell_id, "the English changed since it was translated"))
    return found


def translated_document(english: Path, lang: str) -> Path:
    return english.with_name(f"{english.stem}.{lang}{english.suffix}")


def document_status(english: Path, lang: str) -> str | None:
    """Why ``docs/<name>.<lang>.md`` is stale, or None when it translates ``english`` as it is now."""
    path = translated_document(english, lang)
    if not path.exists():
        return "no translation"
    match = _DOC_HEADER.match(path.read_text(encoding="utf-8"))
    if not match:
        return "its first line does not say what it translates (<!-- translates FILE sha256:HASH -->)"
    if match.group(2) != english_hash(english.read_text(encoding="utf-8")):
        return "the English changed since it was translated"
    return None


def document_text(english: Path, lang: str) -> str:
    """A translated document without its first line."""
    return _DOC_HEADER.sub("", translated_document(english, lang).read_text(encoding="utf-8"), count=1)


def right_to_left(markdown: str) -> str:
    """Markdown wrapped to render right to left in JupyterLab and on GitHub (``<div dir="rtl">``), with each
    fenced code block kept left to right."""
    body = _FENCE.sub(lambda m: f'<div dir="ltr">\n\n{m.group(1)}\n\n</div>', markdown.strip())
    return f'<div dir="rtl">\n\n{body}\n\n</div>\n'


def translate_notebook(notebook, source_path: Path, lang: str, transform=None) -> int:
    """Replace the markdown cells of ``notebook`` (an nbformat notebook read from ``source_path``) by their
    translations, right to left, in place; ``transform`` is applied to each translation first. Raises
    ValueError naming the stale cells; returns the count."""
    stale = stale_cells(source_path, lang)
    if stale:
        raise ValueError(f"{source_path.name}: {len(stale)} cell(s) lack an up-to-date {lang} translation "
                         f"(first: {stale[0][0]}, {stale[0][1]}). Run python -m gan_helpers.translations status.")
    translated = read(source_path, lang)
    count = 0
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and cell.get("id") in translated:
            text = translated[cell.id]["text"]
            cell.source = right_to_left(transform(text) if transform else text)
            count += 1
    return count


def update(notebook: Path, lang: str) -> int:
    """Add an empty entry for every markdown cell without one (in notebook order); keep every translation."""
    translated = read(notebook, lang)
    cells = []
    for cell_id, source in markdown_cells(notebook):
        entry = translated.get(cell_id) or {"id": cell_id, "en_sha256": english_hash(source), "text": ""}
        cells.append(entry)
    path = translation_file(notebook, lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"notebook": Path(notebook).name, "language": lang, "cells": cells},
                               ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return sum(1 for c in cells if not c["text"])


def documents(root: Path) -> list[Path]:
    """The English documents a release translates."""
    return [root / "docs" / "handout-README.md", root / "docs" / "glossary.md"]


def main(argv=None) -> int:
    import argparse

    from gan_helpers import PROJECT_ROOT

    parser = argparse.ArgumentParser(prog="python -m gan_helpers.translations", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("status", "update"),
                        help="status: list what to translate again; update: add entries for new cells")
    parser.add_argument("--lang", default="he", type=check_language)
    args = parser.parse_args(argv)
    notebooks = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))
    if args.command == "update":
        for notebook in notebooks:
            print(f"{notebook.name}: {update(notebook, args.lang)} cell(s) to translate")
        return 0
    stale = 0
    for notebook in notebooks:
        for cell_id, why in stale_cells(notebook, args.lang):
            stale += 1
            print(f"{notebook.name} cell {cell_id}: {why}")
    for english in documents(PROJECT_ROOT):
        why = document_status(english, args.lang)
        if why:
            stale += 1
            print(f"{translated_document(english, args.lang).relative_to(PROJECT_ROOT)}: {why} "
                  f"(its first line: <!-- translates {english.relative_to(PROJECT_ROOT)} "
                  f"sha256:{english_hash(english.read_text(encoding='utf-8'))} -->)")
    print(f"{stale} translation(s) to make or redo" if stale else f"every {args.lang} translation is up to date")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
