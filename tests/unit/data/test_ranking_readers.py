"""XQuAD-R, Mewsli-X and SQuAD-pair readers -> ranking examples, on files made in the release layouts."""

from __future__ import annotations

import json

import pytest

from stilt_cli.core import tasks
from stilt_cli.core.data import examples as canonical
from stilt_cli.core.data import sources
from stilt_cli.core.data.readers import convert, mewsli, xquadr
from stilt_cli.core.data.readers.sentences import breaks
from stilt_cli.core.errors import DataError
from tests import ranking_data as rd
from tests import train_data as td
from tests.helpers import write


def _by_id(rows):
    return {r["id"]: r for r in rows}


# ---- XQuAD-R ----------------------------------------------------------------------------------
def test_xquad_r_gold_is_the_answer_sentence_in_every_language(tmp_path):
    rows = _by_id(xquadr.read(rd.xquad_r(tmp_path), ["de"]))
    queries = [r for r in rows.values() if r["side"] == "query"]
    assert sorted(q["id"] for q in queries) == ["q1_de", "q2_de", "q3_de"]  # only the language asked for
    assert rows["q2_de"]["gold"] == ["de_1_2", "en_1_2", "es_1_2"]  # the same question id in all three files
    # every sentence of every paragraph of every language is a candidate, with its paragraph
    candidates = [r for r in rows.values() if r["side"] == "candidate"]
    assert len(candidates) == 3 * 5 and {c["lang"] for c in candidates} == {"en", "de", "es"}
    assert rows["de_2_1"]["text"] == "Paris hat viele alte Brücken."
    assert rows["de_2_1"]["context"].startswith("Der Mond")
    for row in rows.values():
        canonical.validate(dict(row), tasks.get("lareqa"), "test")


def test_xquad_r_through_the_task_spec_and_data_check(tmp_path):
    rd.xquad_r(tmp_path / "download" / "lareqa")  # XTREME's download/lareqa/xquad-r/ layout
    rows = sources.load_examples("lareqa", "test", ["es"], data_dir=tmp_path / "download")
    assert {r["lang"] for r in rows if r["side"] == "query"} == {"es"}
    checked = sources.check([tasks.get("lareqa")], tmp_path / "download", ["de", "ar"], ["test"])
    assert [(r["lang"], r["status"], r["looked_for"]) for r in checked] == [
        ("de", "present", ["xquad-r/de.json"]), ("ar", "missing", ["xquad-r/ar.json"])]


def test_xquad_r_skips_answers_outside_every_sentence_and_infers_missing_breaks(tmp_path, capsys):
    doc = {"data": [{"paragraphs": [{"context": "One two. Three four.", "sentence_breaks": [[0, 8]],
                                     "qas": [{"id": "a", "question": "?",
                                              "answers": [{"answer_start": 10, "text": "T"}]},
                                             {"id": "b", "question": "!",
                                              "answers": [{"answer_start": 1, "text": "n"}]}]}]}]}
    write(tmp_path / "xquad-r" / "en.json", json.dumps(doc))
    rows = _by_id(xquadr.read(tmp_path))
    assert "a_en" not in rows and rows["b_en"]["gold"] == ["en_1_0"]
    assert "1 questions skipped" in capsys.readouterr().err
    rd.xquad_r(tmp_path / "plain", ("en",), breaks=False)  # a SQuAD file without breaks: inferred
    plain = _by_id(xquadr.read(tmp_path / "plain"))
    assert plain["en_1_2"]["text"] == "Berlin is the capital of Germany." and plain["q2_en"]["gold"] == ["en_1_2"]


def test_squad_questions_become_training_pairs():
    qa = td.questions(3)
    qa[1] = dict(qa[1], context=qa[0]["context"], answers=[{"text": "x", "start": 0}])  # two questions, one paragraph
    rows = convert(qa, tasks.get("squad_v1"), tasks.get("lareqa"))
    candidates = [r for r in rows if r["side"] == "candidate"]
    queries = _by_id(r for r in rows if r["side"] == "query")
    assert len(candidates) == 2  # each one-sentence paragraph once
    assert queries["q-0-0_en"]["gold"] == queries["q-0-1_en"]["gold"] == ["en_1_0"]
    assert all(r["task"] == "lareqa" for r in rows)


