"""The package's layout: which subpackages there are, and which way imports run.

Three layers, lowest first:

- the foundations at the top level: `config`, `models`, `store`, `kmeet` (and
  the package itself, for `__version__`). They import only each other;
- the parts, one subpackage each (mail/, invitations/, requests/, replies/,
  limits/, pacing/): they import the foundations and each other, and no two
  parts import each other, even through a third;
- `bridge.py`, which orders the steps, with the steps themselves (steps/, one
  small object each, which never import bridge.py: the cycle check says so)
  and the other top-level modules it calls (failpoints.py); then service/
  (the daemon, the command line), which runs the bridge, and `__main__`.

No import runs upward: a part never imports bridge.py or service/, a foundation
never imports a part. And there is no cycle between modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import kmeet_bridge

PACKAGE = Path(kmeet_bridge.__file__).parent
ROOT = PACKAGE.parent
NAME = "kmeet_bridge"

FOUNDATIONS = {NAME, f"{NAME}.config", f"{NAME}.models", f"{NAME}.store", f"{NAME}.kmeet"}
PARTS = {"mail", "invitations", "requests", "replies", "limits", "pacing"}
STEPS = "steps"
SERVICE = "service"
SUBPACKAGES = PARTS | {STEPS, SERVICE}


def modules() -> dict[str, Path]:
    """Every module of the package by its dotted name (a package by its __init__)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = modules()


def imports(name: str, path: Path) -> Iterator[str]:
    """The package's modules that `name` imports, anywhere in it (a function-level
    or TYPE_CHECKING import counts: it is a dependency all the same)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from a import b` imports the module a.b when there is one, else a.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            if target in MODULES and target != name:
                yield target


GRAPH = {name: set(imports(name, path)) for name, path in MODULES.items()}


def layer(name: str) -> tuple[int, str]:
    """(rank, group): an import may go to the same or a lower rank only."""
    pieces = name.split(".")
    if name in FOUNDATIONS:
        return 0, "foundations"
    if len(pieces) > 2 or (len(pieces) == 2 and (PACKAGE / pieces[1]).is_dir()):
        part = pieces[1]
        if part == SERVICE:
            return 3, f"{SERVICE}/"
        if part == STEPS:
            return 2, "bridge.py and its steps"
        return 1, f"{part}/"
    if name == f"{NAME}.__main__":
        return 4, "__main__"
    return 2, "bridge.py and its steps"


def test_the_subpackages_are_the_parts_of_the_bridge() -> None:
    found = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    assert found == SUBPACKAGES
    for subpackage in found:
        doc = ast.get_docstring(ast.parse((PACKAGE / subpackage / "__init__.py").read_text()))
        assert doc and len(doc) > 80, f"{subpackage}/__init__.py says what the part does"


def test_the_top_level_holds_the_bridge_and_its_foundations() -> None:
    top = {path.stem for path in PACKAGE.glob("*.py")}
    assert {"bridge", "config", "models", "store", "kmeet"} <= top


def test_no_import_runs_upward() -> None:
    upward = [
        f"{name} ({layer(name)[1]}) imports {target} ({layer(target)[1]})"
        for name, targets in sorted(GRAPH.items())
        for target in sorted(targets)
        if layer(target)[0] > layer(name)[0]
    ]
    assert upward == []


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of `graph` as a path that ends where it starts, or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_no_module_imports_itself_through_others() -> None:
    found = cycle(GRAPH)
    assert not found, " -> ".join(found)


def test_no_two_parts_import_each_other() -> None:
    def part(name: str) -> str | None:
        rank, group = layer(name)
        return group if rank == 1 else None

    between: dict[str, set[str]] = {}
    for name, targets in GRAPH.items():
        if source := part(name):
            between.setdefault(source, set())
            between[source] |= {t for target in targets if (t := part(target)) and t != source}
    found = cycle(between)
    assert not found, " -> ".join(found)


def test_the_checks_see_what_they_should() -> None:
    """The graph is read right: the checks above would fail on a wrong one."""
    assert f"{NAME}.pacing.health" in GRAPH[f"{NAME}.bridge"]
    assert f"{NAME}.requests.when" in GRAPH[f"{NAME}.requests.requests"]
    assert f"{NAME}.bridge" in GRAPH[f"{NAME}.service.cli"]
    assert f"{NAME}.steps.planning" in GRAPH[f"{NAME}.bridge"]
    assert layer(f"{NAME}.steps.planning") == layer(f"{NAME}.bridge")
    assert layer(f"{NAME}.requests.when.words") == (1, "requests/")
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) == []


def how_it_works() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("## How it works")
    end = readme.find("\n## ", start + 1)
    return readme[start : end if end > 0 else None]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_the_readme_names_every_module_where_it_lives(name: str) -> None:
    """README, "How it works": each subpackage and each module in its own row."""
    section = how_it_works()
    pieces = name.split(".")[1:]
    if not pieces or pieces[-1] in {"__init__", "__main__"}:
        return
    if len(pieces) == 1 and pieces[0] in SUBPACKAGES:
        assert f"`{pieces[0]}/`" in section, f"{pieces[0]}/ is not in the README"
        return
    if len(pieces) > 2:  # a package inside a part (requests/when/) is named as one
        assert f"`{pieces[-2]}/`" in section, f"{'/'.join(pieces[:-1])}/ is not in the README"
        return
    assert f"`{pieces[-1]}.py`" in section or f"`{pieces[-1]}/`" in section, (
        f"{'/'.join(pieces)} is not in the README's module table"
    )
