"""`stilt retrieve`: Tatoeba / BUCC (any retrieval task) on an encoder, as result records."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stilt_cli.commands._common import DataDir, DataFiles, Format, Langs, Output, Plot, Quiet, guard, setup

Model = Annotated[str, typer.Argument(help="A stilt checkpoint, a transformers model folder or hub id, or a "
                                      "sentence-transformers model (with --pooling model).")]
Layer = Annotated[str | None, typer.Option("--layer", help="Hidden layer (HF hidden_states index, 0 = embeddings) "
                                           "or 'all' (every layer from one forward pass). Default: the protocol's "
                                           "layer (xstilts: the checkpoint's retrieval layer).")]
Pooling = Annotated[str | None, typer.Option("--pooling", help="mean (non-padding tokens, specials included), cls, "
                                             "or model (a sentence-transformers model's own pooling).")]
MaxLength = Annotated[int | None, typer.Option("--max-length", help="Truncate sentences to this many tokens (default 512).")]
BatchTokens = Annotated[int, typer.Option("--batch-tokens", help="Padded tokens per embedding batch.")]
Cache = Annotated[bool, typer.Option("--cache/--no-cache", help="Reuse embeddings from the embedding cache ($STILT_CACHE).")]
Revision = Annotated[str | None, typer.Option("--revision", help="Hub revision of a hub-id model.")]

TABLE = ["task", "lang", "split", "metric", "value", "n", "protocol", "params"]  # --format table


def command(
    model: Model,
    task: Annotated[str, typer.Option("--task", help="A retrieval task: tatoeba, bucc, demo-parallel, …")],
    langs: Langs = None,
    layer: Layer = None,
    pooling: Pooling = None,
    protocol: Annotated[str, typer.Option("--protocol", help="xstilts (the paper's, via jiant) or xtreme (XTREME's "
                                          "published scripts); see the README.")] = "xstilts",
    split: Annotated[str | None, typer.Option("--split", help="Split to score (default: test, or the one split a --data "
                                              "file names; BUCC: test = the BUCC training set, dev = the sample "
                                              "set).")] = None,
    direction: Annotated[str, typer.Option("--direction", help="Search direction: en2xx (English queries the xx side, "
                                           "as XTREME), xx2en, or both.")] = "en2xx",
    threshold: Annotated[float | None, typer.Option("--threshold", help="BUCC: apply this margin threshold instead "
                                                    "of tuning one.")] = None,
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
    """Sentence retrieval: Tatoeba accuracy or BUCC mining F1, per language (and per layer)."""
    setup(quiet)
    with guard():
        from stilt_cli.core.console import emit
        from stilt_cli.core.retrieval import retrieve
        from stilt_cli.core.retrieval.extract import parse_layer

        config = retrieve.RetrieveConfig(
            model=model, task=task, langs=langs, layer=parse_layer(layer), pooling=pooling, protocol=protocol,
            split=split, direction=direction, threshold=threshold, data_dir=data_dir, data=data,
            max_length=max_length, batch_tokens=batch_tokens, cache=cache, revision=revision,
            plot=Path(plot) if plot else None)
        emit(retrieve.run(config), fmt, output, columns=TABLE)
