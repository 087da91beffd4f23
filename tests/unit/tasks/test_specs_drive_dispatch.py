"""Tasks are data: what differs per task is a spec field, and no module outside core/tasks/ names a task."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from stilt_cli.core import tasks
from stilt_cli.core.errors import UsageError
from stilt_cli.core.tasks.benchmarks import benchmark
from stilt_cli.core.tasks.spec import TaskSpec

PACKAGE = Path(__file__).resolve().parents[3] / "stilt_cli"


def _declared() -> dict[str, set[str]]:
    """Per module, the identifiers the specs declare as data — file formats (readers), hub row formats
    (hub mappers), QA scorers: a table keyed by one of them dispatches on a spec field, even where the
    word is spelled like a task (the `tatoeba` format, the `mlqa` scorer)."""
    files, rows, scorers = set(), set(), set()
    for spec in tasks.registry().values():
        files |= {entry.partition(":")[0] for patterns in spec.files.values()
                  for entry in ((patterns,) if isinstance(patterns, str) else patterns)}
        rows.add(spec.hub.get("rows"))
        scorers.add(spec.qa_scorer)
    return {"core/data/readers/__init__.py": files, "core/data/readers/hub_rows.py": rows,
            "core/model/metrics/qa.py": scorers}


def _is_task_name(node: ast.AST) -> bool:
    """`spec.name`, `x.task`, `task`, `name`: what holds a task name."""
    return (isinstance(node, ast.Attribute) and node.attr in ("name", "task")) or \
        (isinstance(node, ast.Name) and node.id in ("task", "name", "task_name"))


def _task_literals(tree: ast.AST, declared: frozenset[str] = frozenset()) -> list[tuple[int, str]]:
    """Task names compared with what holds a task name, or used as a dict key, subscript or in a
    comparison (a table keyed by task name) — unless `declared` for this module by the specs."""
    names = set(tasks.registry()) | set(tasks.ALIASES)
    found = []
    for node in ast.walk(tree):
        candidates: list[ast.AST] = []
        strict = False
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            strict = any(_is_task_name(o) for o in operands)
            candidates = operands + [e for c in node.comparators if isinstance(c, (ast.Tuple, ast.List, ast.Set))
                                     for e in c.elts]
        elif isinstance(node, ast.Dict):
            candidates = [k for k in node.keys if k is not None]
        elif isinstance(node, ast.Subscript):
            candidates = [node.slice]
        found += [(c.lineno, c.value) for c in candidates
                  if isinstance(c, ast.Constant) and isinstance(c.value, str) and c.value in names
                  and (strict or c.value not in declared)]
    return found


def test_no_module_outside_the_registry_dispatches_on_a_task_name():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith(("core/tasks/", "bench/")):  # the registry itself; benchmarks name their workloads
            continue
        declared = frozenset(_declared().get(relative, ()))
        offenders += [f"{relative}:{line}: {name!r}"
                      for line, name in _task_literals(ast.parse(path.read_text()), declared)]
    # the head type "mlm" and the MLM head's name are not task names, but they are spelled the same
    assert [o for o in offenders if not o.endswith("'mlm'")] == []


def test_the_dispatch_check_finds_a_task_name_comparison():
    old = ("def shape(spec):\n    if spec.name == 'tatoeba':\n        return 'index'\n"
           "    return {'bucc': 'pair'}[spec.name]\n")
    assert _task_literals(ast.parse(old)) == [(2, "tatoeba"), (4, "bucc")]


def test_benchmark_tables_come_from_the_specs():
    xtreme = benchmark("xtreme").categories
    assert xtreme == {"classification": ("xnli", "pawsx"), "structured": ("udpos", "panx"),
                      "qa": ("xquad", "mlqa", "tydiqa"), "retrieval": ("bucc", "tatoeba")}
    xtreme_r = benchmark("xtreme-r").categories
    assert xtreme_r["classification"] == ("xnli", "xcopa")
    assert set(xtreme_r["retrieval"]) == {"tatoeba", "mewsli-x", "lareqa"}
    assert all(benchmark(b).category_of(t) == tasks.get(t).category for b in ("xtreme", "xtreme-r")
               for t in benchmark(b).tasks)


def test_what_differs_per_task_is_a_spec_field():
    assert [tasks.get(t).retrieval for t in ("tatoeba", "bucc", "demo-parallel", "mewsli-x")] == \
        ["search", "mine", "search", "rank"]
    assert [tasks.get(t).prediction_shape for t in ("tatoeba", "bucc", "udpos", "xquad", "xnli", "xcopa")] == \
        ["index", "pair", "tags", "answer", "label", "label"]
    assert tasks.get("bucc").submission_folder == "bucc2018" and tasks.get("xnli").submission_folder == "xnli"
    assert tasks.get("mlqa").qa_scorer == "mlqa" and tasks.get("xquad").qa_scorer == "squad_v1"
    assert tasks.get("squad_v2").null_answers and not tasks.get("squad_v1").null_answers
    assert tasks.get("tatoeba").xtreme_layers == {"xlmr/24": 14} and tasks.get("bucc").xtreme_layers == {}


def _spec(**changes) -> TaskSpec:
    base = dict(name="my-task", title="mine", type="pair-classification", role="target", languages=("en", "de"),
                metrics=("accuracy",), splits={"test": "labelled"}, labels=("0", "1"))
    return TaskSpec(**{**base, **changes})


def test_register_checks_the_fields_the_pipeline_dispatches_on(monkeypatch):
    monkeypatch.setattr(tasks, "_registered", {})
    with pytest.raises(UsageError, match="a retrieval task needs retrieval = one of search, mine, rank"):
        tasks.register(_spec(type="retrieval"))
    with pytest.raises(UsageError, match="unknown qa_scorer 'squad3'"):
        tasks.register(_spec(type="qa", qa_scorer="squad3"))
    with pytest.raises(UsageError, match="task xnli is shipped with stilt"):
        tasks.register(_spec(name="xnli"))
    tasks.register(_spec())
    try:
        assert tasks.get("my-task").languages == ("en", "de")
    finally:
        tasks.registry.cache_clear()


def test_task_files_are_data_with_typo_checks(tmp_path, monkeypatch):
    good = tmp_path / "mine.toml"
    good.write_text('[[task]]\nname = "xnli-more"\ntitle = "XNLI, more languages"\ntype = "pair-classification"\n'
                    'role = "target"\nlanguages = ["en", "yo"]\nmetrics = ["accuracy"]\nlabels = ["entailment", '
                    '"neutral", "contradiction"]\n[task.splits]\ntrain = "labelled"\ntest = "labelled"\n'
                    '[task.files]\ntrain = ["pair-tsv:train-{lang}.tsv"]\ntest = ["pair-tsv:test-{lang}.tsv"]\n')
    monkeypatch.setenv("STILT_TASKS", str(good))
    tasks.registry.cache_clear()
    try:
        spec = tasks.get("xnli-more")
        assert spec.languages == ("en", "yo") and spec.files["test"] == ("pair-tsv:test-{lang}.tsv",)
        typo = tmp_path / "typo.toml"
        typo.write_text('[[task]]\nname = "x"\nlangauges = ["en"]\n')
        monkeypatch.setenv("STILT_TASKS", str(typo))
        tasks.registry.cache_clear()
        with pytest.raises(UsageError, match="unknown task spec field 'langauges' \\(did you mean 'languages'"):
            tasks.registry()
    finally:
        monkeypatch.delenv("STILT_TASKS")
        tasks.registry.cache_clear()
