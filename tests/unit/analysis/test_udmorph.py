"""core/analysis/udmorph.py: corpus morphology from UD CoNLL-U, checked on treebanks written here
(values worked out by hand); the real English EWT file: tests/realdata/test_udmorph_realdata.py."""

from __future__ import annotations

import json
import random

import pytest

from stilt_cli.core import records, tasks
from stilt_cli.core.analysis import typology, udmorph
from stilt_cli.core.data import readers
from stilt_cli.core.errors import UsageError


def conllu(rows: list[list[tuple]]) -> str:
    """Sentences of (id, form, lemma, upos, feats) as 10-column CoNLL-U (heads are a flat chain)."""
    out = []
    for number, sentence in enumerate(rows, start=1):
        out += [f"# sent_id = s{number}", "# text = ..."]
        for word_id, form, lemma, upos, feats in sentence:
            head = "_" if "-" in str(word_id) else ("0" if word_id == 1 else "1")
            deprel = "_" if "-" in str(word_id) else ("root" if word_id == 1 else "dep")
            out.append("\t".join([str(word_id), form, lemma, upos, "_", feats, head, deprel, "_", "_"]))
        out.append("")
    return "\n".join(out) + "\n"


GERMAN_1 = [[(1, "Die", "der", "DET", "Case=Nom|Number=Plur"),
             (2, "Hunde", "Hund", "NOUN", "Case=Nom|Gender=Masc|Number=Plur"),
             (3, "bellen", "bellen", "VERB", "Number=Plur|Person=3"), (4, ".", ".", "PUNCT", "_")]]
GERMAN_2 = [[("1-2", "zum", "_", "_", "_"), (1, "zu", "zu", "ADP", "_"),
             (2, "dem", "der", "DET", "Case=Dat|Number=Sing"),
             (3, "Hund", "Hund", "NOUN", "Case=Dat|Number=Sing"),
             (4, "bellt", "bellen", "VERB", "Number=Sing|Person=3")]]
ENGLISH = [[(1, "The", "the", "DET", "Definite=Def|PronType=Art"), (2, "dogs", "dog", "NOUN", "Number=Plur"),
            (3, "bark", "bark", "VERB", "Mood=Ind|Tense=Pres|VerbForm=Fin"), (4, ".", ".", "PUNCT", "_")],
           [(1, "The", "the", "DET", "Definite=Def|PronType=Art"), (2, "dog", "dog", "NOUN", "Number=Sing"),
            (3, "barks", "bark", "VERB", "Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin")]]
# by hand, punctuation left out: German 7 words (zu, not the fused zum), 13 FEATS; lemmas der, Hund,
# bellen seen twice with 2 forms each (zu once). English 6 words, 14 FEATS; the (1 form), dog, bark (2).
DE_FEATS, EN_FEATS = 13 / 7, 14 / 6
DE_FORMS, EN_FORMS = 2.0, 5 / 3


@pytest.fixture
def treebanks(tmp_path):
    """German in two treebanks (two splits), English elsewhere in the tree: the udpos layout."""
    root = tmp_path / "data"
    for folder, name, rows in (("udpos/UD_German-A", "de_a-ud-test.conllu", GERMAN_1),
                               ("udpos/UD_German-B", "de_b-ud-train.conllu", GERMAN_2),
                               ("ud-treebanks-v2.5/UD_English-T", "en_t-ud-test.conllu", ENGLISH)):
        (root / folder).mkdir(parents=True)
        (root / folder / name).write_text(conllu(rows), encoding="utf-8")
    return root


def test_measures_of_a_small_treebank_match_the_hand_count(treebanks):
    german = udmorph.profile("de", treebanks)
    assert german.files == ["udpos/UD_German-A/de_a-ud-test.conllu", "udpos/UD_German-B/de_b-ud-train.conllu"]
    assert german.n_words == 7
    assert german.values["ud-feats-per-word"] == pytest.approx(DE_FEATS)
    assert german.values["ud-forms-per-lemma"] == pytest.approx(DE_FORMS)
    assert german.values["ud-mattr"] is None and "fewer than the MATTR window of 500" in german.missing["ud-mattr"]
    english = udmorph.profile("en", treebanks)
    assert english.values["ud-feats-per-word"] == pytest.approx(EN_FEATS)
    assert english.values["ud-forms-per-lemma"] == pytest.approx(EN_FORMS)


def test_treebanks_are_the_files_udpos_reads(treebanks):
    spec = tasks.get("udpos")
    for split, expected in (("test", "de_a-ud-test.conllu"), ("train", "de_b-ud-train.conllu")):
        found = readers.locate(spec, split, "de", treebanks)
        assert [p.name for p in found.paths] == [expected]
        assert set(found.paths) <= set(udmorph.treebank_files("de", treebanks)[0])


