"""`stilt card`: a checkpoint's Hugging Face model card, with the results measured on it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stilt_cli.commands._common import Quiet, guard, setup


def command(
    checkpoint: Annotated[Path, typer.Argument(help="The stilt checkpoint whose encoder/README.md to write.")],
    results: Annotated[list[str], typer.Argument(help="Result JSONL files or folders (read recursively); only the "
                                                      "records measured on CHECKPOINT are used.")],
    output: Annotated[str | None, typer.Option("-o", "--output", help="Where the card goes (default: "
                                                                      "CHECKPOINT/encoder/README.md; "
                                                                      "'-': stdout).")] = None,
    quiet: Quiet = False,
) -> None:
    """Rewrite the checkpoint's model card (YAML metadata + lineage) with its evaluation results as a
    model-index table. Nothing is uploaded: `hf upload USER/NAME CHECKPOINT/encoder .` publishes it."""
    setup(quiet)
    with guard(None if output == "-" else (output or checkpoint)):
        from stilt_cli.core.evaluation.card import CardConfig, card

        card(CardConfig(checkpoint=checkpoint, results=list(results), output=output))
