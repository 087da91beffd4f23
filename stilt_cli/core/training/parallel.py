"""Parallelism applied to the model before the loop: DDP, or torch's FSDP2 (`fully_shard`), never a home-made one.

`apply()` is called once, after the model is on its device (and gradient checkpointing is on) and before
the optimizer is built; the loop then calls what it returns the same way whatever the strategy:

- one process: the model itself;
- `ddp` (default): `DistributedDataParallel`; every process holds the whole model and optimizer state;
- `fsdp`: torchtitan's shape — `fully_shard` on each encoder layer (its own unit: gathered for its forward
  and backward, resharded after), then on the root, which holds the embeddings and the task heads. Each
  process keeps ~1/world of the parameters, gradients and AdamW state (DTensor shards over a 1-D device
  mesh: gloo on CPU, NCCL on CUDA). The mixed-precision policy comes from `core/device.py`
  (`DeviceChoice.sharded_precision`: bf16 parameters with fp32 gradient reduction where the run uses bf16,
  fp32 otherwise). Under `--peft lora` the frozen base is sharded too.

Both strategies average gradients over processes, so the loop's loss scaling is the same. Gradient
accumulation turns the gradient sync off for all but the last micro-batch (`accumulating`). Clipping goes
through `torch.nn.utils.clip_grad_norm_`, which reduces the norm over the shards (`clip`). At the end of
a stage `consolidate()` gathers the full weights onto rank 0 (a collective: every rank calls it) and turns
the model back into a plain one there, so the usual checkpoint writer saves it unchanged.

`--parallel fsdp` with one process (no launcher, or `--nproc-per-node 1`) has nothing to shard: the run
is a plain one-process run, said in one line, and recorded as such.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

STRATEGIES = ("ddp", "fsdp")  # --parallel choices (a parse-time check: an unknown one exits 2)


@dataclass
class Applied:
    """What the loop calls: `strategy` is "none" (one process), "ddp" or "fsdp"."""

    runner: Any
    strategy: str = "none"

    @property
    def sharded(self) -> bool:
        return self.strategy == "fsdp"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.runner(*args, **kwargs)

    @contextmanager
    def accumulating(self, more_to_come: bool) -> Iterator[None]:
        """Within a grad-accum window: no gradient sync until the window's last micro-batch."""
        if not more_to_come or self.strategy == "none":
            yield
        elif self.strategy == "ddp":
            with self.runner.no_sync():
                yield
        else:
            self.runner.set_requires_gradient_sync(False)
            try:
                yield
            finally:
                self.runner.set_requires_gradient_sync(True)

    def clip(self, model: Any, max_norm: float) -> Any:
        """Clip the (possibly sharded) gradients to a total norm over all of them; -> the norm before clipping
        (a 0-d tensor, as `clip_grad_norm_` returns it)."""
        import torch

        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        if hasattr(norm, "full_tensor"):  # a DTensor: the norm over every shard, replicated
            norm = norm.full_tensor()
        return norm


def resolve(strategy: str, dist: Any, quiet: bool = False) -> str:
    """The strategy this run uses: "none" with one process (said once when fsdp was asked for)."""
    if not dist.active:
        if strategy == "fsdp" and not quiet:
            from stilt_cli.core.console import info

            info("--parallel fsdp: one process (no torchrun, or --nproc-per-node 1), nothing to shard: a plain run")
        return "none"
    return strategy


def apply(model: Any, strategy: str, dist: Any, choice: Any) -> Applied:
    """Wrap or shard `model` in place for `strategy` (see `resolve`); build the optimizer after this."""
    used = resolve(strategy, dist)
    if used == "none":
        return Applied(model)
    device = choice.torch_device()
    if used == "ddp":
        from torch.nn.parallel import DistributedDataParallel

        return Applied(DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None,
                                               find_unused_parameters=len(model.heads) > 1), "ddp")
    import torch
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    mesh = init_device_mesh(device.type, (dist.world,))
    param_dtype, reduce_dtype = choice.sharded_precision
    policy = MixedPrecisionPolicy(param_dtype=getattr(torch, param_dtype) if param_dtype else None,
                                  reduce_dtype=getattr(torch, reduce_dtype) if reduce_dtype else None)
    for block in encoder_blocks(model.encoder):
        fully_shard(block, mesh=mesh, mp_policy=policy)
    fully_shard(model, mesh=mesh, mp_policy=policy)  # the root: embeddings, final norms, the task heads
    return Applied(model, "fsdp")


def encoder_blocks(encoder: Any) -> list[Any]:
    """The encoder's transformer layers (BERT/XLM-R `encoder.layer`, T5 `block`, ...), under PEFT too: the
    first module list as long as the config's layer count."""
    from torch import nn

    config = getattr(encoder, "config", None)
    count = getattr(config, "num_hidden_layers", None) or getattr(config, "num_layers", None)
    for module in encoder.modules():
        if isinstance(module, nn.ModuleList) and len(module) == count:
            return list(module)
    raise RuntimeError(f"--parallel fsdp: no list of {count} layers in {type(encoder).__name__}")


def local_size(tensors: Any) -> int:
    """How many values of `tensors` this process holds (a shard's local part for DTensors)."""
    total = 0
    for tensor in tensors:
        local = tensor.to_local() if hasattr(tensor, "to_local") else tensor
        total += local.numel()
    return total


def is_sharded(model: Any) -> bool:
    from torch.distributed.fsdp import FSDPModule

    return isinstance(model, FSDPModule)


def consolidate(model: Any, dist: Any) -> None:
    """After training under FSDP: the full fp32 weights onto rank 0's CPU, the model there made plain again
    (plain parameters, original classes, no FSDP hooks). Every rank must call it; other ranks' models are
    left sharded (they write nothing). A no-op for unsharded models."""
    if not is_sharded(model):
        return
    from torch import nn
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict
    from torch.distributed.fsdp import FSDPModule

    full = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    dist.barrier()
    if not dist.is_main:
        return
    replaced: dict[int, nn.Parameter] = {}
    for name, param in model.named_parameters():
        replaced[id(param)] = nn.Parameter(full[name].detach().clone(), requires_grad=param.requires_grad)
    for module in model.modules():
        for key, param in list(module._parameters.items()):
            if param is not None and id(param) in replaced:  # shared (tied) parameters stay one tensor
                module._parameters[key] = replaced[id(param)]
        if isinstance(module, FSDPModule):
            module.__class__ = next(c for c in type(module).__bases__ if c is not FSDPModule)
            module._forward_pre_hooks.clear()
            module._forward_hooks.clear()
