"""Options shared by `stilt intermediate` and `stilt target`, and the glue from options to a stage.

A training setting left off the command line is UNSET (typer gives None), so the `--config` file,
the `--preset` and the task's defaults can fill it (see `core/training/config.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

Checkpoint = Annotated[Path, typer.Argument(help="Parent stilt checkpoint (from pretrain-load, or an intermediate stage).")]
Preset = Annotated[str | None, typer.Option("--preset", help="Named hyperparameters: xstilts (Phang et al. 2020) or xtreme (XTREME baselines); recorded in the manifest.")]
ConfigFile = Annotated[Path | None, typer.Option("--config", help="JSON or TOML file of settings (below the command line, above the preset).")]
Lr = Annotated[float | None, typer.Option("--lr", help="Peak learning rate (AdamW).")]
Epochs = Annotated[int | None, typer.Option("--epochs", help="Passes over each task's training data.")]
MaxSteps = Annotated[int | None, typer.Option("--max-steps", help="Total optimizer steps (overrides --epochs).")]
BatchSize = Annotated[int | None, typer.Option("--batch-size", help="Effective batch per optimizer step, across --grad-accum and processes.")]
GradAccum = Annotated[int | None, typer.Option("--grad-accum", help="Split each batch into N micro-batches (same update, less memory).")]
MaxLength = Annotated[int | None, typer.Option("--max-length", help="Maximum tokens per input (QA: per stride window).")]
DocStride = Annotated[int | None, typer.Option("--doc-stride", help="QA: tokens of overlap between context windows.")]
WarmupRatio = Annotated[float | None, typer.Option("--warmup-ratio", help="Linear warmup as a share of all steps.")]
WarmupSteps = Annotated[int | None, typer.Option("--warmup-steps", help="Linear warmup in steps (instead of --warmup-ratio).")]
WeightDecay = Annotated[float | None, typer.Option("--weight-decay", help="AdamW weight decay (not on biases and norms).")]
AdamEps = Annotated[float | None, typer.Option("--adam-eps", help="AdamW epsilon.")]
MaxGradNorm = Annotated[float | None, typer.Option("--max-grad-norm", help="Gradient clipping norm.")]
Seed = Annotated[int | None, typer.Option("--seed", help="Random seed (initialisation, data order, dropout).")]
TrainLangs = Annotated[str | None, typer.Option("--train-langs", help="Training languages (default en), e.g. de,fr for translated or multilingual data, or all.")]
MaxExamples = Annotated[int | None, typer.Option("--max-examples", help="Use a seeded random subset of N training examples per task (quick runs).")]
EvalEvery = Annotated[int | None, typer.Option("--eval-every", help="Evaluate on the English dev set every N steps (default: each epoch; 0: never, keep the last weights).")]
EvalExamples = Annotated[int | None, typer.Option("--eval-examples", help="Seeded random subset of the English dev set used for model selection.")]
Patience = Annotated[int | None, typer.Option("--patience", help="Stop after N evaluations without dev improvement.")]
SaveEvery = Annotated[int | None, typer.Option("--save-every", help="Save a resumable state every N steps (signals always save one).")]
Resume = Annotated[bool, typer.Option("--resume", help="Continue from the resumable state in OUT.partial/ (starts fresh when there is none).")]
EvalData = Annotated[list[str] | None, typer.Option("--eval-data", help="English dev examples JSONL for model selection (FILE or TASK=FILE; repeatable).")]
Device = Annotated[str | None, typer.Option("--device", help="cpu, cuda, cuda:N or mps (default: the best available).")]
Precision = Annotated[str | None, typer.Option("--precision", help="auto (bf16 on CUDA, fp16 without bf16, fp32 on CPU), fp32, bf16 or fp16.")]
GradCheckpointing = Annotated[bool | None, typer.Option("--gradient-checkpointing/--no-gradient-checkpointing", help="Recompute activations in the backward pass (long inputs, small GPUs).")]
FreezeEmbeddings = Annotated[bool | None, typer.Option("--freeze-embeddings/--no-freeze-embeddings", help="Keep the word-embedding matrix fixed (no AdamW update of a 250k-token vocabulary: ~20 % faster steps for e5-small on CPU; often kinder to zero-shot transfer). Recorded in the manifest.")]
Dropout = Annotated[float | None, typer.Option("--dropout", help="Override the encoder's and heads' dropout probability.")]
MlmData = Annotated[Path | None, typer.Option("--mlm-data", help="Raw text (one line each, or canonical JSONL) for continued MLM, mixed into the task sampler.")]
Sampling = Annotated[str | None, typer.Option("--sampling", help="Multi-task sampling: proportional, temperature or uniform.")]
Temperature = Annotated[float | None, typer.Option("--temperature", help="Temperature T for --sampling temperature (p ~ size^(1/T)).")]

SETTINGS = ("lr", "epochs", "max_steps", "batch_size", "grad_accum", "max_length", "doc_stride", "warmup_ratio",
            "warmup_steps", "weight_decay", "adam_eps", "max_grad_norm", "seed", "train_langs", "max_examples",
            "eval_every", "eval_examples", "patience", "device", "precision", "gradient_checkpointing", "freeze_embeddings", "dropout",
            "sampling", "temperature")


def run_stage(stage: str, values: dict[str, Any]) -> None:
    """Build the stage options from a command's parameters and run the stage."""
    from stilt_cli.core.training.config import UNSET
    from stilt_cli.core.training.stages import StageOptions, run

    settings = {k: (UNSET if values.get(k) is None else values[k]) for k in SETTINGS if k in values}
    run(StageOptions(
        stage=stage, checkpoint=values["checkpoint"], tasks=values["task"], output=values["output"], settings=settings,
        preset=UNSET if values.get("preset") is None else values["preset"], config_file=values.get("config_file"),
        data=values.get("data"), eval_data=values.get("eval_data"), data_dir=values.get("data_dir"),
        mlm_data=values.get("mlm_data"), resume=values.get("resume", False), save_every=values.get("save_every"),
        if_exists=values.get("if_exists", "error"),
    ))
