"""BUCC mining: blocked k-NN = brute force, ratio margin by hand, greedy max retrieval, threshold search."""

from __future__ import annotations

import numpy as np
import pytest

from stilt_cli.core.retrieval import mining


def _brute_knn(x: np.ndarray, y: np.ndarray, k: int):
    a = x / np.linalg.norm(x, axis=1, keepdims=True)
    b = y / np.linalg.norm(y, axis=1, keepdims=True)
    scores = a @ b.T
    fwd = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    bwd = np.argsort(-scores.T, axis=1, kind="stable")[:, :k]
    return scores, fwd, bwd


@pytest.mark.parametrize("n,m,block_rows,block_cols", [(300, 410, 32, 64), (300, 410, 1000, 1000), (7, 3, 2, 2),
                                                        (2, 9, 1, 4)])
def test_blocked_knn_equals_brute_force(n, m, block_rows, block_cols):
    rng = np.random.default_rng(n + m)
    x = rng.standard_normal((n, 16)).astype(np.float32)
    y = rng.standard_normal((m, 16)).astype(np.float32)
    k = 4
    scores, fwd, bwd = _brute_knn(x, y, k)
    knn = mining.knn_both(x, y, k, block_rows=block_rows, block_cols=block_cols, device="cpu")
    assert np.array_equal(knn.x2y_ind, fwd[:, :min(k, m)])
    assert np.array_equal(knn.y2x_ind, bwd[:, :min(k, n)])
    np.testing.assert_allclose(knn.x2y_sim, np.take_along_axis(scores, fwd[:, :min(k, m)], 1), atol=1e-5)
    np.testing.assert_allclose(knn.y2x_sim, np.take_along_axis(scores.T, bwd[:, :min(k, n)], 1), atol=1e-5)


def test_blocked_knn_reads_float16_memmap_and_matches_faiss(tmp_path):
    rng = np.random.default_rng(0)
    x = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float16, shape=(500, 32))
    x[:] = rng.standard_normal((500, 32))
    y = rng.standard_normal((700, 32)).astype(np.float16)
    blocked = mining.knn_both(x, y, 4, block_rows=64, block_cols=256, device="cpu", budget_bytes=0)  # block by block
    reference = mining.knn_faiss(np.asarray(x, np.float32), y.astype(np.float32), 4)
    assert np.array_equal(blocked.x2y_ind, reference.x2y_ind)
    assert np.array_equal(blocked.y2x_ind, reference.y2x_ind)


def test_ratio_margin_and_max_retrieval_by_hand():
    # unit vectors: cos(x0,y0)=1, cos(x0,y1)=.6, cos(x0,y2)=0, cos(x1,y0)=0, cos(x1,y1)=.8, cos(x1,y2)=1
    x = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    y = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]], dtype=np.float32)
    knn = mining.knn_both(x, y, k=2, device="cpu")
    # k=2 neighbourhood means: x0 (1+.6)/2=.8, x1 (1+.8)/2=.9; y0 (1+0)/2=.5, y1 (.8+.6)/2=.7, y2 .5
    fwd, bwd = mining.margin_scores(knn)
    expected_fwd = {(0, 0): 1 / ((0.8 + 0.5) / 2), (0, 1): 0.6 / ((0.8 + 0.7) / 2),
                    (1, 2): 1 / ((0.9 + 0.5) / 2), (1, 1): 0.8 / ((0.9 + 0.7) / 2)}
    for i in range(2):
        for slot in range(2):
            assert fwd[i, slot] == pytest.approx(expected_fwd[(i, int(knn.x2y_ind[i, slot]))], rel=1e-6)
    assert bwd[1, 0] == pytest.approx(0.8 / ((0.7 + 0.9) / 2), rel=1e-6)  # y1's best: x1, margin 1.0
    mined = mining.mine(knn)
    pairs = sorted(zip(mined.src.tolist(), mined.tgt.tolist(), mined.score.tolist()))
    # (x0,y0) 1.538 then (x1,y2) 1.429; (x1,y1) 1.0 loses: x1 is taken
    assert [(s, t) for s, t, _ in pairs] == [(0, 0), (1, 2)]
    assert pairs[0][2] == pytest.approx(1 / 0.65) and pairs[1][2] == pytest.approx(1 / 0.7)


def _sequential_greedy(src, tgt, order):
    used_s, used_t, kept = set(), set(), np.zeros(len(src), dtype=bool)
    for e in order:
        if src[e] not in used_s and tgt[e] not in used_t:
            used_s.add(src[e])
            used_t.add(tgt[e])
            kept[e] = True
    return kept


@pytest.mark.parametrize("seed", range(5))
def test_greedy_rounds_equal_sequential_greedy(seed):
    rng = np.random.default_rng(seed)
    n_edges = 400
    src = rng.integers(0, 60, n_edges)
    tgt = rng.integers(0, 80, n_edges)
    score = rng.integers(0, 30, n_edges).astype(float)  # many ties
    order = np.argsort(-score, kind="stable")
    assert np.array_equal(mining.greedy_unique(src, tgt, order), _sequential_greedy(src, tgt, order))


def test_threshold_search_and_application_by_hand():
    scores = np.array([0.6, 0.9, 0.5, 0.7, 0.8])
    correct = np.array([True, True, False, True, False])
    # by descending score: .9 T, .8 F, .7 T, .6 T, .5 F with 4 gold pairs:
    # F1 per cut = .4, .333, .571, .75, .667 -> best after .6, threshold halfway to .5
    threshold, f1 = mining.optimize_threshold(scores, correct, n_gold=4)
    assert threshold == pytest.approx(0.55)
    assert f1 == pytest.approx(0.75)
    result = mining.evaluate(scores, correct, 4, threshold)
    assert (result["precision"], result["recall"], result["f1"]) == pytest.approx((0.75, 0.75, 0.75))
    assert result["extracted"] == 4 and result["correct"] == 3
    # the same threshold applied to other candidates, unchanged
    other = mining.evaluate(np.array([0.56, 0.54, 0.99]), np.array([False, True, True]), 2, threshold)
    assert (other["precision"], other["recall"]) == pytest.approx((0.5, 0.5))


def test_threshold_without_any_correct_candidate_is_zero():
    assert mining.optimize_threshold(np.array([0.9, 0.8]), np.array([False, False]), 3) == (0.0, 0.0)
    assert mining.evaluate(np.array([0.9]), np.array([False]), 3, 0.0)["f1"] == 0.0


def test_duplicates_unified_jiant_credits_all_ids_xtreme_drops_them():
    texts = ["a", "b", "a", "c"]
    unique, inverse, first = mining.unify(texts)
    assert unique == ["a", "b", "c"] and inverse.tolist() == [0, 1, 0, 2] and first.tolist() == [0, 1, 3]
    tgt_unique, tgt_inverse, tgt_first = mining.unify(["x", "y"])
    mined = mining.Mined(src=np.array([0, 1]), tgt=np.array([0, 1]), score=np.array([2.0, 1.5]))
    src, tgt, score = mining.expand(mined, inverse, tgt_inverse, first, tgt_first, "jiant")
    assert sorted(zip(src.tolist(), tgt.tolist(), score.tolist())) == [(0, 0, 2.0), (1, 1, 1.5), (2, 0, 2.0)]
    src, tgt, score = mining.expand(mined, inverse, tgt_inverse, first, tgt_first, "xtreme")
    assert list(zip(src.tolist(), tgt.tolist())) == [(1, 1)]
