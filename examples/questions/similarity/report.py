"""Question 3 on one page: the paired effect of English intermediate training (`stilt summary --effect`) and
the similarity measures ranked by the share of the gain's variance each explains (`stilt correlate --rank`).

    python report.py typology-results/effects.jsonl results/ranking.jsonl > results/report.md
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import studyreport as sr  # noqa: E402

QUESTION = ("Question 3: does the effectiveness of English intermediate training depend on linguistic similarity "
            "to English, and which measure (syntax, phonology, morphology, script, subword overlap) explains it best?")


def r2(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def ranking_table(ranking: list[dict]) -> str:
    rows = [[str(r["rank"]), r["params"]["measure"], f"{r2(r['value'])} [{r2(r['ci_low'])}, {r2(r['ci_high'])}]",
             f"{r['r']:+.2f}" if r.get("r") is not None else "–",
             "–" if r["rank_ci"][0] is None else f"{r['rank_ci'][0]:.0f}–{r['rank_ci'][1]:.0f}",
             "–" if r.get("p_best") is None else f"{r['p_best']:.2f}"] for r in ranking]
    return sr.table(["rank", "measure", "R² [95 % CI]", "r", "rank 95 % interval", "P(first)"], rows)


def answer(effect: dict | None, ranking: list[dict]) -> str:
    parts = []
    if effect is not None:
        parts.append(f"English intermediate training {sr.direction(effect)} {effect['task']} "
                     f"({sr.interval(effect)}{sr.scale(effect['metric'])[1]}).")
    best = ranking[0]
    alone = best["rank_ci"][1] is not None and best["rank_ci"][1] < 1.5  # first in 97.5 % of resamples
    related = best["ci_low"] is not None and best["ci_low"] > 0.0
    share = f"R² {r2(best['value'])} [{r2(best['ci_low'])}, {r2(best['ci_high'])}]"
    if alone:
        parts.append(f"{best['params']['measure']} explains the gain best ({share}), ranking first in "
                     f"{best['p_best']:.0%} of the resamples.")
    else:
        tied = [r["params"]["measure"] for r in ranking if r["rank_ci"][0] is not None and r["rank_ci"][0] < 1.5]
        parts.append(f"{best['params']['measure']} explains the most variance ({share}), but the ranking is not "
                     f"resolved: {', '.join(tied)} can each rank first (P(first) of the leader "
                     f"{best['p_best']:.0%}).")
    if not related:
        parts.append("Even the leading measure's interval reaches 0, so the data do not show that similarity "
                     "to English matters at all.")
    return " ".join(parts)


def main(effects_path: str, ranking_path: str) -> None:
    records = sr.read(effects_path)
    ranking = sorted((r for r in sr.read(ranking_path) if r["kind"] == "ranking"), key=lambda r: r["rank"])
    task_effects = sr.effects(records, "task")
    seeds, langs = sr.seeds_and_languages(records)
    print(f"# {QUESTION}\n")
    print("## Arms\n")
    print("Question 1's runs (examples/questions/typology), reused:\n\n"
          "- `baseline`: no intermediate training, the target task trained straight from the pretrained encoder.\n"
          "- `xstilts`: English intermediate training, then the same target task.\n\n"
          f"{seeds} seed(s) per arm, paired by index; up to {langs} languages.\n")
    print("## Effect of English intermediate training (paired, two-level bootstrap)\n")
    print(sr.effect_table(task_effects) + "\n")
    print("## Which similarity measure explains the gain best\n")
    first = ranking[0]
    print(f"Per-language gain (xstilts − baseline, seeds averaged) against each measure alone, on the "
          f"{first['n_langs']} languages every measure covers"
          + (f" (left out for a missing measure: {', '.join(first['left_out'])})" if first.get("left_out") else "")
          + f"; R² = r² within tasks; {first['bootstrap']['used']} of {first['bootstrap']['resamples']} bootstrap "
          "resamples (languages), the same for every measure.\n")
    print(ranking_table(ranking) + "\n")
    print("## Answer\n")
    print(answer(task_effects[0] if task_effects else None, ranking) + "\n")
    print("## What these numbers cannot tell\n")
    extra = ["R² of one measure at a time: measures that go together (script and subword overlap, syntax and "
             "morphology) share variance, so a high R² does not make a measure the cause; question 1's regression "
             "fits them jointly."]
    if first["n_langs"] < 3 * len(ranking):
        extra.append(f"{first['n_langs']} languages for {len(ranking)} measures: too few to separate measures whose "
                     "R² differ by less than their intervals.")
    print(sr.limits(records, extra))


if __name__ == "__main__":
    main(*sys.argv[1:])
