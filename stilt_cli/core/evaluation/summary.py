"""`stilt summary`: the XTREME score table of one or more runs, with deltas against a baseline.

Runs. Every record belongs to one run (`core/evaluation/runs.py`: `NAME=PATH`, a `run` field, or the
checkpoint / file name without its seed marker, so the seeds of one configuration form one run).

Records. Only kinds eval and retrieval count. Within a run, a measurement is identified as in
`records.identity()` (kind, task, lang, split, metric, params) minus seed and checkpoint; params keys
named by `--ignore-param` and in `RESULT_PARAMS` (measured outputs such as the BUCC threshold, or the
search backend) are left out. Where one task and language has several splits, `test` is used;
several params variants are an error (pick one with `--param KEY=VALUE`). Seeds of a measurement are averaged; sd is
over seeds (n - 1).

Scores follow `core/evaluation/aggregate.py` (XTREME's evaluate.py). A task's score in a run is computed over the
languages present for all its seeds. Deltas are paired: a language counts only where both runs have
it with the same identity; languages present in one run are listed, never matched by position. The
95 % CI of a task delta is a percentile bootstrap over its languages (scipy.stats.bootstrap, paired);
for a category or the overall score, languages are resampled within each task (stratified) and the
task means averaged. Both are seeded (`--seed`). Per-language deltas carry no CI: records hold no
per-example predictions to resample.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from statistics import fmean, stdev
from typing import Any

from stilt_cli.core import records, tasks
from stilt_cli.core.errors import DataError, UsageError, unknown
from stilt_cli.core.evaluation.aggregate import aggregate, language_score, score_metrics
from stilt_cli.core.evaluation.runs import load as load_runs
from stilt_cli.core.tasks.benchmarks import benchmark

KINDS = ("eval", "retrieval")
# params that are measured outputs or say *how* something ran (exact search is the same on CPU and GPU),
# not *what* was measured: never part of a join
RESULT_PARAMS = ("threshold", "search", "knn")
FRACTION_METRICS = {"accuracy", "f1", "exact_match", "precision", "recall", "map@20"}


@dataclass
class SummaryConfig:
    results: list[str]
    version: str = "xtreme"
    baseline: str | None = None
    split: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    ignore_params: tuple[str, ...] = ()
    partial: bool = False
    seed: int = 0
    resamples: int = 9999


@dataclass
class Cell:
    mean: float | None
    sd: float | None = None
    seeds: int = 0
    partial: bool = False
    langs: int | None = None  # languages behind a task score
    expected: int | None = None


@dataclass
class Delta:
    value: float
    low: float | None = None
    high: float | None = None
    units: int = 0  # languages paired


@dataclass
class Row:
    level: str  # task | category | overall | language
    name: str  # task, category or benchmark name
    lang: str | None
    metric: str
    cells: dict[str, Cell] = field(default_factory=dict)
    deltas: dict[str, Delta] = field(default_factory=dict)


@dataclass
class Summary:
    version: str
    runs: list[str]
    baseline: str
    rows: list[Row]
    notes: list[str]


def parse_params(values: list[str] | None) -> dict[str, str]:
    """`--param KEY=VALUE` (repeatable) -> {key: value}."""
    out: dict[str, str] = {}
    for value in values or []:
        key, sep, wanted = value.partition("=")
        if not sep or not key:
            raise UsageError(f"--param {value}: expected KEY=VALUE", "e.g. --param layer=14")
        out[key] = wanted
    return out


# ---- selecting measurements -------------------------------------------------------------------
def _variant(record: dict[str, Any], ignored: set[str]) -> tuple:
    params = {k: v for k, v in (record.get("params") or {}).items() if k not in ignored}
    return record["kind"], record.get("split"), records.identity({**record, "params": params})[-1]


def _keep(record: dict[str, Any], config: SummaryConfig) -> bool:
    if record["kind"] not in KINDS or record["value"] is None:
        return False
    if config.split and record.get("split") != config.split:
        return False
    params = record.get("params") or {}
    return all(key not in params or str(params[key]) == value for key, value in config.params.items())


def select(loaded: list[tuple[str, dict[str, Any]]], config: SummaryConfig, notes: list[str]):
    """{run: {task: {lang: {metric: {seed: value}}}}} and the variant of each, ambiguity resolved."""
    ignored = set(RESULT_PARAMS) | set(config.ignore_params)
    found: dict = defaultdict(lambda: defaultdict(dict))  # (run, task, lang, metric) -> variant -> seed -> (value, src)
    skipped = 0
    for run, rec in loaded:
        if not _keep(rec, config):
            skipped += 1
            continue
        if rec["metric"] in FRACTION_METRICS and not -1e-9 <= rec["value"] <= 1 + 1e-9:
            raise DataError(f"{rec['_source']}: {rec['task']} {rec['lang']} {rec['metric']} = {rec['value']}",
                            "stilt records hold fractions in [0, 1], not percentages")
        seeds = found[(run, rec["task"], rec["lang"], rec["metric"])][_variant(rec, ignored)]
        seed = rec.get("seed")
        if seed in seeds and seeds[seed][0] != rec["value"]:
            raise DataError(f"{rec['task']} {rec['lang']} {rec['metric']} seed {seed} of run '{run}' has two values "
                            f"({seeds[seed][1]}, {rec['_source']})", "give each run's results once")
        seeds[seed] = (rec["value"], rec["_source"])
    if skipped:
        notes.append(f"{skipped} record(s) skipped (other kinds, splits, params or no value)")
    values: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(dict)))
    variants: dict[tuple[str, str, str], tuple] = {}
    for (run, task, lang, metric), by_variant in found.items():
        if len({v[1] for v in by_variant}) > 1:  # several splits: XTREME scores test
            by_variant = {v: s for v, s in by_variant.items() if v[1] == "test"} or by_variant
        if len(by_variant) > 1:
            shown = "; ".join(f"split={v[1]} params={v[2]}" for v in by_variant)
            raise DataError(f"run '{run}' has several {task} {lang} {metric} variants: {shown}",
                            "choose one with --split or --param KEY=VALUE, or drop a key with --ignore-param")
        (variant, seeds), = by_variant.items()
        values[run][task][lang][metric] = {seed: value for seed, (value, _) in seeds.items()}
        variants[(run, task, lang)] = variant
    return values, variants


# ---- per-run scores ----------------------------------------------------------------------------
def _mean_sd(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return fmean(values), (stdev(values) if len(values) > 1 else None)


def language_scores(values: dict, run: str, notes: list[str]) -> tuple[dict, dict[str, set[str]]]:
    """({task: {lang: {seed: language score}}}, {task: languages left out of the task score}) for one run.

    A language that lacks some of the task's seeds is shown but left out of the task score, so every
    seed of a task averages the same languages."""
    out: dict[str, dict[str, dict[Any, float]]] = {}
    excluded: dict[str, set[str]] = {}
    for task, by_lang in values[run].items():
        try:
            spec = tasks.get(task)
        except UsageError:
            notes.append(f"run '{run}': unknown task '{task}' skipped")
            continue
        needed = score_metrics(spec)
        per_lang: dict[str, dict[Any, float]] = {}
        for lang, metrics in by_lang.items():
            if not all(m in metrics for m in needed):
                notes.append(f"run '{run}' {task} {lang}: needs {' and '.join(needed)}; left out")
                continue
            seeds = set.intersection(*(set(metrics[m]) for m in needed))
            per_lang[lang] = {s: language_score(spec, {m: metrics[m][s] for m in needed}) for s in seeds}
        if not per_lang:
            continue
        all_seeds = set().union(*(set(s) for s in per_lang.values()))
        excluded[task] = {lang for lang, s in per_lang.items() if set(s) != all_seeds}
        if excluded[task]:
            notes.append(f"run '{run}' {task}: {', '.join(sorted(excluded[task]))} lack some seeds; "
                         "left out of the task score")
        out[task] = per_lang
    return out, excluded


@dataclass
class RunStats:
    means: dict[str, dict[str, float]]  # task -> lang -> seed mean (languages that count)
    langs: dict[str, dict[str, Cell]]  # task -> lang -> cell (every language)
    tasks: dict[str, Cell]
    categories: dict[str, Cell]
    overall: Cell
    notes: list[str]


def _stats(scores: dict, excluded: dict[str, set[str]], config: SummaryConfig) -> RunStats:
    langs = {t: {lang: Cell(*_mean_sd(list(s.values())), seeds=len(s)) for lang, s in by_lang.items()}
             for t, by_lang in scores.items()}
    means = {t: {lang: langs[t][lang].mean for lang in by_lang if lang not in excluded.get(t, ())}
             for t, by_lang in scores.items()}
    seeds = sorted({s for by_lang in scores.values() for per in by_lang.values() for s in per}, key=repr)
    per_seed = [aggregate({t: {lang: scores[t][lang][s] for lang in means[t] if s in scores[t][lang]}
                           for t in means if any(s in scores[t][lang] for lang in means[t])},
                          config.version, config.partial) for s in seeds]
    agg = aggregate(means, config.version, config.partial)
    task_cells: dict[str, Cell] = {}
    for task, by_lang in means.items():
        if task in agg.tasks:
            ts = agg.tasks[task]
            per = [a.tasks[task].score for a in per_seed if task in a.tasks and a.tasks[task].score is not None]
            task_cells[task] = Cell(ts.score, _mean_sd(per)[1], len(per), not ts.complete, len(ts.present),
                                    len(ts.expected))
        elif by_lang:
            per = [fmean(scores[task][lang][s] for lang in by_lang) for s in seeds
                   if all(s in scores[task][lang] for lang in by_lang)]
            task_cells[task] = Cell(fmean(by_lang.values()), _mean_sd(per)[1], len(per), False, len(by_lang))
    categories = {}
    for category, value in agg.categories.items():
        per = [a.categories[category] for a in per_seed if a.categories.get(category) is not None]
        categories[category] = Cell(value, _mean_sd(per)[1] if value is not None else None, len(per),
                                    agg.partial.get(category, False))
    per = [a.overall for a in per_seed if a.overall is not None]
    overall = Cell(agg.overall, _mean_sd(per)[1] if agg.overall is not None else None, len(per),
                   agg.partial.get("overall", False))
    return RunStats(means, langs, task_cells, categories, overall, agg.notes)


# ---- deltas and their bootstrap CIs ----------------------------------------------------------
def paired_ci(run: list[float], base: list[float], seed: int, resamples: int) -> tuple[float, float] | None:
    """95 % percentile-bootstrap CI of mean(run - base), resampling the paired units (languages)."""
    import numpy as np
    from scipy import stats

    if len(run) < 2:
        return None
    result = stats.bootstrap((np.asarray(run), np.asarray(base)), lambda a, b, axis=-1: np.mean(a - b, axis=axis),
                             paired=True, vectorized=True, n_resamples=resamples, confidence_level=0.95,
                             method="percentile", rng=np.random.default_rng(seed))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def stratified_ci(diffs: list[list[float]], seed: int, resamples: int) -> tuple[float, float] | None:
    """95 % percentile CI of the mean over tasks of each task's mean difference, resampling languages
    within each task (tasks in the given order, one draw of shape (resamples, n) per task)."""
    import numpy as np

    if sum(len(d) for d in diffs) < 2:
        return None
    rng = np.random.default_rng(seed)
    task_means = []
    for d in diffs:
        values = np.asarray(d, dtype=float)
        task_means.append(values[rng.integers(0, len(values), size=(resamples, len(values)))].mean(axis=1))
    stat = np.mean(task_means, axis=0)
    low, high = np.percentile(stat, [2.5, 97.5])
    return float(low), float(high)


def _paired(stats: dict[str, RunStats], variants: dict, run: str, base: str, task: str, langs: list[str] | None,
            notes: list[str]) -> tuple[list[float], list[float]]:
    a, b = stats[run].means.get(task, {}), stats[base].means.get(task, {})
    run_vals, base_vals = [], []
    for lang in (langs if langs is not None else sorted(set(a) & set(b))):
        if lang in a and lang in b:
            if variants[(run, task, lang)] != variants[(base, task, lang)]:
                notes.append(f"{task} {lang}: '{run}' and '{base}' measured differently "
                             f"({variants[(run, task, lang)]} vs {variants[(base, task, lang)]}); not compared")
                continue
            run_vals.append(a[lang])
            base_vals.append(b[lang])
    return run_vals, base_vals


def build(config: SummaryConfig) -> Summary:
    """Read results, compute every run's scores and the deltas against the baseline."""
    notes: list[str] = []
    loaded = load_runs(config.results)
    values, variants = select(loaded, config, notes)
    runs = [r for r in dict.fromkeys(run for run, _ in loaded) if r in values]
    if not runs:
        raise DataError(f"no eval or retrieval records to summarise in {', '.join(config.results)}",
                        "give result files written by evaluate, "
                        "score or retrieve (kind eval or retrieval)")
    baseline = config.baseline or runs[0]
    if baseline not in runs:
        raise unknown(baseline, runs, "run (--baseline)")
    bench = benchmark(config.version)
    stats: dict[str, RunStats] = {}
    for run in runs:
        scores, excluded = language_scores(values, run, notes)
        stats[run] = _stats(scores, excluded, config)
    _merge_notes(stats, runs, notes)
    task_names = [t for t in bench.tasks if any(t in s.tasks for s in stats.values())]
    task_names += sorted({t for s in stats.values() for t in s.tasks} - set(task_names))
    rows: list[Row] = []
    for task in task_names:
        spec = tasks.get(task)
        row = Row("task", task, None, "(em+f1)/2" if spec.type == "qa" else spec.main_metric,
                  {r: stats[r].tasks[task] for r in runs if task in stats[r].tasks})
        only = {r: sorted(set(stats[r].means.get(task, {})) - set(stats[baseline].means.get(task, {})))
                for r in runs if r != baseline}
        for run, extra in only.items():
            missing = sorted(set(stats[baseline].means.get(task, {})) - set(stats[run].means.get(task, {})))
            if task in stats[baseline].tasks and task in stats[run].tasks and (extra or missing):
                notes.append(f"{task}: languages only in '{run}': {', '.join(extra) or '-'}; "
                             f"only in '{baseline}': {', '.join(missing) or '-'}")
        expected = bench.languages(task) if task in bench.tasks else None
        for run in runs:
            if run == baseline or run not in row.cells or baseline not in row.cells:
                continue
            paired = _paired(stats, variants, run, baseline, task, list(expected) if expected else None, notes)
            if paired[0]:
                diffs = [x - y for x, y in zip(*paired)]
                ci = paired_ci(*paired, config.seed, config.resamples)
                row.deltas[run] = Delta(fmean(diffs), *(ci or (None, None)), len(diffs))
        rows.append(row)
    rows.extend(_aggregate_rows(stats, variants, runs, baseline, config, notes))
    for task in task_names:
        order = list(bench.languages(task)) if task in bench.tasks else []
        present = {lang for s in stats.values() for lang in s.langs.get(task, {})}
        for lang in [lang for lang in order if lang in present] + sorted(present - set(order)):
            row = Row("language", task, lang, "(em+f1)/2" if tasks.get(task).type == "qa"
                      else tasks.get(task).main_metric,
                      {r: stats[r].langs[task][lang] for r in runs if lang in stats[r].langs.get(task, {})})
            for run in runs:
                if run != baseline and run in row.cells and baseline in row.cells:
                    pair = _paired(stats, variants, run, baseline, task, [lang], [])
                    if pair[0]:
                        row.deltas[run] = Delta(pair[0][0] - pair[1][0], units=1)
            rows.append(row)
    return Summary(config.version, runs, baseline, rows, list(dict.fromkeys(notes)))


