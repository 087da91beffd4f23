"""The resumable state of an FSDP run: model, AdamW state and keep-best weights, each rank writing its shard.

Written with `torch.distributed.checkpoint` into `state.tmp/sharded/` (one `__<rank>_0.distcp` file per
process and rank 0's `.metadata`) as part of `core/training/trainstate.py`'s staging folder, so the
state is swapped in whole or not at all, as an unsharded one. The folder must be on a filesystem every
node sees (the output's). The keep-best copy is the sharded snapshot the loop made: nothing is gathered.

Resuming needs the same number of processes: the batch plan gives each process its share of every
micro-batch and each process keeps its own RNG state, so another world size could not continue the same
run bit for bit; `trainstate.load` refuses it (exit 2) before anything is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

FOLDER = "sharded"
BEST = "best."  # prefix of the keep-best tensors in the checkpoint


def write(staging: Path, *, model: Any, optimizer: Any, best: dict[str, Any] | None) -> None:
    """Every rank calls this (a collective): its shard of the model, optimizer and best weights."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict

    model_state, optimizer_state = get_state_dict(model, optimizer)
    payload: dict[str, Any] = {"model": model_state, "optimizer": optimizer_state}
    if best is not None:
        payload["best"] = best
    dcp.save(payload, checkpoint_id=str(staging / FOLDER))


def read(directory: Path, *, model: Any, optimizer: Any) -> dict[str, Any] | None:
    """Restore the model and optimizer in place; -> the sharded best weights, or None."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

    folder = str(directory / FOLDER)
    saved = dcp.FileSystemReader(folder).read_metadata().state_dict_metadata
    best_keys = {key[len(BEST):] for key in saved if key.startswith(BEST)}
    model_state, optimizer_state = get_state_dict(model, optimizer)  # templates: this run's shards
    payload: dict[str, Any] = {"model": model_state, "optimizer": optimizer_state}
    if best_keys:
        payload["best"] = {k: v.detach().clone() for k, v in model.state_dict().items() if k in best_keys}
    dcp.load(payload, checkpoint_id=folder)
    set_state_dict(model, optimizer, model_state_dict=payload["model"], optim_state_dict=payload["optimizer"])
    return payload.get("best")
