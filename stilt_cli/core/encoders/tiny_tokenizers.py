"""Tokenizers for the `tiny:` models, trained in seconds on offline multilingual text (Django catalogs +
CLDR names), of the kind the real models use: a SentencePiece-style Unigram (XLM-R, mT5, mDeBERTa,
RemBERT, ...), WordPiece (mBERT) or Llama-3-style byte-level BPE (EuroBERT). Deterministic: single-threaded
training, ties broken by the string.
"""

from __future__ import annotations

from functools import lru_cache

TOKENIZER_LANGS = ["en", "de", "fr", "es", "ru", "zh", "ar", "hi", "ja", "sw", "tr", "vi", "el", "bg", "th",
                   "ko", "fi", "id", "ur", "he"]


def corpus() -> list[str]:
    from stilt_cli.core.data.offline_text import tokenizer_corpus

    return tokenizer_corpus(TOKENIZER_LANGS, per_lang=1500)


@lru_cache(maxsize=4)
def _pieces(vocab_size: int) -> tuple[tuple[str, float], ...]:
    """A SentencePiece Unigram model's pieces and scores (trained by `sentencepiece`, single-threaded, so
    deterministic; kept for the process, since every Unigram kind trains the same one)."""
    import io

    import sentencepiece as spm

    proto = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus()), model_writer=proto, vocab_size=vocab_size, model_type="unigram",
        num_threads=1, character_coverage=0.9995, minloglevel=2, normalization_rule_name="nmt_nfkc",
        unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1, max_sentence_length=4000,
    )
    processor = spm.SentencePieceProcessor(model_proto=proto.getvalue())
    return tuple((processor.id_to_piece(i), processor.get_score(i)) for i in range(1, processor.get_piece_size()))


def unigram(specials: list[str], vocab_size: int, template: tuple[str, str], extra_specials: list[str],
            pad_to: int | None = None):
    """A `tokenizers` Unigram of the trained pieces with the special tokens laid out as the real model has
    them. `pad_to`: filler pieces (never chosen: their score is far below any real piece's) up to that
    many entries, for the shape of 0.9-1M vocabularies (XLM-V, Glot500) at no training cost."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    pieces = list(_pieces(vocab_size))
    if pad_to is not None:
        missing = pad_to - len(specials) - len(pieces) - len(extra_specials)
        pieces += [(f"\u2581\u2063{i:07d}", -1000.0) for i in range(max(0, missing))]
    vocab = [(s, 0.0) for s in specials] + pieces + [(s, 0.0) for s in extra_specials]
    unk = next(i for i, s in enumerate(specials) if "unk" in s.lower())
    tok = Tokenizer(models.Unigram(vocab, unk_id=unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(" {2,}", " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.add_special_tokens(specials + extra_specials)
    single, pair = template
    used = {t.split(":")[0] for t in single.split() + pair.split()}
    names = sorted(s for s in specials + extra_specials if s in used)
    tok.post_processor = processors.TemplateProcessing(
        single=single, pair=pair, special_tokens=[(s, tok.token_to_id(s)) for s in names]
    )
    return tok


def wordpiece(vocab_size: int):
    """A WordPiece vocabulary built deterministically: specials, characters (word-initial and `##`
    continuation) by frequency, then whole words by frequency; ties broken by the string."""
    from collections import Counter

    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False, handle_chinese_chars=True)
    splitter = pre_tokenizers.BertPreTokenizer()
    words: Counter[str] = Counter()
    for line in corpus():
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
    tok = Tokenizer(models.WordPiece({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]",
                                     max_input_chars_per_word=100))
    tok.normalizer = normalizer
    tok.pre_tokenizer = splitter
    tok.decoder = decoders.WordPiece()
    tok.add_special_tokens(specials)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))],
    )
    return tok




# Llama 3's pre-tokenizer split (the one EuroBERT's tokenizer.json keeps): letters with one leading
# non-letter, digits in threes, punctuation runs, newlines and spaces apart
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")


@lru_cache(maxsize=2)
def _bpe_json(vocab_size: int) -> str:
    """A byte-level BPE trained on the corpus (every byte is in the alphabet: no unknown token)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(), trainer=trainer)
    return tok.to_str()


def byte_bpe(vocab_size: int, specials: list[str], template: tuple[str, str]):
    """A Llama-3-style tokenizer: byte-level BPE, the special tokens after the learned vocabulary (as
    Llama 3's <|begin_of_text|> is id 128000 of 128256), sequences framed by `template`."""
    from tokenizers import Tokenizer, processors

    tok = Tokenizer.from_str(_bpe_json(vocab_size - len(specials)))
    tok.add_special_tokens(specials)
    single, pair = template
    used = sorted({t.split(":")[0] for t in single.split() + pair.split() if t.split(":")[0] in specials})
    tok.post_processor = processors.TemplateProcessing(
        single=single, pair=pair, special_tokens=[(s, tok.token_to_id(s)) for s in used]
    )
    return tok