def _aggregate_rows(stats: dict[str, RunStats], variants: dict, runs: list[str], baseline: str,
                    config: SummaryConfig, notes: list[str]) -> list[Row]:
    bench = benchmark(config.version)
    groups = [("category", name, names) for name, names in bench.categories.items()]
    groups.append(("overall", bench.name, bench.tasks))
    rows = []
    for level, name, names in groups:
        cells = {r: (stats[r].categories[name] if level == "category" else stats[r].overall) for r in runs}
        row = Row(level, name, None, "mean of tasks", cells)
        for run in runs:
            if run == baseline or cells[run].mean is None or cells[baseline].mean is None:
                continue
            diffs = []
            for task in names:
                if task in stats[run].tasks and task in stats[baseline].tasks:
                    a, b = _paired(stats, variants, run, baseline, task, list(bench.languages(task)), [])
                    if a:
                        diffs.append([x - y for x, y in zip(a, b)])
            if diffs:
                ci = stratified_ci(diffs, config.seed, config.resamples)
                row.deltas[run] = Delta(fmean(fmean(d) for d in diffs), *(ci or (None, None)), sum(map(len, diffs)))
        rows.append(row)
    return rows


def _merge_notes(stats: dict[str, RunStats], runs: list[str], notes: list[str]) -> None:
    """Aggregation notes once when every run shares them, else prefixed with the run."""
    seen: dict[str, list[str]] = {}
    for run in runs:
        for note in stats[run].notes:
            seen.setdefault(note, []).append(run)
    for note, owners in seen.items():
        notes.append(note if len(owners) == len(runs) and len(runs) > 0 else f"run '{', '.join(owners)}': {note}")
