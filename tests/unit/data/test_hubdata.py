"""The Hub source without a network: row mapping on hand-made rows shaped like the Hub's parquet
files (same examples out as the local readers), the instant offline error, and a read through a
fake local Hugging Face cache laid out as `stilt data fetch` leaves it."""

from __future__ import annotations

import json

import pytest

from stilt_cli.core import tasks
from stilt_cli.core.data import hubdata
from stilt_cli.core.data.readers import read_file
from stilt_cli.core.errors import DataError
from stilt_cli.core.tasks.xtreme import XTREME_REVISION


def spec(name):
    return tasks.get(name)


class Names:
    """Stands for a ClassLabel feature: what `datasets.Features.from_arrow_schema` gives back."""

    def __init__(self, names):
        self.names = names


def test_xnli_rows_filter_language_and_map_contradictory():
    rows = [{"language": "de", "sentence1": " a ", "sentence2": "b", "gold_label": "contradictory"},
            {"language": "fr", "sentence1": "c", "sentence2": "d", "gold_label": "neutral"}]
    out = hubdata.to_examples(spec("xnli"), "test", "de", rows)
    assert out == [{"task": "xnli", "split": "test", "id": "test-de-1", "lang": "de", "text_a": "a", "text_b": "b",
                    "label": "contradiction"}]


def test_pawsx_rows_equal_the_xtreme_tsv(tmp_path):
    tsv = tmp_path / "dev-de.tsv"
    tsv.write_text("Satz A .\tSatz B .\t1\nC\tD\t0\n", encoding="utf-8")
    local = read_file("pair-tsv", tsv, spec("pawsx"), "dev", "de")
    hub = hubdata.to_examples(spec("pawsx"), "dev", "de",
                              [{"sentence1": "Satz A .", "sentence2": "Satz B .", "label": "1"},
                               {"sentence1": "C", "sentence2": "D", "label": "0"}])
    assert hub == local


@pytest.mark.parametrize("task,column,lang", [("udpos", "pos_tags", "de"), ("panx", "ner_tags", "de")])
def test_tag_ids_become_names_and_equal_the_tsv(tmp_path, task, column, lang):
    labels = list(spec(task).labels)
    tsv = tmp_path / "test.tsv"
    tsv.write_text(f"Berlin\t{labels[1]}\nist\t{labels[0]}\n", encoding="utf-8")
    local = read_file("token-tsv", tsv, spec(task), "test", lang)
    features = {column: Names(labels)}
    hub = hubdata.to_examples(spec(task), "test", lang, [{"tokens": ["Berlin", "ist"], column: [1, 0]}], features)
    assert hub == local
    # without ClassLabel metadata the spec's label order (the Hub's) is used
    assert hubdata.to_examples(spec(task), "test", lang, [{"tokens": ["Berlin", "ist"], column: [1, 0]}]) == local


def test_squad_rows_equal_the_squad_json(tmp_path):
    doc = {"version": "1.0", "data": [{"title": "T", "paragraphs": [{"context": "Paris is in France.", "qas": [
        {"id": "q1", "question": "Wo?", "answers": [{"answer_start": 12, "text": "France"}]}]}]}]}
    path = tmp_path / "dev-context-en-question-de.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    local = read_file("squad-json", path, spec("mlqa"), "dev", "en-de")
    hub = hubdata.to_examples(spec("mlqa"), "dev", "en-de", [
        {"id": "q1", "title": "T", "context": "Paris is in France.", "question": "Wo?",
         "answers": {"answer_start": [12], "text": ["France"]}}])
    assert hub == local


def test_squad_v2_unanswerable_vs_missing_gold():
    row = {"id": "q", "title": "", "context": "c", "question": "?", "answers": {"answer_start": [], "text": []}}
    v2 = hubdata.to_examples(spec("squad_v2"), "dev", "en", [row])[0]
    assert v2["answers"] == [] and "unlabelled" not in v2
    xquad = hubdata.to_examples(spec("xquad"), "test", "de", [row])[0]
    assert xquad["answers"] == [] and xquad["unlabelled"]


