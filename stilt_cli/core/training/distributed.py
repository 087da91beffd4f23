"""DDP plumbing: the same command runs alone or under `torchrun` / `accelerate launch`.

The launcher's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) decides; gloo
on CPU, NCCL on CUDA (`core/device.py` decides). Every rank computes the same batch plan; each trains on its shard of
every micro-batch; evaluation predictions are gathered so every rank takes the same keep-best and
early-stopping decisions; only rank 0 writes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stilt_cli.core.errors import StiltError


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    active: bool = False  # a process group was initialised by us

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.active:
            import torch.distributed as dist

            dist.barrier()

    def sum(self, value: float) -> float:
        """Sum of a number over ranks (the number itself when alone)."""
        if not self.active:
            return value
        import torch
        import torch.distributed as dist

        tensor = torch.tensor([float(value)], dtype=torch.float64, device=self._device())
        dist.all_reduce(tensor)
        return float(tensor.item())

    def any(self, flag: bool) -> bool:
        return self.sum(1.0 if flag else 0.0) > 0

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's object, on every rank (rank order)."""
        if not self.active:
            return [obj]
        import torch.distributed as dist

        out: list[Any] = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's object, on every rank."""
        if not self.active:
            return obj
        import torch.distributed as dist

        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def on_main(self, compute: Callable[[], Any], share: bool = True) -> Any:
        """`compute()` on rank 0 alone, its result on every rank (share=False: None on the others). A StiltError
        raised there is raised on every rank (same class, message and hint), so a refusal stops all alike."""
        result, failure = None, None
        if self.is_main:
            try:
                result = compute()
            except StiltError as exc:
                failure = exc
        sent = (result if share else None, None if failure is None else (type(failure), failure.message, failure.hint))
        shared, failed = self.broadcast(sent)
        if failure is not None:
            raise failure
        if failed is not None:
            kind, message, hint = failed
            raise kind(message, hint)
        return result if self.is_main else shared

    def _device(self):
        import torch
        import torch.distributed as dist

        return (torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl"
                else torch.device("cpu"))


def from_env() -> Dist:
    """Join the launcher's process group when WORLD_SIZE > 1; otherwise a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return Dist()
    import torch
    import torch.distributed as dist

    from stilt_cli.core import device

    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    backend = device.ddp_backend()
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return Dist(rank=rank, world=world, local_rank=local_rank, active=True)


def shutdown(state: Dist) -> None:
    if state.active:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
