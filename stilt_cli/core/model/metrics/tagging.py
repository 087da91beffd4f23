"""Tagging metrics: span F1 exactly as XTREME scores UDPOS and PAN-X, and token accuracy (CCG).

XTREME calls seqeval 0.0.12's `f1_score` on its tag files, and its published numbers depend on that
version's span logic, which we reimplement here (no seqeval dependency):

- every tag is read as `<prefix><rest>`: the prefix is the tag's *first character*, the type is the text
  after the tag's *last* '-' (the whole tag when it has none). So `B-PER` -> ('B', 'PER'), but the UPOS
  tag `CCONJ` -> ('C', 'CCONJ'), `SCONJ` -> ('S', 'SCONJ'), `INTJ` -> ('I', 'INTJ'), `_` -> ('_', '_');
- a span ends/starts by the IOBES rules on those prefixes, and also whenever the type changes
  (except for the prefixes 'O' and '.'); so runs of an identical UPOS tag merge into one span, while a
  tag starting with 'S' (SCONJ, SYM) always stands alone, as a 'single' chunk would;
- sentences are concatenated with an 'O' between them, and precision/recall/F1 are micro-averaged over
  the set of (type, start, end) spans of the whole corpus.

seqeval 1.x reads the type as the text after the first character (minus a leading '-'), so CCONJ and
SCONJ both become 'CONJ' and 'X' and '_' both become '_': it gives other numbers on UDPOS. Tests pin
the differences.
"""

from __future__ import annotations

from collections.abc import Sequence

from stilt_cli.core.errors import DataError

Span = tuple[str, int, int]  # (type, first token, last token) in corpus positions


def _prefix_and_type(tag: str) -> tuple[str, str]:
    return tag[0], tag.split("-")[-1]


def _chunk_ends(prev_prefix: str, prefix: str, prev_type: str, type_: str) -> bool:
    if prev_prefix in ("E", "S"):
        return True
    if prev_prefix in ("B", "I") and prefix in ("B", "S", "O"):
        return True
    return prev_prefix not in ("O", ".") and prev_type != type_


def _chunk_starts(prev_prefix: str, prefix: str, prev_type: str, type_: str) -> bool:
    if prefix in ("B", "S"):
        return True
    if prev_prefix in ("E", "S", "O") and prefix in ("E", "I"):
        return True
    return prefix not in ("O", ".") and prev_type != type_


def spans(tags: Sequence[str], offset: int = 0) -> list[Span]:
    """The spans of one flat tag sequence (seqeval 0.0.12 `get_entities`, prefix mode)."""
    found: list[Span] = []
    prev_prefix, prev_type, begin = "O", "", 0
    for i, tag in enumerate([*tags, "O"]):  # the trailing 'O' closes a span left open at the end
        if not isinstance(tag, str) or not tag:
            raise DataError(f"empty or non-string tag at position {i}", "every token needs a tag")
        prefix, type_ = _prefix_and_type(tag)
        if _chunk_ends(prev_prefix, prefix, prev_type, type_):
            found.append((prev_type, offset + begin, offset + i - 1))
        if _chunk_starts(prev_prefix, prefix, prev_type, type_):
            begin = i
        prev_prefix, prev_type = prefix, type_
    return found


def corpus_spans(sentences: Sequence[Sequence[str]]) -> set[Span]:
    """Spans of a corpus, sentences joined by an 'O' as seqeval 0.0.12 does for nested lists."""
    flat: list[str] = []
    for sentence in sentences:
        flat.extend(sentence)
        flat.append("O")
    return set(spans(flat))


def _check_aligned(pred: Sequence[Sequence[str]], gold: Sequence[Sequence[str]]) -> None:
    if len(pred) != len(gold):
        raise DataError(f"{len(pred)} predicted sentences but {len(gold)} gold sentences")
    for number, (p, g) in enumerate(zip(pred, gold), start=1):
        if len(p) != len(g):
            raise DataError(f"sentence {number}: {len(p)} predicted tags but {len(g)} gold tokens")


def span_prf(pred: Sequence[Sequence[str]], gold: Sequence[Sequence[str]]) -> dict[str, float]:
    """Micro precision, recall and F1 over spans (fractions in [0, 1]); XTREME's tagging metric."""
    _check_aligned(pred, gold)
    gold_spans = corpus_spans(gold)
    pred_spans = corpus_spans(pred)
    correct = len(gold_spans & pred_spans)
    precision = correct / len(pred_spans) if pred_spans else 0.0
    recall = correct / len(gold_spans) if gold_spans else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def span_f1(pred: Sequence[Sequence[str]], gold: Sequence[Sequence[str]]) -> float:
    return span_prf(pred, gold)["f1"]


def token_accuracy(pred: Sequence[Sequence[str]], gold: Sequence[Sequence[str]]) -> float:
    """Share of tokens whose tag is right, over the whole corpus (CCG supertagging)."""
    _check_aligned(pred, gold)
    total = sum(len(g) for g in gold)
    if total == 0:
        raise DataError("no gold tokens to score")
    correct = sum(p == g for ps, gs in zip(pred, gold) for p, g in zip(ps, gs))
    return correct / total