def test_tydiqa_rows_pick_the_language_from_the_id():
    rows = [{"id": "arabic-1-0", "title": "t", "context": "abc", "question": "q",
             "answers": {"answer_start": [0], "text": ["a"]}},
            {"id": "finnish-2-0", "title": "t", "context": "abc", "question": "k",
             "answers": {"answer_start": [1], "text": ["b"]}}]
    out = hubdata.to_examples(spec("tydiqa"), "dev", "fi", rows)
    assert [(r["id"], r["lang"], r["answers"]) for r in out] == [("finnish-2-0", "fi", [{"text": "b", "start": 1}])]


def test_nli_and_glue_rows():
    names = {"label": Names(["entailment", "neutral", "contradiction"])}
    rows = [{"premise": "p", "hypothesis": "h", "label": 2, "idx": 7}, {"premise": "p", "hypothesis": "h", "label": -1,
                                                                          "idx": 8}]
    dev = hubdata.to_examples(spec("snli"), "dev", "en", rows, names)
    assert [(r["id"], r["label"]) for r in dev] == [("7", "contradiction")]  # no-gold pair skipped
    test = hubdata.to_examples(spec("mnli"), "test", "en", rows, names)
    assert [r["label"] for r in test] == ["contradiction", None] and test[1]["unlabelled"]
    anli = hubdata.to_examples(spec("anli"), "dev", "en", [{"uid": "u", "premise": "p", "hypothesis": "h", "label": 0}],
                               names)
    assert anli[0]["id"] == "u" and anli[0]["label"] == "entailment"
    qqp = hubdata.to_examples(spec("qqp"), "dev", "en", [{"question1": "a?", "question2": "b?", "label": 1, "idx": 3}])
    assert (qqp[0]["text_a"], qqp[0]["text_b"], qqp[0]["label"]) == ("a?", "b?", "1")
    sst = hubdata.to_examples(spec("sst2"), "test", "en", [{"sentence": "good", "label": -1, "idx": 0}])
    assert sst[0]["label"] is None and sst[0]["unlabelled"] and "text_b" not in sst[0]


def test_multiple_choice_rows_equal_the_local_readers(tmp_path):
    csqa = {"id": "x", "question": "Where?", "question_concept": "c",
            "choices": {"label": ["A", "B"], "text": ["bank", "library"]}, "answerKey": "B"}
    path = tmp_path / "dev.jsonl"
    path.write_text(json.dumps(csqa), encoding="utf-8")
    assert hubdata.to_examples(spec("commonsenseqa"), "dev", "en", [csqa]) == read_file(
        "csqa-jsonl", path, spec("commonsenseqa"), "dev", "en")
    hs = {"ind": 4, "ctx_a": "A man.", "ctx_b": "he", "endings": ["a", "b", "c", "d"], "label": "2"}
    out = hubdata.to_examples(spec("hellaswag"), "dev", "en", [hs, dict(hs, ind=5, label="")])
    assert [(r["id"], r["label"]) for r in out] == [("4", 2), ("5", None)]
    cosmos = {"id": "c1", "context": "C", "question": "Q", "answer0": "a", "answer1": "b", "answer2": "c",
              "answer3": "d", "label": 3}
    assert hubdata.to_examples(spec("cosmosqa"), "dev", "en", [cosmos])[0]["label"] == 3
    siqa = {"context": "C", "question": "Q", "answerA": "a", "answerB": "b", "answerC": "c", "label": "1"}
    assert hubdata.to_examples(spec("siqa"), "dev", "en", [siqa])[0]["label"] == 0
    copa = {"premise": "P", "choice1": "a", "choice2": "b", "question": "effect", "idx": 2, "label": 1}
    assert hubdata.to_examples(spec("xcopa"), "test", "et", [copa])[0]["choices"] == ["a", "b"]


