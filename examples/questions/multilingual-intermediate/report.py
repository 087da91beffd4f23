"""Question 5 on one page: each XTREME-R task's official metric (and F1 where the task has one) per arm, each
arm's XTREME-R score, and the paired effects between arms (`stilt summary --effect`, two-level bootstrap).

    python report.py results/effects.jsonl > results/report.md
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import studyreport as sr  # noqa: E402

QUESTION = ("Question 5: multilingual vs English-only intermediate training on XTREME-R — which helps more, task "
            "by task, in each task's own metric and F1 where defined?")


def pair(record: dict) -> tuple[str, str]:
    return record["params"]["base"], record["params"]["arm"]


def sentence(effect: dict, what: str) -> str:
    base, arm = pair(effect)
    verb = sr.direction(effect, f"{arm} is ahead of {base}", f"{arm} is behind {base}",
                        f"{arm} and {base} cannot be told apart")
    return f"On {what}, {verb} ({sr.interval(effect)}{sr.scale(effect['metric'])[1]})"


def main(effects_path: str) -> None:
    records = sr.read(effects_path)
    seeds, langs = sr.seeds_and_languages(records)
    arms = list(dict.fromkeys(r["params"]["arm"] for r in sr.arm_scores(records)))
    print(f"# {QUESTION}\n")
    print("## Arms\n")
    print("- `baseline`: no intermediate training; every task trained on its English data straight from the "
          "pretrained encoder.\n- `english`: the intermediate task on English data only, then the same tasks.\n"
          "- `multilingual`: the same intermediate task on English plus translated target-language data.\n\n"
          f"Arms in the records: {', '.join(arms)}; {seeds} seed(s) per arm, paired by index; up to {langs} "
          "languages per task.\n")
    print("## Each task per arm: official metric and F1 where defined\n")
    print(sr.score_table(sr.arm_scores(records, "task")) + "\n")
    print("## XTREME-R score of each arm\n")
    overall_scores = sr.arm_scores(records, "overall")
    print((sr.score_table(overall_scores) if overall_scores else
           "No XTREME-R task in these results: no XTREME-R score.") + "\n")
    print("## Paired effects between arms\n")
    print(sr.effect_table(sr.effects(records, "overall") + sr.effects(records, "task")) + "\n")
    print("## Answer\n")
    head = [r for r in sr.effects(records, "overall") if pair(r) == ("english", "multilingual")]
    per_task = [r for r in sr.effects(records, "task") if pair(r) == ("english", "multilingual")]
    parts = []
    if head:
        parts.append(sentence(head[0], "the XTREME-R score") + ".")
    ahead = [r["task"] for r in per_task if sr.direction(r) == "raises"]
    behind = [r["task"] for r in per_task if sr.direction(r) == "lowers"]
    parts.append(f"Task by task, multilingual intermediate data is ahead of English-only on "
                 f"{len(ahead)} of {len(per_task)} task(s) ({', '.join(ahead) or 'none'}) and behind on "
                 f"{len(behind)} ({', '.join(behind) or 'none'}); elsewhere the intervals include 0.")
    for base in ("english", "multilingual"):
        versus = [r for r in sr.effects(records, "overall" if head else "task") if pair(r) == ("baseline", base)]
        if versus:
            parts.append(sentence(versus[0], "the XTREME-R score" if head else versus[0]["task"]) + ".")
    print(" ".join(parts) + "\n")
    print("## What these numbers cannot tell\n")
    print(sr.limits(records, ["The multilingual arm sees more training examples than the English-only arm (the "
                              "translations): part of a difference can be data quantity, not language coverage.",
                              "Translated training data carries translation artefacts; gains on a language say "
                              "nothing about languages without translations."]))


if __name__ == "__main__":
    main(*sys.argv[1:])
