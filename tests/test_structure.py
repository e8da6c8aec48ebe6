"""The shape of the code (issue 14): small modules, imports pointing downward only, no cycles.

Layers, lowest first (DESIGN §3): ``stats`` < ``rubrics``/``models``/``db`` < ``services`` <
``notify`` < ``web``/``cli`` < the package root (``create_app``). A module may import its own layer
or a lower one, never a higher one. Imports inside functions count too: deferring an import hides
a dependency, it does not remove it.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "calibration"
MAX_LINES = 600

#: The layer of each top-level part of the package (``calibration.<part>``); higher imports lower.
LAYERS: dict[str, int] = {
    "stats": 0,
    "rubrics": 1,
    "rubric_yaml": 1,  # part of the rubric loader
    "rubric_problems": 1,  # part of the rubric loader
    "models": 1,
    "db": 1,
    "services": 2,
    "demo": 2,  # data files for services.demo
    "notify": 3,
    "config": 4,  # the app's settings, read by create_app and the CLI
    "web": 4,
    "cli": 4,
}
ROOT_LAYER = 5  # calibration/__init__.py: create_app


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = importer.split(".")
    if not is_package:
        base.pop()
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(name: str, path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """The ``calibration`` modules ``name`` imports (anywhere in the file), with line numbers."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "calibration":
                    yield _nearest(alias.name, known), node.lineno
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(name, is_package, node)
            if target.split(".")[0] != "calibration":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield (sub if sub in known else _nearest(target, known)), node.lineno


def _nearest(dotted: str, known: set[str]) -> str:
    while dotted not in known and "." in dotted:
        dotted = dotted.rsplit(".", 1)[0]
    return dotted


def layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:
        return ROOT_LAYER
    return LAYERS[parts[1]]


def import_graph() -> dict[str, dict[str, int]]:
    found = modules()
    known = set(found)
    graph: dict[str, dict[str, int]] = {}
    for name, path in found.items():
        edges: dict[str, int] = {}
        for target, line in imports_of(name, path, known):
            if target != name:
                edges.setdefault(target, line)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, {})))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_over_600_lines() -> None:
    too_long = {
        str(path.relative_to(PACKAGE.parent)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert too_long == {}


def test_every_module_has_a_layer() -> None:
    assert [m for m in modules() if m != "calibration" and m.split(".")[1] not in LAYERS] == []


def test_no_import_cycles_and_no_upward_imports() -> None:
    graph = import_graph()
    upward = sorted(
        f"{src}:{line} imports {dst}"
        for src, edges in graph.items()
        for dst, line in edges.items()
        if layer(dst) > layer(src)
    )
    assert upward == []
    assert cycles(graph) == []


def test_every_name_in_all_exists() -> None:
    """The split modules re-export what moved out of them: every name they list must be there."""
    missing = []
    for name, path in modules().items():
        if "__all__" not in path.read_text(encoding="utf-8"):
            continue
        module = importlib.import_module(name)
        missing += [f"{name}.{item}" for item in getattr(module, "__all__", ()) if not hasattr(module, item)]
    assert missing == []


def test_moved_names_are_the_same_objects_in_their_old_home() -> None:
    """A caller importing from the old module gets exactly the moved object, not a copy."""
    from calibration import rubric_problems, rubrics
    from calibration.services import (
        anchor_files,
        anchor_queries,
        anchors,
        certification,
        certification_view,
        cohort_alpha,
        drift,
        drift_rules,
        drift_series,
        profiles,
        recalibration,
        recalibration_rounds,
        report_cache,
        reports,
        round_queries,
        rounds,
        score_rows,
        session_queries,
        sessions,
    )

    pairs = [
        (reports, score_rows),
        (reports, report_cache),
        (certification, certification_view),
        (rounds, round_queries),
        (sessions, session_queries),
        (drift, drift_series),
        (drift, drift_rules),
        (anchors, anchor_queries),
        (anchors, anchor_files),
        (recalibration, recalibration_rounds),
        (profiles, cohort_alpha),
        (rubrics, rubric_problems),
    ]
    for old, new in pairs:
        moved = [n for n in getattr(new, "__all__", dir(new)) if not n.startswith("_") and n in old.__all__]
        assert moved, (old.__name__, new.__name__)
        assert [n for n in moved if getattr(old, n) is not getattr(new, n)] == []


def test_the_graph_sees_imports_inside_functions(tmp_path: Path) -> None:
    """The checker itself: a deferred import is found and resolved like a top-level one."""
    source = "def f():\n    from ..web import views\n    from . import sibling\n"
    path = PACKAGE / "services" / "example.py"
    tree = ast.parse(source)
    found = set()
    known = {"calibration.web", "calibration.web.views", "calibration.services.sibling"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = _resolve("calibration.services.example", False, node)
            found |= {f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known}
    assert found == {"calibration.web.views", "calibration.services.sibling"}
    assert layer("calibration.web.views") > layer(module_name(path))


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b": 1}, "b": {"a": 1}}, [["a", "b"]]),
        ({"a": {"b": 1}, "b": {"c": 1}, "c": {}}, []),
        ({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}, [["a", "b", "c"]]),
    ],
)
def test_cycle_finder(graph: dict[str, dict[str, int]], expected: list[list[str]]) -> None:
    assert cycles(graph) == expected
