"""The Hebrew edition: every translation up to date with its English, keeping its code, formulas, links and
numbers; the release right to left."""

import json
import re
from pathlib import Path

import nbformat
import pytest

from gan_helpers import PROJECT_ROOT, student, translations

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))
LANG = "he"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_markdown_cell_has_an_up_to_date_translation(notebook):
    stale = translations.stale_cells(notebook, LANG)
    assert not stale, (f"{notebook.name}: {len(stale)} cell(s) to translate again, e.g. cell {stale[0][0]} "
                       f"({stale[0][1]}); python -m gan_helpers.translations status lists them")


@pytest.mark.parametrize("english", translations.documents(PROJECT_ROOT), ids=lambda p: p.name)
def test_every_translated_document_is_up_to_date(english):
    assert translations.document_status(english, LANG) is None, translations.translated_document(english, LANG)


def kept_parts(markdown: str) -> dict[str, list[str]]:
    """What a translation keeps as it is: inline code, formulas, link targets, fenced code, numbers."""
    code = re.findall(r"```.*?```", markdown, re.S)
    rest = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    return {"fenced code": code,
            "inline code": sorted(re.findall(r"`([^`\n]+)`", rest)),
            "formulas": sorted(re.findall(r"\$[^$\n]+\$", rest)),
            "link targets": sorted(re.findall(r"\]\(([^)\s]+)\)", rest)),
            "numbers": sorted(set(re.findall(r"\d+(?:[.,]\d+)*", re.sub(r"`[^`\n]+`|\$[^$\n]+\$|\]\([^)]*\)", " ",
                                                                          rest))))}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_translation_keeps_the_code_formulas_links_and_numbers_of_its_english(notebook):
    translated = translations.read(notebook, LANG)
    problems = []
    for cell_id, english in translations.markdown_cells(notebook):
        if cell_id not in translated:
            continue
        theirs, ours = kept_parts(english), kept_parts(translated[cell_id]["text"])
        problems += [f"cell {cell_id}: {kind} {sorted(set(theirs[kind]) ^ set(ours[kind]))[:4]}"
                     for kind in theirs if kind != "numbers" and theirs[kind] != ours[kind]]
        missing = set(theirs["numbers"]) - set(ours["numbers"])
        if missing:
            problems.append(f"cell {cell_id}: numbers missing {sorted(missing)[:6]}")
        if student.OUTPUTS_NOTE in english and translations.OUTPUTS_NOTES[LANG] not in translated[cell_id]["text"]:
            problems.append(f"cell {cell_id}: the outputs note does not start with {translations.OUTPUTS_NOTES[LANG]!r}")
    assert not problems, f"{notebook.name}:\n" + "\n".join(problems)


def test_a_changed_english_cell_makes_its_translation_stale(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# Title\nThe generator draws faces."),
                      nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_markdown_cell("A second cell.")]
    path = tmp_path / "09_demo.ipynb"
    nbformat.write(notebook, path)
    assert translations.update(path, LANG) == 2
    entries = json.loads((tmp_path / LANG / "09_demo.json").read_text())
    for entry, text in zip(entries["cells"], ["# כותרת\nהמחולל מצייר פנים.", "תא שני."]):
        entry["text"] = text
    (tmp_path / LANG / "09_demo.json").write_text(json.dumps(entries, ensure_ascii=False))
    assert translations.stale_cells(path, LANG) == []
    notebook.cells[2].source = "A second cell, changed."
    nbformat.write(notebook, path)
    first, second = (c.id for c in notebook.cells if c.cell_type == "markdown")
    assert translations.stale_cells(path, LANG) == [(second, "the English changed since it was translated")]
    assert translations.update(path, LANG) == 0  # a stale translation is kept for the translator to redo
    with pytest.raises(ValueError, match=f"1 cell.*{second}"):
        translations.translate_notebook(nbformat.read(path, as_version=4), path, LANG)
    notebook.cells.append(nbformat.v4.new_markdown_cell("A new cell."))
    nbformat.write(notebook, path)
    assert [why for _, why in translations.stale_cells(path, LANG)] == [
        "the English changed since it was translated", "no translation"]


def test_right_to_left_keeps_code_blocks_left_to_right():
    text = translations.right_to_left("שלום `x = 1`.\n\n```python\nprint(1)\n```\nסוף")
    assert text.startswith('<div dir="rtl">\n\n') and text.endswith("\n\n</div>\n")
    assert '<div dir="ltr">\n\n```python\nprint(1)\n```\n\n</div>' in text


def test_the_hebrew_handout_is_right_to_left_with_the_same_code(tmp_path):
    hebrew, english = tmp_path / "he", tmp_path / "en"
    student.write_release(PROJECT_ROOT / "notebooks", hebrew, lang=LANG)
    student.write_release(PROJECT_ROOT / "notebooks", english)
    for path in sorted((english / "notebooks").glob("*.ipynb")):
        ours = nbformat.read(hebrew / "notebooks" / path.name, as_version=4)
        theirs = nbformat.read(path, as_version=4)
        assert [c.source for c in ours.cells if c.cell_type == "code"] == [
            c.source for c in theirs.cells if c.cell_type == "code"], path.name
        markdown = [c.source for c in ours.cells if c.cell_type == "markdown"]
        assert all(s.startswith('<div dir="rtl">') for s in markdown), path.name
        assert all(re.search("[\u05d0-\u05ea]", s) for s in markdown), path.name
        assert not any(student.OUTPUTS_NOTE in s or translations.OUTPUTS_NOTES[LANG] in s for s in markdown)
    readme = (hebrew / "README.md").read_text(encoding="utf-8")
    assert readme.startswith('<div dir="rtl">') and "pip install -r requirements.txt" in readme
    assert "<!-- translates" not in readme
    assert re.search("[\u05d0-\u05ea]", (hebrew / "docs" / "glossary.md").read_text(encoding="utf-8"))
    assert json.loads((hebrew / "gan_helpers" / "edition.json").read_text()) == {"edition": "handout", "lang": LANG}
    # The package is the same as the English handout's.
    for path in sorted((english / "gan_helpers").rglob("*.py")):
        assert (hebrew / path.relative_to(english)).read_bytes() == path.read_bytes(), path.name
