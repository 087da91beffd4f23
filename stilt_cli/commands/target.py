from __future__ import annotations

from typing import Annotated

import typer

from stilt_cli.commands import _train_options as opt
from stilt_cli.commands._common import DataDir, DataFiles, IfExists, OutputDir, Quiet, guard, setup


def command(
    checkpoint: opt.Checkpoint,
    task: Annotated[str, typer.Option("--task", "-t", help="Target task (e.g. xnli: trains on MNLI; xquad/mlqa: on SQuAD v1.1).")],
    output: OutputDir,
    preset: opt.Preset = None,
    config_file: opt.ConfigFile = None,
    lr: opt.Lr = None,
    epochs: opt.Epochs = None,
    max_steps: opt.MaxSteps = None,
    batch_size: opt.BatchSize = None,
    grad_accum: opt.GradAccum = None,
    max_length: opt.MaxLength = None,
    doc_stride: opt.DocStride = None,
    warmup_ratio: opt.WarmupRatio = None,
    warmup_steps: opt.WarmupSteps = None,
    weight_decay: opt.WeightDecay = None,
    adam_eps: opt.AdamEps = None,
    max_grad_norm: opt.MaxGradNorm = None,
    seed: opt.Seed = None,
    train_langs: opt.TrainLangs = None,
    max_examples: opt.MaxExamples = None,
    eval_every: opt.EvalEvery = None,
    eval_examples: opt.EvalExamples = None,
    patience: opt.Patience = None,
    save_every: opt.SaveEvery = None,
    resume: opt.Resume = False,
    data: DataFiles = None,
    eval_data: opt.EvalData = None,
    data_dir: DataDir = None,
    if_exists: IfExists = "error",
    device: opt.Device = None,
    precision: opt.Precision = None,
    gradient_checkpointing: opt.GradCheckpointing = None,
    freeze_embeddings: opt.FreezeEmbeddings = None,
    dropout: opt.Dropout = None,
    quiet: Quiet = False,
) -> None:
    """Phase (iii): fine-tune on a target task's English training data, from any stilt checkpoint
    (pretrained only = the baseline; intermediate-trained = X-STILTs). Earlier task heads are dropped."""
    setup(quiet)
    with guard():
        opt.run_stage("target", locals())