def test_sentence_breaks_keep_abbreviations_and_initials_together():
    text = "Mr. Smith met J. R. Tolkien in the U.S. Army. It rained! \"Why?\" he asked. Then 5 p.m. came."
    assert [text[a:b] for a, b in breaks(text)] == [
        "Mr. Smith met J. R. Tolkien in the U.S. Army.", "It rained!", "\"Why?\" he asked.", "Then 5 p.m. came."]


# ---- Mewsli-X ---------------------------------------------------------------------------------
def test_mewsli_x_queries_are_built_as_xtremes_baseline(tmp_path):
    rows = _by_id(mewsli.read(rd.mewsli_x(tmp_path), None, "test"))
    # one sentence of context, the mention marked and repeated in front, braces in the text made parentheses
    assert rows["m-de-1"]["text"] == "Berlin: Wir fuhren nach { Berlin } (heute) und Paris."
    assert rows["m-de-2"]["text"] == "Paris: Wir fuhren nach Berlin (heute) und { Paris } ."
    assert rows["m-es-1"] == {"id": "m-es-1", "lang": "es", "side": "query", "gold": ["Q2807"], "split": "test",
                              "text": "Madrid: { Madrid } es la capital de España."}
    assert rows["Q90"]["text"] == "Paris is the capital of France. It lies on the Seine."  # the whole candidate set
    assert sorted(r["id"] for r in rows.values() if r["side"] == "candidate") == sorted(rd.ENTITIES)
    assert mewsli.available(tmp_path, "test") == ["de", "es"] and mewsli.available(tmp_path, "train") == ["en"]
    german = mewsli.read(tmp_path, ["de"], "test")
    assert {r["lang"] for r in german if r["side"] == "query"} == {"de"}


def test_mewsli_x_training_pairs_and_a_mention_across_sentences(tmp_path, capsys):
    train = mewsli.read(rd.mewsli_x(tmp_path), ["en"], "train")
    assert [r["text"] for r in train if r["id"] == "p2"] == ["Danube: We saw { Danube } last year."]
    assert sorted(r["id"] for r in train if r["side"] == "candidate") == sorted(rd.ENTITIES)
    path = tmp_path / "mewslix" / "wikinews_mentions-test.jsonl"
    record = json.loads(path.read_text().splitlines()[0])
    # "Berlin" (characters 37-43) now straddles the two spans
    record["context"]["sentence_spans"] = [{"start": 0, "end": 40},
                                           {"start": 40, "end": len(record["context"]["text"])}]
    path.write_text(json.dumps(record) + "\n")
    rows = _by_id(mewsli.read(tmp_path, None, "test"))
    assert rows["m-de-1"]["text"].startswith("Berlin: Gestern war es kalt. Wir fuhren nach { Berlin }")
    assert "1 mention(s) cross a sentence boundary" in capsys.readouterr().err


def test_mewsli_x_without_the_wikinews_text_says_how_to_get_it(tmp_path):
    path = rd.mewsli_x(tmp_path) / "mewslix" / "wikinews_mentions-test.jsonl"
    record = json.loads(path.read_text().splitlines()[0])
    record["context"]["text"] = ""
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(DataError, match=r"wikinews_mentions-test.jsonl:1: the context has no text") as error:
        mewsli.read(tmp_path, None, "test")
    assert "no_text" in error.value.hint
    (tmp_path / "mewslix" / "candidate_set_entities.jsonl").unlink()
    with pytest.raises(DataError, match="missing candidate_set_entities.jsonl"):
        mewsli.read(tmp_path, None, "test")


def test_ranking_examples_are_validated():
    spec = tasks.get("mewsli-x")
    with pytest.raises(DataError, match="'side' must be 'query' or 'candidate' in a ranking task"):
        canonical.validate({"id": "1", "lang": "de", "side": "src", "text": "x"}, spec, "f:1")
    with pytest.raises(DataError, match="'gold' must be a non-empty list of candidate ids"):
        canonical.validate({"id": "1", "lang": "de", "side": "query", "text": "x", "gold": "Q1"}, spec, "f:2")
