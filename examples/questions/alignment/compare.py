"""The alignment question (question 2) on one page: the paired effects between arms at the retrieval layer and
per layer, with 95 % intervals from the two-level bootstrap (`stilt summary --effect`); per layer, the
language-mean retrieval accuracy (both directions), translation-vs-random cosine gap and linear CKA of each
arm (seeds averaged), and each trained arm's change from the first (the pretrained encoder); the same per
language at the checkpoint's retrieval layer; then the answer, worded from the intervals, and what the
numbers cannot tell.

    python compare.py --effects results/effects.jsonl base=results/align-base.jsonl inter=... > report.md
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import studyreport as sr  # noqa: E402

METRICS = ("retrieval_accuracy", "cosine_gap", "cka")


def read(path: Path) -> tuple[dict[tuple[str, int, str], float], int | None]:
    """-> ((metric, layer, lang) -> value, the two retrieval directions averaged; the checkpoint's
    retrieval layer from its manifest, where the records name a checkpoint)."""
    values: dict[tuple[str, int, str], list[float]] = defaultdict(list)
    layer = None
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line) if line.strip() else None
        if record and record.get("kind") == "alignment" and record["metric"] in METRICS:
            values[(record["metric"], int(record["params"]["layer"]), record["lang"])].append(float(record["value"]))
            manifest = Path((record.get("checkpoint") or {}).get("path") or "") / "stilt.json"
            if layer is None and manifest.is_file():
                layer = json.loads(manifest.read_text(encoding="utf-8"))["encoder"].get("retrieval_layer")
    return {key: sum(v) / len(v) for key, v in values.items()}, layer


def mean(arm: dict, metric: str, layer: int) -> float:
    found = [v for (m, layer_, _), v in arm.items() if m == metric and layer_ == layer]
    return sum(found) / len(found)


QUESTION = ("Question 2: does English intermediate training degrade cross-lingual alignment on distant languages, "
            "compared with direct target-language tuning?")


def answer(effects: list[dict], layer: int | None) -> str:
    """The answer from the retrieval-accuracy effects at the retrieval layer."""
    found = {(r["params"]["base"], r["params"]["arm"]): r for r in effects if r["params"].get("level") == "task"}
    parts = []
    for (base, arm), what in ((("base", "inter"), "English intermediate training"),
                              (("base", "direct"), "direct target-language tuning"),
                              (("base", "inter-lora"), "LoRA intermediate training")):
        if (base, arm) in found:
            r = found[(base, arm)]
            parts.append(f"{what} {sr.direction(r, 'improves', 'degrades', 'does not measurably change')} "
                         f"retrieval accuracy against the pretrained encoder ({sr.interval(r)} points)")
    sentence = "At the retrieval layer" + (f" ({layer})" if layer is not None else "") + ", " + "; ".join(parts)
    if ("direct", "inter") in found:
        r = found[("direct", "inter")]
        verb = sr.direction(r, "aligns better than", "aligns worse than", "cannot be told apart from")
        sentence += f". English intermediate training {verb} direct tuning ({sr.interval(r)} points)"
    return sentence + "."


def main(args: list[str]) -> None:
    effects = []
    if args and args[0] == "--effects":
        effects = sr.effects(sr.read(args[1]))
        args = args[2:]
    read_back = {name: read(Path(path)) for name, path in (a.split("=", 1) for a in args)}
    arms = {name: values for name, (values, _) in read_back.items()}
    names = list(arms)
    base = names[0]
    layers = sorted({layer for arm in arms.values() for (_, layer, _) in arm})
    langs = sorted({lang for arm in arms.values() for (_, _, lang) in arm})
    print(f"# {QUESTION}\n")
    print("## Arms\n")
    print("- `base`: the pretrained encoder, no intermediate training (the baseline every arm starts from).\n"
          "- `inter`: English intermediate training (full fine-tuning).\n"
          "- `inter-lora`: the same with LoRA (a low-rank update, word embeddings frozen).\n"
          "- `direct`: direct target-language tuning (the target languages' own training data).\n")
    if effects:
        seeds, count = sr.seeds_and_languages(effects)
        print(f"{seeds} seed(s) per trained arm, paired by index; {count} languages.\n")
    last = read_back[base][1] if read_back[base][1] in layers else layers[-1]
    if effects:
        print(f"## Paired effects on retrieval accuracy at the retrieval layer ({last}), two-level bootstrap\n")
        print(sr.effect_table([r for r in effects if r["params"].get("level") == "task"]) + "\n")
        print("The per-layer tables below are means over seeds and languages (descriptive); the intervals are "
              "those of the effects above.\n")
    print(f"Arms: {', '.join(names)}; languages: {', '.join(langs)}. Values are means over the languages; "
          f"Δ is the change from `{base}`. Retrieval accuracy is the mean of both directions.\n")
    for metric in METRICS:
        print(f"## {metric}\n")
        header = ["layer"] + names + [f"Δ {n}" for n in names[1:]]
        print("| " + " | ".join(header) + " |")
        print("|" + "---:|" * len(header))
        for layer in layers:
            row = {n: mean(arms[n], metric, layer) for n in names}
            cells = [str(layer)] + [f"{row[n]:.3f}" for n in names] + [f"{row[n] - row[base]:+.3f}" for n in names[1:]]
            print("| " + " | ".join(cells) + " |")
        print()
    print(f"## Per language at the retrieval layer ({last}): retrieval accuracy (Δ from `{base}`)\n")
    print("| lang | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for lang in langs:
        ref = arms[base][("retrieval_accuracy", last, lang)]
        cells = [f"{arms[n][('retrieval_accuracy', last, lang)]:.3f}" + ("" if n == base else
                 f" ({arms[n][('retrieval_accuracy', last, lang)] - ref:+.3f})") for n in names]
        print(f"| {lang} | " + " | ".join(cells) + " |")
    if effects:
        print("\n## Answer\n")
        print(answer(effects, last) + "\n")
        print("## What these numbers cannot tell\n")
        print(sr.limits(effects, ["Alignment measured on parallel sentences of one domain; a change of alignment "
                                  "need not change a task's zero-shot accuracy.",
                                  f"{len(langs)} language(s): whether distant languages lose more needs a "
                                  "distance measure and enough languages (question 1's correlate does that)."]))


if __name__ == "__main__":
    main(sys.argv[1:])
