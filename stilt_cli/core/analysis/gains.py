"""Gains per language: two result files (BASELINE, RUN) matched measurement by measurement.

A *unit* is one measurement without its language: (kind, task, split, metric, params). Within a unit the
gain of a language is RUN - BASELINE, the two records matched on `records.identity()`, never by
position. Several records with one identity in one file (seeds) are averaged first. Languages present
in only one file are listed on stderr and left out, and so is the reference language (distance 0 by
definition, and the training language, not a transfer target). Without `--metric`, a task known to
stilt is analysed on its main metric only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from stilt_cli.core import console, records
from stilt_cli.core.errors import DataError, UsageError, did_you_mean
from stilt_cli.core.tasks import langs

MIN_LANGS = 4


# derived records, not measurements
NOT_GAINS = ("distance", "correlation", "regression", "ranking", "summary", "effect", "bench")


@dataclass
class Unit:
    kind: str
    task: str
    split: str | None
    metric: str
    params: dict[str, Any]
    gains: dict[str, float] = field(default_factory=dict)  # stilt lang code -> gain
    label: str = ""


def _unit_key(record: dict[str, Any]) -> tuple:
    kind, task, _lang, split, metric, params = records.identity(record)
    return kind, task, split, metric, params


def _load(path: str, config: Any) -> dict[tuple, dict[str, float]]:
    """{unit key: {lang: mean value}} of the measurements worth correlating in one file."""
    values: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    skipped_null = 0
    seen: dict[str, set[str]] = {"task": set(), "metric": set()}  # for a did-you-mean on a typo
    for record in records.read(path):
        if record["kind"] in NOT_GAINS:
            continue
        seen["task"].add(record["task"])
        seen["metric"].add(record["metric"])
        if config.tasks and record["task"] not in config.tasks:
            continue
        if config.metrics and record["metric"] not in config.metrics:
            continue
        if record["value"] is None:
            skipped_null += 1
            continue
        values[_unit_key(record)][record["lang"]].append(float(record["value"]))
    if skipped_null:
        console.warn(f"{path}: {skipped_null} record(s) without a value left out")
    if not values:
        wanted = []
        if config.tasks:
            wanted.append(f"task {','.join(config.tasks)}")
        if config.metrics:
            wanted.append(f"metric {','.join(config.metrics)}")
        typos = [did_you_mean(name, seen[what], what) for what, names in (("task", config.tasks),
                 ("metric", config.metrics)) for name in names or () if name not in seen[what]]
        raise DataError(f"{path}: no measurement records" + (f" for {' and '.join(wanted)}" if wanted else "")
                        + "".join(f"; {typo}" for typo in typos),
                        f"the file has tasks {', '.join(sorted(seen['task'])) or 'none'} and metrics "
                        f"{', '.join(sorted(seen['metric'])) or 'none'}")
    return {key: {lang: float(np.mean(v)) for lang, v in by_lang.items()} for key, by_lang in values.items()}


def _main_metric_only(keys: set[tuple], explicit: bool) -> set[tuple]:
    """Without --metric, a task known to stilt is analysed on its main metric only."""
    if explicit:
        return keys
    from stilt_cli.core import tasks

    kept = set()
    for key in keys:
        _kind, task, _split, metric, _params = key
        try:
            main = tasks.get(task).main_metric
        except Exception:  # a user's own task: every metric it has
            main = None
        has_main = any(k[1] == task and k[3] == main for k in keys)
        if main is None or not has_main or metric == main:
            kept.add(key)
    return kept


def match(config: Any) -> tuple[list[Unit], str]:
    """Units with per-language gains, and the reference language code. `config` names the two files
    (`baseline`, `run`), the reference language (`ref`) and optional `tasks` / `metrics` filters."""
    ref = langs.normalise(config.ref)
    baseline, run = _load(config.baseline, config), _load(config.run, config)
    for key in sorted(set(baseline) ^ set(run)):
        where = config.baseline if key in baseline else config.run
        console.warn(f"{_describe(key)} is only in {where}: left out")
    keys = _main_metric_only(set(baseline) & set(run), bool(config.metrics))
    if not keys:
        raise DataError(f"{config.baseline} and {config.run} share no measurement (task, split, metric, params)",
                        "are both files results of the same evaluation?")
    units: list[Unit] = []
    for key in sorted(keys, key=str):
        kind, task, split, metric, params = key
        unit = Unit(kind, task, split, metric, orjson.loads(params))
        base, other = baseline[key], run[key]
        only_base, only_run = sorted(set(base) - set(other)), sorted(set(other) - set(base))
        if only_base:
            console.warn(f"{_describe(key)}: only in {config.baseline}, left out: {','.join(only_base)}")
        if only_run:
            console.warn(f"{_describe(key)}: only in {config.run}, left out: {','.join(only_run)}")
        for lang in sorted(set(base) & set(other)):
            try:
                code = langs.normalise(lang)
            except UsageError:
                console.warn(f"{_describe(key)}: language '{lang}' is not in stilt's language table "
                             "(no distances): left out")
                continue
            if code == ref:
                continue
            unit.gains[code] = other[lang] - base[lang]
        units.append(unit)
    _label_units(units)
    console.info(f"{langs.get(ref).name} ({ref}) is the reference: distance 0 by definition, so it is "
                 "left out of gains-vs-distance")
    usable = [u for u in units if len(u.gains) >= MIN_LANGS]
    if not usable:
        shown = "; ".join(f"{u.label}: {len(u.gains)} ({','.join(sorted(u.gains)) or '-'})" for u in units)
        raise DataError(f"fewer than {MIN_LANGS} languages in both runs besides {ref}, so no statistics "
                        f"are printed ({shown})", f"correlations need at least {MIN_LANGS} shared languages")
    for unit in units:
        if unit not in usable:
            console.warn(f"{unit.label}: only {len(unit.gains)} shared language(s) besides {ref}: "
                         f"no statistics (needs {MIN_LANGS})")
    return usable, ref


def _describe(key: tuple) -> str:
    kind, task, split, metric, params = key
    extra = "" if params == "{}" else f" {params}"
    return f"{kind} {task}/{split or '-'}/{metric}{extra}"


def _label_units(units: list[Unit]) -> None:
    """Short names: the task alone when that is unambiguous, else task/metric[/split][ params]."""
    per_task = defaultdict(list)
    for unit in units:
        per_task[unit.task].append(unit)
    for task, group in per_task.items():
        for unit in group:
            if len(group) == 1:
                unit.label = task
                continue
            label = f"{task}/{unit.metric}"
            if len({u.split for u in group}) > 1:
                label += f"/{unit.split}"
            if len({orjson.dumps(u.params, option=orjson.OPT_SORT_KEYS) for u in group}) > 1:
                label += " " + ",".join(f"{k}={v}" for k, v in sorted(unit.params.items()))
            unit.label = label
