"""`stilt retrieve`: Tatoeba / BUCC (any retrieval task) on an encoder, as result records."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stilt_cli.commands._common import (
    DataDir,
    DataFiles,
    Format,
    Langs,
    Output,
    Plot,
    Quiet,
    checked_by,
    guard,
    one_of,
    setup,
    with_groups,
)
from stilt_cli.commands._embedding import EmbeddingOptions, Model

TABLE = ["task", "lang", "split", "metric", "value", "n", "protocol", "params"]  # --format table


def retrieval_task(value: str) -> None:
    from stilt_cli.core import tasks

    tasks.get_of_type(value, "retrieval")


RetrievalTask = checked_by(retrieval_task)


@with_groups
def command(
    model: Model,
    task: Annotated[str, typer.Option("--task", callback=RetrievalTask,
                                      help="A retrieval task: tatoeba, bucc, demo-parallel, …")],
    langs: Langs = None,
    embedding: EmbeddingOptions = None,
    protocol: Annotated[str, typer.Option("--protocol", callback=one_of("stilt_cli.core.retrieval.retrieve:PROTOCOLS"),
                                          help="xstilts (the paper's, via jiant) or xtreme (XTREME's published "
                                          "scripts); see the README.")] = "xstilts",
    split: Annotated[str | None, typer.Option("--split", help="Split to score (default: test, or the one "
                                                              "split a --data "
                                              "file names; BUCC: test = the BUCC training set, dev = the sample "
                                              "set).")] = None,
    direction: Annotated[str, typer.Option("--direction",
                                           callback=one_of("stilt_cli.core.retrieval.retrieve:DIRECTIONS"),
                                           help="Search direction: en2xx (English queries the xx side, as XTREME), "
                                           "xx2en, or both.")] = "en2xx",
    threshold: Annotated[float | None, typer.Option("--threshold", help="BUCC: apply this margin threshold instead "
                                                    "of tuning one.")] = None,
    data_dir: DataDir = None,
    data: DataFiles = None,
    plot: Plot = None,
    output: Output = None,
    fmt: Format = "jsonl",
    quiet: Quiet = False,
) -> None:
    """Sentence retrieval: Tatoeba accuracy or BUCC mining F1, per language (and per layer)."""
    setup(quiet)
    with guard(output):
        from stilt_cli.core.console import emit
        from stilt_cli.core.retrieval import retrieve

        config = retrieve.RetrieveConfig(
            model=model, task=task, langs=langs, layer=embedding.parsed_layer(), pooling=embedding.pooling,
            protocol=protocol, split=split, direction=direction, threshold=threshold, data_dir=data_dir, data=data,
            max_length=embedding.max_length, batch_tokens=embedding.batch_tokens, cache=embedding.cache,
            revision=embedding.revision, plot=Path(plot) if plot else None)
        emit(retrieve.run(config), fmt, output, columns=TABLE)
