"""XTREME and XTREME-R target tasks, as data.

Sources checked for these values:
- languages: Hu et al. 2020 (XTREME) and Ruder et al. 2021 (XTREME-R); the `LANGS` lists of
  google-research/xtreme `scripts/train_*.sh` (which already include the XTREME-R additions) and
  `utils_preprocess.py`;
- the `xtreme` preset: `scripts/train_{xnli,pawsx,udpos,panx,qa,xcopa}.sh` with the argparse defaults
  of `third_party/run_classify.py` / `run_tag.py` / `run_squad.py` (AdamW eps 1e-8, clip 1.0, weight
  decay 0 except QA 1e-4, no warmup except QA 500 steps). `batch_size` is the effective batch:
  8 x 4 accumulation (2 x 16 for XLM-R large) = 32; QA 4 x 8 = 32. For XLM-R large the XNLI and
  XCOPA scripts use lr 3e-5 instead of 2e-5 (`lr_large`: `*_large` values apply to 24-layer encoders);
  LAReQA and Mewsli-X: `scripts/train_lareqa.sh` and `scripts/train_mewslix.sh` (see `_XTREME_LAREQA`);
- the `xstilts` preset: Phang et al. 2020 as summarised in the training-stages issue (jiant recipe;
  its configs could not be consulted offline);
- hub: `google/xtreme` parquet files at the last commit that adds data files (all configs present),
  read file by file, so the repo's legacy loading script never runs.

File patterns: `format:pattern` per split, first present wins (see `core/readers`). Placeholders:
{lang} (ISO 639-1), {laser}, {name} (English name), {langname} (lower-case name), {qlang} (MLQA
question language), {split}; globs allowed (all matches are read, in file-name order).
"""

from __future__ import annotations

from stilt_cli.core.tasks.spec import TaskSpec

