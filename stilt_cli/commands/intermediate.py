"""`stilt intermediate`: phase (ii), English intermediate-task training (one task or several)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stilt_cli.commands import _train_options as opt
from stilt_cli.commands._common import OutputDir, Quiet, guard, known_tasks, setup, with_groups


@with_groups
def command(
    checkpoint: opt.Checkpoint,
    task: Annotated[str, typer.Option("--task", "-t", callback=known_tasks, help="Intermediate task(s), "
                                      "comma-separated for multi-task training (e.g. mnli,squad_v1).")],
    output: OutputDir,
    training: opt.TrainingOptions = None,
    multitask: opt.MultitaskOptions = None,
    mlm_data: Annotated[Path | None, typer.Option("--mlm-data", help="Raw text (one line each, or canonical JSONL) for "
                                                  "continued MLM, mixed into the task sampler.")] = None,
    inputs: opt.StageInputs = None,
    quiet: Quiet = False,
) -> None:
    """Phase (ii): fine-tune the encoder on one or several English intermediate tasks (multi-task:
    per-task heads, shared encoder, seeded task sampling; optional continued MLM)."""
    setup(quiet)
    with guard(output):
        opt.run_stage("intermediate", checkpoint, task, output, training, inputs, multitask=multitask,
                      mlm_data=mlm_data)
