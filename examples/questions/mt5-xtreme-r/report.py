"""Question 4 on one page: the paired effect of English intermediate training on an mT5 encoder per XTREME-R
task and on the XTREME-R score, each arm's XTREME-R score (`stilt summary --effect`), and the gain against
morphological distance with fertility and subword overlap held fixed (`stilt correlate --model`).

    python report.py results/effects.jsonl results/morphology.jsonl > results/report.md
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import studyreport as sr  # noqa: E402

QUESTION = ("Question 4: with mT5-style multilingual pretraining, what does English intermediate training do on "
            "XTREME-R, in particular for languages whose morphology diverges from English?")
CONTROLS = ("fertility", "subword-overlap")


def ci(row: dict) -> str:
    low, high = row.get("ci_low"), row.get("ci_high")
    return f"{row['value']:+.2f} [" + ("–, –" if low is None else f"{low:+.2f}, {high:+.2f}") + "]"


def morphology_tables(rows: list[dict]) -> str:
    correlations = [r for r in rows if r["kind"] == "correlation" and r["metric"] in ("pearson", "partial_pearson")]
    lines = [sr.table(["measure", "unit", "statistic", "r [95 % CI]", "adjusted p", "languages"],
                      [[r["params"]["feature"], r["task"], r["metric"], ci(r),
                        "–" if r.get("p_adjusted") is None else f"{r['p_adjusted']:.2g}", str(r["n_langs"])]
                       for r in correlations])]
    coefficients = [r for r in rows if r["kind"] == "regression" and r["metric"] == "coefficient"]
    if coefficients:
        fit = next((r for r in rows if r["kind"] == "regression" and r["metric"] == "r_squared"), None)
        lines.append(f"\nRegression: gain ~ {' + '.join(r['params']['term'] for r in coefficients)} "
                     "(standardised coefficients, bootstrap 95 % CI)"
                     + (f"; R² {fit['value']:.2f}, {fit.get('n_langs', fit['n'])} languages" if fit else "") + ".\n")
        lines.append(sr.table(["term", "unit", "coefficient [95 % CI]", "adjusted p"],
                              [[r["params"]["term"], r["task"], ci(r),
                                "–" if r.get("p_adjusted") is None else f"{r['p_adjusted']:.2g}"]
                               for r in coefficients]))
    return "\n".join(lines)


def morphology_sentence(rows: list[dict]) -> str:
    terms = [r for r in rows if r["kind"] == "regression" and r["metric"] == "coefficient"
             and r["params"]["term"] not in CONTROLS]
    pooled = [r for r in terms if r["task"] == "pooled"] or terms
    if not pooled:
        return "No regression could be fit, so the morphology question stays open."
    term = pooled[0]
    name = term["params"]["term"]
    held = " and ".join(c for c in CONTROLS if any(r["params"]["term"] == c for r in rows if r["kind"] == "regression"))
    way = sr.direction(term, "grows", "shrinks", "shows no detectable relation")
    if way == "shows no detectable relation":
        return (f"With {held} held fixed, the gain shows no detectable relation to {name} distance from English "
                f"(standardised coefficient {ci(term)}).")
    return (f"With {held} held fixed, the gain {way} with {name} distance from English (standardised coefficient "
            f"{ci(term)}): languages whose morphology diverges more gain {'more' if way == 'grows' else 'less'}.")


def main(effects_path: str, morphology_path: str) -> None:
    records = sr.read(effects_path)
    morphology = sr.read(morphology_path)
    overall = sr.effects(records, "overall")
    seeds, langs = sr.seeds_and_languages(records)
    print(f"# {QUESTION}\n")
    print("## Arms\n")
    print("- `baseline`: no intermediate training; every task trained on its English data straight from the "
          "pretrained mT5 encoder.\n- `xstilts`: English intermediate training first, then the same tasks.\n\n"
          f"{seeds} seed(s) per arm, paired by index; up to {langs} languages per task.\n")
    print("## Effect of English intermediate training (paired, two-level bootstrap)\n")
    print(sr.effect_table(overall + sr.effects(records, "task")) + "\n")
    print("## XTREME-R score of each arm\n")
    scores = sr.arm_scores(records, "overall")
    print((sr.score_table(scores) if scores else "No XTREME-R task in these results: no XTREME-R score.") + "\n")
    print(sr.score_table(sr.arm_scores(records, "task")) + "\n")
    print("## Gain against morphological distance from English\n")
    print(morphology_tables(morphology) + "\n")
    print("## Answer\n")
    headline = overall[0] if overall else (sr.effects(records, "task") or [None])[0]
    effect = ("" if headline is None else
              f"On an mT5 encoder, English intermediate training {sr.direction(headline)} "
              f"{'the XTREME-R score' if overall else headline['task']} ({sr.interval(headline)}"
              f"{sr.scale(headline['metric'])[1]}). ")
    print(effect + morphology_sentence(morphology) + "\n")
    print("## What these numbers cannot tell\n")
    print(sr.limits(records, ["Morphological distance is measured on the languages URIEL+ and UD cover; languages "
                              "without a value are left out of the regression (listed in the records)."]))


if __name__ == "__main__":
    main(*sys.argv[1:])
