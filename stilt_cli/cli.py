"""The `stilt` command: registers each subcommand once its implementation exists.

Reading order for a newcomer: this file -> one module in `commands/` -> the core function it calls.
Command modules import only typer and the standard library at import time, so `stilt --help` is instant.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from stilt_cli import __version__
from stilt_cli.commands import (
    align,
    card,
    correlate,
    data,
    distances,
    embed,
    env,
    evaluate,
    intermediate,
    plan,
    plan_memory,
    plot_training,
    pretrain_load,
    retrieve,
    score,
    status,
    summary,
    target,
    tasks,
)

app = typer.Typer(
    name="stilt",
    help="English intermediate-task training for zero-shot cross-lingual transfer (X-STILTs): "
    "pretrain-load -> intermediate -> target -> evaluate / retrieve -> summary / correlate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"stilt {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool | None, typer.Option("--version", callback=_version_callback, is_eager=True,
                                                    help="Print the version and exit.")] = None,
) -> None:
    """stilt — cross-lingual transfer research from the shell."""


app.command("pretrain-load")(pretrain_load.command)
app.command("env")(env.command)
app.command("distances")(distances.command)
app.command("correlate")(correlate.command)
app.command("intermediate")(intermediate.command)
app.command("target")(target.command)
app.command("evaluate")(evaluate.command)
app.command("score")(score.command)
app.command("summary")(summary.command)
app.command("status")(status.command)
app.command("retrieve")(retrieve.command)
app.command("embed")(embed.command)
app.command("align")(align.command)
app.command("plot-training")(plot_training.command)
app.command("card")(card.command)
app.add_typer(tasks.app, name="tasks")
app.add_typer(data.app, name="data")
plan.app.command("memory")(plan_memory.command)  # beside `plan hours` (commands/plan.py)
app.add_typer(plan.app, name="plan")


def _terminate_as_interrupt(number: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwind like Ctrl-C: temporaries and unfinished OUT.partial/ are removed


def main() -> None:
    import signal

    from stilt_cli.core.libs import quiet_env

    quiet_env()
    # a console script runs with its bin/ folder first on sys.path, where some packages drop scripts
    # named like themselves (lang2vec installs bin/lang2vec.py): keep imports from resolving there
    script_dir = os.path.dirname(os.path.abspath(sys.argv[0])) if sys.argv and sys.argv[0] else None
    if script_dir and sys.path and os.path.abspath(sys.path[0] or ".") == script_dir and script_dir.endswith("bin"):
        sys.path.pop(0)
    # outside training (which saves a resumable state on SIGTERM, see core/training/trainstate.py) a SIGTERM
    # (or Slurm's SIGUSR1 warning) cleans up like Ctrl-C instead of killing the process mid-write
    signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    signal.signal(signal.SIGUSR1, _terminate_as_interrupt)
    try:
        app()
    finally:
        # the command has decided its exit code: a signal now would only interrupt the exit handlers
        # (a KeyboardInterrupt traceback from atexit, or death by the signal once Python resets its handlers)
        for name in ("SIGTERM", "SIGINT", "SIGUSR1"):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