def test_tatoeba_rows_become_aligned_sentences_and_links():
    rows = [{"source_sentence": "Hallo ", "target_sentence": "Hello", "source_lang": "deu", "target_lang": "eng"}]
    out = hubdata.to_examples(spec("tatoeba"), "test", "de", rows)
    assert out == [{"task": "tatoeba", "split": "test", "id": "de-0", "lang": "de", "side": "src", "text": "Hallo"},
                   {"task": "tatoeba", "split": "test", "id": "en-0", "lang": "de", "side": "tgt", "text": "Hello"},
                   {"lang": "de", "link": ["de-0", "en-0"]}]
    with pytest.raises(DataError, match="only the gold pairs"):
        hubdata.to_examples(spec("bucc"), "dev", "de", rows)


def test_bad_hub_label_is_a_data_error():
    with pytest.raises(DataError, match="label 'maybe' is not in the label set of xnli"):
        hubdata.to_examples(spec("xnli"), "test", "de", [{"language": "de", "sentence1": "a", "sentence2": "b",
                                                          "gold_label": "maybe"}])


def test_offline_is_a_one_line_error_without_a_connection_attempt(monkeypatch, tmp_path, no_network):
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(DataError) as info:
        hubdata.read_split(spec("udpos"), "test", ["de"])
    assert no_network == []  # offline means not even a name lookup, let alone a retry loop
    line = info.value.one_line()
    assert "google/xtreme (udpos.German)" in line and "offline" in line
    assert "--data-dir" in line and "stilt data fetch udpos --to DIR" in line


def test_fetch_refuses_offline():
    with pytest.raises(DataError, match="needs network"):
        hubdata.fetch([spec("xnli")], [], "/nonexistent")


def test_fetch_plan_covers_every_config_at_the_pinned_revision():
    plan = hubdata.fetch_plan(spec("panx"))
    assert plan[0][:2] == ("google/xtreme", XTREME_REVISION)
    assert "PAN-X.de/test-*.parquet" in plan[0][2] and "PAN-X.sw/validation-*.parquet" in plan[0][2]
    assert [repo for repo, _, _ in hubdata.fetch_plan(spec("anli_plus"))] == ["stanfordnlp/snli", "nyu-mll/glue",
                                                                              "facebook/anli"]


def _fake_xtreme_cache(root, config, split, rows, features):
    """What `snapshot_download` leaves for a pinned commit: datasets--google--xtreme/snapshots/<rev>/..."""
    from stilt_cli.core.libs import datasets

    folder = root / "datasets--google--xtreme" / "snapshots" / XTREME_REVISION / config
    folder.mkdir(parents=True)
    datasets().Dataset.from_list(rows, features=features).to_parquet(str(folder / f"{split}-00000-of-00001.parquet"))


def test_reads_a_fetched_config_offline(monkeypatch, tmp_path, cli):
    import huggingface_hub.constants as constants

    from stilt_cli.core.libs import datasets

    ds = datasets()
    features = ds.Features({"tokens": ds.Sequence(ds.Value("string")),
                            "pos_tags": ds.Sequence(ds.ClassLabel(names=list(spec("udpos").labels)))})
    _fake_xtreme_cache(tmp_path, "udpos.German", "test",
                       [{"tokens": ["Das", "Haus"], "pos_tags": [5, 7]}, {"tokens": ["Ja"], "pos_tags": [6]}], features)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    rows = hubdata.read_split(spec("udpos"), "test", ["de"])
    assert [(r["tokens"], r["tags"]) for r in rows] == [(["Das", "Haus"], ["DET", "NOUN"]), (["Ja"], ["INTJ"])]
    result = cli("data", "export", "udpos", "--split", "test", "--langs", "de")
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["tags"] for line in result.stdout.splitlines()] == [["DET", "NOUN"], ["INTJ"]]
    check = cli("data", "check", "udpos", "--split", "test", "--langs", "de")
    assert check.exit_code == 0 and json.loads(check.stdout)["status"] == "present"
