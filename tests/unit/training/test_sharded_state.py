"""The sharded state's metadata is read with an allowlist: torch's own classes load, a crafted pickle runs nothing."""

from __future__ import annotations

import pickle
import warnings

import pytest
import torch

from stilt_cli.core.errors import DataError
from stilt_cli.core.training import sharded_state


class _Planted:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))  # would create the marker file when unpickled


def test_real_metadata_loads(tmp_path):
    import torch.distributed.checkpoint as dcp

    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "assuming the intent is to save in a single process"
        dcp.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                  "half": torch.ones(2, dtype=torch.bfloat16)}, checkpoint_id=str(tmp_path))
    keys = sharded_state.read_metadata(tmp_path).state_dict_metadata
    assert {"model.weight", "optimizer.state.0.exp_avg", "half"} <= set(keys)


def test_crafted_metadata_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    (tmp_path / ".metadata").write_bytes(pickle.dumps({"x": _Planted(marker)}))
    with pytest.raises(DataError, match="not plain checkpoint metadata"):
        sharded_state.read_metadata(tmp_path)
    assert not marker.exists()
