"""The handout's side of the workbook: which edition a copy is, and the student's passed cells kept in it.

The release (``python -m gan_helpers.student``) writes ``gan_helpers/edition.json`` into the copy it
makes; a checkout of the repository has none and is the ``"repository"`` edition. In the **handout**
edition the package's exported regions start as the scaffolds the student sees, and a core exercise's
cell keeps its first line::

    #| export gan_helpers/models.py  # ...

When the check of that exercise passes, :func:`keep` copies the cell, as the student last ran it, into
that module's region (the export of :mod:`gan_helpers.export`, done from the kernel's input history
instead of the saved notebook). From then on the package runs the student's code: the later notebooks
build the student's discriminator and generator, and ``python -m gan_helpers train`` trains them.

In the other editions :func:`keep` does nothing: the repository's package is exported by the
maintainers (``python -m gan_helpers.export``), and the self-study and solutions editions carry the
workbook's own code.
"""

from __future__ import annotations

import ast
import builtins
import json
from pathlib import Path

from gan_helpers import PROJECT_ROOT

#: Written by the release into each copy's package; absent from the repository.
EDITION_FILE = Path(__file__).with_name("edition.json")
#: The repository itself, the default handout, the handout with the reference inside, the solutions.
EDITIONS = ("repository", "handout", "self-study", "solutions")


def edition() -> str:
    """This copy's edition: one of :data:`EDITIONS` (``"repository"`` without an edition file)."""
    try:
        name = json.loads(EDITION_FILE.read_text()).get("edition")
    except FileNotFoundError:
        return "repository"
    except (OSError, ValueError, AttributeError) as error:
        raise ValueError(f"{EDITION_FILE} is damaged ({error}); make the release again.") from None
    if name not in EDITIONS:
        raise ValueError(f"{EDITION_FILE} names the edition {name!r}; expected one of {', '.join(EDITIONS)}.")
    return name


def _name(obj) -> str:
    """The name a cell defines for ``obj``: a function's or a class's, or an instance's class."""
    return getattr(obj, "__name__", None) or type(obj).__name__


def _history() -> list[str]:
    """The raw source of the cells this kernel ran, oldest first (empty outside IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return []
    shell = get_ipython()
    if shell is None or getattr(shell, "history_manager", None) is None:
        return []
    return list(shell.history_manager.input_hist_raw)


def _top_level_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def problems(code: str, module_text: str) -> list[str]:
    """Why ``code`` cannot go into a module holding ``module_text``: statements that would run on every
    import, and names it uses that neither it nor the module defines."""
    tree = ast.parse(code)
    found = []
    for node in tree.body:
        allowed = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom, ast.Assign,
                   ast.AnnAssign)
        docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        if not isinstance(node, allowed) and not docstring:
            found.append(f"line {node.lineno} runs code at the cell's top level ({ast.unparse(node)[:60]}), which "
                         "the package would run on every import: keep only definitions and imports in this cell")
    defined = _top_level_names(tree) | _top_level_names(ast.parse(module_text)) | set(dir(builtins))
    local = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    local |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments)
              for a in n.posonlyargs + n.args + n.kwonlyargs + [n.vararg, n.kwarg] if a is not None}
    local |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.ExceptHandler))
              if n.name}
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    for name in sorted(used - defined - local):
        found.append(f"it uses `{name}`, which neither the cell nor the module defines: import it at the top of "
                     "the cell")
    return found


def find_cell(name: str, history=None, root=PROJECT_ROOT):
    """The last cell this kernel ran that starts with ``#| export`` and defines ``name``, as an
    :class:`gan_helpers.export.ExportedCell` (None when there is none)."""
    from gan_helpers import export

    for source in reversed(_history() if history is None else history):
        try:
            parsed = export.parse_cell(source, "your cell", root)
        except export.ExportError:
            continue
        if parsed and name in parsed[1]:
            return export.ExportedCell(Path("your notebook"), *parsed)
    return None


def _loaded_module(cell, root):
    import sys

    return sys.modules.get(".".join(cell.module.relative_to(Path(root).resolve()).with_suffix("").parts))


def _keep_old_source(path: Path, text: str) -> None:
    """Make this kernel read ``text`` as ``path``'s source from now on (``linecache``, without the file's
    time stamp, so it is never reloaded): the functions it has already loaded from ``path`` keep finding
    their own lines when TensorFlow's AutoGraph reads their source, though the file has changed."""
    import linecache

    entry = linecache.cache.get(str(path))
    if entry is not None and len(entry) == 4 and entry[1] is None:  # set by an earlier keep: the loaded source
        return
    linecache.cache[str(path)] = (len(text), None, text.splitlines(keepends=True), str(path))


def _update_loaded_module(cell, root) -> None:
    """Run ``cell.code`` in its module if this kernel has imported it, and point the module's classes and
    tables that held the old definitions at the new ones (``WGAN.penalty = penalty``, ``RULES``), so the
    checks and cells that follow in this kernel use the student's code without a restart."""
    import linecache

    module = _loaded_module(cell, root)
    if module is None:  # not imported yet: the next import reads the file
        return
    namespace = vars(module)
    before = {key: namespace.get(key) for key in cell.names}
    # A file name of its own, with the cell's lines, so that inspect (and AutoGraph) find the new code.
    source = f"<your cell: {', '.join(cell.names)}>"
    linecache.cache[source] = (len(cell.code), None, cell.code.splitlines(keepends=True), source)
    exec(compile(cell.code, source, "exec"), namespace)
    for key, old in before.items():
        new = namespace[key]
        if old is None or old is new:
            continue
        for value in list(namespace.values()):
            members = vars(value) if isinstance(value, type) else value if isinstance(value, dict) else {}
            for attribute, member in list(members.items()):
                if member is old:
                    if isinstance(value, type):
                        setattr(value, attribute, new)
                    else:
                        value[attribute] = new


def keep(*objects, history=None, root=PROJECT_ROOT) -> str | None:
    """In the handout, copy the cells that define ``objects`` (just passed their check) into the package.

    Prints one line: where the code went, or why it could not go there. Returns that line (None when
    there is nothing to do: another edition, no IPython kernel, no ``#| export`` cell, nothing changed).
    """
    if edition() != "handout":
        return None
    from gan_helpers import export

    done, message = set(), None
    for obj in objects:
        cell = find_cell(_name(obj), history, root)
        if cell is None or cell.key in done:
            continue
        done.add(cell.key)
        shown = cell.module.relative_to(Path(root).resolve()).as_posix() if cell.module.is_relative_to(
            Path(root).resolve()) else str(cell.module)
        try:
            old = cell.module.read_text()
            found = problems(cell.code, old)
            if not found:
                if _loaded_module(cell, root) is not None:
                    _keep_old_source(cell.module, old)  # what this kernel loaded stays readable
                changed = export.write_region(cell, header=False)
                _update_loaded_module(cell, root)
                if changed:
                    message = (f"Saved: your {cell.key} is now in {shown}; the later notebooks and "
                               "`python -m gan_helpers train` use it (restart their kernels to pick up a change).")
            else:
                message = f"Not saved into {shown}: {'; '.join(found)}. Then run the cell and its check again."
        except (OSError, export.ExportError) as error:
            message = f"Not saved into {shown}: {error}"
        if message:
            print(message)
    return message
