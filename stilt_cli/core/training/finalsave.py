"""The final save: from the trained model to the finished checkpoint, with nothing lost at any moment.

At every instant `OUT/` is complete, or `OUT.partial/` can be resumed:

1. `keep_state`: the trained weights (keep-best applied) become the resumable state, marked final, in
   `OUT.partial/state/` (swapped in by renames, like every state). From here `--resume` only saves.
2. The stage writes the encoder, heads, adapters and train log into `OUT.partial/`.
3. `Writer.finish`: `stilt.json` last; then the state is removed (its `state.json` first); then the rename.
   From the manifest on, `--resume` only finishes the rename (`finish_cut_short`).

SIGTERM, SIGINT and SIGUSR1 during all of this do not stop it (`Guard`): the save is short, so the run
finishes it and exits 0. A second signal stops at once, and the stage exits 75 with what is on disk
resumable. Once the save is complete, later signals are ignored until the process exits (exit 0, no
traceback from a finaliser). After SIGKILL, `--resume` continues from the last saved step or finishes the save.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from stilt_cli.core.console import info
from stilt_cli.core.errors import Interrupted, UsageError
from stilt_cli.core.training import trainstate

PAUSE_ENV = "STILT_PAUSE_IN_SAVE"  # for tests only: see pause()
PHASES = ("state", "weights", "manifest", "cleared", "committed")  # in the order the save reaches them
_WOKEN = threading.Event()  # a signal ends a pause: the save it deferred then goes on at once


def pause(phase: str) -> None:
    """A test hook like `trainstate.pause_point`: with STILT_PAUSE_IN_SAVE=PHASE the save says "paused in
    the final save at PHASE" on stderr once it has reached that phase, and holds still for up to a minute
    or until a signal arrives."""
    if os.environ.get(PAUSE_ENV) != phase:
        return
    _WOKEN.clear()
    info(f"paused in the final save at {phase} ({PAUSE_ENV})")
    deadline = time.monotonic() + trainstate.PAUSE_S
    while time.monotonic() < deadline and not _WOKEN.is_set():
        time.sleep(0.05)


def keep_state(directory: Path, model: Any, config_key: str, progress: Any, world: int) -> None:
    """The trained weights as a final resumable state: what `--resume` needs to redo the save (no
    optimizer: no step is left to take)."""
    from safetensors.torch import save_model

    staging = directory.with_name(directory.name + ".tmp")
    with trainstate.writing(directory):
        trainstate.discard(staging)
        staging.mkdir(parents=True)
        save_model(model, str(staging / "model.safetensors"))
        payload = {"schema": trainstate.SCHEMA, "final": True, "world_size": world, "config_key": config_key,
                   "progress": dict(progress.__dict__)}
        (staging / "state.json").write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
    trainstate.swap(directory)
    pause("state")


def resumed(model: Any, runtime: Any) -> Any:
    """With --resume over a final state: its weights loaded into `model` and the training progress
    (loop.Progress) returned, so the stage goes straight to the save; else None (train as usual).

    Under torchrun rank 0 decides and every rank follows (a broadcast): rank 0 alone writes the checkpoint, and
    it removes the state once written, so a slower rank that looked for itself could find none and train."""
    from stilt_cli.core.training import loop

    found = runtime.dist.on_main(lambda: _final_state(model, runtime))
    if found is None:
        return None
    progress = loop.Progress(**found)
    if runtime.tracker is not None:
        runtime.tracker.start(progress.step)
    info(f"resumed after training (step {progress.step}): saving the checkpoint")
    return progress


def _final_state(model: Any, runtime: Any) -> dict[str, Any] | None:
    """On rank 0 (or alone): the final state's training progress, its weights loaded into `model`; None when
    there is no final state (train as usual)."""
    from safetensors.torch import load_model

    from stilt_cli.core.errors import DataError

    if not (runtime.resume and trainstate.exists(runtime.state_dir)):
        return None
    try:
        meta = json.loads((runtime.state_dir / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # the loop's own loading reports it
    if not meta.get("final"):
        return None
    if meta.get("config_key") != runtime.config_key:
        raise UsageError(f"the resumable state in {runtime.state_dir} was made with a different config, data or "
                         "parent", "resume with exactly the original options, or start over with --if-exists overwrite")
    try:
        load_model(model, str(runtime.state_dir / "model.safetensors"), strict=True)
    except Exception as exc:
        raise DataError(f"resumable state {runtime.state_dir} has unreadable weights ({str(exc).splitlines()[0]})",
                        "start over with --if-exists overwrite") from None
    return dict(meta["progress"])


def finish_cut_short(writer: Any, config_key: str, resume: bool) -> bool:
    """With --resume over a complete checkpoint in OUT.partial/ whose rename was cut short: finish it."""
    manifest = writer.finished() if writer is not None and resume else None
    if manifest is None:
        return False
    if manifest.get("config_key") != config_key:
        raise UsageError(f"{writer.partial} holds a checkpoint made with a different config, data or parent",
                         "resume with exactly the original options, or start over with --if-exists overwrite")
    with Guard(writer):
        writer.commit_finished(pause)
    info(f"finished the save an interruption had cut short: {writer.out}")
    return True


class Guard:
    """SIGTERM / SIGINT / SIGUSR1 during the final save: noted, and the save goes on (exit 0 once OUT is
    complete). A second signal stops at once: exit 75 when OUT.partial/ can be resumed, as it can from the
    first phase on (130 only for stdin input, which keeps no state)."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer
        self.received: str | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, number: int, frame: Any) -> None:
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = signal.Signals(number).name
        _WOKEN.set()
        info(f"{self.received} received during the final save: finishing it (a second signal stops at once)")

    def __enter__(self) -> Guard:
        if threading.current_thread() is threading.main_thread():
            for name in trainstate.SIGNALS:
                number = getattr(signal, name, None)
                if number is not None:
                    self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        # a save that completed leaves nothing a signal could protect: from here to the exit it is ignored
        # (restoring the raising handler let a late SIGTERM land in a finaliser, printing a traceback)
        for number, handler in self._previous.items():
            signal.signal(number, signal.SIG_IGN if exc_type is None else handler)
        if exc_type is KeyboardInterrupt and self._resumable():
            raise Interrupted(f"interrupted during the final save ({self.received or 'SIGINT'}, then a second "
                              f"signal: stopped at once); {self.writer.partial} can be resumed",
                              "run the same command again with --resume to finish the save") from None

    def _resumable(self) -> bool:
        state = self.writer.state_dir
        return trainstate.exists(state) or self.writer.finished() is not None
