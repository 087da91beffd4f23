"""Facts about encoder families: which class loads them, which layer retrieval reads by default."""

from __future__ import annotations

from typing import Any

# model_type in config.json -> stilt family
_FAMILIES = {
    "xlm-roberta": "xlmr",
    "roberta": "xlmr",
    "bert": "bert",
    "mt5": "mt5",
    "t5": "mt5",
    "umt5": "mt5",
}


# model_type -> the encoder's linear projections, as module-name suffixes (PEFT's `target_modules`
# matching: a module matches when its dotted name ends with ".<suffix>"). Read from transformers'
# model code; "attention" holds the query/key/value/output projections, "feed_forward" the FFN.
_BERT_LIKE = {
    "attention": ("query", "key", "value", "attention.output.dense"),
    "feed_forward": ("intermediate.dense", "output.dense"),
}
_PROJECTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "xlm-roberta": _BERT_LIKE,
    "roberta": _BERT_LIKE,
    "bert": _BERT_LIKE,
    "rembert": _BERT_LIKE,
    "deberta-v2": {
        "attention": ("query_proj", "key_proj", "value_proj", "attention.output.dense"),
        "feed_forward": ("intermediate.dense", "output.dense"),
    },
    "modernbert": {"attention": ("attn.Wqkv", "attn.Wo"), "feed_forward": ("mlp.Wi", "mlp.Wo")},
    "mt5": {"attention": ("q", "k", "v", "o"), "feed_forward": ("wi", "wi_0", "wi_1", "wo")},
    "t5": {"attention": ("q", "k", "v", "o"), "feed_forward": ("wi", "wi_0", "wi_1", "wo")},
    "umt5": {"attention": ("q", "k", "v", "o"), "feed_forward": ("wi", "wi_0", "wi_1", "wo")},
}


def projection_modules(config: Any) -> dict[str, tuple[str, ...]] | None:
    """The attention and feed-forward projection-module suffixes of a known family; None if unknown."""
    return _PROJECTIONS.get(getattr(config, "model_type", ""))


def family_of(config: Any, source_hint: str = "") -> str:
    model_type = getattr(config, "model_type", "")
    family = _FAMILIES.get(model_type, model_type or "unknown")
    hint = source_hint.lower()
    if family == "bert" and "multilingual" in hint and "e5" not in hint:
        family = "mbert"
    if "e5" in hint:
        family = "e5"
    return family


def model_class_of(config: Any) -> str:
    """AutoModel for encoders; MT5EncoderModel for (m)T5, since AutoModel would add a random decoder."""
    model_type = getattr(config, "model_type", "")
    if model_type in ("mt5", "umt5"):
        return "MT5EncoderModel"
    if model_type == "t5":
        return "T5EncoderModel"
    return "AutoModel"


def num_layers_of(config: Any) -> int:
    for name in ("num_hidden_layers", "num_layers"):
        value = getattr(config, name, None)
        if isinstance(value, int):
            return value
    raise ValueError("cannot tell the number of layers from the model config")


def hidden_size_of(config: Any) -> int:
    for name in ("hidden_size", "d_model"):
        value = getattr(config, name, None)
        if isinstance(value, int):
            return value
    raise ValueError("cannot tell the hidden size from the model config")


def default_retrieval_layer(family: str, num_layers: int) -> int:
    """Default layer for sentence retrieval, in HF `hidden_states` indexing (0 = embeddings).

    XLM-R Large: 14 (X-STILTs, Phang et al. 2020). 12-layer mBERT / XLM-R base: 8 (XTREME's choice).
    Retrieval-trained encoders (multilingual-e5) and tiny test models: the last layer. Otherwise the
    layer at the same relative depth as 8 of 12.
    """
    if family in ("e5", "tiny"):
        return num_layers
    if family == "xlmr" and num_layers == 24:
        return 14
    if num_layers == 12:
        return 8
    return max(1, round(num_layers * 8 / 12))


def encoder_facts(model: Any, family: str, source: dict[str, Any], retrieval_layer: int | None = None) -> dict[str, Any]:
    config = model.config
    layers = num_layers_of(config)
    return {
        "model_class": model_class_of(config),
        "model_type": getattr(config, "model_type", None),
        "family": family,
        "num_layers": layers,
        "hidden_size": hidden_size_of(config),
        "vocab_size": int(config.vocab_size),
        "max_positions": getattr(config, "max_position_embeddings", None),
        "retrieval_layer": retrieval_layer if retrieval_layer is not None else default_retrieval_layer(family, layers),
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "source": source,
    }
