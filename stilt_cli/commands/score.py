from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stilt_cli.commands._common import Format, Output, Quiet, XtremeVersion, guard, setup


def command(
    predictions: Annotated[Path, typer.Option("--predictions", help="Folder laid out like an XTREME submission: "
                                                                    "<task>/test-<lang>.{tsv,json,jsonl}.")],
    labels: Annotated[Path, typer.Option("--labels", help="Gold folder in the same layout (QA gold: SQuAD-format "
                                                          "JSON; .jsonl: canonical examples).")],
    version: XtremeVersion = "xtreme",
    split: Annotated[str, typer.Option("--split", help="File prefix to score: test (test-de.tsv) or dev.")] = "test",
    name: Annotated[str | None, typer.Option("--name", help="Run name for the records (default: the predictions "
                                                            "folder's name).")] = None,
    output: Output = None,
    fmt: Format = "jsonl",
    quiet: Quiet = False,
) -> None:
    """Score XTREME-style prediction files against gold files with the official metrics.

    Writes one result record per task, language and metric (stdout or -o); the XTREME task, category
    and overall scores go to stderr."""
    setup(quiet)
    with guard(output):
        from stilt_cli.core.console import emit, info
        from stilt_cli.core.evaluation.aggregate import describe
        from stilt_cli.core.evaluation.scoring import score

        rows, agg = score(predictions, labels, version=version, split=split, name=name)
        for line in describe(agg):
            info(line)
        emit(rows, fmt, output, columns=["task", "lang", "split", "metric", "value", "n", "protocol"]
             if fmt == "table" else None)
