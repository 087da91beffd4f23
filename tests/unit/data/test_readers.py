"""Every original format on small files written here: canonical examples out, CRLF / BOM / header /
trailing blank lines accepted, and each kind of bad input a one-line DataError naming file:line."""

from __future__ import annotations

import contextlib
import json
import re
import tarfile

import pytest

from stilt_cli.core import tasks
from stilt_cli.core.data.readers import read_file, read_split
from stilt_cli.core.errors import DataError, UsageError
from tests.helpers import write


def spec(name: str):
    return tasks.get(name)


@contextlib.contextmanager
def fails(pattern: str, kind: type = DataError):
    """The one line the user sees (message and hint) matches `pattern`."""
    with pytest.raises(kind) as info:
        yield
    assert re.search(pattern, info.value.one_line()), info.value.one_line()


# ---- sentence pairs --------------------------------------------------------------------------------

@pytest.mark.parametrize("crlf,bom", [(False, False), (True, False), (False, True), (True, True)])
def test_xtreme_pair_tsv_with_crlf_bom_and_trailing_blank_lines(tmp_path, crlf, bom):
    path = write(tmp_path / "dev-de.tsv", "Ein Satz .\tNoch einer .\tneutral\n b \t c\tcontradiction\n\n\n",
                 crlf=crlf, bom=bom)
    rows = read_file("pair-tsv", path, spec("xnli"), "dev", "de")
    assert [(r["text_a"], r["text_b"], r["label"]) for r in rows] == [
        ("Ein Satz .", "Noch einer ."), ("b", "c")] and False or [(r["text_a"], r["text_b"], r["label"])
                                                                  for r in rows] == [
        ("Ein Satz .", "Noch einer .", "neutral"), ("b", "c", "contradiction")]
    assert rows[0] == {"task": "xnli", "split": "dev", "id": "dev-de-1", "lang": "de", "text_a": "Ein Satz .",
                       "text_b": "Noch einer .", "label": "neutral"}


def test_two_column_test_file_reads_unlabelled(tmp_path):
    path = write(tmp_path / "test-en.tsv", "a\tb\nc\td\n")
    rows = read_file("pair-tsv", path, spec("xnli"), "test", "en")
    assert [r["label"] for r in rows] == [None, None] and all(r["unlabelled"] for r in rows)


def test_pawsx_original_with_header_and_id_column(tmp_path):
    path = write(tmp_path / "x-final/de/dev_2k.tsv", "id\tsentence1\tsentence2\tlabel\n4\tA .\tB .\t1\n6\tC\tD\t0\n")
    rows = read_file("pair-tsv", path, spec("pawsx"), "dev", "de")
    assert [(r["id"], r["label"]) for r in rows] == [("4", "1"), ("6", "0")]


def test_pair_tsv_errors_name_file_and_line(tmp_path):
    bad = write(tmp_path / "dev-de.tsv", "a\tb\tneutral\nonly one field\n")
    with fails(r"dev-de.tsv:2: 1 tab-separated fields.*sentence1<TAB>sentence2"):
        read_file("pair-tsv", bad, spec("xnli"), "dev", "de")
    mixed = write(tmp_path / "mixed.tsv", "a\tb\tneutral\nc\td\n")
    with fails(r"mixed.tsv:2: 2 fields where earlier lines have 3"):
        read_file("pair-tsv", mixed, spec("xnli"), "dev", "de")
    label = write(tmp_path / "label.tsv", "a\tb\tneutral\nc\td\tmaybe\n")
    with fails(r"label.tsv:2: label 'maybe' is not in the label set of xnli"):
        read_file("pair-tsv", label, spec("xnli"), "dev", "de")


