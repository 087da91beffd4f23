"""`stilt retrieve` end to end on a tiny model: Tatoeba, BUCC, layer sweeps, original-format files, bad inputs."""

from __future__ import annotations

import orjson

from tests import train_data as td
from tests.helpers import ok_rows, write_jsonl

GERMAN = ["Der Hund schläft im Garten.", "Ich trinke gern Kaffee am Morgen.", "Das Wetter ist heute schön.",
          "Wir fahren morgen nach Berlin.", "Sie liest ein dickes Buch.", "Der Zug hat zehn Minuten Verspätung.",
          "Meine Schwester wohnt in Paris.", "Kannst du mir bitte helfen?"]
ENGLISH = ["The dog sleeps in the garden.", "I like drinking coffee in the morning.", "The weather is nice today.",
           "We are driving to Berlin tomorrow.", "She is reading a thick book.", "The train is ten minutes late.",
           "My sister lives in Paris.", "Can you help me please?"]


# ---- the command -------------------------------------------------------------------------------

def test_retrieve_tatoeba_identical_translations_are_all_found(cli, tiny_xlmr, tmp_path):
    # the English side is a shuffled copy of the xx side: every query's nearest neighbour is itself
    order = [3, 0, 6, 1, 7, 2, 5, 4]
    data = write_jsonl(tmp_path / "copy.jsonl", td.parallel("de", GERMAN, [GERMAN[i] for i in order],
                                                [(s, t) for t, s in enumerate(order)]))
    rows = ok_rows(cli("retrieve", tiny_xlmr, "--task", "tatoeba", "--data", data, "--direction", "both"))
    assert [(r["lang"], r["metric"], r["params"]["direction"], r["value"], r["n"]) for r in rows] == [
        ("de", "accuracy", "en2xx", 1.0, 8), ("de", "accuracy", "xx2en", 1.0, 8)]
    record = rows[0]
    assert record["kind"] == "retrieval" and record["protocol"] == "xstilts" and record["split"] == "test"
    assert record["params"]["layer"] == 2 and record["params"]["pooling"] == "mean"
    assert record["details"]["search"] == "faiss-cpu"  # how it was found: not part of the identity
    assert "search" not in record["params"]
    assert record["checkpoint"]["name"] == tiny_xlmr.name and record["checkpoint"]["manifest_sha256"]


def test_retrieve_names_the_split_a_file_holds(cli, tiny_xlmr, tmp_path):
    rows = [dict(r, split="dev") for r in td.parallel("de", GERMAN, GERMAN, [(i, i) for i in range(len(GERMAN))])]
    data = write_jsonl(tmp_path / "dev.jsonl", rows)
    assert [r["split"] for r in ok_rows(cli("retrieve", tiny_xlmr, "--task", "tatoeba", "--data", data))] == ["dev"]
    result = cli("retrieve", tiny_xlmr, "--task", "tatoeba", "--data", data, "--split", "test")
    assert result.exit_code == 1 and "no tatoeba test examples" in result.stderr


