"""The task registry: every task stilt knows, by name, resolved lazily; unknown names get did-you-mean.

The specs shipped with stilt live in the data modules beside this file (`xtreme.py`, `intermediate.py`,
`demo.py`). A user's own tasks are data too: TOML or JSON files of TaskSpec fields named in
`STILT_TASKS` (paths separated by ':'), or `register(spec)` from Python.
"""

from __future__ import annotations

import dataclasses
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from stilt_cli.core.errors import UsageError, did_you_mean, unknown
from stilt_cli.core.tasks.spec import HEAD_OF_TYPE, QA_SCORERS, RETRIEVAL_MODES, TYPES, TaskSpec

ALIASES = {"xnli-mnli": "xnli", "paws-x": "pawsx", "pan-x": "panx", "wikiann": "panx", "squad": "squad_v1",
           "squad1": "squad_v1", "squad2": "squad_v2", "anli+": "anli_plus", "cosmos_qa": "cosmosqa",
           "csqa": "commonsenseqa", "bucc2018": "bucc", "bucc18": "bucc", "tydiqa-goldp": "tydiqa", "sst": "sst2",
           "mewslix": "mewsli-x", "xquad-r": "lareqa"}
MLM = "mlm"  # the continued-MLM pseudo-task (`--task mlm`, `--mlm-data`)


def check(spec: TaskSpec) -> TaskSpec:
    """The fields the pipeline dispatches on must hold values it knows."""
    where = f"task spec {spec.name!r}"
    if spec.type not in TYPES:
        raise UsageError(f"{where}: unknown type {spec.type!r}", f"types: {', '.join(TYPES)}")
    if spec.type == "retrieval" and spec.supported and spec.retrieval not in RETRIEVAL_MODES:
        raise UsageError(f"{where}: a retrieval task needs retrieval = one of {', '.join(RETRIEVAL_MODES)}")
    if spec.qa_scorer not in QA_SCORERS:
        raise UsageError(f"{where}: unknown qa_scorer {spec.qa_scorer!r}", f"scorers: {', '.join(QA_SCORERS)}")
    if not spec.metrics or not spec.splits or not (spec.languages or spec.type == "mlm"):
        raise UsageError(f"{where}: needs metrics, splits and languages (raw-text MLM: any language)")
    return spec


def from_data(data: dict[str, Any], where: str = "task spec") -> TaskSpec:
    """A spec from plain data (a TOML table or JSON object): lists become tuples, unknown fields are refused."""
    fields = {f.name: f for f in dataclasses.fields(TaskSpec)}
    unknown_fields = [k for k in data if k not in fields]
    if unknown_fields:
        raise UsageError(f"{where}: " + did_you_mean(unknown_fields[0], fields, "task spec field"),
                         f"fields: {', '.join(fields)}")
    values = {}
    for key, value in data.items():
        if key == "files":
            value = {split: tuple(patterns) for split, patterns in value.items()}
        elif isinstance(value, list):
            value = tuple(value)
        values[key] = value
    try:
        return check(TaskSpec(**values))
    except TypeError as exc:
        raise UsageError(f"{where}: {exc}", "required: name, title, type, role, languages, metrics, splits") from None


def read_file(path: str | os.PathLike) -> list[TaskSpec]:
    """Task specs from TOML (`[[task]]` tables) or JSON (`{"task": [{...}, ...]}`)."""
    from stilt_cli.core.textio import read_settings

    path = Path(path)
    entries = read_settings(path, what="STILT_TASKS").get("task", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise UsageError(f"STILT_TASKS {path}: expected a list of task tables ([[task]] in TOML)")
    return [from_data(entry, f"{path} task {n}") for n, entry in enumerate(entries, 1)]


_registered: dict[str, TaskSpec] = {}


def register(spec: TaskSpec) -> TaskSpec:
    """Add a task (or replace a registered one) for this process; shipped task names cannot be taken."""
    check(spec)
    if spec.name in _shipped():
        raise UsageError(f"task {spec.name} is shipped with stilt", "give your task another name")
    _registered[spec.name] = spec
    registry.cache_clear()
    return spec


@lru_cache(maxsize=1)
def _shipped() -> dict[str, TaskSpec]:
    from stilt_cli.core.tasks import demo, intermediate, xtreme

    specs: dict[str, TaskSpec] = {}
    for module in (xtreme, intermediate, demo):
        for spec in module.TASKS:
            if spec.name in specs:
                raise RuntimeError(f"task {spec.name} defined twice")
            specs[spec.name] = check(spec)
    return specs


@lru_cache(maxsize=1)
def registry() -> dict[str, TaskSpec]:
    specs = dict(_shipped())
    for path in filter(None, os.environ.get("STILT_TASKS", "").split(os.pathsep)):
        for spec in read_file(path):
            if spec.name in specs:
                raise UsageError(f"STILT_TASKS {path}: task {spec.name} is defined already")
            specs[spec.name] = spec
    specs.update(_registered)
    return specs


def get(name: str) -> TaskSpec:
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    specs = registry()
    if key not in specs:
        raise unknown(name, specs, "task")
    return specs[key]


def names(role: str | None = None) -> list[str]:
    return [n for n, s in registry().items() if role is None or s.role == role]


def generic(type_: str) -> TaskSpec:
    """A spec of one type that belongs to no task, for canonical files read on their own
    (e.g. `align --pairs FILE.jsonl`): any language, the type's fields and no label set."""
    if type_ not in HEAD_OF_TYPE:
        raise UsageError(f"unknown task type {type_!r}", f"types: {', '.join(TYPES)}")
    return TaskSpec(name=f"{type_} examples", title=f"canonical {type_} examples", type=type_, role="data",
                    languages=("en",), metrics=("accuracy",), splits={"test": "labelled"},
                    retrieval="search" if type_ == "retrieval" else None)


def get_of_type(name: str, type_: str) -> TaskSpec:
    """A task that must be of one type (`stilt retrieve --task` takes retrieval tasks only)."""
    spec = get(name)
    if spec.type != type_:
        choices = [n for n, s in registry().items() if s.type == type_ and s.supported]
        raise UsageError(f"task {spec.name} is not a {type_} task (it is {spec.type})",
                         f"{type_} tasks: {', '.join(choices)}")
    return spec
