"""The English intermediate tasks of X-STILTs (Phang et al. 2020), plus SST-2 and raw-text MLM, as data.

The nine of the paper: ANLI+ (SNLI + MNLI + ANLI R1-R3 with one NLI head), MNLI, QQP, SQuAD v1.1,
SQuAD v2.0, HellaSwag, CCG, Cosmos QA, CommonsenseQA. SNLI and ANLI are listed on their own as the
components of ANLI+; SIQA and COPA are the English training stages of XCOPA (XTREME-R).

Hub sources: GLUE tasks from `nyu-mll/glue`, SQuAD v1.1 from `google/xtreme` (pinned, the same file
XTREME trains on); the others from their authors' Hub repos, unpinned (`revision: None`, i.e. the
default branch at fetch time: no commit could be verified offline).
"""

from __future__ import annotations

from stilt_cli.core.tasks.spec import TaskSpec
from stilt_cli.core.tasks.xtreme import XTREME_HUB, XTREME_REVISION, xtreme_qa_preset

NLI = ("entailment", "neutral", "contradiction")
_INTER = {"lr": 1e-5, "adam_eps": 1e-8, "weight_decay": 0.01, "max_grad_norm": 1.0, "schedule": "linear",
          "warmup_ratio": 0.1, "batch_size": 32, "epochs": 2, "max_length": 256}
_INTER_QA = dict(_INTER, batch_size=16, max_length=384, doc_stride=128)
_INTER_MC = dict(_INTER, batch_size=16, max_length=256)
# XTREME-R's SIQA -> COPA stages (scripts/train_xcopa.sh): lr 2e-5, 5 epochs, max length 128, batch 32
_XCOPA_STAGE = {"lr": 2e-5, "adam_eps": 1e-8, "weight_decay": 0.0, "max_grad_norm": 1.0, "schedule": "linear",
                "warmup_steps": 0, "batch_size": 32, "epochs": 5, "max_length": 128}


def _h(base: dict, xtreme: dict | None = None) -> dict:
    return {"xstilts": dict(base), "xtreme": dict(xtreme or base)}


def _hub(repo: str, config: str | None, rows: str, splits: dict[str, str], **extra) -> dict:
    return {"repo": repo, "revision": None, "config": config, "splits": splits, "rows": rows, **extra}


EN = ("en",)
_TVT = {"train": "train", "dev": "validation", "test": "test"}

