"""The package's layout: no import cycle between its modules, every module importable, none too long."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gan_helpers"
#: Modules allowed over 600 lines (none: a long module is split into a package of rooms).
LONG_ALLOWED = set()


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every gan_helpers module that ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("gan_helpers")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gan_helpers"):
            for alias in node.names:  # `from gan_helpers import data` imports the module gan_helpers.data
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if (PACKAGE.parent / candidate.replace(".", "/")).with_suffix(".py").exists()
                          or (PACKAGE.parent / candidate.replace(".", "/")).is_dir() else node.module)
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges = {}
    for name, path in modules.items():
        targets = {t for t in imports_of(path) if t in modules and t != name}
        # A package's __init__ is imported with any of its modules: it is not a cycle for a module of
        # a package to be re-exported by that package's __init__.
        edges[name] = {t for t in targets if not name.startswith(t + ".")}
    return edges


def find_cycle(edges):
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_module_imports_another_that_imports_it_back():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.slow
def test_every_module_imports_in_a_fresh_process():
    names = sorted(n for n in graph() if not n.endswith("__main__"))
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\nprint('ok')"
    result = subprocess.run([sys.executable, "-c", code, *names], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-2000:]


def test_no_module_is_longer_than_600_lines():
    long = {module_name(p): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 600 and module_name(p).split(".")[-1] not in LONG_ALLOWED}
    assert not long, f"split these modules into rooms: {long}"


def test_the_maintainers_page_lists_every_module():
    readme = (PACKAGE.parent / "docs" / "maintainers.md").read_text()
    rows = {line.split("|")[1].strip().strip("`"): line for line in readme.splitlines()
            if line.startswith("| `gan_helpers.")}
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        if name in ("gan_helpers", "gan_helpers.__main__"):
            continue
        parent, _, leaf = name.rpartition(".")
        if parent == "gan_helpers":
            assert name in rows, f"docs/maintainers.md's module table has no row for {name}"
        else:  # a room of a subpackage: named in its package's row
            assert f"`{leaf}`" in rows.get(parent, "") or leaf == "__init__", \
                f"docs/maintainers.md's row for {parent} does not name {leaf}"
