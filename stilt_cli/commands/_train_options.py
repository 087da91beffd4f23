"""The options of `stilt intermediate` and `stilt target`, declared once, and the glue to a stage.

`TrainingOptions` holds every setting the resolved config knows (`core/training/config.py`); a setting
left off the command line is None here and UNSET below, so the `--config` file, the `--preset` and the
task's defaults can fill it. `StageInputs` holds what is not a setting (data, resume, output policy).
Both commands take them as groups (`@with_groups`), so an option added here reaches both stages, and
a test checks that every declared option arrives in the stage's options.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from stilt_cli.commands._common import DataDir, DataFiles, Device, IfExists, checked_by, known_langs, one_of


def _report_to(values: list[str]) -> None:
    from stilt_cli.core.training import tracking

    tracking.parse(values)


Checkpoint = Annotated[Path, typer.Argument(help="Parent stilt checkpoint (from pretrain-load, or an intermediate stage).")]


@dataclass
class TrainingOptions:
    """The settings of the resolved config: command line > --config > --preset > task-type defaults."""

    lr: Annotated[float | None, typer.Option("--lr", help="Peak learning rate (AdamW).")] = None
    epochs: Annotated[int | None, typer.Option("--epochs", help="Passes over each task's training data.")] = None
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="Total optimizer steps (overrides --epochs).")] = None
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Effective batch per optimizer step, across --grad-accum and processes.")] = None
    grad_accum: Annotated[int | None, typer.Option("--grad-accum", help="Split each batch into N micro-batches (same update, less memory).")] = None
    max_length: Annotated[int | None, typer.Option("--max-length", help="Maximum tokens per input (QA: per stride window).")] = None
    doc_stride: Annotated[int | None, typer.Option("--doc-stride", help="QA: tokens of overlap between context windows.")] = None
    query_length: Annotated[int | None, typer.Option("--query-length", help="Dual encoders (lareqa, mewsli-x): maximum tokens per query; --max-length bounds the candidates.")] = None
    warmup_ratio: Annotated[float | None, typer.Option("--warmup-ratio", help="Linear warmup as a share of all steps.")] = None
    warmup_steps: Annotated[int | None, typer.Option("--warmup-steps", help="Linear warmup in steps (instead of --warmup-ratio).")] = None
    weight_decay: Annotated[float | None, typer.Option("--weight-decay", help="AdamW weight decay (not on biases and norms).")] = None
    adam_eps: Annotated[float | None, typer.Option("--adam-eps", help="AdamW epsilon.")] = None
    max_grad_norm: Annotated[float | None, typer.Option("--max-grad-norm", help="Gradient clipping norm.")] = None
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (initialisation, data order, dropout).")] = None
    train_langs: Annotated[str | None, typer.Option("--train-langs", callback=known_langs("--train-langs"), help="Training languages (default en), e.g. de,fr for translated or multilingual data, or all.")] = None
    max_examples: Annotated[int | None, typer.Option("--max-examples", help="Use a seeded random subset of N training examples per task (quick runs).")] = None
    eval_every: Annotated[int | None, typer.Option("--eval-every", help="Evaluate on the English dev set every N steps (default: each epoch; 0: never, keep the last weights).")] = None
    eval_examples: Annotated[int | None, typer.Option("--eval-examples", help="Seeded random subset of the English dev set used for model selection.")] = None
    patience: Annotated[int | None, typer.Option("--patience", help="Stop after N evaluations without dev improvement.")] = None
    device: Device = None
    precision: Annotated[str | None, typer.Option("--precision", callback=one_of("stilt_cli.core.training.config:PRECISIONS"), help="auto: bf16 autocast on CUDA (fp16 + gradient scaler on GPUs without bf16), fp32 on CPU and MPS. fp32, bf16 or fp16 force one; on CPU, bf16 runs torch's CPU autocast and fp16 CPU autocast + gradient scaler (the CUDA code path, with float32 master weights; rarely faster than fp32 on CPU).")] = None
    gradient_checkpointing: Annotated[bool | None, typer.Option("--gradient-checkpointing/--no-gradient-checkpointing", help="Recompute activations in the backward pass (long inputs, small GPUs).")] = None
    freeze_embeddings: Annotated[bool | None, typer.Option("--freeze-embeddings/--no-freeze-embeddings", help="Keep the word-embedding matrix fixed (no AdamW update of a 250k-token vocabulary: ~20 % faster steps for e5-small on CPU; often kinder to zero-shot transfer). Recorded in the manifest.")] = None
    dropout: Annotated[float | None, typer.Option("--dropout", help="Override the encoder's and heads' dropout probability.")] = None
    peft: Annotated[str | None, typer.Option("--peft", callback=one_of("stilt_cli.core.training.config:PEFT"), help="Parameter-efficient training: none (default, full fine-tuning) or lora (peft's LoRA on the encoder; heads train fully, word embeddings stay frozen; saves the merged encoder and the adapter under adapters/STAGE/).")] = None
    lora_r: Annotated[int | None, typer.Option("--lora-r", help="LoRA rank (default 8).")] = None
    lora_alpha: Annotated[float | None, typer.Option("--lora-alpha", help="LoRA scaling alpha; the update is scaled by alpha/r (default 16).")] = None
    lora_dropout: Annotated[float | None, typer.Option("--lora-dropout", help="Dropout on the LoRA branch's input (default 0: the encoder keeps its own dropout; 0.1 costs a saved copy of every adapted input, measured in make bench).")] = None
    lora_targets: Annotated[str | None, typer.Option("--lora-targets", help="Modules that get LoRA: module-name suffixes (e.g. query,value) and/or attention, feed_forward (the family's projections). Default: attention,feed_forward of a known family; recorded in the manifest.")] = None


@dataclass
class MultitaskOptions:
    """Settings only a multi-task (intermediate) stage has."""

    sampling: Annotated[str | None, typer.Option("--sampling", callback=one_of("stilt_cli.core.training.config:SAMPLING"), help="Multi-task sampling: proportional, temperature or uniform.")] = None
    temperature: Annotated[float | None, typer.Option("--temperature", help="Temperature T for --sampling temperature (p ~ size^(1/T)).")] = None


@dataclass
class StageInputs:
    """What a stage reads and how it treats its output: not settings of the resolved config."""

    preset: Annotated[str | None, typer.Option("--preset", callback=one_of("stilt_cli.core.training.config:PRESETS"), help="Named hyperparameters: xstilts (Phang et al. 2020) or xtreme (XTREME baselines); recorded in the manifest.")] = None
    config_file: Annotated[Path | None, typer.Option("--config", help="JSON or TOML file of settings (below the command line, above the preset).")] = None
    data: DataFiles = None
    eval_data: Annotated[list[str] | None, typer.Option("--eval-data", help="English dev examples JSONL for model selection (FILE or TASK=FILE; repeatable).")] = None
    data_dir: DataDir = None
    save_every: Annotated[int | None, typer.Option("--save-every", help="Save a resumable state every N steps (signals always save one).")] = None
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the resumable state in OUT.partial/ (starts fresh when there is none).")] = False
    if_exists: IfExists = "error"
    report_to: Annotated[list[str] | None, typer.Option("--report-to", callback=checked_by(_report_to), help="Also report each step to none (default), tensorboard, wandb or mlflow (repeatable or comma-separated; rank 0 only). Every checkpoint keeps its train_log.jsonl either way.")] = None
    parallel: Annotated[str, typer.Option(
        "--parallel", callback=one_of("stilt_cli.core.training.parallel:STRATEGIES"),
        help="Under torchrun: ddp (default; every process holds the whole model and optimizer state) or fsdp "
             "(torch's FSDP2: parameters, gradients and AdamW state sharded over the processes; for models whose "
             "training does not fit one GPU). One process: a plain run either way.")] = "ddp"
    tracking_dir: Annotated[Path | None, typer.Option("--tracking-dir", help="Where --report-to trackers write (TensorBoard events, the wandb offline run, a local MLflow store); default: tracking/ beside the output.")] = None


def settings_of(*groups: Any) -> dict[str, Any]:
    """The command-line layer of the resolved config: each setting's value, or UNSET where not given."""
    from stilt_cli.core.training.config import UNSET

    return {name: UNSET if value is None else value
            for group in groups for name, value in dataclasses.asdict(group).items()}


def run_stage(stage: str, checkpoint: Path, tasks: str, output: Path, training: TrainingOptions,
              inputs: StageInputs, multitask: MultitaskOptions | None = None, mlm_data: Path | None = None) -> None:
    """Build the stage options from the command's groups and run the stage."""
    from stilt_cli.core.training.config import UNSET
    from stilt_cli.core.training.stages import StageOptions, run

    settings = settings_of(training, *([multitask] if multitask is not None else []))
    run(StageOptions(
        stage=stage, checkpoint=checkpoint, tasks=tasks, output=output, settings=settings,
        preset=UNSET if inputs.preset is None else inputs.preset, config_file=inputs.config_file,
        data=inputs.data, eval_data=inputs.eval_data, data_dir=inputs.data_dir, mlm_data=mlm_data,
        resume=inputs.resume, save_every=inputs.save_every, if_exists=inputs.if_exists,
        report_to=list(inputs.report_to or []), tracking_dir=inputs.tracking_dir, parallel=inputs.parallel,
    ))
