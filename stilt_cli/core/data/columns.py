"""Feature columns on disk: numeric columns as `.npy` (ragged ones as flat values + row offsets,
loaded memory-mapped as `Ragged`), everything else (strings, nulls, nested objects) as JSON.

The storage format of the tokenized cache (`core/data/cache.py`); nothing here knows about keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

_INT32 = np.iinfo(np.int32)


class Ragged(Sequence):
    """Rows of different lengths stored as one flat array plus row offsets; row i is a numpy view."""

    def __init__(self, values: np.ndarray, offsets: np.ndarray):
        self.values = values
        self.offsets = offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self.values[self.offsets[index]:self.offsets[index + 1]]

    @property
    def lengths(self) -> np.ndarray:
        """Row lengths, for length-grouped batching without touching the values."""
        return np.diff(self.offsets)

    def tolist(self) -> list[list[Any]]:
        return [row.tolist() for row in self]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _dtype(flat: Sequence[Any]) -> np.dtype | None:
    """The numpy dtype for a flat run of scalars, or None when they are not all numbers / all bools."""
    if len(flat) and all(isinstance(v, (bool, np.bool_)) for v in flat):
        return np.dtype(bool)
    if not all(_is_number(v) for v in flat):
        return None
    if all(isinstance(v, (int, np.integer)) for v in flat):
        if not flat or (_INT32.min <= min(flat) and max(flat) <= _INT32.max):
            return np.dtype(np.int32)
        return np.dtype(np.int64)
    return np.dtype(np.float64)


def encode(values: Sequence[Any]) -> tuple[str, dict[str, np.ndarray] | None]:
    """-> (layout, arrays): 'scalar' (one array), 'ragged' (values + offsets; rows of scalars or of
    equal-length number tuples such as offset pairs), or 'json' (arrays None: stored as JSON)."""
    if isinstance(values, np.ndarray) and values.dtype != object:
        return "scalar", {"values": values}
    if all(not isinstance(v, (list, tuple, np.ndarray)) for v in values):
        dtype = _dtype(values)
        return ("scalar", {"values": np.asarray(values, dtype=dtype)}) if dtype is not None else ("json", None)
    if not all(isinstance(v, (list, tuple, np.ndarray)) for v in values):
        return "json", None
    flat = [item for row in values for item in row]
    if flat and all(isinstance(v, (list, tuple)) for v in flat):  # e.g. [[start, end], ...] per row
        widths = {len(v) for v in flat}
        inner = [x for v in flat for x in v]
        dtype = _dtype(inner)
        if len(widths) != 1 or dtype is None:
            return "json", None
        data = np.asarray(inner, dtype=dtype).reshape(len(flat), widths.pop())
    else:
        dtype = _dtype(flat)
        if dtype is None:
            return "json", None
        data = np.asarray(flat, dtype=dtype)
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum([len(row) for row in values], out=offsets[1:])
    return "ragged", {"values": data, "offsets": offsets}


def in_memory(columns: dict[str, list]) -> dict[str, Any]:
    """The same column types a cache hit returns, without touching the disk."""
    out: dict[str, Any] = {}
    for name, values in columns.items():
        layout, arrays = encode(values)
        if layout == "scalar":
            out[name] = arrays["values"]
        elif layout == "ragged":
            out[name] = Ragged(arrays["values"], arrays["offsets"])
        else:
            out[name] = list(values)
    return out


def load_array(path: Path) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError:
        # an empty array cannot be memory-mapped (mmap of 0 bytes); a real format error raises again here
        return np.load(path, allow_pickle=False)