def test_distance_is_the_absolute_difference_and_records_both_values(treebanks):
    found = {(d.feature, d.lang): d
             for d in typology.distances(["de", "en"], list(udmorph.MEASURES), data_dir=treebanks)}
    item = found[("ud-feats-per-word", "de")]
    assert item.value == pytest.approx(abs(DE_FEATS - EN_FEATS), abs=1e-6)
    assert item.details["lang_value"] == pytest.approx(DE_FEATS, abs=1e-6)
    assert item.details["ref_value"] == pytest.approx(EN_FEATS, abs=1e-6)
    assert item.details["ref_files"] == ["ud-treebanks-v2.5/UD_English-T/en_t-ud-test.conllu"]
    assert found[("ud-forms-per-lemma", "de")].value == pytest.approx(abs(DE_FORMS - EN_FORMS), abs=1e-6)
    assert found[("ud-feats-per-word", "en")].value == 0.0
    record = records.validate(item.record(), "test")
    assert record["protocol"] == udmorph.PROTOCOL and "FEATS per word" in record["params"]["definition"]
    assert record["details"]["n_words"] == 7 and record["missing_reason"] is None
    mattr = found[("ud-mattr", "de")]
    assert mattr.value is None and "fewer than the MATTR window" in mattr.missing_reason


def test_mattr_window_500(tmp_path):
    # 250 forms in a cycle: every window of 500 holds each form twice, so MATTR is exactly 0.5
    cycle = [[(i + 1, f"w{(s * 10 + i) % 250}", f"w{(s * 10 + i) % 250}", "NOUN", "_") for i in range(10)]
             for s in range(100)]
    (tmp_path / "fi_cycle-ud-test.conllu").write_text(conllu(cycle), encoding="utf-8")
    finnish = udmorph.profile("fi", tmp_path)
    assert finnish.n_words == 1000 and finnish.values["ud-mattr"] == pytest.approx(0.5)
    assert "no word of the treebank has FEATS" in finnish.missing["ud-feats-per-word"]
    assert finnish.values["ud-forms-per-lemma"] == 1.0
    rng = random.Random(3)
    tokens = [f"t{rng.randint(0, 300)}" for _ in range(1200)]
    windows = [len(set(tokens[i:i + 500])) / 500 for i in range(len(tokens) - 499)]
    assert udmorph.mattr(tokens) == pytest.approx(sum(windows) / len(windows))
    assert udmorph.mattr(tokens[:499]) is None


def test_missing_treebanks_say_why(tmp_path, treebanks):
    found = {d.lang: d for d in typology.distances(["fr"], ["ud-mattr"], data_dir=treebanks)}
    assert found["fr"].value is None and "no UD treebank for 'fr'" in found["fr"].missing_reason
    assert "fr_*-ud-test.conllu" in found["fr"].missing_reason
    no_english = tmp_path / "no-english"
    (no_english / "UD_German-A").mkdir(parents=True)
    (no_english / "UD_German-A" / "de_a-ud-test.conllu").write_text(conllu(GERMAN_1), encoding="utf-8")
    item = typology.distances(["de"], ["ud-feats-per-word"], data_dir=no_english)[0]
    assert item.value is None
    assert item.missing_reason.startswith("the reference en has no value: no UD treebank for 'en'")
    assert item.details["lang_value"] == pytest.approx(7 / 3)  # German's own value is still reported


def test_ud_features_need_a_data_dir():
    with pytest.raises(UsageError, match="reads UD treebanks: give --data-dir"):
        typology.distances(["de"], ["ud-mattr"])
    typology.check_inputs(["syntax"], None)  # the URIEL features need none


def test_cli_distances_ud_features(cli, treebanks):
    result = cli("distances", "--langs", "de", "--features", "ud-feats-per-word,ud-forms-per-lemma",
                 "--data-dir", treebanks)
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["metric"], round(r["value"], 6)) for r in rows] == [
        ("ud-feats-per-word", round(abs(DE_FEATS - EN_FEATS), 6)),
        ("ud-forms-per-lemma", round(abs(DE_FORMS - EN_FORMS), 6))]
    table = cli("distances", "--langs", "de", "--features", "ud-feats-per-word", "--data-dir", treebanks,
                "--format", "table")
    assert "1.857" in table.stdout and "value" in table.stdout  # the language's own value is a column
    missing = cli("distances", "--langs", "de", "--features", "ud-mattr")
    assert missing.exit_code == 2 and missing.stdout == ""
    assert "--data-dir" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
