"""`stilt align`: per-layer cross-lingual alignment of parallel sentences, as result records."""

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
    guard,
    setup,
    with_groups,
)
from stilt_cli.commands._embedding import EmbeddingOptions, Model
from stilt_cli.commands.retrieve import RetrievalTask

TABLE = ["task", "lang", "split", "metric", "value", "n", "protocol", "params"]  # --format table


@with_groups
def command(
    model: Model,
    pairs: Annotated[Path | None, typer.Option("--pairs", help="Parallel sentences: canonical retrieval JSONL "
                                               "(.jsonl, with gold links) or 'xx<TAB>English' lines "
                                               "(with --langs).")] = None,
    task: Annotated[str | None, typer.Option("--task", callback=RetrievalTask, help="Or a retrieval task's gold "
                                             "pairs: tatoeba, bucc, demo-parallel, …")] = None,
    langs: Langs = None,
    embedding: EmbeddingOptions = None,
    split: Annotated[str | None, typer.Option("--split", help="Split of --task (default: test, or the one "
                                                              "split a --data "
                                                              "file names).")] = None,
    data_dir: DataDir = None,
    data: DataFiles = None,
    plot: Plot = None,
    output: Output = None,
    fmt: Format = "jsonl",
    quiet: Quiet = False,
) -> None:
    """Alignment per layer: retrieval accuracy both ways, translation vs random-pair cosine, linear CKA."""
    setup(quiet)
    with guard(output):
        from stilt_cli.core.console import emit
        from stilt_cli.core.retrieval import alignment

        config = alignment.AlignConfig(
            model=model, pairs=pairs, task=task, langs=langs, layer=embedding.parsed_layer(), pooling=embedding.pooling,
            split=split, data_dir=data_dir, data=data, max_length=embedding.max_length,
            batch_tokens=embedding.batch_tokens, cache=embedding.cache, revision=embedding.revision,
            plot=Path(plot) if plot else None)
        emit(alignment.run(config), fmt, output, columns=TABLE)
