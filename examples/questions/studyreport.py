"""What every study's one-page report shares: reading stilt's records, the tables of paired effects (from
`stilt summary --effect`: differences between arms on the same language and seed index, with 95 % intervals
from the two-level bootstrap), and the wording of an answer computed from an interval.

Only rendering happens here: every number comes from a stilt command's records. Each study's report.py
imports this module (it sits beside the study folders) and prints the page to stdout.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# metrics stilt stores as fractions: shown as percentage points
FRACTIONS = {"accuracy", "f1", "exact_match", "precision", "recall", "map@20", "score", "(em+f1)/2",
             "retrieval_accuracy"}


def read(path: str | Path) -> list[dict[str, Any]]:
    """The records of a JSONL file."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def arg_pairs(args: Iterable[str]) -> dict[str, str]:
    """`name=value` arguments -> {name: value}."""
    out = {}
    for arg in args:
        name, sep, value = arg.partition("=")
        if not sep:
            sys.exit(f"error: expected NAME=VALUE, got '{arg}'")
        out[name] = value
    return out


def scale(metric: str) -> tuple[float, str]:
    """(factor, unit) in which a metric's values and differences are shown."""
    return (100.0, " points") if metric in FRACTIONS else (1.0, "")


def number(value: float | None, metric: str, signed: bool = False) -> str:
    if value is None:
        return "–"
    factor, _ = scale(metric)
    digits = 1 if factor == 100.0 else 3
    return f"{value * factor:{'+' if signed else ''}.{digits}f}"


def interval(record: dict[str, Any], signed: bool = True) -> str:
    """`+2.1 [+0.4, +3.8]`: the value and its 95 % interval, in the metric's display unit."""
    metric = record["metric"]
    text = number(record["value"], metric, signed)
    if record.get("ci_low") is None:
        return text + " [no interval]"
    return f"{text} [{number(record['ci_low'], metric, signed)}, {number(record['ci_high'], metric, signed)}]"


def direction(record: dict[str, Any], up: str = "raises", down: str = "lowers",
              none: str = "does not measurably change") -> str:
    """The verb an interval supports: `up` when it lies above 0, `down` below 0, else `none`."""
    low, high = record.get("ci_low"), record.get("ci_high")
    if low is None or high is None:
        return none
    if low > 0:
        return up
    if high < 0:
        return down
    return none


def effects(records: list[dict[str, Any]], level: str | None = None) -> list[dict[str, Any]]:
    return [r for r in records if r.get("kind") == "effect" and (level is None or r["params"].get("level") == level)]


def arm_scores(records: list[dict[str, Any]], level: str | None = None) -> list[dict[str, Any]]:
    return [r for r in records if r.get("kind") == "summary" and "arm" in (r.get("params") or {})
            and (level is None or r["params"].get("level") == level)]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _what(record: dict[str, Any]) -> str:
    extra = {k: v for k, v in record["params"].items() if k not in ("base", "arm", "level", "benchmark", "run")}
    return record["task"] + "".join(f" {k}={v}" for k, v in sorted(extra.items()))


def effect_table(records: list[dict[str, Any]]) -> str:
    """One row per effect: what, arm − base, the difference with its interval, languages and seeds."""
    rows = [[_what(r), f"{r['params']['arm']} − {r['params']['base']}", r["metric"], interval(r),
             str(r.get("n_langs")), str(r.get("n_seeds"))] for r in records]
    return table(["measured on", "difference", "metric", "effect [95 % CI]", "languages", "seeds"], rows)


def score_table(records: list[dict[str, Any]]) -> str:
    """One row per arm and task (or overall score): the mean over seeds with its interval."""
    rows = [[r["params"]["arm"], _what(r), r["metric"], interval(r, signed=False), str(r.get("n_langs")),
             str(r.get("n_seeds"))] for r in records]
    return table(["arm", "measured on", "metric", "score [95 % CI]", "languages", "seeds"], rows)


def seeds_and_languages(records: list[dict[str, Any]]) -> tuple[int, int]:
    """(smallest number of seeds, largest number of languages) behind the effects."""
    found = effects(records)
    return (min((r.get("n_seeds") or 0 for r in found), default=0),
            max((r.get("n_langs") or 0 for r in found), default=0))


def limits(records: list[dict[str, Any]], extra: Iterable[str] = ()) -> str:
    """The section every report ends with: what its numbers cannot tell, derived from what stands behind them."""
    seeds, langs = seeds_and_languages(records)
    items = list(extra)
    if seeds < 5:
        items.append(f"With {seeds} seed(s) per arm the seed level of the bootstrap rests on few draws: an interval "
                     "can be too narrow when fine-tuning variance is large; more seeds (SEEDS=N) narrow that doubt.")
    if langs < 10:
        items.append(f"Only {langs} language(s): the language level of the bootstrap, and any relation to a "
                     "language property, has little to resample from.")
    if any(r.get("partial") for r in records if r.get("kind") in ("effect", "summary")):
        items.append("Some scores cover only part of the benchmark's tasks or languages (partial): they are not "
                     "comparable with published leaderboard numbers.")
    items.append("The intervals describe this pretrained encoder, these tasks and these training settings; "
                 "they say nothing about other models, data sizes or hyper-parameters.")
    return "\n".join(f"- {item}" for item in items)
