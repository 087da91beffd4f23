"""`stilt align`: per-layer cross-lingual alignment of parallel sentences, as result records."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stilt_cli.commands._common import DataDir, DataFiles, Format, Langs, Output, Plot, Quiet, guard, setup
from stilt_cli.commands.retrieve import BatchTokens, Cache, Layer, MaxLength, Model, Revision

TABLE = ["task", "lang", "split", "metric", "value", "n", "protocol", "params"]  # --format table


def command(
    model: Model,
    pairs: Annotated[Path | None, typer.Option("--pairs", help="Parallel sentences: canonical retrieval JSONL "
                                               "(.jsonl, with gold links) or 'xx<TAB>English' lines (with --langs).")] = None,
    task: Annotated[str | None, typer.Option("--task", help="Or a retrieval task's gold pairs: tatoeba, bucc, "
                                             "demo-parallel, …")] = None,
    langs: Langs = None,
    layer: Layer = None,
    pooling: Annotated[str, typer.Option("--pooling", help="mean, cls, or model (sentence-transformers).")] = "mean",
    split: Annotated[str | None, typer.Option("--split", help="Split of --task (default: test, or the one split a --data "
                                                              "file names).")] = None,
    data_dir: DataDir = None,
    data: DataFiles = None,
    max_length: MaxLength = None,
    batch_tokens: BatchTokens = 16384,
    cache: Cache = True,
    revision: Revision = None,
    plot: Plot = None,
    output: Output = None,
    fmt: Format = "jsonl",
    quiet: Quiet = False,
) -> None:
    """Alignment per layer: retrieval accuracy both ways, translation vs random-pair cosine, linear CKA."""
    setup(quiet)
    with guard():
        from stilt_cli.core.console import emit
        from stilt_cli.core.retrieval import alignment
        from stilt_cli.core.retrieval.extract import parse_layer

        config = alignment.AlignConfig(
            model=model, pairs=pairs, task=task, langs=langs, layer=parse_layer(layer), pooling=pooling, split=split,
            data_dir=data_dir, data=data, max_length=max_length, batch_tokens=batch_tokens, cache=cache,
            revision=revision, plot=Path(plot) if plot else None)
        emit(alignment.run(config), fmt, output, columns=TABLE)
