"""Encoder families as data: one `Family` entry per architecture stilt has run end to end.

An entry says which class loads the encoder without a random decoder or head, where the pretrained
MLM head lives (kept in a checkpoint's `mlm_head/`), how token type ids are used, whether a CLS token
exists, the default retrieval layer and pooling with where that choice comes from, the attention and
feed-forward projection modules (LoRA targets), and how saved encoders reload with plain transformers.
A `model_type` no entry names still loads through `AutoModel`, with its facts marked unverified.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

# the transformers versions the chain tests (tests/e2e/test_families_chain.py) ran on in CI; a family
# added later names its own (`Family.verified_with`)
VERIFIED_WITH = ("5.24.0", "5.25.0")

XTREME_DEPTH = "same relative depth as XTREME's 8 of 12 (no published choice)"
XTREME = "XTREME (Hu et al., 2020)"
LAST_LAYER = "last"  # a `retrieval_layers` rule's layer: the top one, whatever the depth


# One pooling vocabulary, for task heads (`head_pooling`, head.json) and extraction (`--pooling`): "cls" reads
# the first token, "mean" averages the non-padding tokens. Heads written before stilt used this vocabulary say
# "first" for "cls"; `canonical_pooling` reads them, so their checkpoints still load.
POOLING = ("cls", "mean")
LEGACY_POOLING = {"first": "cls"}


def canonical_pooling(name: str) -> str:
    return LEGACY_POOLING.get(name, name)


@dataclass(frozen=True)
class Family:
    name: str  # what checkpoints record as encoder.family
    title: str  # the models it covers, for people
    model_types: tuple[str, ...]  # config.json model_type values it answers for
    encoder_class: str  # loads the bare encoder, no decoder, pooler or head; the manifest names it
    mlm_class: str | None  # the *ForMaskedLM class whose head `mlm_head/` keeps; None: no MLM head
    mlm_modules: tuple[str, ...] = ()  # its head's child modules, applied in this order
    mlm_takes_embeddings: tuple[str, ...] = ()  # head modules called as (hidden, word embeddings)
    mlm_retry: tuple[tuple[str, Any], ...] = ()  # config overrides to try when the head's weights are absent
    token_types: str = "ignored"  # used (segment A/B embeddings) | ignored (one type) | none (no such input)
    has_cls: bool = True  # a first token trained as a sequence summary: CLS pooling is meaningful
    head_pooling: str = "cls"  # how classification / multiple-choice heads read a sequence: cls | mean (POOLING)
    # (depth or None for any, layer or "last", source); a depth no rule names gets XTREME's relative depth
    retrieval_layers: tuple[tuple[int | None, int | str, str], ...] = ()
    retrieval_pooling: tuple[str, str] = ("mean", XTREME)
    projections: dict[str, tuple[str, ...]] = field(default_factory=dict)
    examples: tuple[str, ...] = ()  # hub ids of the real models of this family
    tiny: str | None = None  # the `tiny:` builder of this architecture
    verified: bool = True
    verified_with: tuple[str, ...] = VERIFIED_WITH  # transformers versions its chain test passed on


_BERT_LIKE = {
    "attention": ("query", "key", "value", "attention.output.dense"),
    "feed_forward": ("intermediate.dense", "output.dense"),
}
_T5_LIKE = {"attention": ("q", "k", "v", "o"), "feed_forward": ("wi", "wi_0", "wi_1", "wo")}
_T5_POOLING = ("mean", "no CLS token")

XLMR = Family(
    name="xlmr", title="XLM-R, XLM-V, Glot500", model_types=("xlm-roberta", "roberta"), encoder_class="AutoModel",
    mlm_class="XLMRobertaForMaskedLM", mlm_modules=("lm_head",),
    retrieval_layers=((24, 14, "X-STILTs (Phang et al., 2020), XLM-R Large"), (12, 8, XTREME + ", XLM-R base")),
    projections=_BERT_LIKE, examples=("xlm-roberta-base", "xlm-roberta-large", "facebook/xlm-v-base",
                                      "cis-lmu/glot500-base"), tiny="xlmr",
)
BERT = Family(
    name="bert", title="BERT", model_types=("bert",), encoder_class="AutoModel", mlm_class="BertForMaskedLM",
    mlm_modules=("cls",), token_types="used", retrieval_layers=((12, 8, XTREME + ", mBERT"),),
    projections=_BERT_LIKE, examples=("bert-base-cased",),
)
MBERT = replace(BERT, name="mbert", title="mBERT", examples=("bert-base-multilingual-cased",), tiny="mbert")
LABSE = replace(
    BERT, name="labse", title="LaBSE (retrieval-trained BERT)", examples=("sentence-transformers/LaBSE",),
    retrieval_layers=((None, LAST_LAYER, "LaBSE (Feng et al., 2022)"),),
    retrieval_pooling=("cls", "LaBSE (Feng et al., 2022); its pooler is not loaded"),
)
E5 = replace(
    BERT, name="e5", title="multilingual-e5", head_pooling="mean", examples=("intfloat/multilingual-e5-small",),
    retrieval_layers=((None, LAST_LAYER, "multilingual-e5 (Wang et al., 2024)"),),
    retrieval_pooling=("mean", "multilingual-e5 (Wang et al., 2024)"),
)
DEBERTA = Family(
    name="deberta-v2", title="mDeBERTa-v3, DeBERTa-v2/v3", model_types=("deberta-v2",), encoder_class="AutoModel",
    mlm_class="DebertaV2ForMaskedLM", mlm_modules=("cls", "lm_predictions"), mlm_takes_embeddings=("lm_predictions",),
    # Microsoft's checkpoints keep DeBERTa's own `lm_predictions` head, which transformers builds only with
    # legacy=False; the default (legacy) layout would start continued MLM from a random head
    mlm_retry=(("legacy", False),),
    projections={"attention": ("query_proj", "key_proj", "value_proj", "attention.output.dense"),
                 "feed_forward": ("intermediate.dense", "output.dense")},
    examples=("microsoft/mdeberta-v3-base",), tiny="mdeberta",
)
REMBERT = Family(
    name="rembert", title="RemBERT", model_types=("rembert",), encoder_class="AutoModel",
    mlm_class="RemBertForMaskedLM", mlm_modules=("cls",), token_types="used",
    projections=_BERT_LIKE, examples=("google/rembert",), tiny="rembert",
)
MODERNBERT = Family(
    name="modernbert", title="ModernBERT, mmBERT", model_types=("modernbert",), encoder_class="AutoModel",
    mlm_class="ModernBertForMaskedLM", mlm_modules=("head", "decoder"), token_types="none",
    projections={"attention": ("attn.Wqkv", "attn.Wo"), "feed_forward": ("mlp.Wi", "mlp.Wo")},
    examples=("jhu-clsp/mmBERT-base", "answerdotai/ModernBERT-base"), tiny="modernbert",
)
MT5 = Family(
    name="mt5", title="mT5 encoder", model_types=("mt5",), encoder_class="MT5EncoderModel", mlm_class=None,
    token_types="none", has_cls=False, head_pooling="mean",
    retrieval_pooling=_T5_POOLING, projections=_T5_LIKE, examples=("google/mt5-base",), tiny="mt5",
)
UMT5 = replace(MT5, name="umt5", title="umT5 encoder", model_types=("umt5",), encoder_class="UMT5EncoderModel",
               examples=("google/umt5-base",), tiny="umt5")
T5 = replace(MT5, name="t5", title="T5 encoder", model_types=("t5",), encoder_class="T5EncoderModel",
             examples=("google-t5/t5-base",), tiny="t5")

XLMR_XL = Family(  # pre-layer-norm blocks and a final layer norm; XLM-R's vocabulary and <s> ... </s> framing
    name="xlm-roberta-xl", title="XLM-R XL, XXL", model_types=("xlm-roberta-xl",), encoder_class="AutoModel",
    mlm_class="XLMRobertaXLForMaskedLM", mlm_modules=("lm_head",), projections=_BERT_LIKE,
    examples=("facebook/xlm-roberta-xl", "facebook/xlm-roberta-xxl"), tiny="xlmr-xl", verified_with=("5.25.0",),
)
EUROBERT = Family(  # Llama-style bidirectional blocks; <|begin_of_text|> opens every sequence, no token types
    name="eurobert", title="EuroBERT", model_types=("eurobert",), encoder_class="AutoModel",
    mlm_class="EuroBertForMaskedLM", mlm_modules=("lm_head",), token_types="none",
    # the authors' EuroBertForSequenceClassification averages over tokens by default (classifier_pooling "late")
    head_pooling="mean",
    projections={"attention": ("q_proj", "k_proj", "v_proj", "o_proj"),
                 "feed_forward": ("gate_proj", "up_proj", "down_proj")},
    examples=("EuroBERT/EuroBERT-210m", "EuroBERT/EuroBERT-610m", "EuroBERT/EuroBERT-2.1B"), tiny="eurobert",
    verified_with=("5.25.0",),
)

FAMILIES: tuple[Family, ...] = (XLMR, XLMR_XL, MBERT, LABSE, E5, BERT, DEBERTA, REMBERT, MODERNBERT, EUROBERT,
                                MT5, UMT5, T5)
_BY_NAME = {f.name: f for f in FAMILIES}
_BY_MODEL_TYPE = {t: f for f in FAMILIES if f.name not in ("mbert", "labse", "e5") for t in f.model_types}


def unverified(model_type: str) -> Family:
    """What stilt assumes of an architecture it has never run: AutoModel, its MLM head if one module holds
    it, the same relative retrieval depth as XTREME, mean pooling."""
    return Family(name=model_type or "unknown", title=model_type or "unknown", model_types=(model_type,),
                  encoder_class="AutoModel", mlm_class="AutoModelForMaskedLM", token_types="ignored",
                  verified=False)


def by_model_type(model_type: str) -> Family | None:
    return _BY_MODEL_TYPE.get(model_type)


def family_of(config: Any, source_hint: str = "") -> str:
    """The family name a checkpoint records: by model_type, then by the source's name (mBERT, LaBSE, e5)."""
    model_type = getattr(config, "model_type", "")
    known = by_model_type(model_type)
    if known is None:
        return model_type or "unknown"
    hint = source_hint.lower().rsplit("/", 1)[-1] if "/" in source_hint else source_hint.lower()
    if known is BERT:
        if "e5" in hint:
            return "e5"
        if "labse" in hint:
            return "labse"
        if "multilingual" in hint:
            return "mbert"
    return known.name


