"""`tiny:xlmr`, `tiny:mbert`, `tiny:mt5`: small random-initialised models of the real architectures.

Each gets a tokenizer trained in seconds on offline multilingual text (Django catalogs + CLDR names),
of the same kind as the real model's (SentencePiece-style Unigram for XLM-R and mT5, WordPiece for
mBERT). Built deterministically for a seed: same seed, same weights and vocabulary. For tests and
quick runs — their numbers mean nothing about real models.
"""

from __future__ import annotations

from typing import Any

from stilt_cli.core.errors import unknown

TINY_KINDS = ("xlmr", "mbert", "mt5")
TOKENIZER_LANGS = ["en", "de", "fr", "es", "ru", "zh", "ar", "hi", "ja", "sw", "tr", "vi", "el", "bg", "th",
                   "ko", "fi", "id", "ur", "he"]
DEFAULT_SIZES = {"vocab_size": 4000, "hidden": 64, "layers": 2, "heads": 2, "ffn": 128, "max_positions": 512}


def _corpus() -> list[str]:
    from stilt_cli.core.data.offline_text import tokenizer_corpus

    return tokenizer_corpus(TOKENIZER_LANGS, per_lang=1500)


def _unigram_tokenizer(specials: list[str], vocab_size: int, template: tuple[str, str], extra_specials: list[str]):
    """A SentencePiece Unigram model (trained by `sentencepiece`, single-threaded, so deterministic),
    loaded into a `tokenizers` Unigram with the special tokens laid out as the real model has them."""
    import io

    import sentencepiece as spm
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    proto = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_corpus()), model_writer=proto, vocab_size=vocab_size, model_type="unigram",
        num_threads=1, character_coverage=0.9995, minloglevel=2, normalization_rule_name="nmt_nfkc",
        unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1, max_sentence_length=4000,
    )
    processor = spm.SentencePieceProcessor(model_proto=proto.getvalue())
    pieces = [(processor.id_to_piece(i), processor.get_score(i)) for i in range(1, processor.get_piece_size())]
    vocab = [(s, 0.0) for s in specials] + pieces + [(s, 0.0) for s in extra_specials]
    unk = next(i for i, s in enumerate(specials) if "unk" in s)
    tok = Tokenizer(models.Unigram(vocab, unk_id=unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(" {2,}", " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.add_special_tokens(specials + extra_specials)
    single, pair = template
    names = sorted({s for s in specials + extra_specials if s in single.split() + pair.split()})
    tok.post_processor = processors.TemplateProcessing(
        single=single, pair=pair, special_tokens=[(s, tok.token_to_id(s)) for s in names]
    )
    return tok


def _wordpiece_tokenizer(vocab_size: int):
    """A WordPiece vocabulary built deterministically: specials, characters (word-initial and `##`
    continuation) by frequency, then whole words by frequency; ties broken by the string."""
    from collections import Counter

    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False, handle_chinese_chars=True)
    splitter = pre_tokenizers.BertPreTokenizer()
    words: Counter[str] = Counter()
    for line in _corpus():
        words.update(w for w, _ in splitter.pre_tokenize_str(normalizer.normalize_str(line)))
    chars: Counter[str] = Counter()
    for word, count in words.items():
        chars.update({c: count for c in word})
    by_freq = lambda counter: sorted(counter, key=lambda k: (-counter[k], k))  # noqa: E731
    vocab = list(specials)
    alphabet = [c for c in by_freq(chars) if chars[c] >= 2]
    vocab += alphabet + ["##" + c for c in alphabet]
    seen = set(vocab)
    for word in by_freq(words):
        if len(vocab) >= vocab_size:
            break
        if len(word) > 1 and word not in seen:
            vocab.append(word)
            seen.add(word)
    tok = Tokenizer(models.WordPiece({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizer
    tok.pre_tokenizer = splitter
    tok.decoder = decoders.WordPiece()
    tok.add_special_tokens(specials)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))],
    )
    return tok


def build(kind: str, seed: int = 0, sizes: dict[str, int] | None = None):
    """-> (model, tokenizer, source facts, mlm head state or None)."""
    import torch

    from stilt_cli.core.libs import transformers as _transformers

    transformers = _transformers()
    PreTrainedTokenizerFast = transformers.PreTrainedTokenizerFast

    from stilt_cli.core.encoders.hub import split_mlm

    if kind not in TINY_KINDS:
        raise unknown(f"tiny:{kind}", [f"tiny:{k}" for k in TINY_KINDS], "tiny model")
    size = dict(DEFAULT_SIZES, **(sizes or {}))
    torch.manual_seed(seed)
    mlm_state = None
    if kind == "xlmr":
        raw = _unigram_tokenizer(["<s>", "<pad>", "</s>", "<unk>"], size["vocab_size"],
                                 ("<s> $A </s>", "<s> $A </s> </s> $B </s>"), ["<mask>"])
        tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                                            cls_token="<s>", pad_token="<pad>", unk_token="<unk>", mask_token="<mask>")
        config = transformers.XLMRobertaConfig(
            vocab_size=len(tokenizer), hidden_size=size["hidden"], num_hidden_layers=size["layers"],
            num_attention_heads=size["heads"], intermediate_size=size["ffn"],
            max_position_embeddings=size["max_positions"] + 2, pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, type_vocab_size=1,
        )
        model, mlm_state = split_mlm(transformers.XLMRobertaForMaskedLM(config))
    elif kind == "mbert":
        raw = _wordpiece_tokenizer(size["vocab_size"])
        tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, cls_token="[CLS]", sep_token="[SEP]",
                                            pad_token="[PAD]", unk_token="[UNK]", mask_token="[MASK]",
                                            model_input_names=["input_ids", "token_type_ids", "attention_mask"])
        config = transformers.BertConfig(
            vocab_size=len(tokenizer), hidden_size=size["hidden"], num_hidden_layers=size["layers"],
            num_attention_heads=size["heads"], intermediate_size=size["ffn"],
            max_position_embeddings=size["max_positions"], pad_token_id=tokenizer.pad_token_id,
        )
        model, mlm_state = split_mlm(transformers.BertForMaskedLM(config))
    else:
        raw = _unigram_tokenizer(["<pad>", "</s>", "<unk>"], size["vocab_size"], ("$A </s>", "$A </s> $B </s>"), [])
        tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, eos_token="</s>", pad_token="<pad>", unk_token="<unk>")
        config = transformers.MT5Config(
            vocab_size=len(tokenizer), d_model=size["hidden"], d_kv=size["hidden"] // size["heads"],
            d_ff=size["ffn"], num_layers=size["layers"], num_heads=size["heads"], pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.pad_token_id,
            feed_forward_proj="gated-gelu", tie_word_embeddings=False,
        )
        model = transformers.MT5EncoderModel(config)
    tokenizer.model_max_length = size["max_positions"]
    model.eval()
    facts: dict[str, Any] = {"kind": "tiny", "id": f"tiny:{kind}", "revision": None, "seed": seed, "sizes": size,
                             "tokenizer_trained_on": "django catalogs + CLDR names: " + ",".join(TOKENIZER_LANGS)}
    return model, tokenizer, facts, mlm_state
