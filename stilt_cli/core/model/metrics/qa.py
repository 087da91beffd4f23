"""Extractive-QA metrics, equal to the official scorers XTREME runs.

- `squad`: SQuAD v1.1 (`evaluate-v1.1.py`), used by XTREME for XQuAD and TyDiQA-GoldP: lower-case,
  drop ASCII punctuation, drop English articles, collapse whitespace; EM and token F1 take the max over
  the gold answers; a question without a prediction scores 0 and still counts.
- `mlqa`: MLQA's `mlqa_evaluation_v1.py`, used by XTREME for MLQA: drops every Unicode punctuation
  character (categories P*), removes the answer language's articles (Arabic: every 'ال'), and splits
  Chinese into characters (CJK U+4E00–U+9FA5) with whitespace tokens elsewhere.
- `squad_v2`: SQuAD v2.0 (`evaluate-v2.0.py`): gold answers that normalise to nothing are dropped, an
  unanswerable question's only right answer is the empty string, and an empty side scores F1 1 only
  when both are empty. Like the official script it needs a prediction for every question.

All scores are fractions in [0, 1] (the official scripts print percentages).
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

from stilt_cli.core.errors import DataError

_ASCII_PUNCT = frozenset(string.punctuation)
_EN_ARTICLES = re.compile(r"\b(a|an|the)\b")

# MLQA: the answer language decides the article list and the tokenisation
MLQA_ARTICLES: dict[str, re.Pattern | None] = {
    "en": re.compile(r"\b(a|an|the)\b"),
    "es": re.compile(r"\b(un|una|unos|unas|el|la|los|las)\b"),
    "hi": None,  # no formal articles
    "vi": re.compile(r"\b(của|là|cái|chiếc|những)\b"),
    "de": re.compile(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b"),
    # as in the official script: every occurrence of the prefix 'ال' goes, even inside a word
    "ar": re.compile(r"\sال^|ال"),
    "zh": None,
}
MLQA_MIXED_SEGMENTATION = frozenset({"zh"})
_CJK = re.compile(r"[\u4e00-\u9fa5]")


@lru_cache(maxsize=65536)
def _is_unicode_punct(char: str) -> bool:
    return char in _ASCII_PUNCT or unicodedata.category(char).startswith("P")


# ---- SQuAD v1.1 -------------------------------------------------------------------------------
def normalize_squad(text: str) -> str:
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _ASCII_PUNCT)
    text = _EN_ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _token_f1(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    same = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_exact(pred: str, gold: str) -> float:
    return float(normalize_squad(pred) == normalize_squad(gold))


def squad_f1(pred: str, gold: str) -> float:
    return _token_f1(normalize_squad(pred).split(), normalize_squad(gold).split())


def _score_all(pred_by_id: Mapping[str, str], gold_by_id: Mapping[str, Sequence[str]],
               exact: Callable[[str, str], float], f1: Callable[[str, str], float]) -> dict[str, float]:
    if not gold_by_id:
        raise DataError("no gold questions to score")
    em_sum = f1_sum = 0.0
    missing = 0
    for qid, answers in gold_by_id.items():
        if not answers:
            raise DataError(f"question {qid} has no gold answer",
                            "SQuAD v1.1-style scoring needs one; unanswerable questions are SQuAD v2.0")
        if qid not in pred_by_id:
            missing += 1  # the official scripts score it 0 and keep it in the total
            continue
        pred = pred_by_id[qid]
        em_sum += max(exact(pred, gold) for gold in answers)
        f1_sum += max(f1(pred, gold) for gold in answers)
    total = len(gold_by_id)
    return {"exact_match": em_sum / total, "f1": f1_sum / total, "n": total, "missing": missing}


def squad(pred_by_id: Mapping[str, str], gold_by_id: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """SQuAD v1.1 EM and F1 over the gold questions; also `n` and `missing` (unanswered ids)."""
    return _score_all(pred_by_id, gold_by_id, squad_exact, squad_f1)


# ---- MLQA -------------------------------------------------------------------------------------
def _mixed_segmentation(text: str) -> list[str]:
    tokens: list[str] = []
    pending = ""
    for char in text:
        if _CJK.match(char) or _is_unicode_punct(char):
            tokens.extend(pending.split())
            pending = ""
            tokens.append(char)
        else:
            pending += char
    tokens.extend(pending.split())
    return tokens


def _mlqa_lang(lang: str) -> str:
    lang = lang.split("-")[0]  # G-XLT pairs 'de-en' are context-question: answers are in the context language
    if lang not in MLQA_ARTICLES:
        raise DataError(f"MLQA's scorer has no rules for language '{lang}'",
                        f"it knows {', '.join(MLQA_ARTICLES)}; score other languages with SQuAD v1.1")
    return lang


def normalize_mlqa(text: str, lang: str) -> str:
    lang = _mlqa_lang(lang)
    text = text.lower()
    text = "".join(ch for ch in text if not _is_unicode_punct(ch))
    articles = MLQA_ARTICLES[lang]
    if articles is not None:
        text = articles.sub(" ", text)
    tokens = _mixed_segmentation(text) if lang in MLQA_MIXED_SEGMENTATION else text.split()
    return " ".join(t for t in tokens if t.strip())


def mlqa_exact(pred: str, gold: str, lang: str) -> float:
    return float(normalize_mlqa(pred, lang) == normalize_mlqa(gold, lang))


def mlqa_f1(pred: str, gold: str, lang: str) -> float:
    return _token_f1(normalize_mlqa(pred, lang).split(), normalize_mlqa(gold, lang).split())


def mlqa(pred_by_id: Mapping[str, str], gold_by_id: Mapping[str, Sequence[str]], lang: str) -> dict[str, float]:
    """MLQA EM and F1 with the answer language's normalisation; also `n` and `missing`."""
    lang = _mlqa_lang(lang)
    return _score_all(pred_by_id, gold_by_id, lambda p, g: mlqa_exact(p, g, lang), lambda p, g: mlqa_f1(p, g, lang))


