"""Character caps applied before tokenization: memory stays bounded whatever one input line holds.

A tokenizer materialises every token of a text before truncation drops all but `--max-length` of them, so
one 50 MB text field would cost gigabytes. Each field is therefore cut to a length in characters that is
a generous multiple of what `--max-length` tokens can cover, so that no real text changes its features:

| field                                                    | cap (characters)                    |
|----------------------------------------------------------|-------------------------------------|
| a single text (sentence, premise, hypothesis, question,  | TEXT_CHARS_PER_TOKEN × max length   |
| choice, multiple-choice context, MLM line, ranking text) | (32 × 128 = 4,096)                  |
| a QA context (windowed with --doc-stride: all of it      | CONTEXT_CHARS_PER_TOKEN × max length|
| becomes features)                                        | (256 × 384 = 98,304)                |
| a tagging sentence: its words / each word                | WORDS_PER_TOKEN × max length words  |
|                                                          | (4 × 128 = 512); a word as a text   |

A cut text still holds at least `--max-length` tokens unless its characters average more than 32 per
token (real text: 1–6), so truncation keeps the same tokens. A QA context longer than its cap loses its
tail windows; its answer is then looked for in what remains. The examples themselves are never changed:
predictions and scores still cover every word and example. Measured on every real XTREME and
intermediate-task slice in `../shared/data` (`tests/realdata/test_caps_realdata.py`): no field reaches its
cap at the XTREME lengths (longest: a 764-character multiple-choice context, a 5,808-character QA
context, 213 words, a 473-character word), and cutting at much shorter lengths leaves the features as
they were.
"""

from __future__ import annotations

from collections.abc import Sequence

TEXT_CHARS_PER_TOKEN = 32
CONTEXT_CHARS_PER_TOKEN = 256
WORDS_PER_TOKEN = 4


def text(value: str, max_length: int) -> str:
    """A single text, cut at TEXT_CHARS_PER_TOKEN × max_length characters."""
    limit = TEXT_CHARS_PER_TOKEN * max_length
    return value if len(value) <= limit else value[:limit]


def texts(values: Sequence[str], max_length: int) -> list[str]:
    return [text(v, max_length) for v in values]


def context(value: str, max_length: int) -> str:
    """A QA context, cut at CONTEXT_CHARS_PER_TOKEN × max_length characters."""
    limit = CONTEXT_CHARS_PER_TOKEN * max_length
    return value if len(value) <= limit else value[:limit]


def words(values: Sequence[str], max_length: int) -> list[str]:
    """A tagging sentence: at most WORDS_PER_TOKEN × max_length words, each cut as a text."""
    kept = values[: WORDS_PER_TOKEN * max_length]
    return [text(w, max_length) for w in kept]


def key(head_type: str) -> dict[str, int]:
    """The caps in a tokenized-cache key: features made under other caps are other features."""
    if head_type == "qa":
        return {"text": TEXT_CHARS_PER_TOKEN, "context": CONTEXT_CHARS_PER_TOKEN}
    if head_type == "tagging":
        return {"text": TEXT_CHARS_PER_TOKEN, "words": WORDS_PER_TOKEN}
    return {"text": TEXT_CHARS_PER_TOKEN}
