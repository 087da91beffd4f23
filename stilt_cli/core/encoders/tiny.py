"""`tiny:<kind>`: small random-initialised models of the real architectures, one per verified family.

xlmr (XLM-R), mbert (mBERT), mt5 (mT5 encoder), mdeberta (mDeBERTa-v3: relative position buckets, no
token types), rembert (RemBERT: decoupled input/output embeddings, untied MLM decoder), modernbert
(ModernBERT / mmBERT: rotary embeddings, alternating global and local attention), umt5 (umT5: a
relative attention bias per layer), t5 (T5 encoder), xlmr-xl (XLM-R XL / XXL: pre-layer-norm blocks, a
final layer norm, an embedding matrix padded past the tokenizer's vocabulary) and eurobert (EuroBERT:
Llama-style blocks with RMSNorm, rotary embeddings, grouped-query attention and a gated SiLU feed-forward,
bidirectional; an untied MLM decoder). Each gets a tokenizer trained in seconds (`tiny_tokenizers`) of
the kind the real model has. Built deterministically for a seed: same seed, same
weights and vocabulary. For tests and quick runs — their numbers mean nothing about real models.
"""

from __future__ import annotations

from typing import Any

from stilt_cli.core.encoders.tiny_tokenizers import TOKENIZER_LANGS
from stilt_cli.core.errors import unknown

TINY_KINDS = ("xlmr", "mbert", "mt5", "mdeberta", "rembert", "modernbert", "umt5", "t5", "xlmr-xl", "eurobert")
DEFAULT_SIZES = {"vocab_size": 4000, "hidden": 64, "layers": 2, "heads": 2, "ffn": 128, "max_positions": 512}

_BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_BERT_TEMPLATE = ("[CLS] $A [SEP]", "[CLS] $A [SEP] $B:1 [SEP]:1")
_T5_TEMPLATE = ("$A </s>", "$A </s> $B </s>")
_WITH_TYPES = ["input_ids", "token_type_ids", "attention_mask"]
_NO_TYPES = ["input_ids", "attention_mask"]
_EUROBERT_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|mask|>"]


def _tokenizer(kind: str, size: dict[str, int]):
    from stilt_cli.core.encoders import tiny_tokenizers as tt
    from stilt_cli.core.libs import transformers

    fast = transformers().PreTrainedTokenizerFast
    pad_to = size.get("vocab_padded_to")
    if kind in ("xlmr", "xlmr-xl"):  # XLM-R XL / XXL keep XLM-R's SentencePiece vocabulary
        raw = tt.unigram(["<s>", "<pad>", "</s>", "<unk>"], size["vocab_size"],
                         ("<s> $A </s>", "<s> $A </s> </s> $B </s>"), ["<mask>"], pad_to=pad_to)
        return fast(tokenizer_object=raw, bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
                    pad_token="<pad>", unk_token="<unk>", mask_token="<mask>")
    if kind == "mbert":
        return fast(tokenizer_object=tt.wordpiece(size["vocab_size"]), cls_token="[CLS]", sep_token="[SEP]",
                    pad_token="[PAD]", unk_token="[UNK]", mask_token="[MASK]", model_input_names=_WITH_TYPES)
    if kind in ("mdeberta", "rembert"):  # [PAD] [CLS] [SEP] [UNK] ... [MASK] as mDeBERTa-v3's vocabulary
        raw = tt.unigram(["[PAD]", "[CLS]", "[SEP]", "[UNK]"], size["vocab_size"], _BERT_TEMPLATE, ["[MASK]"])
        return fast(tokenizer_object=raw, cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]", unk_token="[UNK]",
                    mask_token="[MASK]", model_input_names=_WITH_TYPES if kind == "rembert" else _NO_TYPES)
    if kind == "modernbert":  # mmBERT's (Gemma's) layout: <pad> <eos> <bos> <unk> <mask>
        raw = tt.unigram(["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"], size["vocab_size"],
                         ("<bos> $A <eos>", "<bos> $A <eos> $B <eos>"), [])
        return fast(tokenizer_object=raw, bos_token="<bos>", eos_token="<eos>", cls_token="<bos>", sep_token="<eos>",
                    pad_token="<pad>", unk_token="<unk>", mask_token="<mask>", model_input_names=_NO_TYPES)
    if kind == "eurobert":  # Llama 3's byte-level BPE and framing: <|begin_of_text|>, no EOS (transformers'
        # EuroBERT integration test reads 4 tokens for "Hello World!"); pads with <|end_of_text|>; no unknown token
        raw = tt.byte_bpe(size["vocab_size"], _EUROBERT_SPECIALS, ("<|begin_of_text|> $A",
                                                                   "<|begin_of_text|> $A <|begin_of_text|>:1 $B:1"))
        return fast(tokenizer_object=raw, bos_token="<|begin_of_text|>", eos_token="<|end_of_text|>",
                    pad_token="<|end_of_text|>", mask_token="<|mask|>", model_input_names=_NO_TYPES)
    raw = tt.unigram(["<pad>", "</s>", "<unk>"], size["vocab_size"], _T5_TEMPLATE, [])
    return fast(tokenizer_object=raw, eos_token="</s>", pad_token="<pad>", unk_token="<unk>",
                model_input_names=_NO_TYPES)


