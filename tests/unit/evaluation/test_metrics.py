"""Metric pins: hand-made cases where the official XTREME semantics differ from naive ones."""

from __future__ import annotations

import pytest

from stilt_cli.core import tasks
from stilt_cli.core.errors import DataError
from stilt_cli.core.model.metrics import classification, compute, qa, tagging


# ---- span F1 (seqeval 0.0.12 semantics) -----------------------------------------------------
def test_iob_spans_and_micro_f1():
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"]]
    assert tagging.spans(gold[0]) == [("PER", 0, 1), ("LOC", 3, 3)]
    assert tagging.span_prf(pred, gold) == {"precision": 0.5, "recall": 0.5, "f1": 0.5}


def test_adjacent_identical_upos_tags_merge_into_one_span():
    assert tagging.spans(["NOUN", "NOUN", "VERB"]) == [("NOUN", 0, 1), ("VERB", 2, 2)]
    # a per-token scorer would give 0.5 here; the merged span is simply wrong
    assert tagging.span_f1([["NOUN", "VERB"]], [["NOUN", "NOUN"]]) == 0.0
    assert tagging.token_accuracy([["NOUN", "VERB"]], [["NOUN", "NOUN"]]) == 0.5


def test_cconj_and_sconj_stay_apart_unlike_seqeval_1x():
    # seqeval 1.x reads both types as 'CONJ' and would score this wrong prediction as F1 = 1
    assert tagging.span_f1([["SCONJ"]], [["CCONJ"]]) == 0.0
    # 'S' is the IOBES single prefix: SCONJ/SYM never merge; 'C' has no meaning: CCONJ runs merge
    assert tagging.spans(["SCONJ", "SCONJ"]) == [("SCONJ", 0, 0), ("SCONJ", 1, 1)]
    assert tagging.spans(["SYM", "SYM"]) == [("SYM", 0, 0), ("SYM", 1, 1)]
    assert tagging.spans(["CCONJ", "CCONJ"]) == [("CCONJ", 0, 1)]
    assert tagging.spans(["INTJ", "INTJ", "SCONJ"]) == [("INTJ", 0, 1), ("SCONJ", 2, 2)]


def test_underscore_and_x_are_different_types_unlike_seqeval_1x():
    assert tagging.spans(["X", "_"]) == [("X", 0, 0), ("_", 1, 1)]
    assert tagging.spans(["_", "_"]) == [("_", 0, 1)]
    # seqeval 1.x gives both the type '_' and merges them: F1 would be 1 there
    assert tagging.span_f1([["_", "_"]], [["X", "_"]]) == 0.0


def test_dot_and_o_prefixes_never_start_a_span():
    assert tagging.spans(["NOUN", "."]) == [("NOUN", 0, 0)]
    assert tagging.spans(["O", "O"]) == []
    assert tagging.spans(["I-PER", "I-PER"]) == [("PER", 0, 1)]  # I after O starts a span


def test_sentences_do_not_merge_and_f1_is_micro_over_corpus():
    assert tagging.corpus_spans([["NOUN"], ["NOUN"]]) == {("NOUN", 0, 0), ("NOUN", 2, 2)}
    gold = [["B-PER"], ["B-LOC", "O", "B-ORG", "O", "B-PER"]]
    pred = [["B-PER"], ["O", "O", "O", "O", "O"]]
    # macro over sentences would be (1 + 0) / 2; XTREME pools spans: P = 1, R = 1/4
    assert tagging.span_prf(pred, gold) == pytest.approx({"precision": 1.0, "recall": 0.25, "f1": 0.4})


def test_tagging_rejects_misaligned_input():
    with pytest.raises(DataError, match="sentence 1: 1 predicted tags but 2 gold"):
        tagging.span_f1([["NOUN"]], [["NOUN", "VERB"]])
    with pytest.raises(DataError, match="2 predicted sentences but 1 gold"):
        tagging.span_f1([["NOUN"], ["VERB"]], [["NOUN"]])
    with pytest.raises(DataError, match="empty"):
        tagging.spans(["NOUN", ""])


# ---- classification -------------------------------------------------------------------------
def test_accuracy_and_binary_f1():
    assert classification.accuracy(["a", "b", "c", "a"], ["a", "b", "a", "a"]) == 0.75
    prf = classification.binary_prf(["1", "1", "0", "0"], ["1", "0", "1", "0"])
    assert prf == {"precision": 0.5, "recall": 0.5, "f1": 0.5}
    assert classification.f1(["0", "0"], ["0", "0"]) == 0.0  # no positives anywhere: 0, as sklearn
    with pytest.raises(DataError, match="3 predictions but 2 gold"):
        classification.accuracy([1, 2, 3], [1, 2])


# ---- QA ---------------------------------------------------------------------------------------
def test_squad_normalisation_and_max_over_gold_answers():
    assert qa.squad_exact("The  cat!", "cat") == 1.0
    result = qa.squad({"q": "Obama"}, {"q": ["Barack Obama", "Obama"]})
    assert result["exact_match"] == 1.0 and result["f1"] == 1.0
    assert qa.squad_f1("Barack", "Barack Obama") == pytest.approx(2 / 3)


def test_squad_punctuation_only_and_empty_predictions():
    # both normalise to '': the official v1.1 script counts an exact match but F1 0
    assert qa.squad({"q": "!!"}, {"q": ["?"]}) == {"exact_match": 1.0, "f1": 0.0, "n": 1, "missing": 0}
    assert qa.squad({"q": ""}, {"q": ["Paris"]})["f1"] == 0.0
    # SQuAD v1.1 only strips ASCII punctuation; MLQA strips every Unicode P* character
    assert qa.squad_exact("«Hund»", "Hund") == 0.0
    assert qa.mlqa_exact("«Hund»", "Hund", "de") == 1.0


