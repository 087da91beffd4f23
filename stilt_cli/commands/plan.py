"""`stilt plan`: what a grid costs before a GPU is touched. `stilt plan hours` gives GPU-hours; `stilt plan
memory` (commands/plan_memory.py, registered on this group in cli.py) what fits on which GPUs.
"""

from __future__ import annotations

from typing import Annotated

import typer

from stilt_cli.commands._common import Output, Quiet, TableFormat, guard, one_of, setup

app = typer.Typer(help="Compute plans before a GPU is touched: GPU-hours of a grid (hours).",
                  no_args_is_help=True, add_completion=False, rich_markup_mode=None)


@app.command("hours")
def hours(
    grid: Annotated[str, typer.Argument(help="Grid JSONL ('-' for stdin), one run per line: run, model (hub id, "
                                             "local folder, tiny:KIND or family-size such as xlmr-large), examples "
                                             "or data (a JSONL whose lines are counted) or steps or a task (its "
                                             "English training size), epochs, batch_size, max_length, precision, "
                                             "peft, gpu, gpus, or a preset giving them for the task; other fields "
                                             "are passed through.")],
    gpu: Annotated[str, typer.Option("--gpu", help="GPU type of runs that name none (see throughput.json: h100, "
                                                   "h200, a100-80gb, l40s, ...).")] = "h100",
    precision: Annotated[str, typer.Option("--precision", callback=one_of("stilt_cli.core.planning.hours:PRECISIONS"),
                                           help="Precision of runs that name none: bf16, fp16 or fp32.")] = "bf16",
    utilisation: Annotated[float | None, typer.Option("--utilisation", help="Fraction of the GPU's dense peak the "
                                                                            "FLOP estimates assume (default: the "
                                                                            "table's, 0.35); measured rows are "
                                                                            "kept.")] = None,
    fmt: TableFormat = "table",
    output: Output = None,
    quiet: Quiet = False,
) -> None:
    """Per-run and total GPU-hours of a grid: each run's examples × epochs (or steps × batch size) at
    max_length tokens, divided by the tokens/s of `stilt_cli/core/planning/throughput.json` (measured rows,
    or FLOP estimates at a stated utilisation, marked as such). Table for people, --format jsonl for pipes."""
    setup(quiet)
    with guard(output):
        from stilt_cli.core.planning.hours import PlanConfig, report

        report(PlanConfig(grid=grid, gpu=gpu, precision=precision, utilisation=utilisation), fmt, output)
