"""`stilt plot-training`: the loss and dev curves of several training runs on one figure."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stilt_cli.commands._common import Quiet, guard, setup


def command(
    checkpoints: Annotated[list[str], typer.Argument(help="Checkpoints written by intermediate or target (their "
                                                          "train_log.jsonl), or train_log.jsonl files.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="PNG file to write (atomically).")],
    smooth: Annotated[int, typer.Option("--smooth", help="Plot the loss as a trailing mean over N steps.")] = 1,
    quiet: Quiet = False,
) -> None:
    """Training loss and English dev score against step for one or more runs, one colour per run."""
    setup(quiet)
    with guard(output):
        from stilt_cli.core.analysis.training_plot import plot
        from stilt_cli.core.console import info

        runs = plot(list(checkpoints), output, smooth)
        info(f"wrote {output} ({runs} run(s))")