def test_missing_predictions_score_zero_and_count():
    result = qa.squad({"q1": "a b"}, {"q1": ["a b"], "q2": ["c"]})
    assert result == {"exact_match": 0.5, "f1": 0.5, "n": 2, "missing": 1}


def test_mlqa_articles_per_language():
    assert qa.mlqa_exact("der Hund", "Hund", "de") == 1.0
    assert qa.squad_exact("der Hund", "Hund") == 0.0  # SQuAD only knows English articles
    assert qa.mlqa_exact("los perros", "perros", "es") == 1.0
    assert qa.mlqa_exact("the dog", "dog", "de") == 0.0  # articles follow the answer language
    # Arabic: every 'ال' goes, even inside a word, as in the official regex
    assert qa.normalize_mlqa("الكتاب", "ar") == "كتاب"
    assert qa.normalize_mlqa("فالكتاب", "ar") == "ف كتاب"
    assert qa.normalize_mlqa("những con mèo", "vi") == "con mèo"


def test_mlqa_splits_chinese_into_characters():
    assert qa.normalize_mlqa("北京大学abc def", "zh") == "北 京 大 学 abc def"
    assert qa.mlqa_f1("北京大学", "北京", "zh") == pytest.approx(2 / 3)
    assert qa.squad_f1("北京大学", "北京") == 0.0  # one whitespace token each


def test_mlqa_language_pairs_and_unknown_languages():
    assert qa.mlqa({"q": "der Hund"}, {"q": ["Hund"]}, "de-en")["exact_match"] == 1.0
    with pytest.raises(DataError, match="no rules for language 'fr'"):
        qa.mlqa({"q": "x"}, {"q": ["x"]}, "fr")


def test_squad_v2_no_answer_handling():
    gold = {"answerable": ["Paris"], "unanswerable": [], "punct_gold": ["!"]}
    result = qa.squad_v2({"answerable": "Paris", "unanswerable": "", "punct_gold": ""}, gold)
    # a gold answer that normalises to nothing is dropped: the question becomes a no-answer one
    assert result["exact_match"] == 1.0 and result["f1"] == 1.0
    assert result["has_ans_f1"] == 1.0 and result["no_ans_f1"] == 1.0
    wrong = qa.squad_v2({"answerable": "", "unanswerable": "Paris", "punct_gold": "x"}, gold)
    assert wrong["exact_match"] == 0.0 and wrong["f1"] == 0.0
    # in SQuAD v1.1, the same empty prediction on a punctuation-only gold answer scores EM 1, F1 0
    assert qa.squad({"q": ""}, {"q": ["!"]})["f1"] == 0.0
    with pytest.raises(DataError, match="no prediction for 3 of 3 questions"):
        qa.squad_v2({}, gold)


# ---- compute() dispatch ----------------------------------------------------------------------
def _cls(i: int, label: str | None) -> dict:
    return {"id": f"e{i}", "lang": "de", "text_a": "a", "text_b": "b", "label": label}


def test_compute_classification_by_position_or_id():
    spec = tasks.get("xnli")
    examples = [_cls(0, "entailment"), _cls(1, "neutral")]
    assert compute(spec, ["entailment", "contradiction"], examples, "de") == {"accuracy": 0.5, "n": 2}
    assert compute(spec, {"e0": "entailment", "e1": "neutral"}, examples, "de")["accuracy"] == 1.0
    with pytest.raises(DataError, match="no prediction for 1 of 2"):
        compute(spec, {"e0": "entailment"}, examples, "de")
    with pytest.raises(DataError, match="unlabelled"):
        compute(spec, ["entailment"], [_cls(0, None)], "de")


def test_compute_qqp_adds_f1_and_int_labels_are_normalised():
    result = compute(tasks.get("qqp"), [1, 1, 0], [_cls(0, "1"), _cls(1, "0"), _cls(2, "0")], "en")
    assert result["accuracy"] == pytest.approx(2 / 3)
    assert result["f1"] == pytest.approx(2 / 3) and result["n"] == 3


def test_compute_tagging_span_f1_and_token_accuracy():
    examples = [{"id": "s1", "lang": "de", "tokens": ["a", "b"], "tags": ["CCONJ", "NOUN"]}]
    assert compute(tasks.get("udpos"), [["SCONJ", "NOUN"]], examples, "de")["f1"] == 0.5
    ccg = [{"id": "s1", "lang": "en", "tokens": ["a", "b"], "tags": ["N/N", "N"]}]
    assert compute(tasks.get("ccg"), [["N/N", "S"]], ccg, "en") == {"accuracy": 0.5, "n": 1}


def test_compute_qa_uses_mlqa_rules_only_for_mlqa():
    examples = [{"id": "q", "lang": "de", "context": "Der Hund", "question": "?",
                 "answers": [{"text": "Hund", "start": 4}]}]
    assert compute(tasks.get("mlqa"), {"q": "der Hund"}, examples, "de")["exact_match"] == 1.0
    assert compute(tasks.get("xquad"), {"q": "der Hund"}, examples, "de")["exact_match"] == 0.0
    assert compute(tasks.get("tydiqa"), ["Hund"], examples, "de") == {"exact_match": 1.0, "f1": 1.0, "n": 1}