def get(name: str, config: Any = None) -> Family:
    """The entry of a family name a checkpoint recorded (old names included), else the unverified one."""
    if name in _BY_NAME:
        return _BY_NAME[name]
    if name == "tiny":
        return XLMR
    model_type = getattr(config, "model_type", "") if config is not None else name
    return by_model_type(model_type) or unverified(model_type or name)


def of_config(config: Any) -> Family:
    model_type = getattr(config, "model_type", "")
    return by_model_type(model_type) or unverified(model_type)


def projection_modules(config: Any) -> dict[str, tuple[str, ...]] | None:
    """The attention and feed-forward projection-module suffixes of a known family; None if unknown.

    PEFT's `target_modules` matching: a module matches when its dotted name ends with ".<suffix>"."""
    known = by_model_type(getattr(config, "model_type", ""))
    return dict(known.projections) if known is not None else None


def model_class_of(config: Any) -> str:
    """AutoModel for encoders; the T5 families' encoder classes, since AutoModel would add a random decoder."""
    return of_config(config).encoder_class


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


def retrieval_default(family: str, num_layers: int) -> tuple[int, str]:
    """(layer in HF `hidden_states` indexing, 0 = embeddings; where that choice comes from)."""
    for depth, layer, source in get(family).retrieval_layers:
        if depth is None or depth == num_layers:
            chosen = num_layers if layer == LAST_LAYER else int(layer)
            return chosen, f"{source}: layer {chosen} of {num_layers}"
    chosen = max(1, round(num_layers * 8 / 12))
    return chosen, f"{XTREME_DEPTH}: layer {chosen} of {num_layers}"