def _model(kind: str, tokenizer: Any, size: dict[str, int]):
    """The model as its hub checkpoint holds it: *ForMaskedLM where the family has an MLM head, else the
    T5 families' encoder."""
    from stilt_cli.core.libs import transformers

    tf = transformers()
    shape = {"vocab_size": len(tokenizer), "pad_token_id": tokenizer.pad_token_id}
    bert = dict(shape, hidden_size=size["hidden"], num_hidden_layers=size["layers"], num_attention_heads=size["heads"],
                intermediate_size=size["ffn"], max_position_embeddings=size["max_positions"])
    t5 = dict(shape, d_model=size["hidden"], d_kv=size["hidden"] // size["heads"], d_ff=size["ffn"],
              num_layers=size["layers"], num_heads=size["heads"], eos_token_id=tokenizer.eos_token_id,
              decoder_start_token_id=tokenizer.pad_token_id)
    if kind == "xlmr":
        config = tf.XLMRobertaConfig(**dict(bert, max_position_embeddings=size["max_positions"] + 2), type_vocab_size=1,
                                     bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
        return tf.XLMRobertaForMaskedLM(config)
    if kind == "xlmr-xl":  # facebook/xlm-roberta-xl: 250,002 tokens, 250,880 embedding rows (a multiple of 128)
        config = tf.XLMRobertaXLConfig(**dict(bert, vocab_size=-(-len(tokenizer) // 128) * 128,
                                              max_position_embeddings=size["max_positions"] + 2), type_vocab_size=1,
                                       bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
        return tf.XLMRobertaXLForMaskedLM(config)
    if kind == "eurobert":  # EuroBERT-210m's config, shrunk; here with fewer key/value heads than query heads
        config = tf.EuroBertConfig(**dict(bert, num_attention_heads=2 * size["heads"]),
                                   num_key_value_heads=size["heads"], hidden_act="silu", rms_norm_eps=1e-5,
                                   tie_word_embeddings=False,
                                   rope_parameters={"rope_type": "default", "rope_theta": 250000.0},
                                   bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                                   mask_token_id=tokenizer.mask_token_id)
        return tf.EuroBertForMaskedLM(config)
    if kind == "mbert":
        return tf.BertForMaskedLM(tf.BertConfig(**bert))
    if kind == "mdeberta":  # mdeberta-v3-base's config, shrunk; its checkpoint keeps DeBERTa's own MLM head
        config = tf.DebertaV2Config(**bert, relative_attention=True, position_buckets=256, max_relative_positions=-1,
                                    pos_att_type=["p2c", "c2p"], position_biased_input=False, type_vocab_size=0,
                                    norm_rel_ebd="layer_norm", share_att_key=True, legacy=False)
        return tf.DebertaV2ForMaskedLM(config)
    if kind == "rembert":  # google/rembert: narrow input embeddings, wide untied output embeddings
        config = tf.RemBertConfig(**bert, input_embedding_size=size["hidden"] // 2,
                                  output_embedding_size=size["hidden"] * 2, type_vocab_size=2,
                                  tie_word_embeddings=False)
        return tf.RemBertForMaskedLM(config)
    if kind == "modernbert":  # mmBERT: a global layer then local ones (here: every second layer, a 16-token window)
        ids = {f"{n}_token_id": tokenizer.convert_tokens_to_ids(t)
               for n, t in (("bos", "<bos>"), ("eos", "<eos>"), ("cls", "<bos>"), ("sep", "<eos>"))}
        config = tf.ModernBertConfig(**bert, **ids, global_attn_every_n_layers=2, local_attention=16)
        return tf.ModernBertForMaskedLM(config)
    if kind == "mt5":
        return tf.MT5EncoderModel(tf.MT5Config(**t5, feed_forward_proj="gated-gelu", tie_word_embeddings=False))
    if kind == "umt5":
        return tf.UMT5EncoderModel(tf.UMT5Config(**t5, feed_forward_proj="gated-gelu", tie_word_embeddings=False))
    return tf.T5EncoderModel(tf.T5Config(**t5, feed_forward_proj="relu"))


def source_model(kind: str, seed: int = 0, sizes: dict[str, int] | None = None):
    """-> (the whole pretrained-style model, tokenizer, sizes): what a hub folder of the family holds."""
    import torch

    if kind not in TINY_KINDS:
        raise unknown(f"tiny:{kind}", [f"tiny:{k}" for k in TINY_KINDS], "tiny model")
    size = dict(DEFAULT_SIZES, **(sizes or {}))
    torch.manual_seed(seed)
    tokenizer = _tokenizer(kind, size)
    model = _model(kind, tokenizer, size)
    tokenizer.model_max_length = size["max_positions"]
    model.eval()
    return model, tokenizer, size


def build(kind: str, seed: int = 0, sizes: dict[str, int] | None = None):
    """-> (encoder, tokenizer, source facts, mlm head state or None)."""
    from stilt_cli.core.encoders import families
    from stilt_cli.core.encoders.hub import split_mlm

    model, tokenizer, size = source_model(kind, seed, sizes)
    family = families.of_config(model.config)
    model, mlm_state = split_mlm(model, family) if family.mlm_class else (model, None)
    facts: dict[str, Any] = {"kind": "tiny", "id": f"tiny:{kind}", "revision": None, "seed": seed, "sizes": size,
                             "tokenizer_trained_on": "django catalogs + CLDR names: " + ",".join(TOKENIZER_LANGS)}
    return model, tokenizer, facts, mlm_state
