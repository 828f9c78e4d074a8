"""The package's layers (docs/architecture.md): no import circle, no arrow that runs back up.

Every ``import`` in ``src/hiddenvictims`` is read with ``ast`` (module level and inside
functions; ``if TYPE_CHECKING:`` blocks are annotations only and are skipped). A module may
import from its own layer or from the layers below it, never from a layer above; and the
graph of imports has no circle, within a layer or across.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "hiddenvictims"

#: Bottom to top. A module belongs to the first layer whose prefix matches its dotted name.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("core", ("hiddenvictims.core", "hiddenvictims.data")),
    ("inference", ("hiddenvictims.inference",)),
    ("families", ("hiddenvictims.families",)),
    ("studies", ("hiddenvictims.studies",)),
    ("scenarios", ("hiddenvictims.scenarios",)),
    ("report", ("hiddenvictims.report",)),
    (
        "entry",
        (
            "hiddenvictims.runner",
            "hiddenvictims.scenario_runner",
            "hiddenvictims.scenario_cli",
            "hiddenvictims.dryrun",
            "hiddenvictims.study",
            "hiddenvictims.cli",
        ),
    ),
)


#: Upward arrows known and waiting to be moved, each with its reason. Keep this empty: an entry
#: is a debt, not a permission.
KNOWN_UPWARD: frozenset[tuple[str, str]] = frozenset()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def layer_of(module: str) -> int:
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    if module == PACKAGE:
        return 0  # the package's own __init__ is empty: importing it costs nothing
    raise AssertionError(f"{module} is in no layer: add it to LAYERS and to docs/architecture.md")


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """Package modules that importing (or running a function of) ``module`` imports."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skip = _type_checking_lines(tree)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
    # importing a.b.c runs a/__init__ and a/b/__init__ first (unless the importer lives there)
    out: set[str] = set()
    for target in found:
        parts = target.split(".")
        for i in range(1, len(parts) + 1):
            name = ".".join(parts[:i])
            if name in known and not (module == name or module.startswith(name + ".")):
                out.add(name)
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {m: imports_of(m, p, known) for m, p in mods.items()}


def test_every_module_has_a_layer():
    for module in modules():
        layer_of(module)


def test_no_arrow_runs_back_up():
    upward = []
    for module, targets in graph().items():
        for target in sorted(targets):
            if layer_of(target) > layer_of(module) and (module, target) not in KNOWN_UPWARD:
                upward.append(f"{module} ({LAYERS[layer_of(module)][0]}) -> {target} ({LAYERS[layer_of(target)][0]})")
    assert not upward, "imports that run back up the layers:\n" + "\n".join(upward)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


#: Circles known and waiting to be broken, each with its reason (a debt, like KNOWN_UPWARD).
#: Keep this empty.
KNOWN_CIRCLES: frozenset[tuple[str, ...]] = frozenset()


def test_no_import_circle():
    cycles = [c for c in _cycles(graph()) if tuple(c) not in KNOWN_CIRCLES]
    assert not cycles, "import circles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ],
)
def test_cycle_finder_finds_circles(edges, expected):
    """The check itself can fail: a known circle is found, a chain is not a circle."""
    assert _cycles(edges) == expected


def test_walker_sees_function_level_and_relative_imports(tmp_path):
    pkg = tmp_path / "hiddenvictims"
    (pkg / "core").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "core" / "__init__.py").write_text("")
    (pkg / "core" / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..cli import x\n"
        "def f():\n    from ..report import y\n"
    )
    known = {"hiddenvictims", "hiddenvictims.core", "hiddenvictims.core.a", "hiddenvictims.report", "hiddenvictims.cli"}
    found = imports_of("hiddenvictims.core.a", pkg / "core" / "a.py", known)
    assert found == {"hiddenvictims.report"}
