"""The documents a newcomer reads: the README fits on two screens, its commands exist, no link is broken."""

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
    from gan_helpers import cli, student

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