TASKS = [
    TaskSpec(
        name="anli_plus", title="ANLI+: SNLI + MNLI + ANLI R1-R3 with one NLI head", type="pair-classification",
        role="intermediate", languages=EN, metrics=("accuracy",), labels=NLI,
        splits={"train": "labelled", "dev": "labelled"}, head="nli", hparams=_h(_INTER),
        hub={"components": ["snli", "mnli", "anli"]},
        files={"train": ("components:snli,mnli,anli",), "dev": ("components:snli,mnli,anli",)},
        sources=("Nie et al. 2020, ANLI", "https://github.com/facebookresearch/anli"),
        notes="The union of the SNLI, MNLI and ANLI R1-R3 splits, read through those three tasks; ANLI's e/n/c "
              "labels map to the NLI label set.",
    ),
    TaskSpec(
        name="mnli", title="MultiNLI", type="pair-classification", role="intermediate", languages=EN,
        metrics=("accuracy",), labels=NLI,
        splits={"train": "labelled", "dev": "labelled", "dev_mismatched": "labelled", "test": "unlabelled"},
        head="nli", hparams=_h(_INTER),
        hub=_hub("nyu-mll/glue", "mnli", "nli", {"train": "train", "dev": "validation_matched",
                                                 "dev_mismatched": "validation_mismatched", "test": "test_matched"}),
        files={"train": ("glue-tsv:MNLI/train.tsv", "nli-jsonl:multinli_1.0_train.jsonl",
                         "nli-jsonl:mnli/mnli_train.jsonl"),
               "dev": ("glue-tsv:MNLI/dev_matched.tsv", "nli-jsonl:multinli_1.0_dev_matched.jsonl",
                       "nli-jsonl:mnli/mnli_val.jsonl"),
               "dev_mismatched": ("glue-tsv:MNLI/dev_mismatched.tsv",),
               "test": ("glue-tsv:MNLI/test_matched.tsv",)},
        sources=("Williams et al. 2018, MultiNLI",),
        notes="GLUE TSV (gold_label column) or jiant's JSONL (premise, hypothesis, label).",
    ),
    TaskSpec(
        name="snli", title="SNLI", type="pair-classification", role="intermediate", languages=EN, metrics=("accuracy",),
        labels=NLI, splits={"train": "labelled", "dev": "labelled", "test": "labelled"}, head="nli",
        hparams=_h(_INTER), hub=_hub("stanfordnlp/snli", "plain_text", "nli", dict(_TVT)),
        files={split: (f"nli-jsonl:snli_1.0_{split}.jsonl",) for split in ("train", "dev", "test")},
        sources=("Bowman et al. 2015, SNLI",),
        notes="A component of ANLI+. Pairs without a gold label ('-' / -1) are skipped, as is standard.",
    ),
    TaskSpec(
        name="anli", title="Adversarial NLI (R1-R3)", type="pair-classification", role="intermediate", languages=EN,
        metrics=("accuracy",), labels=NLI, splits={"train": "labelled", "dev": "labelled", "test": "labelled"},
        head="nli", hparams=_h(_INTER),
        hub=_hub("facebook/anli", "plain_text", "nli", {"train": "train_r*", "dev": "dev_r*", "test": "test_r*"}),
        files={"train": ("nli-jsonl:R*/train.jsonl",),
               "dev": ("nli-jsonl:R*/dev.jsonl", "anli-csv:ANLI_analysis_r*_dev.csv"),
               "test": ("nli-jsonl:R*/test.jsonl",)},
        sources=("Nie et al. 2020, ANLI",),
        notes="A component of ANLI+. Rounds R1-R3 are concatenated; the ANLI-analysis CSV (annotated dev) is read "
              "too.",
    ),
    TaskSpec(
        name="qqp", title="Quora Question Pairs", type="pair-classification", role="intermediate", languages=EN,
        metrics=("accuracy", "f1"), labels=("0", "1"), splits={"train": "labelled", "dev": "labelled",
                                                           "test": "unlabelled"},
        hparams=_h(_INTER), hub=_hub("nyu-mll/glue", "qqp", "glue", dict(_TVT)),
        files={"train": ("glue-tsv:QQP/train.tsv",), "dev": ("glue-tsv:QQP/dev.tsv",),
               "test": ("glue-tsv:QQP/test.tsv",)},
        sources=("GLUE, Wang et al. 2019",),
    ),
    TaskSpec(
        name="squad_v1", title="SQuAD v1.1", type="qa", role="intermediate", languages=EN,
        metrics=("f1", "exact_match"), splits={"train": "labelled", "dev": "labelled"}, head="squad_v1",
        hparams={"xstilts": dict(_INTER_QA), "xtreme": xtreme_qa_preset()},
        hub={"repo": XTREME_HUB, "revision": XTREME_REVISION, "config": "SQuAD", "rows": "squad",
             "splits": {"train": "train", "dev": "validation"}},
        files={"train": ("squad-json:train-v1.1.json",), "dev": ("squad-json:dev-v1.1.json",)},
        sources=("Rajpurkar et al. 2016, SQuAD",),
        notes="Also the English training task of XQuAD and MLQA (its `xtreme` preset is scripts/train_qa.sh).",
    ),
    TaskSpec(
        name="squad_v2", title="SQuAD v2.0 (with unanswerable questions)", type="qa", role="intermediate",
        languages=EN, metrics=("f1", "exact_match"), splits={"train": "labelled", "dev": "labelled"},
        head="squad_v2", hparams=_h(_INTER_QA), null_answers=True, qa_scorer="squad_v2",
        hub=_hub("rajpurkar/squad_v2", "squad_v2", "squad", {"train": "train", "dev": "validation"}),
        files={"train": ("squad-json:train-v2.0.json",), "dev": ("squad-json:dev-v2.0.json",)},
        sources=("Rajpurkar et al. 2018, SQuAD 2.0",),
        notes="Unanswerable questions have answers [] (is_impossible); the QA head predicts a null answer.",
    ),
    TaskSpec(
        name="hellaswag", title="HellaSwag", type="multiple-choice", role="intermediate", languages=EN,
        metrics=("accuracy",), splits={"train": "labelled", "dev": "labelled", "test": "unlabelled"},
        hparams=_h(_INTER_MC), hub=_hub("Rowan/hellaswag", None, "hellaswag", dict(_TVT)),
        files={"train": ("hellaswag-jsonl:hellaswag_train.jsonl",), "dev": ("hellaswag-jsonl:hellaswag_val.jsonl",),
               "test": ("hellaswag-jsonl:hellaswag_test.jsonl",)},
        sources=("Zellers et al. 2019, HellaSwag",),
        notes="context = ctx_a, question = ctx_b (the start of the ending sentence), choices = endings.",
    ),
    TaskSpec(
        name="ccg", title="CCG supertagging (CCGbank)", type="tagging", role="intermediate", languages=EN,
        metrics=("accuracy",), splits={"train": "labelled", "dev": "labelled", "test": "labelled"},
        hparams=_h(_INTER),
        files={split: (f"token-tsv:ccg.{split}.tsv", f"token-tsv:ccg.{split}") for split in ("train", "dev", "test")},
        sources=("Hockenmaier & Steedman 2007, CCGbank (LDC2005T13, licensed)",),
        notes="CCGbank is licensed: stilt reads local CCGbank-derived token<TAB>supertag files (blank line between "
              "sentences) and never downloads it. The label set is read from the training file.",
    ),
    TaskSpec(
        name="cosmosqa", title="Cosmos QA", type="multiple-choice", role="intermediate", languages=EN,
        metrics=("accuracy",), splits={"train": "labelled", "dev": "labelled", "test": "unlabelled"},
        hparams=_h(_INTER_MC), hub=_hub("allenai/cosmos_qa", None, "cosmos", dict(_TVT)),
        files={"train": ("cosmos-csv:train.csv",), "dev": ("cosmos-csv:valid.csv",),
               "test": ("cosmos-jsonl:test.jsonl",)},
        sources=("Huang et al. 2019, Cosmos QA",),
    ),
    TaskSpec(
        name="commonsenseqa", title="CommonsenseQA", type="multiple-choice", role="intermediate", languages=EN,
        metrics=("accuracy",), splits={"train": "labelled", "dev": "labelled", "test": "unlabelled"},
        hparams=_h(_INTER_MC), hub=_hub("tau/commonsense_qa", None, "csqa", dict(_TVT)),
        files={"train": ("csqa-jsonl:train_rand_split.jsonl",), "dev": ("csqa-jsonl:dev_rand_split.jsonl",),
               "test": ("csqa-jsonl:test_rand_split_no_answers.jsonl",)},
        sources=("Talmor et al. 2019, CommonsenseQA",),
        notes="Reads the original release and the Hugging Face export (choices as parallel label/text lists).",
    ),
    TaskSpec(
        name="sst2", title="SST-2 sentiment", type="classification", role="intermediate", languages=EN,
        metrics=("accuracy",), labels=("0", "1"), splits={"train": "labelled", "dev": "labelled", "test": "unlabelled"},
        hparams=_h(_INTER), hub=_hub("nyu-mll/glue", "sst2", "glue", dict(_TVT)),
        files={"train": ("glue-tsv:SST-2/train.tsv",),
               "dev": ("glue-tsv:SST-2/dev.tsv", "cls-jsonl:sst/val.jsonl"), "test": ("glue-tsv:SST-2/test.tsv",)},
        sources=("Socher et al. 2013; GLUE",),
    ),
    TaskSpec(
        name="siqa", title="Social IQa", type="multiple-choice", role="intermediate", languages=EN,
        metrics=("accuracy",), splits={"train": "labelled", "dev": "labelled"}, head="xcopa",
        hparams=_h(_INTER_MC, _XCOPA_STAGE),
        hub=_hub("allenai/social_i_qa", None, "siqa", {"train": "train", "dev": "validation"}),
        files={"train": ("siqa-jsonl:train.jsonl",), "dev": ("siqa-jsonl:dev.jsonl",)},
        sources=("Sap et al. 2019, Social IQa",),
        notes="First English training stage for XCOPA (XTREME-R). Gold labels (1-3) come from the "
              "'<split>-labels.lst' file beside the JSONL.",
    ),
    TaskSpec(
        name="copa", title="COPA", type="multiple-choice", role="intermediate", languages=EN, metrics=("accuracy",),
        splits={"train": "labelled", "dev": "labelled"}, head="xcopa", hparams=_h(_INTER_MC, _XCOPA_STAGE),
        hub=_hub("aps/super_glue", "copa", "copa", {"train": "train", "dev": "validation"}),
        files={"train": ("copa-jsonl:train.jsonl",), "dev": ("copa-jsonl:val.jsonl",)},
        sources=("Roemmele et al. 2011, COPA (SuperGLUE release)",),
        notes="Second English training stage for XCOPA (XTREME-R). context = premise, question = 'cause' or "
              "'effect', choices = [choice1, choice2].",
    ),
    TaskSpec(
        name="mlm", title="Masked language modelling on raw text (continued-MLM baseline)", type="mlm",
        role="intermediate", languages=(), metrics=("perplexity",), splits={"train": "unlabelled"}, head="mlm",
        hparams={**_h(dict(_INTER, mlm_probability=0.15)),
                 # the offline demo's CPU-sized setting, so MLM can join the demo tasks' --preset demo
                 "demo": dict(_INTER, mlm_probability=0.15, lr=5e-5, batch_size=16, max_length=64)},
        files={"train": ("text:{lang}.txt",)},
        notes="Raw text, one sentence or document per line, any language; mixed into the task sampler with --mlm-data.",
    ),
]
