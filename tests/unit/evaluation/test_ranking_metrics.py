"""mAP@k with XTREME-R's semantics, on hand-computed cases (utils_lareqa.average_precision_at_k for LAReQA,
utils_mewslix.evaluate's MRR@20 for Mewsli-X), and the ranking evaluator's bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest

from stilt_cli.core.errors import DataError
from stilt_cli.core.model.metrics.retrieval import average_precision_at_k, map_at_k
from stilt_cli.core.retrieval import rank


def test_one_gold_candidate_is_its_reciprocal_rank():
    assert average_precision_at_k(["g"], ["a", "b", "g", "c"], 20) == pytest.approx(1 / 3)
    assert average_precision_at_k(["g"], ["g"], 20) == 1.0
    # Mewsli-X: one gold, so mAP@20 = MRR@20; past rank 20 it counts nothing
    assert average_precision_at_k(["g"], [f"x{i}" for i in range(20)] + ["g"], 20) == 0.0


def test_several_gold_candidates_sum_the_precision_at_each_hit():
    # hits at ranks 1 and 3: (1/1 + 2/3) / 2
    assert average_precision_at_k(["a", "c"], ["a", "b", "c", "d"], 20) == pytest.approx(5 / 6)
    # an unranked gold candidate still counts in the divisor: (1/2) / 2
    assert average_precision_at_k(["b", "z"], ["a", "b", "c"], 20) == pytest.approx(0.25)


def test_the_divisor_is_min_of_gold_count_and_k():
    # 5 gold, k = 2, one hit at rank 2: (1/2) / min(5, 2) (the Kaggle AP@k pin: 0.25)
    assert average_precision_at_k(["1", "2", "3", "4", "5"], ["6", "4", "7", "1", "2"], 2) == pytest.approx(0.25)
    # 3 gold, k = 2, both ranks right: (1 + 1) / 2 = 1, not 2/3
    assert average_precision_at_k(["a", "b", "c"], ["a", "b", "c"], 2) == 1.0


def test_a_repeated_candidate_counts_once():
    # 'a' again at rank 2 is no new hit; 'b' at rank 3 is the second: (1 + 2/3) / 2
    assert average_precision_at_k(["a", "b"], ["a", "a", "b"], 20) == pytest.approx(5 / 6)


def test_map_is_the_mean_over_queries_and_missing_rankings_score_zero():
    gold = {"q1": ["a"], "q2": ["b"], "q3": ["c", "d"]}
    predictions = {"q1": ["a"], "q3": ["x", "d"], "q9": ["whatever"]}  # q2 unranked, q9 has no gold
    assert map_at_k(gold, predictions, 20) == pytest.approx((1 + 0 + (1 / 2) / 2) / 3)
    with pytest.raises(ValueError):
        map_at_k({}, predictions, 20)


def test_rank_k_comes_from_the_main_metric():
    from stilt_cli.core import tasks

    assert tasks.get("mewsli-x").rank_k == tasks.get("lareqa").rank_k == 20


def _rows():
    candidates = [{"id": c, "lang": "en", "side": "candidate", "text": c} for c in ("a", "b", "c")]
    queries = [{"id": "q1", "lang": "de", "side": "query", "text": "x", "gold": ["b"]},
               {"id": "q2", "lang": "de", "side": "query", "text": "y", "gold": ["c", "a"]},
               {"id": "q3", "lang": "fr", "side": "query", "text": "z"}]
    return candidates + queries


def test_ranking_set_pools_candidates_and_groups_queries_by_language():
    rankset = rank.build(_rows(), "t", "test")
    assert list(rankset.queries) == ["de", "fr"] and rankset.candidate_ids == ["a", "b", "c"]
    # exact cosine top-k: q1 nearest b, q2 nearest a then c
    pool = np.eye(3, dtype=np.float32)
    ranked, _ = rank.top_k(np.asarray([[0, 1, 0.1], [1, 0, 0.5]], dtype=np.float32), pool, 20)
    ids = [[rankset.candidate_ids[i] for i in row] for row in ranked]
    assert [r[:2] for r in ids] == [["b", "c"], ["a", "c"]]
    value, n = rank.scored(rankset.queries["de"], ids, 20)
    assert (value, n) == (pytest.approx((1 + 1) / 2), 2)
    assert rank.scored(rankset.queries["fr"], [["a"]], 20) == (None, 0)  # no gold: nothing to score


def test_a_candidate_with_context_is_encoded_as_sentence_plus_paragraph():
    assert rank.candidate_text({"text": "B.", "context": "A. B.\nC."}) == "B.A. B.C."
    assert rank.candidate_text({"text": "Paris is big."}) == "Paris is big."


def test_bad_ranking_sets_are_one_line_errors():
    rows = _rows() + [{"id": "q4", "lang": "de", "side": "query", "text": "w", "gold": ["nope"]}]
    with pytest.raises(DataError, match="names gold candidate 'nope', which is not among the candidates"):
        rank.build(rows, "t", "test")
    with pytest.raises(DataError, match="candidate id 'a' occurs twice"):
        rank.build(_rows() + [{"id": "a", "lang": "en", "side": "candidate", "text": "again"}], "t", "test")
    with pytest.raises(DataError, match="needs queries and candidates"):
        rank.build(_rows()[:3], "t", "test")
