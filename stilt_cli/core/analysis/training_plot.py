"""`stilt plot-training`: the training curves of several runs, read from their checkpoints' train logs
(`core/training/trainlog.py`), drawn by `plots.py`."""

from __future__ import annotations

import os
from pathlib import Path

from stilt_cli.core.analysis import plots
from stilt_cli.core.errors import DataError, UsageError
from stilt_cli.core.training import trainlog


def plot(checkpoints: list[str], output: str | os.PathLike, smooth: int = 1) -> int:
    """`stilt plot-training`: the loss and dev curves of several runs on one PNG; returns the run count.

    The loss is a trailing mean over `smooth` steps (1 = raw); the dev curve is the mean main metric over
    the run's tasks (the score model selection used)."""
    if smooth < 1:
        raise UsageError(f"--smooth must be at least 1, not {smooth}")
    loss, dev = [], []
    names = [Path(c).name or str(c) for c in checkpoints]
    for checkpoint, name in zip(checkpoints, names):
        rows = trainlog.read(checkpoint)
        if not rows:
            raise DataError(f"{Path(checkpoint) / trainlog.FILE if Path(checkpoint).is_dir() else checkpoint}: "
                            "empty train log")
        label = name if names.count(name) == 1 else str(checkpoint)
        steps = [r["step"] for r in rows if r.get("loss") is not None]
        values = [r["loss"] for r in rows if r.get("loss") is not None]
        smoothed = [sum(values[max(0, i - smooth + 1):i + 1]) / len(values[max(0, i - smooth + 1):i + 1])
                    for i in range(len(values))]
        loss.append(plots.Curve(label, steps, smoothed))
        evaluated = [r for r in rows if r.get("dev_mean") is not None]
        if evaluated:
            dev.append(plots.Curve(label, [r["step"] for r in evaluated], [r["dev_mean"] for r in evaluated]))
    title = "training loss" + (f" (mean of {smooth} steps)" if smooth > 1 else "") + " and English dev score"
    plots.training_curves(output, loss, dev, title=title)
    return len(loss)
