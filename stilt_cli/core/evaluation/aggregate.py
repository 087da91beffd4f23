"""XTREME's aggregation, as its `evaluate.py` computes it, for XTREME and XTREME-R.

- A task's score is the mean over the benchmark's languages for that task (English included where
  the benchmark lists it: every task but Tatoeba and BUCC). For QA the score is (mean EM + mean F1) / 2;
  otherwise the mean F1 where the task reports F1 (UDPOS, PAN-X, BUCC) and the mean accuracy elsewhere.
- A category score (classification, structured prediction, QA, retrieval) is the mean of its tasks'
  scores, given only when every task of the category is there with all its languages.
- The overall score is the mean over *tasks* (not categories), given only when every task is there.
- XTREME-R swaps PAWS-X and BUCC for XCOPA, Mewsli-X and LAReQA, and adds languages: ten tasks in the
  XTREME-R paper's four categories (classification: XNLI, XCOPA; structured prediction: UD-POS, PAN-X;
  QA: XQuAD, MLQA, TyDiQA-GoldP; retrieval: Tatoeba, Mewsli-X, LAReQA), Mewsli-X and LAReQA scored by
  mAP@20. Its overall score is the mean of the ten task scores, given when all ten are complete.

`partial=True` (research summaries on a subset) computes category and XTREME overall scores over what
is present and marks them partial; such numbers are not comparable with the leaderboard.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from statistics import fmean

from stilt_cli.core import tasks
from stilt_cli.core.errors import DataError
from stilt_cli.core.tasks.benchmarks import Benchmark, benchmark
from stilt_cli.core.tasks.spec import TaskSpec


def score_metrics(spec: TaskSpec) -> tuple[str, ...]:
    """The metrics a task's score is made of."""
    return ("exact_match", "f1") if spec.type == "qa" else (spec.main_metric,)


def language_score(spec: TaskSpec, metrics: Mapping[str, float]) -> float:
    """One language's contribution to the task score: QA (EM + F1) / 2, else the main metric."""
    needed = score_metrics(spec)
    absent = [m for m in needed if metrics.get(m) is None]
    if absent:
        raise DataError(f"{spec.name}: metric {', '.join(absent)} missing",
                        "XTREME's QA score is (EM + F1) / 2" if spec.type == "qa" else None)
    return fmean(metrics[m] for m in needed)


@dataclass
class TaskScore:
    task: str
    category: str | None
    score: float | None  # mean over the benchmark languages present
    present: tuple[str, ...]  # benchmark languages scored
    expected: tuple[str, ...]
    extra: tuple[str, ...] = ()  # languages scored that the benchmark does not count

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(lang for lang in self.expected if lang not in self.present)

    @property
    def complete(self) -> bool:
        return not self.missing


@dataclass
class Aggregate:
    benchmark: Benchmark
    tasks: dict[str, TaskScore]
    categories: dict[str, float | None]
    overall: float | None
    partial: dict[str, bool] = field(default_factory=dict)  # category/'overall' -> computed on a subset
    notes: list[str] = field(default_factory=list)


def aggregate(scores: Mapping[str, Mapping[str, float]], version: str = "xtreme", partial: bool = False) -> Aggregate:
    """Aggregate language scores {task: {lang: score}} the way XTREME's evaluate.py does."""
    bench = benchmark(version)
    task_scores: dict[str, TaskScore] = {}
    for task in bench.tasks:
        if task not in scores:
            continue
        expected = bench.languages(task)
        by_lang = scores[task]
        present = tuple(lang for lang in expected if lang in by_lang)
        extra = tuple(sorted(lang for lang in by_lang if lang not in expected))
        value = fmean(by_lang[lang] for lang in present) if present else None
        task_scores[task] = TaskScore(task, bench.category_of(task), value, present, expected, extra)
    others = sorted(set(scores) - set(bench.tasks))
    notes: list[str] = [f"not {bench.title} task(s), shown but not aggregated: {', '.join(others)}"] if others else []
    unsupported = [t for t in bench.tasks if not tasks.get(t).supported]
    for name, ts in task_scores.items():
        if ts.extra:
            notes.append(f"{name}: {', '.join(ts.extra)} not counted (not {bench.title} languages for this task)")
        if ts.missing:
            notes.append(f"{name}: {len(ts.present)} of {len(ts.expected)} {bench.title} languages "
                         f"(missing {', '.join(ts.missing)})")
    categories: dict[str, float | None] = {}
    flags: dict[str, bool] = {}
    for category, names in bench.categories.items():
        complete = [task_scores[t] for t in names if t in task_scores and task_scores[t].complete]
        if len(complete) == len(names):
            categories[category] = fmean(ts.score for ts in complete)
        elif partial and (available := [task_scores[t] for t in names if t in task_scores
                                        and task_scores[t].score is not None]):
            categories[category] = fmean(ts.score for ts in available)
            flags[category] = True
        else:
            categories[category] = None
    missing_tasks = [t for t in bench.tasks if t not in task_scores or not task_scores[t].complete]
    overall = None
    if not missing_tasks:
        overall = fmean(task_scores[t].score for t in bench.tasks)
    elif unsupported:
        notes.append(f"no {bench.title} overall score can be given: stilt does not support "
                     f"{', '.join(unsupported)} yet; task and category scores above are {bench.title}'s")
    elif partial and any(ts.score is not None for ts in task_scores.values()):
        overall = fmean(ts.score for ts in task_scores.values() if ts.score is not None)
        flags["overall"] = True
        notes.append(f"overall is partial (mean of {len(task_scores)} tasks): not comparable with {bench.title}")
    else:
        notes.append(f"no {bench.title} overall score: incomplete or missing {', '.join(missing_tasks)}")
    return Aggregate(bench, task_scores, categories, overall, flags, notes)


def describe(agg: Aggregate) -> list[str]:
    """Human lines (percent, as XTREME prints) for stderr: task, category and overall scores, then notes."""
    title = agg.benchmark.title
    lines = [f"{title} scores (%):"]
    for name, ts in agg.tasks.items():
        value = "—" if ts.score is None else f"{100 * ts.score:.2f}"
        lines.append(f"  {name:<10} {value:>7}   ({len(ts.present)}/{len(ts.expected)} languages)")
    for category, value in agg.categories.items():
        shown = "—" if value is None else f"{100 * value:.2f}" + ("*" if agg.partial.get(category) else "")
        lines.append(f"  {agg.benchmark.category_titles[category]:<22} {shown}")
    overall = "—" if agg.overall is None else f"{100 * agg.overall:.2f}" + ("*" if agg.partial.get("overall") else "")
    lines.append(f"  {title} overall: {overall}")
    lines += [f"  note: {note}" for note in agg.notes]
    return lines