def default_retrieval_layer(family: str, num_layers: int) -> int:
    return retrieval_default(family, num_layers)[0]


def uses_token_types(config: Any) -> bool:
    """Only encoders with more than one segment embedding read token_type_ids; others take none or ignore them."""
    return (getattr(config, "type_vocab_size", 0) or 0) > 1


def encoder_inputs(config: Any, batch: dict[str, Any]) -> dict[str, Any]:
    """The part of a tokenizer's batch the encoder's forward takes."""
    names = (("input_ids", "attention_mask", "token_type_ids") if uses_token_types(config)
             else ("input_ids", "attention_mask"))
    return {k: batch[k] for k in names if k in batch}


def encoder_facts(model: Any, family: str, source: dict[str, Any], retrieval_layer: int | None = None,
                  retrieval_source: str | None = None) -> dict[str, Any]:
    config = model.config
    layers = num_layers_of(config)
    entry = get(family, config)
    layer, why = retrieval_default(family, layers)
    if retrieval_layer is not None:
        layer, why = retrieval_layer, retrieval_source or "given"
    pooling, pooling_why = entry.retrieval_pooling
    return {
        "model_class": model_class_of(config),
        "model_type": getattr(config, "model_type", None),
        "family": family,
        "family_verified": entry.verified,
        "num_layers": layers,
        "hidden_size": hidden_size_of(config),
        "vocab_size": int(config.vocab_size),
        "max_positions": getattr(config, "max_position_embeddings", None),
        "token_types": "used" if uses_token_types(config) else entry.token_types,
        "has_cls": entry.has_cls,
        "retrieval_layer": layer,
        "retrieval_layer_source": why,
        "retrieval_pooling": pooling,
        "retrieval_pooling_source": pooling_why,
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "source": source,
    }


def mlm_head_status(family: Family) -> str:
    if family.mlm_class is None:
        return "none (span-corruption pretraining): continued MLM refused"
    modules = ", ".join(f"`{m}`" for m in family.mlm_modules)
    return f"{family.mlm_class} {modules} (those present), where the source has it"


def summary() -> list[dict[str, Any]]:
    """The verified families, one row each: what `stilt env` lists and the README's model table shows."""
    rows = []
    for family in FAMILIES:
        layers = [f"{'last' if layer == LAST_LAYER else f'{layer} of {d}'} ({source})"
                  for d, layer, source in family.retrieval_layers]
        if not any(d is None for d, _, _ in family.retrieval_layers):
            layers.append(f"{'else ' if layers else ''}round(8/12 × depth) ({XTREME_DEPTH})")
        rows.append({
            "family": family.name, "models": family.title, "model_types": list(family.model_types),
            "examples": list(family.examples), "encoder_class": family.encoder_class,
            "mlm_head": mlm_head_status(family), "token_types": family.token_types, "has_cls": family.has_cls,
            "retrieval_layer": layers, "retrieval_pooling": f"{family.retrieval_pooling[0]} "
                                                            f"({family.retrieval_pooling[1]})",
            "tiny": f"tiny:{family.tiny}" if family.tiny else None,
            "verified_with_transformers": list(family.verified_with),
        })
    return rows
