"""Paired effects between arms (`stilt summary --effect BASE:ARM`): differences with two-level bootstrap CIs.

An arm is a run of `stilt summary` (`NAME=PATH[,PATH...]`, one result file per seed). Its language scores
come from `core/evaluation/summary.py` (the same selection, variants and QA (em+f1)/2 as the score table).

For one task and language the paired differences are ARM seed i − BASE seed i, the seeds of each arm
sorted and paired by index (so seeds 1, 2, 3 pair with seeds 1, 2, 3; n_seeds is the smaller count). An arm
measured once without a seed (an untrained encoder: its retrieval does not depend on a training seed) pairs its
one value with every seed of the other arm.
- language effect: the mean of those differences; CI: seeds resampled.
- task effect: the mean over the task's languages (the benchmark's languages that both arms have) of the
  language effects; CI: languages resampled, then seeds within each drawn language.
- overall effect: the mean over tasks of the task effects (XTREME's overall is the mean of task scores);
  CI: languages resampled within each task, then seeds.
Arm scores (level task and overall) are the same means of an arm's own scores, with the same bootstrap; a QA
task's arm score is given in F1 and exact match too (the headline is their mean).
The bootstrap is `core/analysis/stats.two_level` (percentile, seeded). Never a bare mean: every value
carries ci_low / ci_high (null only where one language has one seed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stilt_cli.core import records, tasks
from stilt_cli.core.analysis.stats import two_level
from stilt_cli.core.errors import DataError, UsageError, unknown
from stilt_cli.core.evaluation.runs import load as load_runs
from stilt_cli.core.evaluation.summary import SummaryConfig, language_scores, select
from stilt_cli.core.tasks.benchmarks import benchmark

METHOD = "two-level paired bootstrap (languages, then seeds within language; seeds paired by index)"


@dataclass
class EffectConfig:
    summary: SummaryConfig
    effects: list[tuple[str, str]] = field(default_factory=list)  # (base, arm)


def parse_effect(value: str) -> tuple[str, str]:
    base, sep, arm = value.partition(":")
    if not sep or not base or not arm or base == arm:
        raise UsageError(f"--effect {value}: expected BASE:ARM with two different run names",
                         "e.g. --effect base:stilts")
    return base, arm


def _seed_key(seed: Any) -> tuple:
    return (seed is None, seed if isinstance(seed, (int, float)) else str(seed))


def _ordered(per_seed: dict[Any, float]) -> np.ndarray:
    return np.array([per_seed[s] for s in sorted(per_seed, key=_seed_key)], float)


def _seedless(per_seed: dict[Any, float], values: np.ndarray, other: int) -> np.ndarray:
    """One value with no seed (nothing was trained): the same for every seed of the other arm."""
    return np.repeat(values, other) if list(per_seed) == [None] else values


def _metric(task: str) -> str:
    spec = tasks.get(task)
    return "(em+f1)/2" if spec.type == "qa" else spec.main_metric


def _parts(task: str) -> tuple[str, ...]:
    """The metrics a task's headline combines, reported beside it: QA's F1 and exact match."""
    return ("f1", "exact_match") if tasks.get(task).type == "qa" else ()


def _langs(task: str, available: set[str], bench: Any) -> list[str]:
    order = list(bench.languages(task)) if task in bench.tasks else sorted(available)
    return [lang for lang in order if lang in available]


def build(config: EffectConfig) -> tuple[list[dict[str, Any]], list[str]]:
    """(records, notes): the score records of every arm named in an effect, then the effect records."""
    sc = config.summary
    notes: list[str] = []
    loaded = load_runs(sc.results)
    values, _variants = select(loaded, sc, notes)
    runs = list(dict.fromkeys(run for run, _ in loaded))
    sources: dict[str, list[str]] = {}
    for run, rec in loaded:
        sources.setdefault(run, [])
        if rec["_source"] not in sources[run]:
            sources[run].append(rec["_source"])
    scores: dict[str, dict] = {}
    for base, arm in config.effects:
        for name in (base, arm):
            if name not in values:
                raise unknown(name, runs, "run (--effect)")
            if name not in scores:
                scores[name] = language_scores(values, name, notes)[0]
    bench = benchmark(sc.version)
    common = {"protocol": bench.protocol, "split": sc.split}
    boot = {"n_boot": sc.resamples, "seed": sc.seed}
    out: list[dict[str, Any]] = []

    def record(kind: str, task: str, lang: str, metric: str, result: Any, params: dict[str, Any],
               **extra: Any) -> dict[str, Any]:
        return records.make(kind, task, lang, metric, result.value, params={**params, "benchmark": sc.version},
                            ci_low=result.ci_low, ci_high=result.ci_high, level_ci=result.level,
                            n_langs=result.n_langs, n_seeds=result.n_seeds, method=METHOD, n_boot=result.n_boot,
                            boot_seed=result.seed, **common, **extra)

    def task_list(names: list[str]) -> list[str]:
        present = set.intersection(*(set(scores[n]) for n in names))
        ordered = [t for t in bench.tasks if t in present] + sorted(present - set(bench.tasks))
        outside = sorted(present - set(bench.tasks))
        if outside:
            notes.append(f"not {bench.title} task(s), left out of the overall: {', '.join(outside)}")
        return ordered

    def partial(task_names: list[str], langs_of: dict[str, list[str]]) -> bool:
        return set(bench.tasks) - set(task_names) != set() or any(
            set(bench.languages(t)) - set(langs_of[t]) for t in task_names if t in bench.tasks)

    for name in dict.fromkeys(n for pair in config.effects for n in pair):
        names = task_list([name])
        langs_of = {t: _langs(t, set(scores[name][t]), bench) for t in names}
        strata = {t: [_ordered(scores[name][t][lang]) for lang in langs_of[t]] for t in names}
        params = {"arm": name}
        for task in names:
            if not strata[task]:
                continue
            is_partial = partial([task], langs_of) if task in bench.tasks else False
            out.append(record("summary", task, "all", _metric(task), two_level([strata[task]], **boot),
                              {**params, "level": "task"}, partial=is_partial, sources={name: sources[name]}))
            for metric in _parts(task):  # QA: its F1 and exact match too, each with the same bootstrap
                by_lang = [values[name][task][lang].get(metric) for lang in langs_of[task]]
                if all(by_lang):
                    out.append(record("summary", task, "all", metric,
                                      two_level([[_ordered(seeds) for seeds in by_lang]], **boot),
                                      {**params, "level": "task"}, partial=is_partial, sources={name: sources[name]}))
        overall = [t for t in names if t in bench.tasks and strata[t]]
        if overall:
            out.append(record("summary", bench.name, "all", "score", two_level([strata[t] for t in overall], **boot),
                              {**params, "level": "overall"}, partial=partial(overall, langs_of),
                              sources={name: sources[name]}))
    for base, arm in config.effects:
        names = task_list([base, arm])
        if not names:
            raise DataError(f"runs '{base}' and '{arm}' share no task", "give both arms the same tasks")
        langs_of: dict[str, list[str]] = {}
        pairs: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}  # task -> [(arm seeds, base seeds)] paired
        params = {"base": base, "arm": arm}
        src = {"base": sources[base], "arm": sources[arm]}

        def means(chosen: dict[str, list[tuple[np.ndarray, np.ndarray]]]) -> dict[str, float]:
            per_task = [(np.mean([a.mean() for a, _ in p]), np.mean([b.mean() for _, b in p])) for p in chosen.values()]
            return {"arm_mean": float(np.mean([a for a, _ in per_task])),
                    "base_mean": float(np.mean([b for _, b in per_task]))}

        for task in names:
            langs_of[task] = _langs(task, set(scores[base][task]) & set(scores[arm][task]), bench)
            pairs[task] = []
            for lang in langs_of[task]:
                a, b = _ordered(scores[arm][task][lang]), _ordered(scores[base][task][lang])
                a, b = _seedless(scores[arm][task][lang], a, b.size), _seedless(scores[base][task][lang], b, a.size)
                n = min(a.size, b.size)
                if a.size != b.size:
                    notes.append(f"{task} {lang}: '{arm}' has {a.size} seed(s), '{base}' {b.size}; "
                                 f"the first {n} of each (sorted) are paired")
                pairs[task].append((a[:n], b[:n]))
                out.append(record("effect", task, lang, _metric(task), two_level([[a[:n] - b[:n]]], **boot),
                                  {**params, "level": "language"}, **means({task: [(a[:n], b[:n])]}),
                                  partial=False, sources=src))
            if pairs[task]:
                out.append(record("effect", task, "all", _metric(task),
                                  two_level([[a - b for a, b in pairs[task]]], **boot), {**params, "level": "task"},
                                  **means({task: pairs[task]}),
                                  partial=partial([task], langs_of) if task in bench.tasks else False, sources=src))
        overall = [t for t in names if t in bench.tasks and pairs[t]]
        if overall:
            out.append(record("effect", bench.name, "all", "score",
                              two_level([[a - b for a, b in pairs[t]] for t in overall], **boot),
                              {**params, "level": "overall"}, **means({t: pairs[t] for t in overall}),
                              partial=partial(overall, langs_of), sources=src))
    return out, list(dict.fromkeys(notes))


# ---- rendering ------------------------------------------------------------------------------------
def _interval(rec: dict[str, Any], signed: bool) -> str:
    fmt = "{:+.1f}" if signed else "{:.1f}"
    text = fmt.format(100 * rec["value"])
    if rec.get("ci_low") is not None:
        text += f" [{fmt.format(100 * rec['ci_low'])}, {fmt.format(100 * rec['ci_high'])}]"
    return text + ("*" if rec.get("partial") else "")


def rows(out: list[dict[str, Any]], languages: bool = True) -> list[dict[str, Any]]:
    """Records -> rows for people (percent): what, level, task, lang, value [95% CI], languages, seeds."""
    shown = []
    for rec in out:
        p = rec["params"]
        if rec["kind"] == "effect" and p["level"] == "language" and not languages:
            continue
        what = p["arm"] if rec["kind"] == "summary" else f"{p['arm']} − {p['base']}"
        shown.append({"what": what, "level": p["level"], "task": rec["task"], "lang": rec["lang"],
                      "metric": rec["metric"], "value [95% CI]": _interval(rec, rec["kind"] == "effect"),
                      "langs": rec["n_langs"], "seeds": rec["n_seeds"]})
    return shown


LEGEND = ("percent; effects are arm − base, paired by language and seed index; [ ] = 95% two-level bootstrap CI "
          "(languages, then seeds); * = not the benchmark's full set of tasks or languages")


def render(out: list[dict[str, Any]], fmt: str) -> str:
    from stilt_cli.core import latex
    from stilt_cli.core.console import table

    if fmt == "table":
        return table(rows(out), title="arm scores and paired effects") + LEGEND + "\n"
    if fmt == "markdown":
        shown = rows(out)
        cols = list(shown[0]) if shown else []
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in shown]
        return "\n".join(lines) + f"\n\n{LEGEND}\n"
    if fmt == "csv":
        import csv
        import io

        buffer = io.StringIO()
        fields = ["kind", "base", "arm", "level", "task", "lang", "metric", "value", "ci_low", "ci_high", "n_langs",
                  "n_seeds", "partial"]
        writer = csv.DictWriter(buffer, fields, lineterminator="\n")
        writer.writeheader()
        for rec in out:
            writer.writerow({**{f: rec.get(f) for f in fields}, "base": rec["params"].get("base"),
                             "arm": rec["params"]["arm"], "level": rec["params"]["level"]})
        return buffer.getvalue()
    if fmt == "latex":  # a row per arm score / effect, a column per task, then the benchmark overall
        task_names = list(dict.fromkeys(r["task"] for r in out if r["params"]["level"] == "task"))
        overall = [r["task"] for r in out if r["params"]["level"] == "overall"][:1]
        cols = task_names + overall
        body: dict[tuple[bool, str], dict[str, str]] = {}
        for rec in out:
            p = rec["params"]
            if p["level"] == "language":
                continue
            effect = rec["kind"] == "effect"
            label = latex.escape(p["arm"]) + (f" $-$ {latex.escape(p['base'])}" if effect else "")
            body.setdefault((effect, label), {})[rec["task"]] = \
                _interval(rec, effect).replace("-", "$-$").replace("*", "$^*$")
        groups = [[[label, *(v.get(c, "—") for c in cols)] for (eff, label), v in body.items() if eff == want]
                  for want in (False, True)]
        return latex.render(latex.Table("l" + "r" * len(cols), [["", *map(latex.escape, cols)]],
                                        [g for g in groups if g], caption=latex.escape(LEGEND)))
    raise UsageError(f"--format {fmt} is not available with --effect", "use table, jsonl, markdown, csv or latex")


def report(config: SummaryConfig, effects: list[str], fmt: str, output: Any = None) -> int:
    """`stilt summary --effect`: build, print the notes on stderr, write `fmt` to stdout or `output`."""
    from stilt_cli.core.console import info, put
    from stilt_cli.core.textio import write_jsonl

    out, notes = build(EffectConfig(config, [parse_effect(e) for e in effects]))
    for note in notes:
        info(f"note: {note}")
    if fmt == "jsonl":
        return write_jsonl(output, out)
    put(render(out, fmt), output)
    return len(out)
