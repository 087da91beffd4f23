"""The English intermediate tasks of X-STILTs (Phang et al. 2020), plus SST-2 and raw-text MLM, as data."""

from __future__ import annotations

from stilt_cli.core.tasks.spec import TaskSpec

NLI = ("entailment", "neutral", "contradiction")
_INTER = {"lr": 1e-5, "adam_eps": 1e-8, "weight_decay": 0.01, "max_grad_norm": 1.0, "schedule": "linear",
          "warmup_ratio": 0.1, "batch_size": 32, "epochs": 2, "max_length": 256}
_INTER_QA = dict(_INTER, batch_size=16, max_length=384, doc_stride=128)
_INTER_MC = dict(_INTER, batch_size=16, max_length=256)


def _h(base: dict) -> dict:
    return {"xstilts": dict(base), "xtreme": dict(base)}


EN = ("en",)

TASKS = [
    TaskSpec(
        name="anli_plus", title="ANLI+: SNLI + MNLI + ANLI R1-R3 with one NLI head", type="pair-classification",
        role="intermediate", languages=EN, metrics=("accuracy",), labels=NLI,
        splits={"train": "labelled", "dev": "labelled", "test": "labelled"}, head="nli", hparams=_h(_INTER),
        hub={"components": ["snli", "mnli", "anli"]},
        files={"train": "anli_v1.0/R{round}/train.jsonl", "dev": "anli_v1.0/R{round}/dev.jsonl"},
        sources=("Nie et al. 2020, ANLI", "https://github.com/facebookresearch/anli"),
        notes="Union of SNLI, MNLI and ANLI R1-R3 training sets; ANLI labels e/n/c map to the NLI label set.",
    ),
    TaskSpec(
        name="mnli", title="MultiNLI", type="pair-classification", role="intermediate", languages=EN,
        metrics=("accuracy",), labels=NLI, splits={"train": "labelled", "dev": "labelled"}, head="nli",
        hparams=_h(_INTER), hub={"repo": "nyu-mll/glue", "config": "mnli"},
        files={"train": "MNLI/train.tsv", "dev": "MNLI/dev_matched.tsv"},
        sources=("Williams et al. 2018, MultiNLI",),
    ),
    TaskSpec(
        name="snli", title="SNLI", type="pair-classification", role="intermediate", languages=EN, metrics=("accuracy",),
        labels=NLI, splits={"train": "labelled", "dev": "labelled", "test": "labelled"}, head="nli",
        hparams=_h(_INTER), hub={"repo": "stanfordnlp/snli", "config": "plain_text"},
        files={"train": "snli_1.0_train.jsonl", "dev": "snli_1.0_dev.jsonl"}, sources=("Bowman et al. 2015, SNLI",),
        notes="A component of ANLI+.",
    ),
    TaskSpec(
        name="anli", title="Adversarial NLI (R1-R3)", type="pair-classification", role="intermediate", languages=EN,
        metrics=("accuracy",), labels=NLI, splits={"train": "labelled", "dev": "labelled", "test": "labelled"},
        head="nli", hparams=_h(_INTER), hub={"repo": "facebook/anli", "config": "plain_text"},
        files={"train": "anli_v1.0/R{round}/train.jsonl", "dev": "anli_v1.0/R{round}/dev.jsonl"},
        sources=("Nie et al. 2020, ANLI",), notes="A component of ANLI+.",
    ),
    TaskSpec(
        name="qqp", title="Quora Question Pairs", type="pair-classification", role="intermediate", languages=EN,
        metrics=("accuracy", "f1"), labels=("0", "1"), splits={"train": "labelled", "dev": "labelled"},
        hparams=_h(_INTER), hub={"repo": "nyu-mll/glue", "config": "qqp"},
        files={"train": "QQP/train.tsv", "dev": "QQP/dev.tsv"}, sources=("GLUE, Wang et al. 2019",),
    ),
    TaskSpec(
        name="squad_v1", title="SQuAD v1.1", type="qa", role="intermediate", languages=EN,
        metrics=("f1", "exact_match"), splits={"train": "labelled", "dev": "labelled"}, head="squad_v1",
        hparams=_h(_INTER_QA), hub={"repo": "rajpurkar/squad", "config": "plain_text"},
        files={"train": "train-v1.1.json", "dev": "dev-v1.1.json"}, sources=("Rajpurkar et al. 2016, SQuAD",),
        notes="Also the English training task of XQuAD and MLQA.",
    ),
    TaskSpec(
        name="squad_v2", title="SQuAD v2.0 (with unanswerable questions)", type="qa", role="intermediate",
        languages=EN, metrics=("f1", "exact_match"), splits={"train": "labelled", "dev": "labelled"},
        head="squad_v2", hparams=_h(_INTER_QA), hub={"repo": "rajpurkar/squad_v2", "config": "squad_v2"},
        files={"train": "train-v2.0.json", "dev": "dev-v2.0.json"}, sources=("Rajpurkar et al. 2018, SQuAD 2.0",),
        notes="The QA head predicts a null answer for unanswerable questions.",
    ),
    TaskSpec(
        name="hellaswag", title="HellaSwag", type="multiple-choice", role="intermediate", languages=EN,
        metrics=("accuracy",), splits={"train": "labelled", "dev": "labelled", "test": "unlabelled"},
        hparams=_h(_INTER_MC), hub={"repo": "Rowan/hellaswag"},
        files={"train": "hellaswag_train.jsonl", "dev": "hellaswag_val.jsonl", "test": "hellaswag_test.jsonl"},
        sources=("Zellers et al. 2019, HellaSwag",),
    ),
    TaskSpec(
        name="ccg", title="CCG supertagging (CCGbank)", type="tagging", role="intermediate", languages=EN,
        metrics=("accuracy",), splits={"train": "labelled", "dev": "labelled", "test": "labelled"},
        hparams=_h(_INTER), files={"train": "ccg.train.tsv", "dev": "ccg.dev.tsv", "test": "ccg.test.tsv"},
        sources=("Hockenmaier & Steedman 2007, CCGbank (LDC2005T13, licensed)",),
        notes="CCGbank is licensed: stilt reads local CCGbank-derived token<TAB>supertag files (blank line between "
              "sentences) and never downloads it. The label set is read from the training file.",
    ),
    TaskSpec(
        name="cosmosqa", title="Cosmos QA", type="multiple-choice", role="intermediate", languages=EN,
        metrics=("accuracy",), splits={"train": "labelled", "dev": "labelled", "test": "unlabelled"},
        hparams=_h(_INTER_MC), hub={"repo": "allenai/cosmos_qa"},
        files={"train": "train.csv", "dev": "valid.csv", "test": "test.jsonl"}, sources=("Huang et al. 2019, Cosmos QA",),
    ),
    TaskSpec(
        name="commonsenseqa", title="CommonsenseQA", type="multiple-choice", role="intermediate", languages=EN,
        metrics=("accuracy",), splits={"train": "labelled", "dev": "labelled", "test": "unlabelled"},
        hparams=_h(_INTER_MC), hub={"repo": "tau/commonsense_qa"},
        files={"train": "train_rand_split.jsonl", "dev": "dev_rand_split.jsonl", "test": "test_rand_split_no_answers.jsonl"},
        sources=("Talmor et al. 2019, CommonsenseQA",),
    ),
    TaskSpec(
        name="sst2", title="SST-2 sentiment", type="classification", role="intermediate", languages=EN,
        metrics=("accuracy",), labels=("0", "1"), splits={"train": "labelled", "dev": "labelled", "test": "unlabelled"},
        hparams=_h(_INTER), hub={"repo": "nyu-mll/glue", "config": "sst2"},
        files={"train": "SST-2/train.tsv", "dev": "SST-2/dev.tsv"}, sources=("Socher et al. 2013; GLUE",),
    ),
    TaskSpec(
        name="siqa", title="Social IQa", type="multiple-choice", role="intermediate", languages=EN,
        metrics=("accuracy",), splits={"train": "labelled", "dev": "labelled"}, head="xcopa", hparams=_h(_INTER_MC),
        hub={"repo": "allenai/social_i_qa"}, files={"train": "train.jsonl", "dev": "dev.jsonl"},
        sources=("Sap et al. 2019, Social IQa",), notes="First English training stage for XCOPA (XTREME-R).",
    ),
    TaskSpec(
        name="copa", title="COPA", type="multiple-choice", role="intermediate", languages=EN, metrics=("accuracy",),
        splits={"train": "labelled", "dev": "labelled"}, head="xcopa", hparams=_h(_INTER_MC),
        hub={"repo": "super_glue", "config": "copa"}, files={"train": "train.jsonl", "dev": "val.jsonl"},
        sources=("Roemmele et al. 2011, COPA",), notes="Second English training stage for XCOPA (XTREME-R).",
    ),
    TaskSpec(
        name="mlm", title="Masked language modelling on raw text (continued-MLM baseline)", type="mlm",
        role="intermediate", languages=(), metrics=("perplexity",), splits={"train": "unlabelled"}, head="mlm",
        hparams=_h(dict(_INTER, mlm_probability=0.15)), files={"train": "{lang}.txt"},
        notes="Raw text, one sentence or document per line, any language; mixed into the task sampler with --mlm-data.",
    ),
]
