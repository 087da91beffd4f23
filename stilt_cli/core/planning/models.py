"""Encoder shapes for planning (`stilt plan hours` and `stilt plan memory`): what a model name, a local folder
or `tiny:KIND` is, in layers, widths, heads and vocabulary.

A plan must run before anything is downloaded, so hub models are named from a table (`throughput.json`,
"models": the published configs of the encoders stilt's studies use) rather than fetched; a local
folder (a transformers folder or a stilt checkpoint) is read from its config.json; `tiny:KIND` has the
tiny builder's sizes. The FLOP count of `hours` uses the matrix parameters: per layer 4·h·a (attention, a =
heads × head size, usually h) plus 2·h·ffn (3·h·ffn for gated feed-forwards, as in mT5); embeddings vocab × h.
The memory planner counts every parameter (biases, layer norms, position embeddings) from the same shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from stilt_cli.core.errors import DataError, UsageError, did_you_mean, unknown

TABLE = Path(__file__).with_name("throughput.json")


@dataclass(frozen=True)
class Shape:
    name: str
    layers: int
    hidden: int
    ffn: int
    vocab: int
    gated: bool = False
    source: str = "table"  # table | config (a local folder) | tiny
    heads: int = 1
    head_size: int = 0  # width of one attention head; 0: hidden / heads (T5's d_kv may differ)
    positions: int = 0  # learned absolute position embeddings (0: relative positions, as T5 and DeBERTa)
    bias: bool = True  # BERT-like layers carry biases and layer norms with bias; T5 layers neither

    @property
    def inner(self) -> int:
        """Width of q, k and v (heads x head size)."""
        return self.heads * self.head_size if self.head_size else self.hidden

    @property
    def layer_params(self) -> int:
        return self.layers * (4 * self.hidden * self.inner + (3 if self.gated else 2) * self.hidden * self.ffn)

    @property
    def embedding_params(self) -> int:
        return self.vocab * self.hidden

    @property
    def params(self) -> int:
        return self.layer_params + self.embedding_params


@cache
def table() -> dict[str, Any]:
    return json.loads(TABLE.read_text(encoding="utf-8"))


def from_config(config: dict[str, Any], name: str) -> Shape:
    hidden = config.get("hidden_size") or config.get("d_model")
    layers = config.get("num_hidden_layers") or config.get("num_layers")
    ffn = config.get("intermediate_size") or config.get("d_ff")
    if not (hidden and layers and ffn and config.get("vocab_size")):
        raise DataError(f"{name}: config.json does not say the encoder's layers and widths")
    gated = "gated" in str(config.get("feed_forward_proj", "")) or config.get("hidden_act") in ("swiglu", "geglu")
    t5 = "d_model" in config
    relative = t5 or config.get("position_biased_input") is False or config.get("position_embedding_type") in (
        "rope", "relative_key", "relative_key_query")
    return Shape(name, int(layers), int(hidden), int(ffn), int(config["vocab_size"]), gated, "config",
                 heads=int(config.get("num_attention_heads") or config.get("num_heads") or 1),
                 head_size=int(config.get("d_kv", 0)) if t5 else 0,
                 positions=0 if relative else int(config.get("max_position_embeddings") or 512), bias=not t5)


def resolve(model: str) -> Shape:
    """A hub id or table name (`xlm-roberta-large`, `google/mt5-base`, `xlmr-large`), a local folder or
    checkpoint, or `tiny:KIND` -> its Shape. Unknown -> UsageError with did-you-mean (exit 2)."""
    models = table()["models"]
    if model.startswith("tiny:"):
        from stilt_cli.core.encoders.tiny import DEFAULT_SIZES, TINY_KINDS

        kind = model.split(":", 1)[1]
        if kind not in TINY_KINDS:
            raise unknown(kind, TINY_KINDS, "tiny encoder kind")
        s, t5 = DEFAULT_SIZES, kind in ("mt5", "umt5", "t5")
        return Shape(model, s["layers"], s["hidden"], s["ffn"], s["vocab_size"], kind in ("mt5", "umt5"), "tiny",
                     heads=s["heads"],
                     positions=0 if t5 else s["max_positions"], bias=not t5)
    path = Path(model)
    if path.is_dir():
        for config in (path / "config.json", path / "encoder" / "config.json"):
            if config.is_file():
                return from_config(json.loads(config.read_text(encoding="utf-8")), model)
        raise DataError(f"{model}: a folder without config.json (nor encoder/config.json)",
                        "give a transformers folder or a stilt checkpoint")
    names = {}
    for key, entry in models.items():
        for alias in (key, *entry.get("aliases", ())):
            names[alias.lower()] = key
    wanted = model.lower()
    key = names.get(wanted) or names.get(wanted.rsplit("/", 1)[-1])
    if key is None:
        known = sorted(names)
        raise UsageError(did_you_mean(model, known, "model"),
                         f"give a local folder, tiny:KIND or one of {', '.join(known)} (add others to {TABLE.name})")
    e = models[key]
    return Shape(key, e["layers"], e["hidden"], e["ffn"], e["vocab"], e.get("gated", False), "table",
                 heads=e["heads"], head_size=e.get("head_size", 0), positions=e.get("positions", 0),
                 bias=e.get("bias", True))
