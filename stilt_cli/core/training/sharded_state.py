"""The resumable state of an FSDP run: model, AdamW state and keep-best weights, each rank writing its shard.

Written with `torch.distributed.checkpoint` into `state.tmp/sharded/` (one `__<rank>_0.distcp` file per
process and rank 0's `.metadata`) as part of `core/training/trainstate.py`'s staging folder, so the
state is swapped in whole or not at all, as an unsharded one. The folder must be on a filesystem every
node sees (the output's). The keep-best copy is the sharded snapshot the loop made: nothing is gathered.

Nothing is unpickled freely: torch reads a checkpoint's `.metadata` with plain `pickle.load`, so stilt
reads it itself with an unpickler that builds only torch.distributed.checkpoint's own metadata classes,
torch sizes, dtypes and plain containers (`read_metadata`); a file asking for anything else is refused.

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


def read_metadata(folder: Path) -> Any:
    """The checkpoint's `.metadata`, unpickled with an allowlist (see the module docstring); DataError else."""
    import io
    import pickle

    import torch

    from stilt_cli.core.errors import DataError

    class Restricted(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            allowed_module = module.split(".")[0] in ("torch", "collections", "builtins", "pathlib")
            found = super().find_class(module, name) if allowed_module else None
            checkpoint_class = isinstance(found, type) and found.__module__.startswith("torch.distributed.checkpoint.")
            plain = module == "builtins" and name in ("set", "frozenset", "slice", "tuple", "list", "dict", "int",
                                                      "float")
            torch_value = module == "torch" and (found is torch.Size or isinstance(
                found, (torch.dtype, torch.layout, torch.memory_format)))
            known = (module, name) in (("collections", "OrderedDict"), ("torch.serialization", "_get_layout"),
                                     ("pathlib", "PosixPath"), ("pathlib", "WindowsPath"), ("pathlib", "PurePosixPath"))
            if checkpoint_class or plain or torch_value or known:
                return found
            raise pickle.UnpicklingError(f"{module}.{name} is not checkpoint metadata")

    path = folder / ".metadata"
    try:
        return Restricted(io.BytesIO(path.read_bytes())).load()
    except Exception as exc:
        raise DataError(f"resumable state file {path} is not plain checkpoint metadata ({str(exc).splitlines()[0]})",
                        "remove the .partial folder and start over with --if-exists overwrite") from None


def _reader(folder: Path) -> Any:
    """torch's file reader, reading its metadata through `read_metadata`."""
    from torch.distributed.checkpoint import FileSystemReader
    from torch.distributed.checkpoint.metadata import StorageMeta

    class Reader(FileSystemReader):
        def read_metadata(self, *args: Any, **kwargs: Any) -> Any:
            metadata = read_metadata(folder)
            if getattr(metadata, "storage_meta", None) is None:
                metadata.storage_meta = StorageMeta()
            metadata.storage_meta.load_id = self.load_id
            return metadata

    return Reader(str(folder))


def read(directory: Path, *, model: Any, optimizer: Any) -> dict[str, Any] | None:
    """Restore the model and optimizer in place; -> the sharded best weights, or None."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

    folder = directory / FOLDER
    saved = read_metadata(folder).state_dict_metadata
    best_keys = {key[len(BEST):] for key in saved if key.startswith(BEST)}
    model_state, optimizer_state = get_state_dict(model, optimizer)  # templates: this run's shards
    payload: dict[str, Any] = {"model": model_state, "optimizer": optimizer_state}
    if best_keys:
        payload["best"] = {k: v.detach().clone() for k, v in model.state_dict().items() if k in best_keys}
    dcp.load(payload, storage_reader=_reader(folder))
    set_state_dict(model, optimizer, model_state_dict=payload["model"], optim_state_dict=payload["optimizer"])
    return payload.get("best")