XNLI_LANGS = ("en", "ar", "bg", "de", "el", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh")
PAWSX_LANGS = ("en", "de", "es", "fr", "ja", "ko", "zh")
UDPOS_LANGS = ("af", "ar", "bg", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fr", "he", "hi", "hu", "id", "it",
               "ja", "kk", "ko", "mr", "nl", "pt", "ru", "ta", "te", "th", "tl", "tr", "ur", "vi", "yo", "zh")
PANX_LANGS = ("af", "ar", "bg", "bn", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fr", "he", "hi", "hu", "id",
              "it", "ja", "jv", "ka", "kk", "ko", "ml", "mr", "ms", "my", "nl", "pt", "ru", "sw", "ta", "te", "th",
              "tl", "tr", "ur", "vi", "yo", "zh")
XQUAD_LANGS = ("en", "ar", "de", "el", "es", "hi", "ru", "th", "tr", "vi", "zh")
MLQA_LANGS = ("en", "ar", "de", "es", "hi", "vi", "zh")
TYDIQA_LANGS = ("en", "ar", "bn", "fi", "id", "ko", "ru", "sw", "te")
BUCC_LANGS = ("de", "fr", "ru", "zh")
TATOEBA_LANGS = ("af", "ar", "bg", "bn", "de", "el", "es", "et", "eu", "fa", "fi", "fr", "he", "hi", "hu", "id", "it",
                 "ja", "jv", "ka", "kk", "ko", "ml", "mr", "nl", "pt", "ru", "sw", "ta", "te", "th", "tl", "tr", "ur",
                 "vi", "zh")
MEWSLIX_LANGS = ("ar", "de", "en", "es", "fa", "ja", "pl", "ro", "ta", "tr", "uk")  # utils_mewslix.MENTION_LANGUAGES
LAREQA_LANGS = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")  # XQuAD-R
XCOPA_LANGS = ("et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh")

_XSTILTS = {"lr": 1e-5, "adam_eps": 1e-8, "weight_decay": 0.01, "max_grad_norm": 1.0, "schedule": "linear",
            "warmup_ratio": 0.1, "batch_size": 32}
_XTREME_CLS = {"lr": 2e-5, "adam_eps": 1e-8, "weight_decay": 0.0, "max_grad_norm": 1.0, "schedule": "linear",
               "warmup_steps": 0, "batch_size": 32, "epochs": 5, "max_length": 128}
_XTREME_TAG = dict(_XTREME_CLS, epochs=10)
_XTREME_QA = dict(_XTREME_CLS, lr=3e-5, epochs=3, max_length=384, doc_stride=128, warmup_steps=500,
                  weight_decay=0.0001)

# scripts/train_lareqa.sh: 4 per GPU x 4 accumulation = 16, so the in-batch negatives are the 3 others of a
# micro-batch of 4 (grad_accum 4 keeps that); question length 96, answer (sentence + paragraph) length 256
_XTREME_LAREQA = dict(_XTREME_CLS, lr=2e-5, epochs=3, batch_size=16, grad_accum=4, max_length=256, query_length=96)
# scripts/train_mewslix.sh: mBERT 64 x 4 (lr 2e-5), XLM-R Large 8 x 4 (lr 1e-5); length 64 for both sides.
# `*_large` values apply to 24-layer encoders (config.py)
_XTREME_MEWSLIX = dict(_XTREME_CLS, lr=2e-5, lr_large=1e-5, epochs=2, batch_size=256, batch_size_large=32,
                       grad_accum=4, max_length=64, query_length=64)


def _cls(epochs: int, lr_large: float | None = None) -> dict:
    xtreme = dict(_XTREME_CLS) if lr_large is None else dict(_XTREME_CLS, lr_large=lr_large)
    return {"xstilts": dict(_XSTILTS, epochs=epochs, max_length=256), "xtreme": xtreme}


def _tag() -> dict:
    return {"xstilts": dict(_XSTILTS, epochs=10, max_length=256), "xtreme": dict(_XTREME_TAG)}


def _qa() -> dict:
    return {"xstilts": dict(_XSTILTS, epochs=2, batch_size=16, max_length=384, doc_stride=128),
            "xtreme": dict(_XTREME_QA)}


def xtreme_qa_preset() -> dict:
    """scripts/train_qa.sh: the SQuAD v1.1 (or English TyDiQA) training that XQuAD/MLQA/TyDiQA use."""
    return dict(_XTREME_QA)


XTREME_HUB = "google/xtreme"
# the commit "Add udpos.Yoruba data files" (2024-02-22): the last of the parquet uploads, every config present
XTREME_REVISION = "68bd9e06bf4bbe671073c975ccd61d754e1bd3d6"
_SPLITS = {"train": "train", "dev": "validation", "test": "test"}


def _hub(config: str, rows: str, splits: dict[str, str] | None = None, **extra) -> dict:
    return {"repo": XTREME_HUB, "revision": XTREME_REVISION, "config": config, "splits": splits or dict(_SPLITS),
            "rows": rows, **extra}


TASKS = [
    TaskSpec(
        name="xnli", title="XNLI: cross-lingual natural language inference", type="pair-classification",
        role="target", languages=XNLI_LANGS, metrics=("accuracy",), labels=("entailment", "neutral", "contradiction"),
        splits={"train": "labelled", "dev": "labelled", "test": "labelled"}, benchmarks=("xtreme", "xtreme-r"),
        category="classification", train_task="mnli", head="xnli", hparams=_cls(2, lr_large=3e-5),
        hub=_hub("XNLI", "xnli", {"dev": "validation", "test": "test"}, train_from="mnli"),
        files={"train": ("pair-tsv:train-{lang}.tsv", "glue-tsv:MNLI/train.tsv", "nli-jsonl:multinli_1.0_train.jsonl"),
               "dev": ("pair-tsv:dev-{lang}.tsv", "xnli-tsv:XNLI-1.0/xnli.dev.tsv",
                       "xnli-jsonl:XNLI-1.0/xnli.dev.jsonl"),
               "test": ("pair-tsv:test-{lang}.tsv", "xnli-tsv:XNLI-1.0/xnli.test.tsv",
                        "xnli-jsonl:XNLI-1.0/xnli.test.jsonl")},
        sources=("Conneau et al. 2018, XNLI", "https://github.com/facebookresearch/XNLI"),
        notes="English training data is MNLI (XTREME's train-en.tsv is multinli.train.en.tsv); XTREME maps "
              "'contradictory' to 'contradiction'. The current XTREME download strips test labels (2-column "
              "test-xx.tsv): read those without labels, or the labelled XNLI-1.0 release.",
    ),
    TaskSpec(
        name="pawsx", title="PAWS-X: cross-lingual paraphrase adversaries", type="pair-classification", role="target",
        languages=PAWSX_LANGS, metrics=("accuracy",), labels=("0", "1"),
        splits={"train": "labelled", "dev": "labelled", "test": "labelled"}, benchmarks=("xtreme",),
        category="classification", hparams=_cls(5), hub=_hub("PAWS-X.{lang}", "pawsx"),
        files={"train": ("pair-tsv:train-{lang}.tsv", "pair-tsv:x-final/{lang}/train.tsv"),
               "dev": ("pair-tsv:dev-{lang}.tsv", "pair-tsv:x-final/{lang}/dev_2k.tsv"),
               "test": ("pair-tsv:test-{lang}.tsv", "pair-tsv:x-final/{lang}/test_2k.tsv")},
        sources=("Yang et al. 2019, PAWS-X", "https://github.com/google-research-datasets/paws"),
        notes="English training only (x-final/en/train.tsv). XTREME drops the header and id column; the current "
              "XTREME download strips test labels.",
    ),
    TaskSpec(
        name="udpos", title="UD POS tagging (Universal Dependencies v2.5)", type="tagging", role="target",
        languages=UDPOS_LANGS, languages_r=("lt", "pl", "uk", "wo", "ro"), metrics=("f1",),
        labels=("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT",
                "SCONJ", "SYM", "VERB", "X"),
        splits={"train": "labelled", "dev": "labelled", "test": "labelled"}, benchmarks=("xtreme", "xtreme-r"),
        category="structured", hparams=_tag(), hub=_hub("udpos.{name}", "tokens:pos_tags"),
        files={split: (f"token-tsv:{split}-{{lang}}.tsv", f"conllu:{{lang}}_*-ud-{split}.conllu")
               for split in ("train", "dev", "test")},
        sources=("Nivre et al. 2020, Universal Dependencies v2.5",
                 "google-research/xtreme utils_preprocess.py (udpos) + third_party/ud-conversion-tools"),
        notes="Scored as XTREME does: seqeval 0.0.12 span F1 over UPOS tags. All treebanks of a language are "
              "concatenated (file-name order). Multiword tokens become the fused surface form tagged like the "
              "span's head word (the word nearest the root; ties broken by a per-language UPOS precedence list), "
              "as XTREME's converter does. Hub configs exist for XTREME's 33 languages only.",
    ),
    TaskSpec(
        name="panx", title="PAN-X / WikiANN named entity recognition", type="tagging", role="target",
        languages=PANX_LANGS, languages_r=("qu", "pl", "uk", "az", "lt", "pa", "gu", "ro"), metrics=("f1",),
        labels=("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"),
        splits={"train": "labelled", "dev": "labelled", "test": "labelled"}, benchmarks=("xtreme", "xtreme-r"),
        category="structured", hparams=_tag(), hub=_hub("PAN-X.{lang}", "tokens:ner_tags"),
        files={split: (f"token-tsv:{split}-{{lang}}.tsv", f"panx-raw:{{lang}}.tar.gz/{split}",
                       f"panx-raw:{{lang}}-{split}") for split in ("train", "dev", "test")},
        sources=("Pan et al. 2017; Rahimi et al. 2019 (balanced splits)",),
        notes="Raw files (Rahimi splits) prefix each token with 'lang:'; XTREME strips it. A '{lang}.tar.gz' "
              "archive is read directly.",
    ),
    TaskSpec(
        name="xquad", title="XQuAD: cross-lingual question answering", type="qa", role="target",
        languages=XQUAD_LANGS, languages_r=("ro",), metrics=("f1", "exact_match"), splits={"test": "labelled"},
        benchmarks=("xtreme", "xtreme-r"), category="qa", train_task="squad_v1", head="squad_v1", hparams=_qa(),
        hub=_hub("XQuAD.{lang}", "squad", {"test": "validation"}),
        files={"test": ("squad-json:xquad.{lang}.json",)},
        sources=("Artetxe et al. 2020, XQuAD", "https://github.com/deepmind/xquad"),
        notes="Answered by the head trained on SQuAD v1.1; scored with the SQuAD v1.1 EM/F1. The XTREME download "
              "blanks the answers; deepmind/xquad has them.",
    ),
    TaskSpec(
        name="mlqa", title="MLQA: multilingual question answering", type="qa", role="target", languages=MLQA_LANGS,
        metrics=("f1", "exact_match"), splits={"dev": "labelled", "test": "labelled"},
        benchmarks=("xtreme", "xtreme-r"), category="qa", train_task="squad_v1", head="squad_v1", hparams=_qa(),
        qa_scorer="mlqa", hub=_hub("MLQA.{lang}.{qlang}", "squad", {"dev": "validation", "test": "test"}),
        files={"dev": ("squad-json:dev-context-{lang}-question-{qlang}.json",),
               "test": ("squad-json:test-context-{lang}-question-{qlang}.json",)},
        sources=("Lewis et al. 2020, MLQA", "https://github.com/facebookresearch/MLQA"),
        notes="Same-language pairs by default; a cross-language (G-XLT) pair is asked for as 'context-question', "
              "e.g. --langs en-de (English context, German question). Scored with MLQA's own normalisation.",
    ),
    TaskSpec(
        name="tydiqa", title="TyDiQA-GoldP: typologically diverse QA (gold passage)", type="qa", role="target",
        languages=TYDIQA_LANGS, metrics=("f1", "exact_match"), splits={"train": "labelled", "dev": "labelled"},
        benchmarks=("xtreme", "xtreme-r"), category="qa", train_task="tydiqa", head="tydiqa", hparams=_qa(),
        hub=_hub("tydiqa", "tydiqa", {"train": "train", "dev": "validation"}),
        files={"train": ("squad-json:tydiqa.goldp.{lang}.train.json", "squad-json:tydiqa.{lang}.train.json",
                         "tydiqa-json:tydiqa-goldp-v1.1-train.json"),
               "dev": ("squad-json:tydiqa.goldp.{lang}.dev.json", "squad-json:tydiqa.{lang}.dev.json",
                       "squad-json:tydiqa-goldp-dev-{langname}.json", "tydiqa-json:tydiqa-goldp-v1.1-dev.json")},
        sources=("Clark et al. 2020, TyDi QA", "https://github.com/google-research-datasets/tydiqa"),
        notes="Trained on its own English training data; scored with the SQuAD v1.1 EM/F1. XTREME splits the "
              "combined train file per language (question ids keep only their last part) and blanks the dev "
              "answers of its copy: those read as unlabelled.",
    ),
    TaskSpec(
        name="bucc", title="BUCC 2018: parallel sentence mining", type="retrieval", role="target",
        languages=BUCC_LANGS, metrics=("f1", "precision", "recall"), splits={"dev": "labelled", "test": "labelled"},
        benchmarks=("xtreme",), category="retrieval", retrieval="mine", folder="bucc2018",
        hub=_hub("bucc18.{lang}", "gold-only", {"dev": "validation", "test": "test"}),
        files={split: (f"bucc:{{lang}}-en.{split}.{{lang}}", f"bucc:{{lang}}-en.{split}.en",
                       f"bucc:{{lang}}-en.{split}.gold") for split in ("dev", "test")},
        sources=("Zweigenbaum et al. 2018, BUCC shared task",),
        notes="'dev' is the BUCC sample set and 'test' the BUCC training set, as XTREME renames them. Margin-based "
              "mining; the decision threshold is tuned on dev and applied unchanged to test. The hub config holds "
              "only the gold pairs, not the full corpora: mining needs the original files (--data-dir).",
    ),
    TaskSpec(
        name="tatoeba", title="Tatoeba: parallel sentence retrieval (LASER test sets)", type="retrieval",
        role="target", languages=TATOEBA_LANGS, languages_r=("az", "lt", "pl", "uk", "ro"), metrics=("accuracy",),
        splits={"test": "labelled"}, benchmarks=("xtreme", "xtreme-r"), category="retrieval", retrieval="search",
        # scripts/run_tatoeba.sh: LAYER=13 for XLM-R Large, i.e. hidden_states index 14, not the rule's L - 4 = 20
        xtreme_layers={"xlmr/24": 14},
        hub=_hub("tatoeba.{laser}", "pairs", {"test": "validation"}),
        files={"test": ("tatoeba:tatoeba.{laser}-eng.{laser}", "tatoeba:tatoeba.{laser}-eng.eng")},
        sources=("Artetxe & Schwenk 2019, LASER", "https://github.com/facebookresearch/LASER/tree/main/data/tatoeba/v1"),
        notes="Gold = the line alignment of LASER's original files "
              "(XTREME's preprocessed copy sorts the English side).",
    ),
    TaskSpec(
        name="xcopa", title="XCOPA: cross-lingual choice of plausible alternatives", type="multiple-choice",
        role="target", languages=XCOPA_LANGS, metrics=("accuracy",), splits={"dev": "labelled", "test": "labelled"},
        benchmarks=("xtreme-r",), category="classification", train_task="copa", head="xcopa",
        hparams=_cls(5, lr_large=3e-5),
        hub={"repo": "cambridgeltl/xcopa", "revision": None, "config": "{lang}", "rows": "copa",
             "splits": {"dev": "validation", "test": "test"}},
        files={"dev": ("copa-jsonl:val.{lang}.jsonl",), "test": ("copa-jsonl:test.{lang}.jsonl",)},
        sources=("Ponti et al. 2020, XCOPA", "https://github.com/cambridgeltl/xcopa"),
        notes="English training as in XTREME-R (scripts/train_xcopa.sh): SIQA, then COPA. Hub revision not pinned.",
    ),
    TaskSpec(
        name="mewsli-x", title="Mewsli-X: multilingual entity linking (mentions -> English entity descriptions)",
        type="retrieval", role="target", languages=MEWSLIX_LANGS, metrics=("map@20",),
        splits={"train": "labelled", "dev": "labelled", "test": "labelled"}, benchmarks=("xtreme-r",),
        category="retrieval", retrieval="rank", folder="mewslix", protocol="xtreme-r",
        hparams={"xtreme": dict(_XTREME_MEWSLIX)},
        files={"train": ("mewsli:wikipedia_pairs-train.jsonl",),
               "dev": ("mewsli:wikinews_mentions-dev.jsonl", "mewsli:candidate_set_entities.jsonl"),
               "test": ("mewsli:wikinews_mentions-test.jsonl", "mewsli:candidate_set_entities.jsonl")},
        sources=("Ruder et al. 2021, XTREME-R; Botha et al. 2020, Mewsli-9",
                 "google-research/google-research dense_representations_for_entity_retrieval/mel (get-mewsli-x.sh)",
                 "google-research/xtreme third_party/utils_mewslix.py, scripts/train_mewslix.sh"),
        notes="Queries are WikiNews mentions in 11 languages, written as XTREME's baseline does: one sentence of "
              "context, the mention marked '{ … }' and repeated in front; candidates are the English "
              "descriptions of the whole candidate set (candidate_set_entities.jsonl, about a million). One gold "
              "entity per mention, so map@20 is MRR@20. Training: English Wikipedia mention-entity pairs "
              "(wikipedia_pairs-train.jsonl), one shared encoder tower, in-batch negatives. Files only: no Hub "
              "source (--data-dir).",
    ),
    TaskSpec(
        name="lareqa", title="LAReQA: language-agnostic retrieval QA (XQuAD-R)", type="retrieval", role="target",
        languages=LAREQA_LANGS, metrics=("map@20",), splits={"train": "labelled", "test": "labelled"},
        benchmarks=("xtreme-r",), category="retrieval", retrieval="rank", protocol="xtreme-r",
        train_task="squad_v1", head="lareqa", hparams={"xtreme": dict(_XTREME_LAREQA)},
        files={"train": ("squad-rank:train-v1.1.json",), "test": ("xquadr:xquad-r/{lang}.json",)},
        sources=("Roy et al. 2020, LAReQA", "https://github.com/google-research-datasets/lareqa",
                 "google-research/xtreme third_party/utils_lareqa.py, evaluate_retrieval.py, scripts/train_lareqa.sh"),
        notes="Every question of XQuAD-R (11 languages) ranks the answer-sentence candidates of all 11 languages "
              "pooled (each sentence of each paragraph, encoded with its paragraph); the answer's sentence in "
              "every language is gold. Trained on English SQuAD v1.1: question -> the sentence holding the "
              "answer, with its paragraph, in-batch negatives. XTREME's evaluate.py has no LAReQA scorer: scored "
              "as evaluate_retrieval.py does (mAP@20, utils_lareqa.mean_avg_prec_at_k). Test files only via "
              "--data-dir.",
    ),
]
