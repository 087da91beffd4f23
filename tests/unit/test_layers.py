"""The stack only points down, and nothing imports in a circle (README, Architecture).

Read from the AST of every module under stilt_cli/, imports inside functions included (most cross-layer
imports are lazy). A module may import from its own layer or below; packages side by side in one layer
(evaluation and retrieval, ...) may import each other, but never both ways; no module imports itself
back through others. The layer order is the data below: a new package of `core/` must be placed in it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

import stilt_cli

# bottom to top; the root layer is stilt_cli/__init__.py and the modules directly in core/ (errors, atomic,
# textio, hashing, libs, console, records, device, hub, checkpoint, modelcard, latex)
LAYERS: list[set[str]] = [
    {"root"},
    {"tasks"},
    {"data", "demo"},  # demo/ builds data
    {"encoders"},
    {"model"},  # what training, evaluation and retrieval share: encoder + heads, collation, prediction, metrics
    {"training"},
    {"evaluation", "retrieval"},  # side by side
    {"analysis", "planning"},  # planning: compute planning (uses encoder families and the device)
    {"commands", "cli", "docgen", "bench", "__main__"},  # the top: may import anything below
]
RANK = {name: i for i, names in enumerate(LAYERS) for name in names}
ROOT = Path(stilt_cli.__file__).parent

Graph = dict[str, set[str]]


def part_of(module: str) -> str:
    """The layer entry a module belongs to: its package under core/, the root, or the top-level name."""
    parts = module.split(".")
    if len(parts) == 1:
        return "root"
    if parts[1] == "core":
        if len(parts) == 2 or not (ROOT / "core" / parts[2]).is_dir():
            return "root"
        return parts[2]
    return parts[1]


def module_names(root: Path = ROOT) -> dict[str, Path]:
    out = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports_of(module: str, source: str, is_package: bool, known: Iterable[str]) -> set[str]:
    """The stilt_cli modules `module` imports anywhere in its source (functions and TYPE_CHECKING included)."""
    known = set(known)
    package = module if is_package else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "stilt_cli"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.split(".")[0] != "stilt_cli":
                continue
            for alias in node.names:
                full = f"{name}.{alias.name}"
                found.add(full if full in known else name)
    return {m for m in found if m != module}


def graph(root: Path = ROOT) -> Graph:
    names = module_names(root)
    return {m: imports_of(m, p.read_text(encoding="utf-8"), p.name == "__init__.py", names) for m, p in names.items()}


def upward(g: Graph) -> list[str]:
    """Imports from a layer above the importer's own."""
    out = []
    for module, targets in g.items():
        for target in targets:
            here, there = part_of(module), part_of(target)
            if there not in RANK or here not in RANK:
                out.append(f"{module if here not in RANK else target}: its package is in no layer (add it to LAYERS)")
            elif RANK[there] > RANK[here]:
                out.append(f"{module} ({here}) imports {target} ({there}), a layer above")
    return sorted(set(out))


def cycles(g: Graph) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in sorted(g):
        if start in index:
            continue
        work = [(start, iter(sorted(g.get(start, ()))))]
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
                    work.append((child, iter(sorted(g.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def package_graph(g: Graph) -> Graph:
    """Imports between the packages of `core/` (and the top-level parts), as one arrow per pair."""
    out: Graph = {}
    for module, targets in g.items():
        for target in targets:
            a, b = part_of(module), part_of(target)
            if a != b:
                out.setdefault(a, set()).add(b)
    return out


def knots(g: Graph) -> list[str]:
    problems = upward(g)
    problems += [f"import cycle: {' <-> '.join(c)}" for c in cycles(g)]
    problems += [f"packages import each other: {' <-> '.join(c)}" for c in cycles(package_graph(g))]
    return problems


def test_imports_only_point_down_and_nothing_imports_in_a_circle():
    problems = knots(graph())
    assert not problems, "\n".join(problems)


def test_the_layer_table_names_every_package_of_core():
    packages = {p.name for p in (ROOT / "core").iterdir() if (p / "__init__.py").is_file()}
    assert packages <= set(RANK), f"packages in no layer: {sorted(packages - set(RANK))}"


# each knot the redesign removed, put back as the import it was: the checker must refuse every one
KNOTS = {
    "evaluate <-> rank": [("stilt_cli.core.evaluation.evaluate", "stilt_cli.core.retrieval.rank"),
                          ("stilt_cli.core.retrieval.rank", "stilt_cli.core.evaluation.evaluate")],
    "checkpoint <-> modelcard": [("stilt_cli.core.modelcard", "stilt_cli.core.checkpoint")],
    "typology <-> udmorph": [("stilt_cli.core.analysis.udmorph", "stilt_cli.core.analysis.typology")],
    "gpu_check <-> gpu_cases": [("stilt_cli.bench.gpu_cases", "stilt_cli.bench.gpu_check")],
    "tasks -> training/config": [("stilt_cli.core.tasks", "stilt_cli.core.training.config")],
    "tasks -> data/langs": [("stilt_cli.core.tasks.describe", "stilt_cli.core.data.sources")],
    "data/hubdata -> encoders/hub": [("stilt_cli.core.data.hubdata", "stilt_cli.core.encoders.hub")],
    "device -> encoders/hub": [("stilt_cli.core.device", "stilt_cli.core.encoders.hub")],
    "modelcard -> tasks": [("stilt_cli.core.modelcard", "stilt_cli.core.tasks")],
    "training/loop -> evaluation": [("stilt_cli.core.training.loop", "stilt_cli.core.evaluation.evaluate")],
    "model/predict -> training/batching": [("stilt_cli.core.model.predict", "stilt_cli.core.training.batching")],
    "training/trainlog -> analysis/plots": [("stilt_cli.core.training.trainlog", "stilt_cli.core.analysis.plots")],
    "retrieval -> evaluation (evaluation -> retrieval exists)": [
        ("stilt_cli.core.retrieval.rank", "stilt_cli.core.evaluation.submission")],
}


@pytest.fixture(scope="module")
def real_graph() -> Graph:
    return graph()


@pytest.mark.parametrize("knot", list(KNOTS))
def test_the_checker_catches_each_knot_put_back(real_graph, knot):
    g = {m: set(t) for m, t in real_graph.items()}
    for source, target in KNOTS[knot]:
        assert source in g and target in g, (source, target)
        g[source].add(target)
    assert knots(g), f"the knot {knot} was not caught"


def test_an_import_inside_a_function_counts(real_graph):
    """A lazy import in a module of tasks/ reaching up into training/ is found from the source text alone."""
    source = "def settings(path):\n    from stilt_cli.core.training.config import resolve\n    return resolve\n"
    found = imports_of("stilt_cli.core.tasks.injected", source, False, real_graph)
    assert found == {"stilt_cli.core.training.config"}
    g = dict(real_graph, **{"stilt_cli.core.tasks.injected": found})
    assert any("stilt_cli.core.tasks.injected (tasks) imports stilt_cli.core.training.config" in p for p in knots(g))
