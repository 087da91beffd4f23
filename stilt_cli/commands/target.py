"""`stilt target`: phase (iii), training on a target task's English data."""

from __future__ import annotations

from typing import Annotated

import typer

from stilt_cli.commands import _train_options as opt
from stilt_cli.commands._common import OutputDir, Quiet, guard, known_tasks, setup, with_groups


@with_groups
def command(
    checkpoint: opt.Checkpoint,
    task: Annotated[str, typer.Option("--task", "-t", callback=known_tasks, help="Target task (e.g. xnli: trains on "
                                      "MNLI; xquad/mlqa: on SQuAD v1.1).")],
    output: OutputDir,
    training: opt.TrainingOptions = None,
    inputs: opt.StageInputs = None,
    quiet: Quiet = False,
) -> None:
    """Phase (iii): fine-tune on a target task's English training data, from any stilt checkpoint
    (pretrained only = the baseline; intermediate-trained = X-STILTs). Earlier task heads are dropped."""
    setup(quiet)
    with guard(output):
        opt.run_stage("target", checkpoint, task, output, training, inputs)
