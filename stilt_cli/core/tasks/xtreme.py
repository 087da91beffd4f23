"""XTREME and XTREME-R target tasks, as data.

Language sets: Hu et al. 2020 (XTREME, Table 1 and the per-task result tables) and Ruder et al. 2021
(XTREME-R). Hyperparameter presets: `xstilts` = the jiant recipe of Phang et al. 2020;
`xtreme` = google-research/xtreme `scripts/train_*.sh`.
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
XCOPA_LANGS = ("et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh")

_XSTILTS = {"lr": 1e-5, "adam_eps": 1e-8, "weight_decay": 0.01, "max_grad_norm": 1.0, "schedule": "linear",
            "warmup_ratio": 0.1, "batch_size": 32}
_XTREME_CLS = {"lr": 2e-5, "adam_eps": 1e-8, "weight_decay": 0.0, "max_grad_norm": 1.0, "schedule": "linear",
               "warmup_steps": 0, "batch_size": 32, "epochs": 5, "max_length": 128}
_XTREME_TAG = dict(_XTREME_CLS, epochs=10)
_XTREME_QA = dict(_XTREME_CLS, lr=3e-5, epochs=3, max_length=384, doc_stride=128, warmup_steps=500)


def _cls(epochs: int) -> dict:
    return {"xstilts": dict(_XSTILTS, epochs=epochs, max_length=256), "xtreme": dict(_XTREME_CLS)}


def _tag() -> dict:
    return {"xstilts": dict(_XSTILTS, epochs=10, max_length=256), "xtreme": dict(_XTREME_TAG)}


def _qa() -> dict:
    return {"xstilts": dict(_XSTILTS, epochs=2, batch_size=16, max_length=384, doc_stride=128),
            "xtreme": dict(_XTREME_QA)}


HUB = "google/xtreme"

TASKS = [
    TaskSpec(
        name="xnli", title="XNLI: cross-lingual natural language inference", type="pair-classification",
        role="target", languages=XNLI_LANGS, metrics=("accuracy",), labels=("entailment", "neutral", "contradiction"),
        splits={"train": "labelled", "dev": "labelled", "test": "labelled"}, benchmarks=("xtreme", "xtreme-r"),
        category="classification", train_task="mnli", head="xnli", hparams=_cls(2),
        hub={"repo": HUB, "config": "XNLI"},
        files={"dev": "dev-{lang}.tsv", "test": "test-{lang}.tsv", "original_dev": "XNLI-1.0/xnli.dev.tsv",
               "original_test": "XNLI-1.0/xnli.test.tsv"},
        sources=("Conneau et al. 2018, XNLI", "https://github.com/facebookresearch/XNLI"),
        notes="English training data is MNLI; the XTREME preprocessing maps 'contradictory' to 'contradiction'.",
    ),
    TaskSpec(
        name="pawsx", title="PAWS-X: cross-lingual paraphrase adversaries", type="pair-classification", role="target",
        languages=PAWSX_LANGS, metrics=("accuracy",), labels=("0", "1"),
        splits={"train": "labelled", "dev": "labelled", "test": "labelled"}, benchmarks=("xtreme",),
        category="classification", hparams=_cls(5), hub={"repo": HUB, "config": "PAWS-X.{lang}"},
        files={"train": "train-{lang}.tsv", "dev": "dev-{lang}.tsv", "test": "test-{lang}.tsv",
               "original_dev": "x-final/{lang}/dev_2k.tsv", "original_test": "x-final/{lang}/test_2k.tsv"},
        sources=("Yang et al. 2019, PAWS-X", "https://github.com/google-research-datasets/paws"),
    ),
    TaskSpec(
        name="udpos", title="UD POS tagging (Universal Dependencies v2.5)", type="tagging", role="target",
        languages=UDPOS_LANGS, languages_r=("lt", "pl", "uk", "wo", "ro"), metrics=("f1",),
        labels=("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT",
                "SCONJ", "SYM", "VERB", "X"),
        splits={"train": "labelled", "dev": "labelled", "test": "labelled"}, benchmarks=("xtreme", "xtreme-r"),
        category="structured", hparams=_tag(), hub={"repo": HUB, "config": "udpos.{name}"},
        files={"train": "train-{lang}.tsv", "dev": "dev-{lang}.tsv", "test": "test-{lang}.tsv",
               "conllu": "UD_*/{lang}_*-ud-{split}.conllu"},
        sources=("Nivre et al. 2020, Universal Dependencies v2.5",),
        notes="Scored as XTREME does: seqeval 0.0.12 span F1 over UPOS tags. Multiword tokens are kept as the fused "
              "surface form with the tag of the head word.",
    ),
    TaskSpec(
        name="panx", title="PAN-X / WikiANN named entity recognition", type="tagging", role="target",
        languages=PANX_LANGS, languages_r=("qu", "pl", "uk", "az", "lt", "pa", "gu", "ro"), metrics=("f1",),
        labels=("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"),
        splits={"train": "labelled", "dev": "labelled", "test": "labelled"}, benchmarks=("xtreme", "xtreme-r"),
        category="structured", hparams=_tag(), hub={"repo": HUB, "config": "PAN-X.{lang}"},
        files={"train": "train-{lang}.tsv", "dev": "dev-{lang}.tsv", "test": "test-{lang}.tsv",
               "original": "{lang}.tar.gz/{split}"},
        sources=("Pan et al. 2017; Rahimi et al. 2019 (balanced splits)",),
    ),
    TaskSpec(
        name="xquad", title="XQuAD: cross-lingual question answering", type="qa", role="target",
        languages=XQUAD_LANGS, languages_r=("ro",), metrics=("f1", "exact_match"), splits={"test": "labelled"},
        benchmarks=("xtreme", "xtreme-r"), category="qa", train_task="squad_v1", head="squad_v1", hparams=_qa(),
        hub={"repo": HUB, "config": "XQuAD.{lang}"}, files={"test": "xquad.{lang}.json"},
        sources=("Artetxe et al. 2020, XQuAD", "https://github.com/deepmind/xquad"),
        notes="Answered by the head trained on SQuAD v1.1; scored with the SQuAD v1.1 EM/F1.",
    ),
    TaskSpec(
        name="mlqa", title="MLQA: multilingual question answering", type="qa", role="target", languages=MLQA_LANGS,
        metrics=("f1", "exact_match"), splits={"dev": "labelled", "test": "labelled"},
        benchmarks=("xtreme", "xtreme-r"), category="qa", train_task="squad_v1", head="squad_v1", hparams=_qa(),
        hub={"repo": HUB, "config": "MLQA.{lang}.{lang}"},
        files={"dev": "MLQA_V1/dev/dev-context-{lang}-question-{qlang}.json",
               "test": "MLQA_V1/test/test-context-{lang}-question-{qlang}.json"},
        sources=("Lewis et al. 2020, MLQA", "https://github.com/facebookresearch/MLQA"),
        notes="Same-language pairs by default; cross-language (G-XLT) pairs as lang 'de-en' style codes "
              "(context-question). Scored with MLQA's own normalisation.",
    ),
    TaskSpec(
        name="tydiqa", title="TyDiQA-GoldP: typologically diverse QA (gold passage)", type="qa", role="target",
        languages=TYDIQA_LANGS, metrics=("f1", "exact_match"), splits={"train": "labelled", "dev": "labelled"},
        benchmarks=("xtreme", "xtreme-r"), category="qa", train_task="tydiqa", head="tydiqa", hparams=_qa(),
        hub={"repo": HUB, "config": "tydiqa"},
        files={"train": "tydiqa-goldp-v1.1-train/tydiqa.goldp.{lang}.train.json",
               "dev": "tydiqa-goldp-v1.1-dev/tydiqa.goldp.{lang}.dev.json",
               "original_train": "tydiqa-goldp-v1.1-train.json", "original_dev": "tydiqa-goldp-v1.1-dev.json"},
        sources=("Clark et al. 2020, TyDi QA", "https://github.com/google-research-datasets/tydiqa"),
        notes="Trained on its own English training data; scored with the SQuAD v1.1 EM/F1.",
    ),
    TaskSpec(
        name="bucc", title="BUCC 2018: parallel sentence mining", type="retrieval", role="target",
        languages=BUCC_LANGS, metrics=("f1", "precision", "recall"), splits={"dev": "labelled", "test": "labelled"},
        benchmarks=("xtreme",), category="retrieval",
        hub={"repo": HUB, "config": "bucc18.{lang}"},
        files={"dev": "{lang}-en.dev.{side}", "dev_gold": "{lang}-en.dev.gold", "test": "{lang}-en.test.{side}",
               "test_gold": "{lang}-en.test.gold"},
        sources=("Zweigenbaum et al. 2018, BUCC shared task",),
        notes="'dev' is the BUCC sample set and 'test' the BUCC training set, as XTREME renames them. Margin-based "
              "mining; the decision threshold is tuned on dev and applied unchanged to test.",
    ),
    TaskSpec(
        name="tatoeba", title="Tatoeba: parallel sentence retrieval (LASER test sets)", type="retrieval",
        role="target", languages=TATOEBA_LANGS, languages_r=("az", "lt", "pl", "uk", "ro"), metrics=("accuracy",),
        splits={"test": "labelled"}, benchmarks=("xtreme", "xtreme-r"), category="retrieval",
        hub={"repo": HUB, "config": "tatoeba.{laser}"},
        files={"test": "tatoeba.{laser}-eng.{side}"},
        sources=("Artetxe & Schwenk 2019, LASER", "https://github.com/facebookresearch/LASER/tree/main/data/tatoeba/v1"),
        notes="Gold = the line alignment of LASER's original files (XTREME's preprocessed copy sorts the English side).",
    ),
    TaskSpec(
        name="xcopa", title="XCOPA: cross-lingual choice of plausible alternatives", type="multiple-choice",
        role="target", languages=XCOPA_LANGS, metrics=("accuracy",), splits={"dev": "labelled", "test": "labelled"},
        benchmarks=("xtreme-r",), category="classification", train_task="copa", head="xcopa",
        hparams=_cls(5), hub={"repo": "cambridgeltl/xcopa", "config": "{lang}"},
        files={"dev": "data/{lang}/val.{lang}.jsonl", "test": "data/{lang}/test.{lang}.jsonl"},
        sources=("Ponti et al. 2020, XCOPA", "https://github.com/cambridgeltl/xcopa"),
        notes="English training as in XTREME-R: SIQA, then COPA.",
    ),
    TaskSpec(
        name="mewsli-x", title="Mewsli-X: multilingual entity linking", type="retrieval", role="target",
        languages=("ar", "de", "en", "es", "fa", "ja", "pl", "ro", "ta", "tr", "uk"), metrics=("map@20",),
        splits={"test": "labelled"}, benchmarks=("xtreme-r",), category="retrieval", supported=False,
        notes="Not yet supported: listed so that XTREME-R tables can say what is missing.",
    ),
    TaskSpec(
        name="lareqa", title="LAReQA: language-agnostic retrieval QA", type="retrieval", role="target",
        languages=XQUAD_LANGS, metrics=("map@20",), splits={"test": "labelled"}, benchmarks=("xtreme-r",),
        category="retrieval", supported=False,
        notes="Not yet supported: listed so that XTREME-R tables can say what is missing.",
    ),
]
