"""Alignment measures: CKA identities and invariances, cosine gap and retrieval by hand."""

from __future__ import annotations

import numpy as np
import pytest

from stilt_cli.core.retrieval import alignment


def _random(n=50, d=8, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d))


def test_cka_of_identical_inputs_is_one():
    x = _random()
    assert alignment.linear_cka(x, x) == pytest.approx(1.0, abs=1e-12)


def test_cka_invariances():
    x = _random()
    rotation, _ = np.linalg.qr(np.random.default_rng(1).standard_normal((8, 8)))
    assert alignment.linear_cka(x, 3.5 * x @ rotation) == pytest.approx(1.0, abs=1e-10)  # orthogonal + isotropic
    assert alignment.linear_cka(x, x + 7.0) == pytest.approx(1.0, abs=1e-10)  # translation (centred)
    y = _random(seed=2)
    assert alignment.linear_cka(x, y) == pytest.approx(alignment.linear_cka(y, x))  # symmetric
    assert alignment.linear_cka(x, y) < 0.5  # independent noise
    stretch = np.diag([10.0] + [1.0] * 7)
    assert alignment.linear_cka(x, x @ stretch) < 0.999  # not invariant to anisotropic scaling


def test_measures_by_hand():
    # three pairs in 2-D: cos(pairs) = 1, 1, .83; the expected values are recomputed from the cosine matrix
    src = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    tgt = np.array([[2.0, 0.0], [0.0, 3.0], [1.0, 0.2]])
    found = alignment.measures(src, tgt)
    a = src / np.linalg.norm(src, axis=1, keepdims=True)
    b = tgt / np.linalg.norm(tgt, axis=1, keepdims=True)
    cos = a @ b.T
    pairs = np.diag(cos).mean()
    random = (cos.sum() - np.trace(cos)) / 6
    assert found["cosine_pairs"] == pytest.approx(pairs)
    assert found["cosine_random"] == pytest.approx(random)
    assert found["cosine_gap"] == pytest.approx(pairs - random)
    # xx -> en: src2 = (1,1) is closest to tgt2 = (1,.2) (cos .83 vs .71 for tgt0 and tgt1): all three hit
    assert found["retrieval_accuracy"]["xx2en"] == 1.0
    # en -> xx: tgt2 (1,.2) is closer to src0 (cos .98) than to src2 (.83): a miss
    assert found["retrieval_accuracy"]["en2xx"] == pytest.approx(2 / 3)