def test_xnli_release_tsv_and_jsonl(tmp_path):
    header = "language\tgold_label\tsentence1_binary_parse\tsentence1\tsentence2\tpromptID\tpairID\n"
    tsv = write(tmp_path / "XNLI-1.0/xnli.dev.tsv",
                header + "de\tcontradictory\t\t Er kam. \tEr ging.\t1\t7\nfr\tneutral\t\tIl\tElle\t1\t7\n", crlf=True)
    rows = read_file("xnli-tsv", tsv, spec("xnli"), "dev", None)
    assert [(r["lang"], r["id"], r["text_a"], r["label"]) for r in rows] == [
        ("de", "dev-de-7", "Er kam.", "contradiction"), ("fr", "dev-fr-7", "Il", "neutral")]
    jsonl = write(tmp_path / "XNLI-1.0/xnli.dev.jsonl", json.dumps(
        {"language": "ar", "gold_label": "entailment", "sentence1": "x", "sentence2": "y", "pairID": "3"}) + "\n")
    assert read_file("xnli-jsonl", jsonl, spec("xnli"), "dev", None)[0]["id"] == "dev-ar-3"
    wrong = write(tmp_path / "wrong.tsv", "a\tb\tc\n")
    with fails(r"wrong.tsv:1: not an XNLI-1.0 TSV \(header lacks language"):
        read_file("xnli-tsv", wrong, spec("xnli"), "dev", None)


def test_read_split_picks_one_language_from_the_combined_release(tmp_path):
    header = "language\tgold_label\tsentence1\tsentence2\tpairID\n"
    write(tmp_path / "XNLI-1.0/xnli.test.tsv", header + "de\tneutral\ta\tb\t1\nfr\tneutral\tc\td\t1\n")
    rows = read_split(spec("xnli"), "test", ["fr"], tmp_path)
    assert [(r["lang"], r["text_a"]) for r in rows] == [("fr", "c")]


@pytest.mark.parametrize("header", ["sentence1\tsentence2\tgold_label",
                                    "index\tsentence1\tsentence2\tlabel1\tgold_label"])
def test_glue_mnli(tmp_path, header):
    cols = header.split("\t")
    values = {"index": "0", "sentence1": "P .", "sentence2": "H .", "label1": "neutral", "gold_label": "entailment"}
    path = write(tmp_path / "MNLI/dev_matched.tsv", header + "\n" + "\t".join(values[c] for c in cols) + "\n",
                 crlf=True)
    row = read_file("glue-tsv", path, spec("mnli"), "dev", "en")[0]
    assert (row["text_a"], row["text_b"], row["label"]) == ("P .", "H .", "entailment")


def test_glue_sst2_renamed_header_qqp_and_unlabelled_test(tmp_path):
    sst = write(tmp_path / "dev.tsv", "text\tlabel\nit 's fine . \t1\n")
    assert read_file("glue-tsv", sst, spec("sst2"), "dev", "en")[0]["text_a"] == "it 's fine ."
    qqp = write(tmp_path / "QQP/dev.tsv", "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n9\t1\t2\tq1?\tq2?\t0\n")
    assert read_file("glue-tsv", qqp, spec("qqp"), "dev", "en")[0] == {
        "task": "qqp", "split": "dev", "id": "9", "lang": "en", "text_a": "q1?", "text_b": "q2?", "label": "0"}
    test = write(tmp_path / "SST-2/test.tsv", "index\tsentence\n0\tgood\n")
    row = read_file("glue-tsv", test, spec("sst2"), "test", "en")[0]
    assert row["label"] is None and row["unlabelled"] and row["id"] == "0"
    wrong = write(tmp_path / "wrong.tsv", "foo\tbar\n1\t2\n")
    with fails(r"wrong.tsv:1: not a GLUE TSV for mnli"):
        read_file("glue-tsv", wrong, spec("mnli"), "dev", "en")
    short = write(tmp_path / "short.tsv", "sentence1\tsentence2\tgold_label\na\tb\n")
    with fails(r"short.tsv:2: 2 fields, the header has 3"):
        read_file("glue-tsv", short, spec("mnli"), "dev", "en")


