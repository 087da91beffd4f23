"""`stilt embed`: sentence embeddings to OUT.npy + OUT.ids, for one's own mining and analysis."""

from __future__ import annotations

from typing import Annotated

import typer

from stilt_cli.commands._common import IfExists, Quiet, guard, one_of, setup, with_groups
from stilt_cli.commands._embedding import EmbeddingOptions, Model


@with_groups
def command(
    model: Model,
    input: Annotated[str, typer.Option("--input", "-i", help="JSONL with 'text' (and 'id') fields, or plain text "
                                       "(one sentence per line; ids = line numbers); '-' = stdin.")],
    output: Annotated[str, typer.Option("-o", "--output", help="Output prefix: writes OUT.npy, OUT.ids and OUT.json.")],
    embedding: EmbeddingOptions = None,
    dtype: Annotated[str, typer.Option("--dtype", callback=one_of("stilt_cli.core.retrieval.embed_io:DTYPES"),
                                       help="float16 (half the disk) or float32.")] = "float16",
    if_exists: IfExists = "error",
    quiet: Quiet = False,
) -> None:
    """Embed sentences: OUT.npy ((n, dim); (layers, n, dim) with --layer all) and OUT.ids, one id per row."""
    setup(quiet)
    with guard(output):
        from stilt_cli.core.retrieval.embed_io import embed_file

        embed_file(model, input, output, layer=embedding.parsed_layer(), pooling=embedding.pooling, dtype=dtype,
                   max_length=embedding.max_length, if_exists=if_exists, cache=embedding.cache,
                   revision=embedding.revision, batch_tokens=embedding.batch_tokens)
