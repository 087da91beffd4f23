"""The demo's closing table: per language, zero-shot accuracy without and with the English
intermediate task (mean ± sd over the target runs' seeds), retrieval before and after it, and syntactic
distance from English; then the correlations and the plots. Reads only the result files the demo's stilt
commands wrote."""

from __future__ import annotations

import statistics
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

from stilt_cli.core import records
from stilt_cli.core.console import table


def _by_lang(path: Path, metric: str = "accuracy") -> dict[str, float]:
    return {r["lang"]: r["value"] for r in records.read(path) if r["metric"] == metric and r["value"] is not None}


def _by_seed(path: Path, metric: str = "accuracy") -> dict[int, dict[str, float]]:
    """seed -> lang -> value: an arm's file holds one evaluation per seed of its target run."""
    runs: dict[int, dict[str, float]] = defaultdict(dict)
    for r in records.read(path):
        if r["metric"] == metric and r["value"] is not None:
            runs[int(r.get("seed") or 0)][r["lang"]] = r["value"]
    return dict(sorted(runs.items()))


def _mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def _pm(values: list[float] | None) -> str:
    """mean ± sd over seeds, in points"""
    if not values:
        return "–"
    mean, sd = _mean_sd(values)
    return f"{mean * 100:.1f} ± {sd * 100:.1f}"


def _fmt(value: float | None, scale: float = 100.0, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value * scale:+.1f}" if signed else f"{value * scale:.1f}"


def main(out: Path) -> None:
    results = out / "results"
    base_runs, xstilts_runs = _by_seed(results / "eval-baseline.jsonl"), _by_seed(results / "eval-xstilts.jsonl")
    seeds = sorted(set(base_runs) & set(xstilts_runs))

    def per_lang(runs: dict[int, dict[str, float]]) -> dict[str, list[float]]:
        return {lang: [runs[s][lang] for s in seeds] for lang in runs[seeds[0]] if all(lang in runs[s] for s in seeds)}

    base_seeds, xstilts_seeds = per_lang(base_runs), per_lang(xstilts_runs)
    base = {lang: statistics.fmean(v) for lang, v in base_seeds.items()}
    xstilts = {lang: statistics.fmean(v) for lang, v in xstilts_seeds.items()}
    before, after = _by_lang(results / "retrieval-before.jsonl"), _by_lang(results / "retrieval-after.jsonl")
    syntax = {r["lang"]: r["value"] for r in records.read(results / "distances.jsonl") if r["metric"] == "syntax"}
    chance = 0.25  # four balanced-ish classes; the largest class is 25-31 % per language (see data/README.json)

    rows = []
    for lang in sorted(set(base) | set(before), key=lambda x: (x != "en", syntax.get(x, 0.0), x)):
        b, x = base.get(lang), xstilts.get(lang)
        r0, r1 = before.get(lang), after.get(lang)
        rows.append({
            "lang": lang,
            "zero-shot baseline": _pm(base_seeds.get(lang)), "zero-shot X-STILTs": _pm(xstilts_seeds.get(lang)),
            "gain": _fmt(None if b is None or x is None else x - b, signed=True),
            "retrieval before": _fmt(r0), "retrieval after": _fmt(r1),
            "change": _fmt(None if r0 is None or r1 is None else r1 - r0, signed=True),
            "syntax distance": "–" if lang not in syntax or syntax[lang] is None else f"{syntax[lang]:.3f}",
        })
    print(table(rows, title="stilt demo: multilingual-e5-small, English intermediate task, zero-shot transfer"), end="")

    def mean(d: dict[str, float], keys) -> float:
        vals = [d[k] for k in keys if k in d]
        return sum(vals) / len(vals) if vals else float("nan")

    zs_langs = [k for k in base if k != "en"]

    def seed_means(runs: dict[int, dict[str, float]]) -> list[float]:
        return [mean(runs[s], zs_langs) for s in seeds]

    print(f"mean zero-shot accuracy over {len(zs_langs)} languages (English excluded), {len(seeds)} seeds: baseline "
          f"{_pm(seed_means(base_runs))}, with intermediate task {_pm(seed_means(xstilts_runs))} "
          f"(chance about {chance * 100:.0f}); English test: {_pm(base_seeds.get('en'))} -> "
          f"{_pm(xstilts_seeds.get('en'))}")
    print(f"mean retrieval accuracy over {len(before)} languages: before {_fmt(mean(before, before))}, "
          f"after {_fmt(mean(after, before))} (chance 0.5)")
    for name in ("zero-shot", "retrieval"):
        path = results / f"correlate-{name}.jsonl"
        for r in records.read(path):
            if r["metric"] == "spearman" and r["params"].get("feature") == "syntax" and r["task"] != "pooled":
                if r["value"] is None:
                    print(f"{name} gain vs syntax distance: Spearman rho undefined (the gains do not vary)")
                    continue
                def num(x: float | None, spec: str) -> str:
                    return "–" if x is None else format(x, spec)

                print(f"{name} gain vs syntax distance: Spearman rho {num(r['value'], '+.2f')} "
                      f"(95% CI {num(r['ci_low'], '+.2f')}..{num(r['ci_high'], '+.2f')}, permutation p = "
                      f"{num(r['p_value'], '.3f')}, {r['n_langs']} languages)")
    plots = sorted((out / "plots").rglob("*.png"))
    folders = sorted({str(p.parent) for p in plots})
    example = next((p for p in plots if p.name == "gain-vs-syntax.png"), plots[0] if plots else None)
    print(f"plots: {len(plots)}, gain vs each distance feature, in {' and '.join(folders)}; e.g. {example}"
          if plots else "plots: none")
    print(f"XTREME-style summary table: {results / 'summary.txt'} (LaTeX for a paper: {results / 'summary.tex'})")
    # wrapped, so that the printout (and the README's copy of it) reads without scrolling
    print(textwrap.fill(
        "What these numbers are: accuracy on the demo's own small tasks (CLDR names, Django UI strings; see "
        f"{out / 'data' / 'README.json'}), after a few minutes of CPU training with seeds fixed; one intermediate "
        f"run and {len(seeds)} seeds of each target run (mean ± sd over those seeds; the gain and the correlations "
        "use the seed means). They show the pipeline working on real multilingual text, not X-STILTs results.",
        width=110, break_on_hyphens=False, break_long_words=False))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "demo-out"))
