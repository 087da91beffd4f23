"""Multi-task sampling: which task each optimizer step trains, over any subset of tasks.

A task's size is the number of steps its own epochs need (batches per epoch x epochs), so with
proportional sampling every task finishes its epochs together, in expectation.

- `proportional`: p(t) ~ size(t)
- `temperature`: p(t) ~ size(t) ** (1 / T)  (T = 1 is proportional, T -> inf is uniform)
- `uniform`: p(t) = 1 / number of tasks

The whole schedule is drawn up front from the seed, so the task of step s is known from s alone
(what makes resuming exact).
"""

from __future__ import annotations

import numpy as np

from stilt_cli.core.errors import UsageError

METHODS = ("proportional", "temperature", "uniform")


def probabilities(sizes: list[int], method: str = "proportional", temperature: float = 2.0) -> np.ndarray:
    if method not in METHODS:
        raise UsageError(f"unknown sampling '{method}'", f"use one of {', '.join(METHODS)}")
    if not sizes or min(sizes) <= 0:
        raise ValueError("every task needs at least one step")
    sizes_arr = np.asarray(sizes, dtype=np.float64)
    if method == "uniform":
        weights = np.ones_like(sizes_arr)
    elif method == "temperature":
        if temperature <= 0:
            raise UsageError(f"--temperature must be positive, not {temperature}")
        weights = sizes_arr ** (1.0 / temperature)
    else:
        weights = sizes_arr
    return weights / weights.sum()


def schedule(sizes: list[int], total_steps: int, method: str = "proportional", temperature: float = 2.0,
             seed: int = 0) -> np.ndarray:
    """The task index of every step (int array of length `total_steps`)."""
    if len(sizes) == 1:
        return np.zeros(total_steps, dtype=np.int64)
    p = probabilities(sizes, method, temperature)
    rng = np.random.default_rng([seed, 0x5A3])  # its own stream: independent of batching and init
    return rng.choice(len(sizes), size=total_steps, p=p).astype(np.int64)


def positions(plan: np.ndarray) -> np.ndarray:
    """For every step, how many steps of the same task came before it: the index into that
    task's batch stream."""
    out = np.zeros_like(plan)
    for task in np.unique(plan):
        where = plan == task
        out[where] = np.arange(int(where.sum()))
    return out
