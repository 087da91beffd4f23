"""`stilt card`: a checkpoint's model card (`core/modelcard.py`) rewritten with the evaluation and retrieval
results measured on it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stilt_cli.core import checkpoint, modelcard, tasks
from stilt_cli.core import records as recs
from stilt_cli.core.console import info, put
from stilt_cli.core.errors import DataError


@dataclass
class CardConfig:
    checkpoint: Path
    results: list[str]
    output: str | None = None  # None: CKPT/encoder/README.md; '-': stdout


def measured_on(ckpt: Any, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The eval and retrieval records measured with this checkpoint (same manifest), one per measurement."""
    sha = ckpt.manifest_sha256()
    kept: dict[tuple, dict[str, Any]] = {}
    for record in records:
        ref = record.get("checkpoint")
        if record["kind"] in ("eval", "retrieval") and record["value"] is not None and isinstance(ref, dict) \
                and ref.get("manifest_sha256") == sha:
            kept[recs.identity(record)] = record
    return list(kept.values())


def card(config: CardConfig) -> int:
    """`stilt card`: the checkpoint's card with its results; returns how many results it holds."""
    ckpt = checkpoint.load(config.checkpoint)
    found = recs.read_many(config.results)
    results = measured_on(ckpt, found)
    if not results:
        raise DataError(f"none of the {len(found)} record(s) in {', '.join(config.results)} was measured on "
                        f"{ckpt.path}", "give the results of `stilt evaluate` or `stilt retrieve` run on "
                                        "this checkpoint")
    if len(results) < len(found):
        info(f"{len(found) - len(results)} record(s) were not measured on {ckpt.path} (or are not "
             "eval/retrieval): left out")
    path = config.output or ckpt.encoder_dir / modelcard.CARD
    put(modelcard.render(ckpt.manifest, results, tasks.get), path)
    if str(path) != "-":
        info(f"wrote {path} ({len(results)} results)")
    return len(results)
