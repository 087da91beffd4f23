"""Exact search and Tatoeba accuracy on constructed cases; retrieval groups; the XTREME layer protocols."""

from __future__ import annotations

import numpy as np
import pytest

from stilt_cli.core import tasks
from stilt_cli.core.errors import DataError, UsageError
from stilt_cli.core.retrieval import retrieve, search, sets
from tests import train_data as td


def _constructed():
    # xx side: 4 vectors; English side: 3 queries whose nearest xx vectors are known by construction
    src = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]], dtype=np.float32)
    tgt = np.array([[0.9, 0.1, 0.0], [0.0, 0.2, 5.0], [0.1, 1.0, 0.0]], dtype=np.float32)
    return src, tgt


@pytest.mark.parametrize("backend", ["faiss-cpu", "torch"])
def test_search_exact_on_constructed_case(backend):
    src, tgt = _constructed()
    scores, indices, used = search.search(tgt, src, k=2, backend=backend)
    assert used.startswith(backend.split("-")[0])
    assert indices[:, 0].tolist() == [0, 2, 1]
    assert indices[:, 1].tolist() == [3, 1, 3]  # cos(q0, [1,1,0]) = .78 beats the rest
    assert scores[1, 0] == pytest.approx(5.0 / np.linalg.norm([0, 0.2, 5.0]), rel=1e-6)


def test_accuracy_both_directions_known_answers():
    src, tgt = _constructed()
    # gold: en0 <-> xx0, en1 <-> xx2, en2 <-> xx3 (so en2's nearest, xx1, is a miss)
    links = np.array([[0, 0], [2, 1], [3, 2]])
    value, n, _ = search.accuracy(src, tgt, links, "en2xx")
    assert (value, n) == (pytest.approx(2 / 3), 3)
    # xx -> en: xx0 -> en0 (hit), xx2 -> en1 (hit), xx3 = [1,1,0] -> en2 (.77) vs en0 (.78): en0, a miss
    value, n, _ = search.accuracy(src, tgt, links, "xx2en")
    assert (value, n) == (pytest.approx(2 / 3), 3)


def test_groups_check_sides_ids_and_links():
    groups = sets.groups_from_examples(td.parallel("de", ["a", "b"], ["x", "y"], [(0, 1), (1, 0)]), "t", "test")
    assert groups["de"].links.tolist() == [[0, 1], [1, 0]]
    with pytest.raises(DataError, match="'en:5', which is not among the sentences"):
        sets.groups_from_examples(td.parallel("de", ["a"], ["x"], [(0, 5)]), "t", "test")
    with pytest.raises(DataError, match="no 'tgt' sentences"):
        sets.groups_from_examples(td.parallel("de", ["a"], [], []), "t", "test")
    with pytest.raises(DataError, match="no gold alignment"):
        sets.require_gold(sets.groups_from_examples(td.parallel("de", ["a"], ["x"], []), "t", "test")["de"],
                          "t", "test")


def test_protocol_layers():
    # XTREME reads hidden_states[-12:][7]: 8 of 12 layers; BUCC with XLM-R Large 20; its Tatoeba script 14
    assert retrieve.xtreme_layer(tasks.get("tatoeba"), "mbert", 12) == 8
    assert retrieve.xtreme_layer(tasks.get("bucc"), "xlmr", 24) == 20
    assert retrieve.xtreme_layer(tasks.get("tatoeba"), "xlmr", 24) == 14
    assert retrieve.xtreme_layer(tasks.get("tatoeba"), "tiny", 2) is None
    with pytest.raises(UsageError, match="not a retrieval task"):
        tasks.get_of_type("xnli", "retrieval")
