"""The alignment question on one page: per layer, the language-mean retrieval accuracy (both directions),
translation-vs-random cosine gap and linear CKA of each arm, and each trained arm's change from the first
(the pretrained encoder); then the same per language at the checkpoint's retrieval layer.

    python compare.py base=results/align-base.jsonl inter=results/align-inter.jsonl ... > report.md
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

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


def main(args: list[str]) -> None:
    read_back = {name: read(Path(path)) for name, path in (a.split("=", 1) for a in args)}
    arms = {name: values for name, (values, _) in read_back.items()}
    names = list(arms)
    base = names[0]
    layers = sorted({layer for arm in arms.values() for (_, layer, _) in arm})
    langs = sorted({lang for arm in arms.values() for (_, _, lang) in arm})
    print("# Cross-lingual alignment before and after training\n")
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
    last = read_back[base][1] if read_back[base][1] in layers else layers[-1]
    print(f"## Per language at the retrieval layer ({last}): retrieval accuracy (Δ from `{base}`)\n")
    print("| lang | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for lang in langs:
        ref = arms[base][("retrieval_accuracy", last, lang)]
        cells = [f"{arms[n][('retrieval_accuracy', last, lang)]:.3f}" + ("" if n == base else
                 f" ({arms[n][('retrieval_accuracy', last, lang)] - ref:+.3f})") for n in names]
        print(f"| {lang} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
