"""`stilt embed`: sentence embeddings to OUT.npy + OUT.ids, for one's own mining and analysis."""

from __future__ import annotations

from typing import Annotated

import typer

from stilt_cli.commands._common import IfExists, Quiet, guard, setup
from stilt_cli.commands.retrieve import Cache, Layer, MaxLength, Model, Revision


def command(
    model: Model,
    input: Annotated[str, typer.Option("--input", "-i", help="JSONL with 'text' (and 'id') fields, or plain text "
                                       "(one sentence per line; ids = line numbers); '-' = stdin.")],
    output: Annotated[str, typer.Option("-o", "--output", help="Output prefix: writes OUT.npy, OUT.ids and OUT.json.")],
    layer: Layer = None,
    pooling: Annotated[str, typer.Option("--pooling", help="mean, cls, or model (sentence-transformers).")] = "mean",
    dtype: Annotated[str, typer.Option("--dtype", help="float16 (half the disk) or float32.")] = "float16",
    max_length: MaxLength = None,
    if_exists: IfExists = "error",
    cache: Cache = True,
    revision: Revision = None,
    quiet: Quiet = False,
) -> None:
    """Embed sentences: OUT.npy ((n, dim); (layers, n, dim) with --layer all) and OUT.ids, one id per row."""
    setup(quiet)
    with guard():
        from stilt_cli.core.retrieval.embed_io import embed_file
        from stilt_cli.core.retrieval.extract import parse_layer

        embed_file(model, input, output, layer=parse_layer(layer), pooling=pooling, dtype=dtype,
                   max_length=max_length, if_exists=if_exists, cache=cache, revision=revision)
