"""`stilt evaluate`: zero-shot evaluation of a checkpoint's task head, language by language, with the
official metrics (`core/metrics`), as result records.

The head is the one the task names (`spec.head_name`): XNLI is answered by the `xnli` head, XQuAD and
MLQA by `squad_v1` (trained on SQuAD v1.1), TyDiQA-GoldP by `tydiqa`. A checkpoint without it is
refused with the stage that would train it; a head of another type or label set is refused too.

Languages are processed one at a time: featurize (through the tokenized cache), predict (length-sorted
batches, dynamic padding, inference mode, bf16 on CUDA: `core/model/predict.py`), score, write the
predictions, drop everything but the scores. So memory does not grow with the number of languages,
and no logits are ever kept. A language without gold labels (XTREME's stripped test sets, TyDiQA dev
with blanked answers) gets predictions but no record: no score is possible.

Settings that define a measurement go into each record's `params` (head, max_length, doc_stride for
QA, max_examples when set): by default the max length (and stride) the head was trained with, as
XTREME evaluates. Timings, device and data source go into `details`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from stilt_cli.core import checkpoint, records
from stilt_cli.core.console import info, progress, warn
from stilt_cli.core.errors import DataError, UsageError
from stilt_cli.core.evaluation.inputs import (  # noqa: F401 (EvaluateConfig: evaluate's API)
    EvaluateConfig,
    LangResult,
    Source,
    codes,
    gold_status,
    head_settings,
    load_by_language,
    model_revision,
    require_head,
    resolve_split,
    resolve_task,
    source_of,
    training_stage,
)
from stilt_cli.core.evaluation.submission import PredictionSinks
from stilt_cli.core.tasks.spec import TaskSpec


# ---- the run -----------------------------------------------------------------------------------
@dataclass
class Plan:
    """Everything checked before the model loads: a bad input fails in a second, not after a language."""

    spec: TaskSpec
    ckpt: checkpoint.Checkpoint
    head: str
    split: str
    source: Source
    sinks: PredictionSinks
    groups: dict[str, list[dict[str, Any]]]  # language -> examples
    labelled: dict[str, bool]
    stage: dict[str, Any] | None  # the lineage entry that trained the head
    max_length: int
    doc_stride: int | None
    params: dict[str, Any]


def plan(config: EvaluateConfig) -> Plan:
    spec = resolve_task(config.task)
    ckpt = checkpoint.load(config.checkpoint)
    head = require_head(ckpt, spec)
    source = source_of(spec, config)
    split = resolve_split(spec, config.split, source.data_file is not None)
    if config.batch_size < 1 or (config.max_examples is not None and config.max_examples < 1):
        raise UsageError("--batch-size and --max-examples must be at least 1")
    split, groups = load_by_language(spec, split, codes(config.langs), source, config.max_examples, config.split)
    sinks = PredictionSinks(spec.name, split, config.save_predictions, config.export_xtreme)
    labelled = {lang: gold_status(spec, split, lang, rows) for lang, rows in groups.items()}
    unlabelled = [lang for lang, has in labelled.items() if not has]
    if unlabelled and not sinks.active:
        if len(unlabelled) == len(groups):
            raise DataError(f"{spec.name} {split} ({', '.join(unlabelled)}) has no gold labels: no score is possible",
                            "write the predictions with --save-predictions DIR or --export-xtreme DIR")
        warn(f"{spec.name} {split}: no gold labels for {', '.join(unlabelled)}; skipped (no score is possible; "
             "--save-predictions DIR writes their predictions)")
        groups = {lang: rows for lang, rows in groups.items() if labelled[lang]}
    stage = training_stage(ckpt, head)
    settings = head_settings(stage, head, spec)
    max_length = config.max_length or settings["max_length"]
    doc_stride = (config.doc_stride or settings["doc_stride"]) if spec.head_type == "qa" else None
    params: dict[str, Any] = {"head": head, "max_length": max_length}
    if doc_stride is not None:
        params["doc_stride"] = doc_stride
    if config.max_examples is not None:
        params["max_examples"] = config.max_examples
    return Plan(spec, ckpt, head, split, source, sinks, groups, labelled, stage, max_length, doc_stride, params)


def run(config: EvaluateConfig) -> list[dict[str, Any]]:
    """The one evaluation driver: language by language, predict, write the predictions, score. Returns the result
    records (one per language and metric of the labelled languages). The task's runner supplies the three steps:
    `TaskRunner` for heads that answer each example, `ranking.RankRunner` for a dual-encoder head that ranks one
    candidate pool shared by all languages."""
    if resolve_task(config.task).head_type == "dual-encoder":
        from stilt_cli.core.evaluation.ranking import RankRunner as chosen
    else:
        chosen = TaskRunner
    runner = chosen.prepare(config)
    out: list[dict[str, Any]] = []
    with progress(f"evaluating {runner.spec.name}", total=len(runner.groups), unit="lang") as advance:
        for lang, items in runner.groups.items():
            result = runner.predict(lang, items)
            written = runner.sinks.write(lang, items, result.predictions) if runner.sinks.active else []
            out += runner.score(lang, items, result, written)
            advance(1, lang=lang)
            del result  # nothing of a language outlives its loop turn but its scores
    return out


@dataclass
class TaskRunner:
    """Classification, tagging, QA and multiple-choice heads: every example gets its own prediction."""

    p: Plan
    model: Runner
    common: dict[str, Any]
    base_details: dict[str, Any]

    @property
    def spec(self) -> TaskSpec:
        return self.p.spec

    @property
    def groups(self) -> dict[str, list[dict[str, Any]]]:
        return self.p.groups

    @property
    def sinks(self) -> PredictionSinks:
        return self.p.sinks

    @classmethod
    def prepare(cls, config: EvaluateConfig) -> TaskRunner:
        p = plan(config)
        runner = Runner.load(p.ckpt, p.spec, p.head, config)
        hub_source = p.source.data_file is None and p.source.data_dir is None
        common = {"split": p.split, "protocol": p.spec.protocol, "params": p.params, "checkpoint": p.ckpt.ref(),
                  "seed": p.stage.get("seed") if p.stage else None, "model_revision": model_revision(p.ckpt),
                  "dataset_revision": (p.spec.hub or {}).get("revision") if hub_source else None}
        trained_by = None if p.stage is None else {"stage": p.stage.get("stage"), "tasks": p.stage["heads"][p.head]}
        base_details = {"source": p.source.describe(p.spec), "device": runner.device.device,
                        "amp": runner.device.amp_dtype, "batch_size": config.batch_size, "trained_by": trained_by}
        info(f"evaluating {p.spec.name} {p.split} with head '{p.head}' of {p.ckpt.path}: {len(p.groups)} "
             f"language(s), max length {p.max_length}" + (f", stride {p.doc_stride}" if p.doc_stride else "")
             + f", {runner.device.name}")
        return cls(p, runner, common, base_details)

    def predict(self, lang: str, examples: list[dict[str, Any]]) -> LangResult:
        p = self.p
        return self.model.evaluate(lang, p.split, examples, p.max_length, p.doc_stride, p.source.data_file == "-")

    def score(self, lang: str, examples: list[dict[str, Any]], result: LangResult, written: list[Any]
              ) -> list[dict[str, Any]]:
        from stilt_cli.core.model import metrics

        p = self.p
        where = f" -> {', '.join(map(str, written))}" if written else ""
        if not p.labelled[lang]:
            info(f"{p.spec.name} {p.split} {lang}: no gold labels, so no score is possible; predictions written{where}")
            return []
        scores = metrics.compute(p.spec, result.predictions, examples, lang)
        n = int(scores.pop("n"))
        details = {**self.base_details, **result.details}
        shown = ", ".join(f"{m} {v:.4f}" for m, v in scores.items())
        info(f"{p.spec.name} {lang}: {shown} (n={n}, {result.details['seconds']['predict']:.1f} s){where}")
        return [records.make("eval", p.spec.name, lang, metric, value, n=n, details=details, **self.common)
                for metric, value in scores.items()]


@dataclass
class Runner:
    """The model and tokenizer on their device, ready to predict one language after another."""

    spec: TaskSpec
    head: str
    model: Any
    tokenizer: Any
    device: Any
    labels: list[str]
    options: Any

    @classmethod
    def load(cls, ckpt: checkpoint.Checkpoint, spec: TaskSpec, head: str, config: EvaluateConfig) -> Runner:
        from stilt_cli.core import device
        from stilt_cli.core.encoders.load import from_checkpoint
        from stilt_cli.core.model import heads, predict

        choice = device.choose(config.device, config.precision)
        encoder = from_checkpoint(ckpt)
        labels = list(spec.labels or ()) if spec.head_type in ("classification", "tagging") else []
        expected = heads.HeadSpec(name=head, type=spec.head_type, task=spec.name, labels=labels,
                                  hidden_size=encoder.hidden_size)
        model = heads.load_model(ckpt, encoder.model, head, expected)
        model.to(choice.torch_device())
        options = predict.Options(batch_size=config.batch_size, max_answer_length=config.max_answer_length,
                                  null_answer=spec.null_answers)
        return cls(spec, head, model, encoder.tokenizer, choice, list(model.specs[head].labels), options)

    def evaluate(self, lang: str, split: str, examples: list[dict[str, Any]], max_length: int,
                 doc_stride: int | None, from_stdin: bool) -> LangResult:
        from stilt_cli.core.data import features
        from stilt_cli.core.model import predict

        started = time.perf_counter()
        feats = features.featurize(examples, self.tokenizer, task=self.spec.name, head_type=self.spec.head_type,
                                   split=split, max_length=max_length, labels=self.labels, doc_stride=doc_stride,
                                   spec_version=self.spec.version, langs=[lang], from_stdin=from_stdin)
        featurized = time.perf_counter()
        by_index = predict.predict(self.model, self.head, feats, examples, device=self.device, options=self.options,
                                   pad_id=self.tokenizer.pad_token_id or 0)
        done = time.perf_counter()
        if len(by_index) != len(examples) or any(i not in by_index for i in range(len(examples))):
            raise DataError(f"{self.spec.name} {lang}: {len(by_index)} predictions for {len(examples)} examples",
                            "the features do not match the examples; clear the tokenized cache ($STILT_CACHE)")
        predictions = [by_index[i] for i in range(len(examples))]
        details: dict[str, Any] = {
            "seconds": {"featurize": round(featurized - started, 3), "predict": round(done - featurized, 3)},
            "examples_per_second": round(len(examples) / max(done - featurized, 1e-9), 1),
            "rows": feats.rows, "cached_features": feats.cached,
        }
        if self.spec.head_type == "tagging":
            cut = _words_past_max_length(feats, examples)
            details["words_past_max_length"] = cut
            if cut:
                warn(f"{self.spec.name} {lang}: {cut} words lie past --max-length {max_length}; they are predicted "
                     f"as '{predict.fallback_tag(self.labels)}' (raise --max-length to cover them)")
        return LangResult(predictions, details)


def _words_past_max_length(feats: Any, examples: list[dict[str, Any]]) -> int:
    from stilt_cli.core.model.collate import row

    column = feats.columns["word_ids"]
    return sum(len(ex["tokens"]) - sum(1 for w in row(column, i) if w >= 0) for i, ex in enumerate(examples))
