"""Exact search and Tatoeba accuracy on constructed cases; protocols; `stilt retrieve` end to end on a tiny model."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from stilt_cli.core import tasks
from stilt_cli.core.errors import DataError, UsageError
from stilt_cli.core.retrieval import retrieve, search, sets

GERMAN = ["Der Hund schläft im Garten.", "Ich trinke gern Kaffee am Morgen.", "Das Wetter ist heute schön.",
          "Wir fahren morgen nach Berlin.", "Sie liest ein dickes Buch.", "Der Zug hat zehn Minuten Verspätung.",
          "Meine Schwester wohnt in Paris.", "Kannst du mir bitte helfen?"]
ENGLISH = ["The dog sleeps in the garden.", "I like drinking coffee in the morning.", "The weather is nice today.",
           "We are driving to Berlin tomorrow.", "She is reading a thick book.", "The train is ten minutes late.",
           "My sister lives in Paris.", "Can you help me please?"]


def _rows(lang, src, tgt, links, split=None):
    rows = [{"id": f"{lang}:{i}", "lang": lang, "side": "src", "text": t} for i, t in enumerate(src)]
    rows += [{"id": f"en:{i}", "lang": lang, "side": "tgt", "text": t} for i, t in enumerate(tgt)]
    rows += [{"lang": lang, "link": [f"{lang}:{s}", f"en:{t}"]} for s, t in links]
    if split:
        for row in rows:
            row["split"] = split
    return rows


def _jsonl(path, rows):
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def _records(result):
    assert result.exit_code == 0, result.stderr
    return [orjson.loads(line) for line in result.stdout.splitlines() if line.strip()]


# ---- exact search on constructed vectors -------------------------------------------------------

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
    groups = sets.groups_from_examples(_rows("de", ["a", "b"], ["x", "y"], [(0, 1), (1, 0)]), "t", "test")
    assert groups["de"].links.tolist() == [[0, 1], [1, 0]]
    with pytest.raises(DataError, match="'en:5', which is not among the sentences"):
        sets.groups_from_examples(_rows("de", ["a"], ["x"], [(0, 5)]), "t", "test")
    with pytest.raises(DataError, match="no 'tgt' sentences"):
        sets.groups_from_examples(_rows("de", ["a"], [], []), "t", "test")
    with pytest.raises(DataError, match="no gold alignment"):
        sets.require_gold(sets.groups_from_examples(_rows("de", ["a"], ["x"], []), "t", "test")["de"], "t", "test")


def test_protocol_layers():
    # XTREME reads hidden_states[-12:][7]: 8 of 12 layers; BUCC with XLM-R Large 20; its Tatoeba script 14
    assert retrieve.xtreme_layer(tasks.get("tatoeba"), "mbert", 12) == 8
    assert retrieve.xtreme_layer(tasks.get("bucc"), "xlmr", 24) == 20
    assert retrieve.xtreme_layer(tasks.get("tatoeba"), "xlmr", 24) == 14
    assert retrieve.xtreme_layer(tasks.get("tatoeba"), "tiny", 2) is None
    with pytest.raises(UsageError, match="not a retrieval task"):
        tasks.get_of_type("xnli", "retrieval")


# ---- the command -------------------------------------------------------------------------------

def test_retrieve_tatoeba_identical_translations_are_all_found(cli, tiny_xlmr, tmp_path):
    # the English side is a shuffled copy of the xx side: every query's nearest neighbour is itself
    order = [3, 0, 6, 1, 7, 2, 5, 4]
    data = _jsonl(tmp_path / "copy.jsonl", _rows("de", GERMAN, [GERMAN[i] for i in order],
                                                [(s, t) for t, s in enumerate(order)]))
    rows = _records(cli("retrieve", tiny_xlmr, "--task", "tatoeba", "--data", data, "--direction", "both"))
    assert [(r["lang"], r["metric"], r["params"]["direction"], r["value"], r["n"]) for r in rows] == [
        ("de", "accuracy", "en2xx", 1.0, 8), ("de", "accuracy", "xx2en", 1.0, 8)]
    record = rows[0]
    assert record["kind"] == "retrieval" and record["protocol"] == "xstilts" and record["split"] == "test"
    assert record["params"]["layer"] == 2 and record["params"]["pooling"] == "mean"
    assert record["details"]["search"] == "faiss-cpu"  # how it was found: not part of the identity
    assert "search" not in record["params"]
    assert record["checkpoint"]["name"] == tiny_xlmr.name and record["checkpoint"]["manifest_sha256"]


def test_retrieve_names_the_split_a_file_holds(cli, tiny_xlmr, tmp_path):
    rows = [dict(r, split="dev") for r in _rows("de", GERMAN, GERMAN, [(i, i) for i in range(len(GERMAN))])]
    data = _jsonl(tmp_path / "dev.jsonl", rows)
    assert [r["split"] for r in _records(cli("retrieve", tiny_xlmr, "--task", "tatoeba", "--data", data))] == ["dev"]
    result = cli("retrieve", tiny_xlmr, "--task", "tatoeba", "--data", data, "--split", "test")
    assert result.exit_code == 1 and "no tatoeba test examples" in result.stderr


def test_retrieve_layer_sweep_shape_and_plot(cli, tiny_xlmr, tmp_path):
    data = _jsonl(tmp_path / "pairs.jsonl", _rows("de", GERMAN, ENGLISH, [(i, i) for i in range(8)]))
    result = cli("retrieve", tiny_xlmr, "--task", "tatoeba", "--data", data, "--layer", "all", "--plot", tmp_path / "plots",
                 "--protocol", "xtreme", "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # records went to the file
    rows = [orjson.loads(line) for line in (tmp_path / "out.jsonl").read_bytes().splitlines()]
    assert [r["params"]["layer"] for r in rows] == [0, 1, 2]  # tiny:xlmr has 2 layers + embeddings
    assert all(0.0 <= r["value"] <= 1.0 and r["protocol"] == "xtreme" for r in rows)
    png = tmp_path / "plots" / "retrieve-tatoeba-xtreme.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_retrieve_bucc_threshold_tuned_on_dev_applied_to_test(cli, tiny_xlmr, tmp_path):
    def split_rows(split, src_extra, tgt_extra):
        src = GERMAN[:5] + src_extra
        tgt = tgt_extra + GERMAN[:5]  # translations = copies, placed after the distractors
        return _rows("de", src, tgt, [(i, len(tgt_extra) + i) for i in range(5)], split)

    rows = split_rows("dev", ENGLISH[:2], ENGLISH[2:6]) + split_rows("test", ENGLISH[6:], ENGLISH[:3])
    data = _jsonl(tmp_path / "bucc.jsonl", [dict(r, id=f"{r['split']}-{r['id']}") if "id" in r else
                                            dict(r, link=[f"{r['split']}-{x}" for x in r["link"]]) for r in rows])
    records = _records(cli("retrieve", tiny_xlmr, "--task", "bucc", "--data", data))
    assert [r["metric"] for r in records] == ["f1", "precision", "recall"]
    f1 = records[0]
    assert f1["split"] == "test" and f1["n"] == 5 and f1["lang"] == "de"
    params = f1["params"]
    assert params["threshold_from"] == "dev" and params["tuned_on_scored_split"] is False
    assert params["k"] == 4 and params["margin"] == "ratio" and f1["details"]["knn"] == "blocked-gemm-cpu"
    assert "threshold" not in params  # a result, kept in details so runs with different thresholds join
    assert f1["value"] == 1.0  # copies: margin well above every distractor's, on dev and on test
    # the same threshold, given explicitly, gives the same result
    again = _records(cli("retrieve", tiny_xlmr, "--task", "bucc", "--data", data, "--threshold", str(f1["details"]["threshold"])))
    assert again[0]["value"] == 1.0 and again[0]["params"]["threshold_from"] == "option"
    # dev itself: tuned on dev and scored on dev, which the record says
    dev = _records(cli("retrieve", tiny_xlmr, "--task", "bucc", "--data", data, "--split", "dev", "--protocol", "xtreme"))
    assert dev[0]["split"] == "dev" and dev[0]["params"]["tuned_on_scored_split"] is True
    assert dev[0]["params"]["dedupe"] == "xtreme"


def test_retrieve_bad_inputs_one_line_each(cli, tiny_xlmr, tmp_path):
    data = _jsonl(tmp_path / "pairs.jsonl", _rows("de", GERMAN[:3], ENGLISH[:3], [(0, 0)]))
    result = cli("retrieve", tiny_xlmr, "--task", "tatoeba", "--data", data, "--layer", "7")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: layer 7 is out of range")
    assert "valid layers are 0..2" in result.stderr and result.stdout == ""
    result = cli("retrieve", tiny_xlmr, "--task", "xnli", "--data", data)
    assert result.exit_code == 2 and "not a retrieval task" in result.stderr
    result = cli("retrieve", tiny_xlmr, "--task", "tatoeba", "--data", data, "--layer", "x")
    assert result.exit_code == 2 and "--layer must be a layer number or 'all'" in result.stderr
    nogold = _jsonl(tmp_path / "nogold.jsonl", _rows("de", GERMAN[:3], ENGLISH[:3], []))
    result = cli("retrieve", tiny_xlmr, "--task", "tatoeba", "--data", nogold)
    assert result.exit_code == 1 and "no gold alignment" in result.stderr
    result = cli("retrieve", tiny_xlmr, "--task", "tatoeba", "--data", data, "--pooling", "model")
    assert result.exit_code == 2 and "stilt checkpoint" in result.stderr
    assert "Traceback" not in result.stderr


def test_retrieve_cls_pooling_refused_for_mt5(cli, tiny_ckpts, tmp_path):
    data = _jsonl(tmp_path / "pairs.jsonl", _rows("de", GERMAN[:3], ENGLISH[:3], [(0, 0)]))
    result = cli("retrieve", tiny_ckpts["mt5"], "--task", "tatoeba", "--data", data, "--pooling", "cls")
    assert result.exit_code == 2 and "needs an encoder with a [CLS] token" in result.stderr


def test_retrieve_from_original_format_files(cli, tiny_xlmr, tmp_path):
    # LASER's Tatoeba files (Swahili is 'swh' there) and BUCC id<TAB>sentence files, through --data-dir
    (tmp_path / "tatoeba.swh-eng.swh").write_text("".join(t + "\n" for t in GERMAN))
    (tmp_path / "tatoeba.swh-eng.eng").write_text("".join(t + "\n" for t in GERMAN))
    rows = _records(cli("retrieve", tiny_xlmr, "--task", "tatoeba", "--data-dir", tmp_path))
    assert [(r["lang"], r["value"], r["n"]) for r in rows] == [("sw", 1.0, 8)]
    for split, extra in (("dev", ENGLISH[:3]), ("test", ENGLISH[3:])):
        (tmp_path / f"fr-en.{split}.fr").write_text("".join(f"fr-{i}\t{t}\n" for i, t in enumerate(GERMAN[:4])))
        (tmp_path / f"fr-en.{split}.en").write_text("".join(f"en-{i}\t{t}\n" for i, t in enumerate(extra + GERMAN[:4])))
        (tmp_path / f"fr-en.{split}.gold").write_text("".join(f"fr-{i}\ten-{len(extra) + i}\n" for i in range(4)))
    rows = _records(cli("retrieve", tiny_xlmr, "--task", "bucc", "--data-dir", tmp_path, "--langs", "fr"))
    assert [(r["split"], r["metric"], r["value"]) for r in rows] == [("test", "f1", 1.0), ("test", "precision", 1.0),
                                                                      ("test", "recall", 1.0)]
    (tmp_path / "fr-en.test.fr").write_text("fr-0\tonly one line\nfr-0\tagain\n")
    result = cli("retrieve", tiny_xlmr, "--task", "bucc", "--data-dir", tmp_path, "--langs", "fr")
    assert result.exit_code == 1 and "fr-en.test.fr:2: id 'fr-0' occurs twice" in result.stderr


@pytest.mark.realdata
def test_retrieve_and_align_on_the_real_files(cli, tiny_xlmr, shared_data):
    rows = _records(cli("retrieve", tiny_xlmr, "--task", "tatoeba", "--data-dir", shared_data / "tatoeba", "--langs", "sw"))
    assert [(r["lang"], r["n"]) for r in rows] == [("sw", 390)] and 0.0 <= rows[0]["value"] <= 1.0
    # BUCC zh-en sample set: the 257 gold pairs as parallel sentences
    result = cli("align", tiny_xlmr, "--task", "bucc", "--data-dir", shared_data / "bucc2018", "--split", "dev",
                 "--langs", "zh")
    rows = _records(result)
    assert {r["n"] for r in rows} == {257} and {r["task"] for r in rows} == {"bucc"}