# ---- SQuAD v2.0 -------------------------------------------------------------------------------
def _v2_f1(pred: str, gold: str) -> float:
    pred_tokens, gold_tokens = normalize_squad(pred).split(), normalize_squad(gold).split()
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)  # no-answer: right only when both are empty
    return _token_f1(pred_tokens, gold_tokens)


def squad_v2(pred_by_id: Mapping[str, str], gold_by_id: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """SQuAD v2.0 EM/F1 overall and split into answerable (`has_ans_*`) and unanswerable (`no_ans_*`)."""
    if not gold_by_id:
        raise DataError("no gold questions to score")
    missing = [qid for qid in gold_by_id if qid not in pred_by_id]
    if missing:
        raise DataError(f"no prediction for {len(missing)} of {len(gold_by_id)} questions (first: {missing[0]})",
                        "SQuAD v2.0 needs a prediction for every question; predict '' for no answer")
    sums = {"all": [0.0, 0.0, 0], "has_ans": [0.0, 0.0, 0], "no_ans": [0.0, 0.0, 0]}
    for qid, answers in gold_by_id.items():
        golds = [a for a in answers if normalize_squad(a)] or [""]
        pred = pred_by_id[qid]
        em = max(float(normalize_squad(pred) == normalize_squad(g)) for g in golds)
        f1 = max(_v2_f1(pred, g) for g in golds)
        for group in ("all", "has_ans" if answers else "no_ans"):
            sums[group][0] += em
            sums[group][1] += f1
            sums[group][2] += 1
    result: dict[str, float] = {"exact_match": sums["all"][0] / sums["all"][2], "f1": sums["all"][1] / sums["all"][2],
                                "n": sums["all"][2], "missing": 0}
    for group in ("has_ans", "no_ans"):
        em, f1, count = sums[group]
        if count:
            result[f"{group}_exact_match"] = em / count
            result[f"{group}_f1"] = f1 / count
    return result


def score(scorer: str, pred_by_id: Mapping[str, str], gold_by_id: Mapping[str, Sequence[str]],
          lang: str) -> dict[str, float]:
    """EM/F1 with the official scorer a task spec names (`qa_scorer`): squad_v1, squad_v2 or mlqa."""
    if scorer == "mlqa":
        return mlqa(pred_by_id, gold_by_id, lang)
    if scorer == "squad_v2":
        return squad_v2(pred_by_id, gold_by_id)
    return squad(pred_by_id, gold_by_id)
