"""The package's imports follow the data flow: no cycles, no stage importing a later one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "wmgeom"

# Each layer may import its own and lower layers only (docs/design.md).
LAYERS = [
    {"errors"},
    {"io", "devices", "pca", "references", "cache", "validation"},
    {"config"},
    {"tasks"},
    {"stimuli", "models"},
    {"train"},
    {"record", "analysis", "data"},
    {"report"},
    {"studies"},
    {"cli"},
]
RANK = {name: k for k, layer in enumerate(LAYERS) for name in layer}
# Where a stage reads the one vocabulary (tasks/vocabulary.py) from a lower floor.
ALLOWED = {("stimuli", "tasks.vocabulary")}


def _module(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(parts) or "wmgeom"


def _imports(path: Path, modules: set[str]) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("wmgeom"):
            base = node.module.removeprefix("wmgeom").lstrip(".")
            for alias in node.names:
                name = f"{base}.{alias.name}".strip(".")
                out.add(name if name in modules else base)
        elif isinstance(node, ast.Import):
            out |= {a.name.removeprefix("wmgeom").lstrip(".") for a in node.names
                    if a.name.startswith("wmgeom")}
    return {m for m in out if m}


def _graph() -> dict[str, set[str]]:
    modules = {_module(p): p for p in SRC.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imp in _imports(path, set(modules)):
            # resolve to the longest module path that exists (``a.b.name`` → ``a.b``)
            parts = imp.split(".")
            for k in range(len(parts), 0, -1):
                cand = ".".join(parts[:k])
                if cand in modules and cand != name:
                    targets.add(cand)
                    break
        graph[name] = targets
    return graph


def test_every_module_is_in_a_layer():
    tops = {m.split(".")[0] for m in _graph() if m != "wmgeom"}
    assert tops <= set(RANK), f"modules outside the layer table: {tops - set(RANK)}"


def test_no_import_runs_against_the_data_flow():
    wrong = []
    for src, targets in _graph().items():
        if src == "wmgeom":
            continue
        for dst in targets:
            a, b = src.split(".")[0], dst.split(".")[0]
            if a == b or (a, dst) in ALLOWED:
                continue
            if RANK[b] > RANK[a]:
                wrong.append(f"{src} -> {dst}")
    assert not wrong, "imports against the data flow: " + ", ".join(sorted(wrong))


def test_no_import_cycle():
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
