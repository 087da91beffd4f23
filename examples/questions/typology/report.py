"""Question 1 on one page: the paired effect of English intermediate training (`stilt summary --effect`),
then how the per-language gain relates to distance from English (`stilt correlate`'s records and page).

    python report.py results/effects.jsonl results/correlate.jsonl results/correlate.md > results/report.md
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import studyreport as sr  # noqa: E402

QUESTION = ("Question 1: does typological distance from English modulate the gain from English intermediate "
            "training, especially for low-resource languages?")


def strongest(correlations: list[dict]) -> dict | None:
    """The Pearson correlation (pooled where there is one) with the smallest adjusted p, ties by |r|."""
    pearson = [r for r in correlations if r["metric"] == "pearson" and r.get("p_adjusted") is not None]
    pooled = [r for r in pearson if r["task"] == "pooled"] or pearson
    return min(pooled, key=lambda r: (r["p_adjusted"], -abs(r["value"] or 0)), default=None)


def distance_sentence(correlations: list[dict]) -> str:
    best = strongest(correlations)
    if best is None:
        return "No distance measure had enough languages for a correlation."
    feature, r = best["params"]["feature"], best
    ci = f"r = {r['value']:+.2f} [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}], adjusted p = {r['p_adjusted']:.2g}"
    if r["p_adjusted"] < 0.05:
        way = "shrinks" if r["value"] < 0 else "grows"
        return f"The gain {way} with {feature} distance from English ({ci}, {r['n_langs']} languages)."
    return (f"No distance measure correlates with the gain after correction for multiple comparisons; the "
            f"strongest is {feature} ({ci}, {r['n_langs']} languages).")


def low_resource_sentence(correlations: list[dict]) -> str:
    """Whether pretraining size matters: the partial correlations control for it; say so with the numbers."""
    partial = [r for r in correlations if r["metric"] == "partial_pearson" and r["task"] == "pooled"] or \
              [r for r in correlations if r["metric"] == "partial_pearson"]
    if not partial:
        return ""
    best = min(partial, key=lambda r: (r.get("p_adjusted") or 1.0, -abs(r["value"] or 0)))
    covariates = ", ".join(best["params"].get("covariates") or {})
    return (f" Holding {covariates} fixed (low-resource languages have little pretraining text), the strongest "
            f"partial correlation is {best['params']['feature']}'s, r = {best['value']:+.2f} "
            f"[{best['ci_low']:+.2f}, {best['ci_high']:+.2f}].")


def main(effects_path: str, correlate_path: str, correlate_page: str) -> None:
    records = sr.read(effects_path)
    correlations = [r for r in sr.read(correlate_path) if r["kind"] == "correlation"]
    task_effects = sr.effects(records, "task")
    arms = sorted({r["params"]["arm"] for r in sr.arm_scores(records)})
    seeds, langs = sr.seeds_and_languages(records)
    print(f"# {QUESTION}\n")
    print("## Arms\n")
    print(f"- `baseline`: no intermediate training, the target task trained straight from the pretrained encoder.\n"
          f"- `xstilts`: English intermediate training, then the same target task from the same pretrained encoder.\n"
          f"\nArms in the records: {', '.join(arms)}; {seeds} seed(s) per arm paired by index; up to {langs} "
          "languages.\n")
    print("## Effect of English intermediate training (paired, two-level bootstrap)\n")
    print(sr.effect_table(task_effects) + "\n")
    print(sr.score_table(sr.arm_scores(records, "task")) + "\n")
    page = Path(correlate_page).read_text(encoding="utf-8").splitlines()
    body = [("#" + line if line.startswith("#") else line) for line in page[1:]]  # one level down
    print("## Gain against distance from English (`stilt correlate`)\n")
    print("\n".join(body).strip() + "\n")
    print("## Answer\n")
    main_effect = task_effects[0] if task_effects else None
    effect = ("" if main_effect is None else
              f"English intermediate training {sr.direction(main_effect)} {main_effect['task']} "
              f"({sr.interval(main_effect)}{sr.scale(main_effect['metric'])[1]}, {main_effect['n_langs']} languages, "
              f"{main_effect['n_seeds']} seeds). ")
    print(effect + distance_sentence(correlations) + low_resource_sentence(correlations) + "\n")
    print("## What these numbers cannot tell\n")
    print(sr.limits(records, ["Correlation across languages is not causation: distance, script, pretraining size "
                              "and tokenizer quality go together, and partial correlations control only for the "
                              "covariates measured."]))


if __name__ == "__main__":
    main(*sys.argv[1:])