def test_retrieve_layer_sweep_shape_and_plot(cli, tiny_xlmr, tmp_path):
    data = write_jsonl(tmp_path / "pairs.jsonl", td.parallel("de", GERMAN, ENGLISH, [(i, i) for i in range(8)]))
    result = cli("retrieve", tiny_xlmr, "--task", "tatoeba", "--data", data, "--layer", "all",
                 "--plot", tmp_path / "plots",
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
        return td.parallel("de", src, tgt, [(i, len(tgt_extra) + i) for i in range(5)], split)

    rows = split_rows("dev", ENGLISH[:2], ENGLISH[2:6]) + split_rows("test", ENGLISH[6:], ENGLISH[:3])
    data = write_jsonl(tmp_path / "bucc.jsonl", [dict(r, id=f"{r['split']}-{r['id']}") if "id" in r else
                                            dict(r, link=[f"{r['split']}-{x}" for x in r["link"]]) for r in rows])
    records = ok_rows(cli("retrieve", tiny_xlmr, "--task", "bucc", "--data", data))
    assert [r["metric"] for r in records] == ["f1", "precision", "recall"]
    f1 = records[0]
    assert f1["split"] == "test" and f1["n"] == 5 and f1["lang"] == "de"
    params = f1["params"]
    assert params["threshold_from"] == "dev" and params["tuned_on_scored_split"] is False
    assert params["k"] == 4 and params["margin"] == "ratio" and f1["details"]["knn"] == "blocked-gemm-cpu"
    assert "threshold" not in params  # a result, kept in details so runs with different thresholds join
    assert f1["value"] == 1.0  # copies: margin well above every distractor's, on dev and on test
    # the same threshold, given explicitly, gives the same result
    again = ok_rows(cli("retrieve", tiny_xlmr, "--task", "bucc", "--data", data, "--threshold",
                        str(f1["details"]["threshold"])))
    assert again[0]["value"] == 1.0 and again[0]["params"]["threshold_from"] == "option"
    # dev itself: tuned on dev and scored on dev, which the record says
    dev = ok_rows(cli("retrieve", tiny_xlmr, "--task", "bucc", "--data", data, "--split",
                      "dev", "--protocol", "xtreme"))
    assert dev[0]["split"] == "dev" and dev[0]["params"]["tuned_on_scored_split"] is True
    assert dev[0]["params"]["dedupe"] == "xtreme"


def test_retrieve_bad_inputs_one_line_each(cli, tiny_xlmr, tmp_path):
    data = write_jsonl(tmp_path / "pairs.jsonl", td.parallel("de", GERMAN[:3], ENGLISH[:3], [(0, 0)]))
    result = cli("retrieve", tiny_xlmr, "--task", "tatoeba", "--data", data, "--layer", "7")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: layer 7 is out of range")
    assert "valid layers are 0..2" in result.stderr and result.stdout == ""
    result = cli("retrieve", tiny_xlmr, "--task", "xnli", "--data", data)
    assert result.exit_code == 2 and "not a retrieval task" in result.stderr
    result = cli("retrieve", tiny_xlmr, "--task", "tatoeba", "--data", data, "--layer", "x")
    assert result.exit_code == 2 and "--layer must be a layer number or 'all'" in result.stderr
    nogold = write_jsonl(tmp_path / "nogold.jsonl", td.parallel("de", GERMAN[:3], ENGLISH[:3], []))
    result = cli("retrieve", tiny_xlmr, "--task", "tatoeba", "--data", nogold)
    assert result.exit_code == 1 and "no gold alignment" in result.stderr
    result = cli("retrieve", tiny_xlmr, "--task", "tatoeba", "--data", data, "--pooling", "model")
    assert result.exit_code == 2 and "stilt checkpoint" in result.stderr
    assert "Traceback" not in result.stderr


def test_retrieve_cls_pooling_refused_for_mt5(cli, tiny_ckpts, tmp_path):
    data = write_jsonl(tmp_path / "pairs.jsonl", td.parallel("de", GERMAN[:3], ENGLISH[:3], [(0, 0)]))
    result = cli("retrieve", tiny_ckpts["mt5"], "--task", "tatoeba", "--data", data, "--pooling", "cls")
    assert result.exit_code == 2 and "needs an encoder with a CLS token" in result.stderr


def test_retrieve_from_original_format_files(cli, tiny_xlmr, tmp_path):
    # LASER's Tatoeba files (Swahili is 'swh' there) and BUCC id<TAB>sentence files, through --data-dir
    (tmp_path / "tatoeba.swh-eng.swh").write_text("".join(t + "\n" for t in GERMAN))
    (tmp_path / "tatoeba.swh-eng.eng").write_text("".join(t + "\n" for t in GERMAN))
    rows = ok_rows(cli("retrieve", tiny_xlmr, "--task", "tatoeba", "--data-dir", tmp_path))
    assert [(r["lang"], r["value"], r["n"]) for r in rows] == [("sw", 1.0, 8)]
    for split, extra in (("dev", ENGLISH[:3]), ("test", ENGLISH[3:])):
        (tmp_path / f"fr-en.{split}.fr").write_text("".join(f"fr-{i}\t{t}\n" for i, t in enumerate(GERMAN[:4])))
        (tmp_path / f"fr-en.{split}.en").write_text("".join(f"en-{i}\t{t}\n" for i, t in enumerate(extra + GERMAN[:4])))
        (tmp_path / f"fr-en.{split}.gold").write_text("".join(f"fr-{i}\ten-{len(extra) + i}\n" for i in range(4)))
    rows = ok_rows(cli("retrieve", tiny_xlmr, "--task", "bucc", "--data-dir", tmp_path, "--langs", "fr"))
    assert [(r["split"], r["metric"], r["value"]) for r in rows] == [("test", "f1", 1.0), ("test", "precision", 1.0),
                                                                      ("test", "recall", 1.0)]
    (tmp_path / "fr-en.test.fr").write_text("fr-0\tonly one line\nfr-0\tagain\n")
    result = cli("retrieve", tiny_xlmr, "--task", "bucc", "--data-dir", tmp_path, "--langs", "fr")
    assert result.exit_code == 1 and "fr-en.test.fr:2: id 'fr-0' occurs twice" in result.stderr
