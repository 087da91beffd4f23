"""UD corpus morphology (core/analysis/udmorph.py) on the real English EWT treebank of ../shared/data,
against the three measures computed straight from the file's columns."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from stilt_cli.core.analysis import udmorph

pytestmark = pytest.mark.realdata


def _by_hand(path):
    """The three measures straight from the file's columns, independently of stilt's reader."""
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = line.split("\t")
        if len(cells) == 10 and cells[0].isdigit() and cells[3] != "PUNCT":
            words.append(cells)
    feats = sum(0 if w[5] == "_" else len(w[5].split("|")) for w in words) / len(words)
    count, forms = Counter(), defaultdict(set)
    for w in words:
        count[w[2].lower()] += 1
        forms[w[2].lower()].add(w[1].lower())
    repeated = [lemma for lemma, n in count.items() if n >= 2]
    tokens = [w[1].lower() for w in words]
    windows = len(tokens) - 499
    mattr = sum(len(set(tokens[i:i + 500])) for i in range(windows)) / (500 * windows)
    return len(words), feats, sum(len(forms[lemma]) for lemma in repeated) / len(repeated), mattr


def test_real_english_ewt_treebank(shared_data):
    path = shared_data / "udpos" / "ud_v2.5_conllu" / "UD_English-EWT" / "en_ewt-ud-test.conllu"
    if not path.is_file():
        pytest.skip("the English EWT treebank is absent")
    english = udmorph.profile("en", shared_data)
    assert english.files == ["udpos/ud_v2.5_conllu/UD_English-EWT/en_ewt-ud-test.conllu"]
    n_words, feats, forms, mattr = _by_hand(path)
    assert english.n_words == n_words == 21990  # 25,096 syntactic words, less punctuation
    assert english.values["ud-feats-per-word"] == pytest.approx(feats) == pytest.approx(1.345703, abs=1e-6)
    assert english.values["ud-forms-per-lemma"] == pytest.approx(forms) == pytest.approx(1.378178, abs=1e-6)
    assert english.values["ud-mattr"] == pytest.approx(mattr) == pytest.approx(0.546129, abs=1e-6)