def test_nli_jsonl_variants_and_no_gold_pairs(tmp_path, capsys):
    lines = [{"uid": "u1", "context": "c", "hypothesis": "h", "label": "e"},  # ANLI
             {"pairID": "p", "sentence1": "s1", "sentence2": "s2", "gold_label": "-"},  # SNLI without gold
             {"premise": "p", "hypothesis": "h", "label": "contradiction"},  # jiant
             {"premise": "p", "hypothesis": "h", "label": 1}]  # Hugging Face index
    path = write(tmp_path / "dev.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    rows = read_file("nli-jsonl", path, spec("anli"), "dev", "en")
    assert [(r["id"], r["label"]) for r in rows] == [("u1", "entailment"), ("dev-en-1", "contradiction"),
                                                      ("dev-en-2", "neutral")]
    assert "skipped 1 pairs without a gold label" in capsys.readouterr().err
    bad = write(tmp_path / "bad.jsonl", '{"premise": "p"}\n')
    with fails(r"bad.jsonl:1: missing field 'hypothesis'.*expected premise"):
        read_file("nli-jsonl", bad, spec("anli"), "dev", "en")
    garbage = write(tmp_path / "garbage.jsonl", '{"premise": "p", "hypothesis": "h", "label": "e"}\nnot json\n')
    with fails(r"garbage.jsonl:2: invalid JSON"):
        read_file("nli-jsonl", garbage, spec("anli"), "dev", "en")


def test_cls_jsonl_and_anli_csv(tmp_path):
    sst = write(tmp_path / "val.jsonl", '{"text": "good ", "label": "1"}\n')
    assert read_file("cls-jsonl", sst, spec("sst2"), "dev", "en")[0]["text_a"] == "good"
    csv = write(tmp_path / "ANLI_analysis_r1_dev.csv",
                'context,statement,reason,gold_label,uid\n"A ""quoted""\nmultiline context",S,r,n,u-1\nC2,S2,r,c,u-2\n',
                crlf=True)
    rows = read_file("anli-csv", csv, spec("anli"), "dev", "en")
    assert [(r["id"], r["text_a"], r["label"]) for r in rows] == [
        ("u-1", 'A "quoted"\nmultiline context', "neutral"), ("u-2", "C2", "contradiction")]
    short = write(tmp_path / "short.csv", "context,statement,gold_label,uid\nC,S,n\n")
    with fails(r"short.csv:2: 3 fields, the header has 4"):
        read_file("anli-csv", short, spec("anli"), "dev", "en")


# ---- tagging -------------------------------------------------------------------------------------

def test_token_tsv_sentences_crlf_and_trailing_lines(tmp_path):
    path = write(tmp_path / "test-en.tsv", "What\tPRON\nif\tSCONJ\n\nGoogle\tPROPN\n\n\n", crlf=True, bom=True)
    rows = read_file("token-tsv", path, spec("udpos"), "test", "en")
    assert [(r["tokens"], r["tags"]) for r in rows] == [(["What", "if"], ["PRON", "SCONJ"]), (["Google"], ["PROPN"])]
    assert rows[1]["id"] == "test-en-2"


def test_token_tsv_without_tags_is_unlabelled_and_bad_lines_fail(tmp_path):
    rows = read_file("token-tsv", write(tmp_path / "t.tsv", "a\nb\n\nc\n"), spec("panx"), "test", "de")
    assert [r["tags"] for r in rows] == [None, None] and rows[0]["unlabelled"]
    with fails(r"m.tsv:2: no tag where earlier lines have one"):
        read_file("token-tsv", write(tmp_path / "m.tsv", "a\tO\nb\n"), spec("panx"), "test", "de")
    with fails(r"x.tsv:1: 3 tab-separated fields, not a token<TAB>tag file"):
        read_file("token-tsv", write(tmp_path / "x.tsv", "a\tb\tc\n"), spec("panx"), "test", "de")
    with fails(r"y.tsv:1: tag 'B-MISC' is not in the label set of panx"):
        read_file("token-tsv", write(tmp_path / "y.tsv", "a\tB-MISC\n"), spec("panx"), "test", "de")


def test_ccg_label_set_is_open(tmp_path):
    path = write(tmp_path / "ccg.train.tsv", "The\tNP[nb]/N\ndog\tN\n")
    assert read_file("token-tsv", path, spec("ccg"), "train", "en")[0]["tags"] == ["NP[nb]/N", "N"]


def test_panx_raw_prefix_folder_and_tar_archive(tmp_path, capsys):
    raw = "en:Sioux\tB-ORG\nen:Falls\tI-ORG\nnocolon\tO\n\nen:http://x.org\tO\n"
    path = write(tmp_path / "en.tar.gz" / "dev", raw)
    rows = read_file("panx-raw", path, spec("panx"), "dev", "en")
    assert [r["tokens"] for r in rows] == [["Sioux", "Falls"], ["http://x.org"]]
    assert "dropped 1 lines without a 'lang:' token prefix" in capsys.readouterr().err
    archive_dir = tmp_path / "arch"
    archive_dir.mkdir()
    member = write(tmp_path / "members" / "test", "de:Berlin\tB-LOC\n")
    with tarfile.open(archive_dir / "de.tar.gz", "w:gz") as tar:
        tar.add(member, arcname="test")
    rows = read_split(spec("panx"), "test", ["de"], archive_dir)
    assert rows[0]["tokens"] == ["Berlin"] and rows[0]["tags"] == ["B-LOC"]


# ---- CoNLL-U -------------------------------------------------------------------------------------

FR = """# sent_id = fr-1
# text = Il parle du chat.
1\tIl\til\tPRON\t_\t_\t2\tnsubj\t_\t_
2\tparle\tparler\tVERB\t_\t_\t0\troot\t_\t_
3-4\tdu\t_\t_\t_\t_\t_\t_\t_\t_
3\tde\tde\tADP\t_\t_\t5\tcase\t_\t_
4\tle\tle\tDET\t_\t_\t5\tdet\t_\t_
5\tchat\tchat\tNOUN\t_\t_\t2\tobl\t_\t_
6\t.\t.\tPUNCT\t_\t_\t2\tpunct\t_\t_

"""
ES = """1-3\tdámelo\t_\t_\t_\t_\t_\t_\t_\t_
1\tda\tdar\tVERB\t_\t_\t0\troot\t_\t_
2\tme\tyo\tPRON\t_\t_\t1\tiobj\t_\t_
3\tlo\tél\tPRON\t_\t_\t1\tobj\t_\t_

"""


def test_conllu_fused_form_takes_the_tag_of_the_span_head(tmp_path):
    # du = de (ADP) + le (DET), both one step below 'chat': tied, so French precedence ranks ADP before DET
    rows = read_file("conllu", write(tmp_path / "fr_gsd-ud-test.conllu", FR), spec("udpos"), "test", "fr")
    assert rows[0]["tokens"] == ["Il", "parle", "du", "chat", "."]
    assert rows[0]["tags"] == ["PRON", "VERB", "ADP", "NOUN", "PUNCT"]
    # dámelo: 'da' is the root, the clitics hang below it: the single highest word wins outright
    rows = read_file("conllu", write(tmp_path / "es_gsd-ud-test.conllu", ES), spec("udpos"), "test", "es")
    assert (rows[0]["tokens"], rows[0]["tags"]) == (["dámelo"], ["VERB"])


def test_conllu_enhanced_heads_count_and_default_precedence(tmp_path):
    # with the default list DET outranks ADP; an enhanced DEPS head gives 'de' an extra ancestor
    text = FR.replace("3\tde\tde\tADP\t_\t_\t5\tcase\t_\t_", "3\tde\tde\tADP\t_\t_\t5\tcase\t5:case|1:x\t_")
    rows = read_file("conllu", write(tmp_path / "xx_t-ud-test.conllu", text), spec("udpos"), "test", "fr")
    assert rows[0]["tags"][2] == "DET"  # 'le' is now the single highest word of the span
    default = read_file("conllu", write(tmp_path / "de_x-ud-test.conllu", FR), spec("udpos"), "test", "de")
    assert default[0]["tags"][2] == "ADP"  # tie: the default list ranks ADP before DET


def test_conllu_skips_empty_nodes_textless_sentences_and_cleans_forms(tmp_path):
    text = ("1\tthành phố\t_\tNOUN\t_\t_\t0\troot\t_\t_\n1.1\tgone\t_\tNOUN\t_\t_\t_\t_\t1:x\t_\n"
            "2\ta\u200cb\t_\tNOUN\t_\t_\t1\tx\t_\t_\n\n"
            "1\t_\t_\tNOUN\t_\t_\t0\troot\t_\t_\n2\t_\t_\tVERB\t_\t_\t1\tx\t_\t_\n")
    rows = read_file("conllu", write(tmp_path / "vi_vtb-ud-test.conllu", text, crlf=True), spec("udpos"), "test", "vi")
    assert [r["tokens"] for r in rows] == [["thànhphố", "ab"]]


def test_conllu_treebanks_of_a_language_concatenate_with_unique_ids(tmp_path):
    write(tmp_path / "UD_French-GSD/fr_gsd-ud-test.conllu", FR)
    write(tmp_path / "UD_French-PUD/fr_pud-ud-test.conllu", FR.replace("Il\til", "Elle\telle"))
    rows = read_split(spec("udpos"), "test", ["fr"], tmp_path)
    assert [r["tokens"][0] for r in rows] == ["Il", "Elle"] and [r["id"] for r in rows] == ["test-fr-1", "test-fr-2"]


def test_conllu_bad_lines(tmp_path):
    with fails(r"bad.conllu:1: 3 fields, not a CoNLL-U word line.*10 tab-separated"):
        read_file("conllu", write(tmp_path / "bad.conllu", "1\ta\tb\n"), spec("udpos"), "test", "en")


# ---- QA ------------------------------------------------------------------------------------------

def squad(qas, context="Paris is in France.", title="T"):
    return json.dumps({"version": "1.1", "data": [{"title": title, "paragraphs": [{"context": context, "qas": qas}]}]})


def test_squad_json_answers_blanked_and_impossible(tmp_path):
    path = write(tmp_path / "xquad.de.json", squad([
        {"id": "q1", "question": "Wo?", "answers": [{"answer_start": 12, "text": "France"},
                                                     {"answer_start": 0, "text": "Paris"}]}]), bom=True)
    row = read_file("squad-json", path, spec("xquad"), "test", "de")[0]
    assert row == {"task": "xquad", "split": "test", "id": "q1", "lang": "de", "context": "Paris is in France.",
                   "question": "Wo?", "answers": [{"text": "France", "start": 12}, {"text": "Paris", "start": 0}],
                   "title": "T"}
    blank = write(tmp_path / "blank.json",
                  squad([{"id": "q", "question": "?", "answers": [{"answer_start": 0, "text": ""}]}]))
    row = read_file("squad-json", blank, spec("tydiqa"), "dev", "sw")[0]
    assert row["answers"] == [] and row["unlabelled"]
    v2 = write(tmp_path / "dev-v2.0.json", squad([{"id": "q", "question": "?", "answers": [], "is_impossible": True}]))
    row = read_file("squad-json", v2, spec("squad_v2"), "dev", "en")[0]
    assert row["answers"] == [] and "unlabelled" not in row


def test_squad_json_wrong_shapes(tmp_path):
    with fails(r"x.json: not a SQuAD-format file \(a JSON list\)"):
        read_file("squad-json", write(tmp_path / "x.json", "[]"), spec("xquad"), "test", "de")
    with fails(r"y.json:2: not a SQuAD-format JSON file.*looks like JSON Lines"):
        read_file("squad-json", write(tmp_path / "y.json", '{"a": 1}\n{"b": 2}\n'), spec("xquad"), "test", "de")
    with fails(r"z.json: data\[0\].paragraphs\[0\]: a question without 'id'"):
        read_file("squad-json", write(tmp_path / "z.json", squad([{"question": "?"}])), spec("xquad"), "test", "de")


def test_mlqa_cross_language_pair_and_tydiqa_combined_release(tmp_path):
    write(tmp_path / "MLQA_V1/dev/dev-context-en-question-de.json",
          squad([{"id": "h", "question": "Wo?", "answers": [{"answer_start": 0, "text": "Paris"}]}]))
    rows = read_split(spec("mlqa"), "dev", ["en-de"], tmp_path)
    assert rows[0]["lang"] == "en-de" and rows[0]["question"] == "Wo?"
    with fails("'en-de': task xquad has no cross-language pairs"):
        read_split(spec("xquad"), "test", ["en-de"], tmp_path)
    combined = squad([{"id": "arabic-1-0", "question": "q", "answers": [{"answer_start": 0, "text": "P"}]},
                      {"id": "finnish-2-0", "question": "k", "answers": [{"answer_start": 0, "text": "P"}]}])
    write(tmp_path / "tydiqa-goldp-v1.1-dev.json", combined)
    rows = read_split(spec("tydiqa"), "dev", ["fi"], tmp_path)
    assert [(r["lang"], r["id"]) for r in rows] == [("fi", "finnish-2-0")]
    bad = write(tmp_path / "bad.json", squad([{"id": "klingon-1", "question": "q", "answers": []}]))
    with fails("does not start with a TyDiQA language name"):
        read_file("tydiqa-json", bad, spec("tydiqa"), "dev", None)


def test_repeated_ids_become_unique(tmp_path, capsys):
    path = write(tmp_path / "tydiqa.goldp.sw.train.json", squad([
        {"id": "0", "question": "a", "answers": [{"answer_start": 0, "text": "P"}]},
        {"id": "0", "question": "b", "answers": [{"answer_start": 0, "text": "P"}]}]))
    rows = read_file("squad-json", path, spec("tydiqa"), "train", "sw")
    assert [r["id"] for r in rows] == ["0", "0#2"]
    assert "1 repeated example ids made unique" in capsys.readouterr().err


# ---- multiple choice -----------------------------------------------------------------------------

def test_hellaswag_with_and_without_label(tmp_path):
    line = {"ind": 24, "ctx_a": "A man is on a roof.", "ctx_b": "he", "endings": ["a", "b", "c", "d"], "label": 3}
    path = write(tmp_path / "hellaswag_val.jsonl", json.dumps(line) + "\n" + json.dumps(dict(line, ind=25, label=None)))
    rows = read_file("hellaswag-jsonl", path, spec("hellaswag"), "dev", "en")
    assert (rows[0]["id"], rows[0]["context"], rows[0]["question"], rows[0]["label"]) == (
        "24", "A man is on a roof.", "he", 3)
    assert rows[1]["label"] is None and rows[1]["unlabelled"]
    with fails(r"h.jsonl:1: label 7 is out of range for 4 choices"):
        read_file("hellaswag-jsonl", write(tmp_path / "h.jsonl", json.dumps(dict(line, label=7))), spec("hellaswag"),
                  "dev", "en")


def test_commonsenseqa_original_and_hf_export_agree(tmp_path):
    original = {"answerKey": "B", "id": "x1", "question": {"question_concept": "c", "stem": "Where?", "choices": [
        {"label": "A", "text": "bank"}, {"label": "B", "text": "library"}]}}
    export = {"id": "x1", "question": "Where?", "question_concept": "c",
              "choices": {"label": ["A", "B"], "text": ["bank", "library"]}, "answerKey": "B"}
    a = read_file("csqa-jsonl", write(tmp_path / "a.jsonl", json.dumps(original)), spec("commonsenseqa"), "dev", "en")
    b = read_file("csqa-jsonl", write(tmp_path / "b.jsonl", json.dumps(export)), spec("commonsenseqa"), "dev", "en")
    assert a == b and a[0]["label"] == 1 and a[0]["choices"] == ["bank", "library"]
    test = dict(original)
    del test["answerKey"]
    assert read_file("csqa-jsonl", write(tmp_path / "t.jsonl", json.dumps(test)), spec("commonsenseqa"), "test",
                     "en")[0]["label"] is None
    with fails("answerKey 'Z' is not one of the choice labels A, B"):
        read_file("csqa-jsonl", write(tmp_path / "z.jsonl", json.dumps(dict(original, answerKey="Z"))),
                  spec("commonsenseqa"), "dev", "en")


def test_cosmos_csv_copa_and_siqa(tmp_path):
    csv = write(tmp_path / "valid.csv", 'id,context,question,answer0,answer1,answer2,answer3,label\n'
                                        'i1,"Ctx, with comma",Why?,a,b,c,d,2\n', crlf=True)
    row = read_file("cosmos-csv", csv, spec("cosmosqa"), "dev", "en")[0]
    assert (row["id"], row["context"], row["choices"], row["label"]) == (
        "i1", "Ctx, with comma", ["a", "b", "c", "d"], 2)
    copa = write(tmp_path / "val.et.jsonl", json.dumps({"premise": "P", "choice1": "a", "choice2": "b",
                                                          "question": "cause", "label": 1, "idx": 5}))
    row = read_file("copa-jsonl", copa, spec("xcopa"), "dev", "et")[0]
    assert (row["id"], row["lang"], row["question"], row["choices"], row["label"]) == (
        "5", "et", "cause", ["a", "b"], 1)
    siqa = write(tmp_path / "dev.jsonl", json.dumps({"context": "C", "question": "Q?", "answerA": "x", "answerB": "y",
                                                       "answerC": "z"}) + "\n")
    write(tmp_path / "dev-labels.lst", "3\n")
    assert read_file("siqa-jsonl", siqa, spec("siqa"), "dev", "en")[0]["label"] == 2
    write(tmp_path / "dev-labels.lst", "3\n1\n")
    with fails("dev-labels.lst: 2 labels for 1 questions"):
        read_file("siqa-jsonl", siqa, spec("siqa"), "dev", "en")


# ---- read_split: layouts and bad input -----------------------------------------------------------

def test_layout_xtreme_download_folder_and_task_folder_preference(tmp_path):
    write(tmp_path / "xnli/dev-de.tsv", "a\tb\tneutral\n")
    write(tmp_path / "pawsx/dev-de.tsv", "a\tb\t1\n")
    assert read_split(spec("xnli"), "dev", ["de"], tmp_path)[0]["label"] == "neutral"
    assert read_split(spec("pawsx"), "dev", ["de"], tmp_path)[0]["label"] == "1"
    write(tmp_path / "somewhere/deep/xnli_copy/x/dev-fr.tsv", "a\tb\tneutral\n")
    write(tmp_path / "elsewhere/dev-fr.tsv", "a\tb\tneutral\n")
    with fails("dev-fr.tsv found in several folders"):
        read_split(spec("pawsx"), "dev", ["fr"], tmp_path)


def test_missing_file_names_what_was_looked_for(tmp_path):
    with pytest.raises(DataError, match=r"no xnli dev file for 'de' under .*looked for dev-de.tsv, "
                                        r"XNLI-1.0/xnli.dev.tsv, XNLI-1.0/xnli.dev.jsonl"):
        read_split(spec("xnli"), "dev", ["de"], tmp_path)
    with fails("no such folder"):
        read_split(spec("xnli"), "dev", ["de"], tmp_path / "nope")


def test_unknown_language_split_and_empty_split(tmp_path):
    with fails("language 'ja' is not a language of task xnli"):
        read_split(spec("xnli"), "dev", ["ja"], tmp_path)
    with fails("did you mean 'dev'", UsageError):
        read_split(spec("xnli"), "deev", ["de"], tmp_path)
    write(tmp_path / "dev-de.tsv", "\n\n")
    with fails("no de examples in"):
        read_split(spec("xnli"), "dev", ["de"], tmp_path)


def test_all_languages_reads_what_is_there(tmp_path, capsys):
    write(tmp_path / "test-en.tsv", "a\tO\n")
    write(tmp_path / "test-de.tsv", "b\tO\n")
    rows = read_split(spec("panx"), "test", None, tmp_path)
    assert sorted(r["lang"] for r in rows) == ["de", "en"]
    assert "read 2 of 48 languages" in capsys.readouterr().err


def test_anli_plus_is_the_union_of_its_components(tmp_path):
    nli = json.dumps({"premise": "p", "hypothesis": "h", "label": "neutral"})
    write(tmp_path / "snli/snli_1.0_dev.jsonl", nli)
    write(tmp_path / "MNLI/dev_matched.tsv", "sentence1\tsentence2\tgold_label\na\tb\tentailment\n")
    write(tmp_path / "anli_v1.0/R1/dev.jsonl",
          json.dumps({"uid": "u", "context": "c", "hypothesis": "h", "label": "c"}))
    write(tmp_path / "anli_v1.0/R2/dev.jsonl",
          json.dumps({"uid": "v", "context": "c", "hypothesis": "h", "label": "e"}))
    rows = read_split(spec("anli_plus"), "dev", None, tmp_path)
    assert [(r["task"], r["id"], r["label"]) for r in rows] == [
        ("anli_plus", "snli-dev-en-1", "neutral"), ("anli_plus", "mnli-dev-en-1", "entailment"),
        ("anli_plus", "anli-u", "contradiction"), ("anli_plus", "anli-v", "entailment")]


def test_canonical_jsonl_layout_of_demo_style_tasks(tmp_path):
    from stilt_cli.core.data.readers._io import Context
    from stilt_cli.core.data.readers.text import read_canonical, read_text

    path = write(tmp_path / "x.jsonl", json.dumps({"id": "1", "text_a": "a", "label": "0"}))
    assert list(read_canonical(path, Context(spec("sst2"), "dev", "en")))[0][1]["lang"] == "en"
    lines = list(read_text(write(tmp_path / "de.txt", "Satz eins.\n\n Satz zwei. \n"),
                           Context(spec("mlm"), "train", "de")))
    assert [e["text"] for _, e in lines] == ["Satz eins.", "Satz zwei."]


def test_invalid_utf8_names_the_line(tmp_path):
    path = tmp_path / "dev-de.tsv"
    path.write_bytes(b"a\tb\tneutral\n\xff\tb\tneutral\n")
    with fails(r"dev-de.tsv:2: not valid UTF-8"):
        read_file("pair-tsv", path, spec("xnli"), "dev", "de")


def test_unknown_format_is_a_usage_error(tmp_path):
    with fails("unknown format 'pair-tvs'", UsageError):
        read_file("pair-tvs", tmp_path / "x", spec("xnli"), "dev", "de")


def test_xnli_trains_on_english_mnli_files(tmp_path):
    write(tmp_path / "MNLI/train.tsv", "sentence1\tsentence2\tgold_label\nP\tH\tneutral\n")
    rows = read_split(spec("xnli"), "train", None, tmp_path)
    assert [(r["task"], r["lang"], r["label"]) for r in rows] == [("xnli", "en", "neutral")]
    with fails(r"no xnli train file for .de.*looked for train-de.tsv \(hint"):
        read_split(spec("xnli"), "train", ["de"], tmp_path)


def test_stages_that_need_gold_are_stopped_with_the_fix(tmp_path):
    from stilt_cli.core.data.sources import has_gold, require_labels

    write(tmp_path / "test-en.tsv", "a\tb\n")
    write(tmp_path / "dev-en.tsv", "a\tb\tneutral\n")
    unlabelled = read_split(spec("xnli"), "test", ["en"], tmp_path)
    labelled = read_split(spec("xnli"), "dev", ["en"], tmp_path)
    require_labels(labelled, spec("xnli"), "dev", "evaluation")  # passes silently
    assert has_gold(labelled[0], spec("xnli")) and not has_gold(unlabelled[0], spec("xnli"))
    with fails(r"xnli test \(en\): 1 of 1 examples have no gold labels, which evaluation needs.*XNLI-1.0"):
        require_labels(unlabelled, spec("xnli"), "test", "evaluation")


def test_files_in_another_tasks_folder_are_not_taken(tmp_path):
    write(tmp_path / "xnli/dev-de.tsv", "a\tb\tneutral\n")
    with fails(r"no udpos dev file for 'de'"):  # XNLI's dev-de.tsv is not a UD-POS file
        read_split(spec("udpos"), "dev", ["de"], tmp_path)
    write(tmp_path / "english/mnli/MNLI/train.tsv", "sentence1\tsentence2\tgold_label\nP\tH\tneutral\n")
    assert read_split(spec("xnli"), "train", ["en"], tmp_path)[0]["text_a"] == "P"  # its training task's folder is fine
