"""The documents a newcomer reads: the README fits on two screens, its commands exist, no link is broken."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", ROOT / "BENCHMARKS.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_readme_fits_on_about_two_screens():
    assert len((ROOT / "README.md").read_bytes()) < 8 * 1024


def bash_commands(text: str) -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    return [line.split("#")[0].strip() for block in blocks for line in block.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def test_every_command_of_the_readme_is_one_the_command_line_knows():
    from gan_helpers import cli, grading, student

    parser = cli.build_parser()
    readme = (ROOT / "README.md").read_text()
    inline = re.findall(r"`(python -m gan_helpers[^`]*)`", readme)
    commands = [c.strip() for line in bash_commands(readme) + inline
                for c in re.split(r"&&", line) if "python -m gan_helpers" in c]
    assert len(commands) >= 4
    for command in commands:
        words = command[command.index("python -m"):].split()
        module = words[2]
        args = words[3:]
        if module == "gan_helpers.student":
            with pytest.raises(SystemExit) as exit_:
                student.main(["--help"])
            assert exit_.value.code == 0 and len(args) == 2, command
            continue
        if module == "gan_helpers.grading":
            with pytest.raises(SystemExit) as exit_:
                grading.main([args[0], "--help"])
            assert exit_.value.code == 0 and len(args) == 2, command
            continue
        assert module == "gan_helpers", command
        with pytest.raises(SystemExit) as exit_:
            parser.parse_args([args[0], "--help"])
        assert exit_.value.code == 0, command
        flags = [a for a in args if a.startswith("--")]
        known = {o for a in parser._subparsers._group_actions[0].choices[args[0]]._actions for o in a.option_strings}
        assert set(flags) <= known, (command, set(flags) - known)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_relative_link_leads_to_a_file(document):
    text = document.read_text()
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    broken = [link for link in links if not link.startswith(("http://", "https://", "mailto:"))
              and not (document.parent / link).exists()]
    assert not broken, f"{document.name}: {broken}"


PHOTO_CALLS = ("read_image", "faces.images", "show_grid", "imshow", "plot_feature_maps")


@pytest.mark.parametrize("name", ["00_data", "01_discriminator"])
def test_no_committed_output_of_00_and_01_shows_an_lfw_photograph(name):
    """Every cell that draws faces from LFW is marked, and no marked cell keeps a picture in its outputs;
    a picture may come only from a cell that draws none of them (curves, tables)."""
    import nbformat

    from gan_helpers.notebook import PHOTO_NOTE, shows_lfw_photos

    notebook = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert any(shows_lfw_photos(cell) for cell in code)
    for cell in code:
        pictures = [o for o in cell.get("outputs", []) if any(k.startswith("image/") for k in o.get("data", {}))]
        if shows_lfw_photos(cell):
            assert not pictures, cell.source[:80]
        elif pictures:
            assert not any(call in cell.source for call in PHOTO_CALLS), f"unmarked cell draws faces: {cell.source[:80]}"
    notes = sum(o.get("text") == PHOTO_NOTE for cell in code for o in cell.get("outputs", []))
    outputs = sum(len(cell.get("outputs", [])) for cell in code)
    assert notes or not outputs  # committed with outputs: the photographs' places are marked


def test_stripping_keeps_the_text_and_replaces_each_picture(tmp_path):
    import nbformat

    from gan_helpers.notebook import PHOTO_NOTE, strip_lfw_photos

    notebook = nbformat.v4.new_notebook()
    photo = nbformat.v4.new_code_cell("show faces", metadata={"workbook": {"shows_lfw": True}}, outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="13,233 faces\n"),
        nbformat.v4.new_output("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure>"})])
    curve = nbformat.v4.new_code_cell("plot curves", outputs=[
        nbformat.v4.new_output("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure>"})])
    notebook.cells = [photo, curve]
    nbformat.write(notebook, tmp_path / "n.ipynb")
    assert strip_lfw_photos(tmp_path / "n.ipynb") == 1
    after = nbformat.read(tmp_path / "n.ipynb", as_version=4)
    assert [o.get("text") for o in after.cells[0].outputs] == ["13,233 faces\n", PHOTO_NOTE]
    assert after.cells[1].outputs == curve.outputs


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebooks_prose_is_plain_and_links_the_glossary(notebook):
    from gan_helpers import prose

    count, mean, long = prose.summary(notebook)
    assert count > 30 and mean <= prose.MEAN_LIMIT, (
        f"{notebook.name}: {mean:.1f} words a sentence, over {prose.MEAN_LIMIT:g}: "
        "shorten sentences (python -m gan_helpers.prose lists them)")
    assert not long, f"{notebook.name}: sentences over {prose.LONGEST} words: {long}"
    first = "".join(next(c for c in prose.json.loads(notebook.read_text())["cells"]
                         if c["cell_type"] == "markdown")["source"])
    assert "](../docs/glossary.md)" in first, f"{notebook.name}: its title cell does not link docs/glossary.md"


def test_the_sentence_measure_counts_what_a_reader_reads():
    from gan_helpers import prose

    text = ("# 2. The critic\nThe critic is `f(x)`, e.g. a CNN with $k = 3$. It learns.\n\n"
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nx = 1. y = 2.\n```\n- one item\n- two items here\n")
    assert prose.sentences(text) == ["2. The critic", "The critic is X, eg a CNN with X.", "It learns.",
                                     "one item", "two items here"]
    assert [prose.words(s) for s in prose.sentences(text)] == [3, 9, 2, 2, 3]


def prose_of_every_document():
    """(name, text) of what a student or an instructor reads: README, docs/ (not the maintainers' lab notes
    nor translations), pretrained/README.md and the notebooks' markdown."""
    found = [(p.relative_to(ROOT).as_posix(), p.read_text()) for p in
             [ROOT / "README.md", ROOT / "pretrained" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
             if p.name != "lab-notes.md" and not p.name.endswith(".he.md")]
    for notebook in NOTEBOOKS:
        cells = json.loads(notebook.read_text())["cells"]
        found.append((notebook.name, "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")))
    return found


def facts_stated(text, about, number):
    """Numbers matching ``number`` in the sentences of ``text`` that ``about`` accepts."""
    sentences = re.split(r"(?<=[.!?])\s+|\n\s*\n|\n(?=\|)", text)
    return {value for s in sentences if about(s) for value in re.findall(number, s)}


#: Facts stated in several places, each with its one source: the number that a sentence about it gives
#: elsewhere must be one that the source states.
FACTS = {
    "the bfloat16 speed-up": (lambda s: "bfloat16" in s, r"(\d+\.\d+)x", ["BENCHMARKS.md"]),
    "the shipped generator's SWD": (
        lambda s: ("generator.keras" in s or "shipped generator" in s) and "wgan" not in s.lower(),
        r"SWD\D{0,12}(\d+\.\d)", ["BENCHMARKS.md", "pretrained/README.md"]),
}


@pytest.mark.parametrize("fact", FACTS)
def test_each_fact_has_one_value_everywhere(fact):
    about, number, sources = FACTS[fact]
    stated = {value for source in sources for value in re.findall(number, (ROOT / source).read_text())}
    others = []
    for name, text in prose_of_every_document():
        if name in sources:
            continue
        others += [(name, value) for value in sorted(facts_stated(text, about, number) - stated)]
    assert not others, f"{fact}: values that {', '.join(sources)} do not state: {others}"


def test_the_one_value_test_finds_a_second_value():
    about, number, _ = FACTS["the bfloat16 speed-up"]
    assert facts_stated("In bfloat16 the step is about 1.6x faster. Unrelated: 3.5x.", about, number) == {"1.6"}
