"""Every file of ../shared/data (Tatoeba and BUCC are tested with retrieval) read through the readers:
example counts equal SOURCES.md, and a handful of examples are checked field by field. A file that is
absent from this checkout is skipped on its own; the whole module skips without ../shared/data."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from stilt_cli.core import tasks
from stilt_cli.core.data.readers import read_file, read_split

pytestmark = pytest.mark.realdata

XNLI_DEV = ("en", "de", "fr", "zh", "ar", "hi", "sw")
PAWSX = ("en", "de", "es", "fr", "ja", "ko", "zh")

# (path under shared/data, format, task, split, language, examples, tokens or None)
FILES = [
    *[(f"xquad/xquad.{lang}.json", "squad-json", "xquad", "test", lang, 1190, None)
      for lang in ("en", "de", "es", "zh", "ar", "hi", "th")],
    *[(f"xnli/xtreme_format/dev-{lang}.tsv", "pair-tsv", "xnli", "dev", lang, 2490, None) for lang in XNLI_DEV],
    ("xnli/xtreme_format/test-en.tsv", "pair-tsv", "xnli", "test", "en", 5010, None),
    ("xnli/xglue_format_de/test.txt", "pair-tsv", "xnli", "test", "de", 5010, None),
    ("xnli/raw_format_samples/XNLI-1.0/xnli.dev.tsv", "xnli-tsv", "xnli", "dev", None, 2, None),
    ("xnli/raw_format_samples/XNLI-1.0/xnli.test.tsv", "xnli-tsv", "xnli", "test", None, 2, None),
    ("xnli/raw_format_samples/XNLI-1.0/xnli.dev.jsonl", "xnli-jsonl", "xnli", "dev", None, 2, None),
    ("xnli/raw_format_samples/XNLI-1.0/xnli.test.jsonl", "xnli-jsonl", "xnli", "test", None, 2, None),
    *[(f"pawsx/xtreme_format/dev-{lang}.tsv", "pair-tsv", "pawsx", "dev", lang, 2000, None) for lang in PAWSX],
    ("pawsx/xtreme_format/test-en.tsv", "pair-tsv", "pawsx", "test", "en", 2000, None),
    ("pawsx/original_format_de/dev.tsv", "pair-tsv", "pawsx", "dev", "de", 2000, None),
    ("pawsx/original_format_de/test.tsv", "pair-tsv", "pawsx", "test", "de", 2000, None),
    *[(f"pawsx/raw_format_samples/x-final/{lang}/{name}_2k.tsv", "pair-tsv", "pawsx", split, lang, 4, None)
      for lang in PAWSX for name, split in (("dev", "dev"), ("test", "test"))],
    ("udpos/xtreme_format/test-en.tsv", "token-tsv", "udpos", "test", "en", 5440, 84970),
    ("udpos/xtreme_format/test-hi.tsv", "token-tsv", "udpos", "test", "hi", 2684, 59259),
    ("udpos/xtreme_format/test-zh.tsv", "token-tsv", "udpos", "test", "zh", 3455, 62569),
    ("udpos/xtreme_format/test-ar.tsv", "token-tsv", "udpos", "test", "ar", 1680, 44952),
    ("udpos/xtreme_format/test-ja.tsv", "token-tsv", "udpos", "test", "ja", 2372, 53592),
    ("udpos/xtreme_format/test-th.tsv", "token-tsv", "udpos", "test", "th", 1000, 22322),
    ("udpos/xtreme_format/dev-en.tsv", "token-tsv", "udpos", "dev", "en", 3974, 62632),
    ("udpos/ud_v2.5_conllu/UD_English-EWT/en_ewt-ud-test.conllu", "conllu", "udpos", "test", "en", 2077, 25096),
    ("panx/xtreme_format/test-en.tsv", "token-tsv", "panx", "test", "en", 10000, 80326),
    ("panx/xtreme_format/test-de.tsv", "token-tsv", "panx", "test", "de", 10000, 97646),
    ("panx/xtreme_format/test-zh.tsv", "token-tsv", "panx", "test", "zh", 10000, 207505),
    ("panx/xtreme_format/test-ar.tsv", "token-tsv", "panx", "test", "ar", 10000, 64347),
    ("panx/xtreme_format/test-hi.tsv", "token-tsv", "panx", "test", "hi", 1000, 6005),
    ("panx/xtreme_format/test-sw.tsv", "token-tsv", "panx", "test", "sw", 1000, 5786),
    ("panx/xtreme_format/test-ur.tsv", "token-tsv", "panx", "test", "ur", 1000, 5027),
    ("panx/xtreme_format/dev-en.tsv", "token-tsv", "panx", "dev", "en", 10000, 80536),
    *[(f"panx/raw_format_samples/{lang}.tar.gz/{split}", "panx-raw", "panx", split, lang, 1, tokens)
      for lang, split, tokens in (("ar", "dev", 6), ("ar", "test", 7), ("ar", "train", 4), ("de", "dev", 5),
                                  ("de", "test", 5), ("de", "train", 8), ("en", "dev", 10), ("en", "test", 20),
                                  ("en", "train", 11), ("hi", "dev", 4), ("hi", "test", 3), ("hi", "train", 23),
                                  ("sw", "dev", 6), ("sw", "test", 6), ("sw", "train", 9), ("ur", "dev", 6),
                                  ("ur", "test", 6), ("ur", "train", 4), ("zh", "dev", 3), ("zh", "test", 15),
                                  ("zh", "train", 25))],
    *[(f"mlqa/MLQA_V1/dev/dev-context-{c}-question-{q}.json", "squad-json", "mlqa", "dev",
       c if c == q else f"{c}-{q}", n, None)
      for c, q, n in (("en", "en", 1148), ("de", "de", 512), ("es", "es", 500), ("zh", "zh", 504), ("ar", "ar", 517),
                      ("en", "de", 512))],
    ("tydiqa/xtreme_format/tydiqa-goldp-v1.1-train/tydiqa.goldp.sw.train.json", "squad-json", "tydiqa", "train", "sw",
     2755, None),
    ("tydiqa/xtreme_format/tydiqa-goldp-v1.1-dev/tydiqa.goldp.en.dev.json", "squad-json", "tydiqa", "dev", "en", 440,
     None),
    ("tydiqa/xtreme_format/tydiqa-goldp-v1.1-dev/tydiqa.goldp.sw.dev.json", "squad-json", "tydiqa", "dev", "sw", 499,
     None),
    ("tydiqa/raw_format_samples/tydiqa-goldp-v1.1-dev.json", "tydiqa-json", "tydiqa", "dev", None, 1, None),
    ("tydiqa/raw_format_samples/tydiqa-goldp-v1.1-train.json", "tydiqa-json", "tydiqa", "train", None, 2, None),
    ("english/cosmosqa/valid.csv", "cosmos-csv", "cosmosqa", "dev", "en", 2985, None),
    ("english/anli/anlizinganli_r1_dev/ANLI_analysis_r1_dev.csv", "anli-csv", "anli", "dev", "en", 1000, None),
    *[(f"english/anli/original_format_samples/anli_v0.1/R{r}/{split}.jsonl", "nli-jsonl", "anli", split, "en", 3, None)
      for r in (1, 2, 3) for split in ("dev", "test")],
    ("english/commonsenseqa/hf_export_format/dev_rand_split.jsonl", "csqa-jsonl", "commonsenseqa", "dev", "en", 1221,
     None),
    ("english/commonsenseqa/original_format_samples/dev_rand_split.jsonl", "csqa-jsonl", "commonsenseqa", "dev", "en",
     2, None),
    ("english/commonsenseqa/original_format_samples/train_rand_split.jsonl", "csqa-jsonl", "commonsenseqa", "train",
     "en", 5, None),
    ("english/commonsenseqa/original_format_samples/test_rand_split_no_answers.jsonl", "csqa-jsonl", "commonsenseqa",
     "test", "en", 2, None),
    *[(f"english/hellaswag/hellaswag_{name}.jsonl", "hellaswag-jsonl", "hellaswag", split, "en", 2, None)
      for name, split in (("val", "dev"), ("test", "test"), ("train", "train"))],
    ("english/jiant_format_fixtures/data/mnli/mnli_val.jsonl", "nli-jsonl", "mnli", "dev", "en", 5, None),
    ("english/jiant_format_fixtures/data/sst/val.jsonl", "cls-jsonl", "sst2", "dev", "en", 5, None),
    ("english/mnli/glue_format_samples/MNLI/dev_matched.tsv", "glue-tsv", "mnli", "dev", "en", 2, None),
    ("english/mnli/glue_format_samples/MNLI/dev_mismatched.tsv", "glue-tsv", "mnli", "dev_mismatched", "en", 2, None),
    ("english/qqp/glue_format_slice/QQP/dev.tsv", "glue-tsv", "qqp", "dev", "en", 9, None),
    ("english/sst2/glue_dev_header_renamed/dev.tsv", "glue-tsv", "sst2", "dev", "en", 872, None),
    ("english/sst2/glue_format_samples/SST-2/dev.tsv", "glue-tsv", "sst2", "dev", "en", 2, None),
]


def _read(shared_data: Path, rel: str, fmt: str, task: str, split: str, lang: str | None):
    path = shared_data / rel
    if not path.exists():
        pytest.skip(f"{rel} is not in this copy of shared/data")
    return read_file(fmt, path, tasks.get(task), split, lang)


@pytest.mark.parametrize("rel,fmt,task,split,lang,count,tokens", FILES, ids=[f[0] for f in FILES])
def test_counts_match_sources(shared_data, rel, fmt, task, split, lang, count, tokens):
    rows = _read(shared_data, rel, fmt, task, split, lang)
    assert len(rows) == count
    if tokens is not None:
        assert sum(len(r["tokens"]) for r in rows) == tokens
    assert len({(r["lang"], r["id"]) for r in rows}) == len(rows)  # ids unique


def _labels(rows):
    return collections.Counter(r["label"] for r in rows)


def test_label_balances(shared_data):
    cases = [("xnli/xtreme_format/dev-de.tsv", "pair-tsv", "xnli", "dev", "de",
              {"entailment": 830, "neutral": 830, "contradiction": 830}),
             ("xnli/xglue_format_de/test.txt", "pair-tsv", "xnli", "test", "de",
              {"entailment": 1670, "neutral": 1670, "contradiction": 1670}),
             ("pawsx/xtreme_format/dev-en.tsv", "pair-tsv", "pawsx", "dev", "en", {"1": 863, "0": 1137}),
             ("pawsx/original_format_de/test.tsv", "pair-tsv", "pawsx", "test", "de", {"1": 895, "0": 1105}),
             ("english/anli/anlizinganli_r1_dev/ANLI_analysis_r1_dev.csv", "anli-csv", "anli", "dev", "en",
              {"entailment": 334, "neutral": 333, "contradiction": 333})]
    checked = 0
    for rel, fmt, task, split, lang, expected in cases:
        if (shared_data / rel).exists():
            assert _labels(read_file(fmt, shared_data / rel, tasks.get(task), split, lang)) == expected, rel
            checked += 1
    if not checked:
        pytest.skip("none of the labelled files is in this copy")


def test_stripped_test_sets_read_without_labels(shared_data):
    rows = _read(shared_data, "xnli/xtreme_format/test-en.tsv", "pair-tsv", "xnli", "test", "en")
    assert all(r["label"] is None and r["unlabelled"] for r in rows)
    rows = _read(shared_data, "tydiqa/xtreme_format/tydiqa-goldp-v1.1-dev/tydiqa.goldp.en.dev.json", "squad-json",
                 "tydiqa", "dev", "en")
    assert all(r["answers"] == [] and r["unlabelled"] for r in rows)


def test_xnli_examples_field_by_field(shared_data):
    rows = _read(shared_data, "xnli/xtreme_format/dev-de.tsv", "pair-tsv", "xnli", "dev", "de")
    assert rows[0] == {"task": "xnli", "split": "dev", "id": "dev-de-1", "lang": "de",
                       "text_a": "und er hat gesagt, Mama ich bin daheim.",
                       "text_b": "Er rief seine Mutter an, sobald er aus dem Schulbus stieg.", "label": "neutral"}
    raw = _read(shared_data, "xnli/raw_format_samples/XNLI-1.0/xnli.dev.jsonl", "xnli-jsonl", "xnli", "dev", None)
    tsv = _read(shared_data, "xnli/raw_format_samples/XNLI-1.0/xnli.dev.tsv", "xnli-tsv", "xnli", "dev", None)
    assert raw == tsv and raw[0]["lang"] == "ar" and raw[0]["label"] == "neutral"


def test_pawsx_examples(shared_data):
    rows = _read(shared_data, "pawsx/xtreme_format/dev-en.tsv", "pair-tsv", "pawsx", "dev", "en")
    assert (rows[1079]["text_a"], rows[1079]["label"]) == (
        "The Tabaci River is a tributary of the River Leurda in Romania .", "0")  # line 1080 of the file
    assert rows[1]["text_b"] == "Kathy and her husband Peter Dean ( Pete Beale ) are financially stable ."
    test = _read(shared_data, "pawsx/xtreme_format/test-en.tsv", "pair-tsv", "pawsx", "test", "en")
    assert test[1]["text_b"] == "The Leurda River is a tributary of the River Tabaci in Romania ."
    assert test[1]["label"] is None
    raw = _read(shared_data, "pawsx/raw_format_samples/x-final/de/dev_2k.tsv", "pair-tsv", "pawsx", "dev", "de")
    assert raw[0]["id"] == "4" and raw[0]["label"] == "1"
    assert raw[0]["text_a"].startswith("Durch die Zusammenlegung des Four Rivers Council")


def test_tagging_examples(shared_data):
    rows = _read(shared_data, "udpos/xtreme_format/test-en.tsv", "token-tsv", "udpos", "test", "en")
    assert rows[0]["tokens"][:3] == ["What", "if", "Google"] and rows[0]["tags"][:3] == ["PRON", "SCONJ", "PROPN"]
    panx = _read(shared_data, "panx/xtreme_format/test-en.tsv", "token-tsv", "panx", "test", "en")
    assert panx[0]["tokens"][0] == "Shortly" and panx[0]["tags"][0] == "O"
    assert any("India" in r["tokens"] and r["tags"][r["tokens"].index("India")] == "B-LOC" for r in panx[:200])
    raw = _read(shared_data, "panx/raw_format_samples/en.tar.gz/dev", "panx-raw", "panx", "dev", "en")
    assert raw[0]["tokens"][:3] == ["Sioux", "Falls", "Arena"] and raw[0]["tags"][:3] == ["B-ORG", "I-ORG", "I-ORG"]


def test_conllu_reproduces_xtreme_udpos(shared_data):
    """The EWT test treebank through our CoNLL-U reader equals the first 2077 sentences of XTREME's
    test-en.tsv (EWT comes first in file-name order; the ESL treebank has no text and is dropped)."""
    conllu = _read(shared_data, "udpos/ud_v2.5_conllu/UD_English-EWT/en_ewt-ud-test.conllu", "conllu", "udpos",
                   "test", "en")
    xtreme = _read(shared_data, "udpos/xtreme_format/test-en.tsv", "token-tsv", "udpos", "test", "en")
    assert [(r["tokens"], r["tags"]) for r in conllu] == [(r["tokens"], r["tags"]) for r in xtreme[:len(conllu)]]


def test_conllu_french_multiword_tokens(shared_data):
    rel = "udpos/ud_v2.5_conllu/UD_French-GSD/fr_gsd-ud-test.conllu"
    rows = _read(shared_data, rel, "conllu", "udpos", "test", "fr")
    spans = [line.split("\t", 1)[0] for line in (shared_data / rel).read_text(encoding="utf-8").splitlines()
             if line[:1].isdigit() and "-" in line.split("\t", 1)[0]]
    covered = sum(int(s.split("-")[1]) - int(s.split("-")[0]) for s in spans)
    assert len(rows) == 416 and len(spans) == 279
    assert sum(len(r["tokens"]) for r in rows) == 10019 - covered  # each fused form replaces its words
    fused = [(t, g) for r in rows for t, g in zip(r["tokens"], r["tags"]) if t in ("du", "des", "au", "aux")]
    assert fused and all(tag == "ADP" for _, tag in fused)  # ADP outranks DET in the French precedence list


def test_qa_examples(shared_data):
    zh = _read(shared_data, "xquad/xquad.zh.json", "squad-json", "xquad", "test", "zh")
    hit = next(r for r in zh if r["id"] == "56beb4343aeaaa14008c925b")
    assert hit["question"] == "黑豹队的防守丢了多少分？" and hit["answers"] == [{"text": "308", "start": 10}]
    assert hit["title"] == "Super_Bowl_50" and hit["context"][10:13] == "308"
    de = _read(shared_data, "mlqa/MLQA_V1/dev/dev-context-de-question-de.json", "squad-json", "mlqa", "dev", "de")
    hit = next(r for r in de if r["id"].startswith("b6fc9474"))
    assert hit["answers"] == [{"text": "überwiegend antibritisch und prorussisch", "start": 1591}]
    raw = _read(shared_data, "tydiqa/raw_format_samples/tydiqa-goldp-v1.1-dev.json",
                "tydiqa-json", "tydiqa", "dev", None)
    assert raw[0]["id"] == "arabic-2387335860751143628-1" and raw[0]["lang"] == "ar"
    assert raw[0]["answers"] == [{"text": "بطولتين", "start": 394}]
    train = _read(shared_data, "tydiqa/xtreme_format/tydiqa-goldp-v1.1-train/tydiqa.goldp.sw.train.json", "squad-json",
                  "tydiqa", "train", "sw")
    assert train[0]["id"] == "12" and train[0]["answers"] == [{"text": "Brazili, Marekani na Meksiko", "start": 132}]


def test_english_task_examples(shared_data):
    hs = _read(shared_data, "english/hellaswag/hellaswag_val.jsonl", "hellaswag-jsonl", "hellaswag", "dev", "en")
    assert (hs[0]["id"], hs[0]["context"], hs[0]["question"], hs[0]["label"]) == ("24", "A man is sitting on a roof.",
                                                                                 "he", 3)
    assert hs[0]["choices"][3] == "starts pulling up roofing on a roof."
    csqa = _read(shared_data, "english/commonsenseqa/hf_export_format/dev_rand_split.jsonl", "csqa-jsonl",
                 "commonsenseqa", "dev", "en")
    assert csqa[0]["id"] == "1afa02df02c908a558b4036e80242fac" and csqa[0]["label"] == 0
    assert csqa[0]["choices"] == ["bank", "library", "department store", "mall", "new york"]
    sst = _read(shared_data, "english/sst2/glue_dev_header_renamed/dev.tsv", "glue-tsv", "sst2", "dev", "en")
    assert (sst[0]["text_a"], sst[0]["label"]) == ("it 's a charming and often affecting journey .", "1")
    qqp = _read(shared_data, "english/qqp/glue_format_slice/QQP/dev.tsv", "glue-tsv", "qqp", "dev", "en")
    assert qqp[0] == {"task": "qqp", "split": "dev", "id": "201359", "lang": "en",
                      "text_a": "Why are African-Americans so beautiful?", "text_b": "Why are hispanics so beautiful?",
                      "label": "0"}
    mnli = _read(shared_data, "english/mnli/glue_format_samples/MNLI/dev_matched.tsv", "glue-tsv", "mnli", "dev", "en")
    jiant = _read(shared_data, "english/jiant_format_fixtures/data/mnli/mnli_val.jsonl", "nli-jsonl", "mnli", "dev",
                  "en")
    assert mnli[0]["text_a"] == jiant[0]["text_a"] == "The new rights are nice enough"
    cosmos = _read(shared_data, "english/cosmosqa/valid.csv", "cosmos-csv", "cosmosqa", "dev", "en")
    assert cosmos[0]["context"].startswith("Do i need to go for a legal divorce ?") and len(cosmos[0]["choices"]) == 4
    anli = _read(shared_data, "english/anli/original_format_samples/anli_v0.1/R1/dev.jsonl", "nli-jsonl", "anli",
                 "dev", "en")
    assert anli[0]["id"] == "bf628cf5-6948-4595-a6d0-daf99beb47b9" and anli[0]["label"] == "contradiction"


def test_read_split_finds_files_in_the_shared_layout(shared_data):
    """--data-dir may point at the whole collection: files are found under their task's folder."""
    if not (shared_data / "xquad/xquad.de.json").exists():
        pytest.skip("xquad.de.json is not in this copy")
    rows = read_split(tasks.get("xquad"), "test", ["de"], shared_data)
    assert len(rows) == 1190
    if (shared_data / "english/anli/original_format_samples").exists():
        assert len(read_split(tasks.get("anli"), "dev", None, shared_data)) == 9  # R1-R3 concatenated
