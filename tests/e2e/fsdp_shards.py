"""Run under `torchrun --nproc-per-node 2` by test_fsdp.py: one training step of a tiny checkpoint's model
sharded by `core/training/parallel.py`; prints this rank's local parameter and AdamW-state sizes as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from stilt_cli.core import checkpoint, device
from stilt_cli.core.encoders.load import from_checkpoint
from stilt_cli.core.training import distributed, heads, parallel


def main(folder: str) -> None:
    dist = distributed.from_env()
    torch.manual_seed(0)
    encoder = from_checkpoint(checkpoint.load(Path(folder)))
    spec = heads.HeadSpec(name="xnli", type="classification", task="xnli", labels=["a", "b", "c"],
                          hidden_size=encoder.hidden_size)
    model = heads.Model(encoder.model, {"xnli": spec}, {"xnli": heads.build_head(spec)})
    total = sum(p.numel() for p in model.parameters())
    runner = parallel.apply(model, "fsdp", dist, device.choose("cpu", "fp32"))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batch = {"input_ids": torch.tensor([[0, 5, 6, 2], [0, 7, 8, 2]]), "attention_mask": torch.ones(2, 4, dtype=torch.long)}
    runner("xnli", batch).sum().backward()
    runner.clip(model, 1.0)
    optimizer.step()
    state = [t for s in optimizer.state.values() for t in s.values() if torch.is_tensor(t) and t.dim() > 0]
    print(json.dumps({"rank": dist.rank, "total": total, "params": parallel.local_size(model.parameters()),
                      "optimizer": parallel.local_size(state), "sharded": runner.sharded}), flush=True)
    distributed.shutdown(dist)


if __name__ == "__main__":
    main(sys.argv[1])
