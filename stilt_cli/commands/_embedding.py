"""The options every embedding command shares (`retrieve`, `align`, `embed`): one definition.

A command takes `embedding: EmbeddingOptions` and `@with_groups` turns it into the options below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from stilt_cli.commands._common import Revision, checked_by, one_of

Model = Annotated[str, typer.Argument(help="A stilt checkpoint, a transformers model folder or hub id, or a "
                                      "sentence-transformers model (with --pooling model).")]


def _layer(value: str) -> None:
    from stilt_cli.core.retrieval.extract import parse_layer

    parse_layer(value)


@dataclass
class EmbeddingOptions:
    layer: Annotated[str | None, typer.Option(
        "--layer", callback=checked_by(_layer), help="Hidden layer (HF hidden_states index, 0 = embeddings) or 'all' "
        "(every layer from one forward pass). Default: the protocol's layer (xstilts: the checkpoint's retrieval "
        "layer).")] = None
    pooling: Annotated[str | None, typer.Option(
        "--pooling", callback=one_of("stilt_cli.core.retrieval.extract:POOLINGS"), help="mean (non-padding tokens, "
        "specials included), cls, or model (a sentence-transformers model's own pooling). Default: the protocol's "
        "(xtreme: mean), else the encoder family's (mean; LaBSE: cls).")] = None
    max_length: Annotated[int | None, typer.Option(
        "--max-length", min=1, help="Truncate sentences to this many tokens (default 512).")] = None
    batch_tokens: Annotated[int, typer.Option("--batch-tokens", min=1,
                                              help="Padded tokens per embedding batch.")] = 16384
    cache: Annotated[bool, typer.Option(
        "--cache/--no-cache", help="Reuse embeddings from the embedding cache ($STILT_CACHE).")] = True
    revision: Revision = None

    def parsed_layer(self) -> int | str | None:
        from stilt_cli.core.retrieval.extract import parse_layer

        return parse_layer(self.layer)
