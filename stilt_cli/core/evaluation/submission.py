"""Prediction files, written in one place: per-language JSONL (`evaluate --save-predictions`) and the
XTREME submission layout (`--export-xtreme`), and the layout's names that `stilt score` reads back.

Both folders share one layout, `<task>/<split>-<lang>.<ext>` (task folders named as XTREME names them),
so `stilt score --predictions DIR` reads either: the JSONL files hold `{"id", "prediction"}` per
example (a label; a list of tags; an answer text; a choice index; ranked candidate ids), the XTREME files what the
leaderboard expects (`write_predictions`). Every file is written atomically, and its name is built
only from the task name, the split and a language code that passed validation, never from text read
out of the data.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stilt_cli.core import atomic, tasks
from stilt_cli.core.errors import DataError, UsageError

# a split name becomes part of a file name: letters, digits, '_' and '-' only
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,40}")
SAFE_LANG = re.compile(r"[a-z]{2,3}(-[a-z]{2,3})?")


def check_folder(path: Path | None, option: str) -> None:
    if path is not None and path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path}: exists and is not a folder", "give a folder (it is created if missing)")


@dataclass
class PredictionSinks:
    """The prediction folders of one evaluation (either may be None)."""

    task: str
    split: str
    jsonl_dir: Path | None = None
    xtreme_dir: Path | None = None

    def __post_init__(self) -> None:
        check_folder(self.jsonl_dir, "--save-predictions")
        check_folder(self.xtreme_dir, "--export-xtreme")
        if self.jsonl_dir is not None and self.xtreme_dir is not None \
                and self.jsonl_dir.resolve() == self.xtreme_dir.resolve():
            # `stilt score` would find test-de.jsonl and test-de.tsv side by side and refuse the folder
            raise UsageError("--save-predictions and --export-xtreme name the same folder",
                             "give them different folders")
        if not SAFE_NAME.fullmatch(self.split):
            raise UsageError(f"--split '{self.split}': only letters, digits, '_' and '-' are allowed")

    @property
    def active(self) -> bool:
        return self.jsonl_dir is not None or self.xtreme_dir is not None

    def write(self, lang: str, examples: list[dict[str, Any]], predictions: list[Any]) -> list[Path]:
        """Write one language's predictions (aligned with `examples`) to every folder asked for."""
        from stilt_cli.core.textio import write_jsonl

        if not SAFE_LANG.fullmatch(lang):  # validated upstream; a second guard, since it names a file
            raise UsageError(f"language code '{lang}' cannot name a prediction file")
        written: list[Path] = []
        folder = folder_name(self.task)
        if self.jsonl_dir is not None:
            path = self.jsonl_dir / folder / f"{self.split}-{lang}.jsonl"
            write_jsonl(path, ({"id": ex["id"], "prediction": p} for ex, p in zip(examples, predictions)))
            written.append(path)
        if self.xtreme_dir is not None:
            kind = tasks.get(self.task).prediction_shape
            value: Any = predictions
            if kind in ("answer", "ranking"):
                value = {ex["id"]: p for ex, p in zip(examples, predictions)}
            written.append(write_predictions(self.xtreme_dir, self.task, lang, value, split=self.split))
        return written


# ---- the XTREME submission layout -------------------------------------------------------------------

def folder_name(task: str) -> str:
    """The task's folder in the submission layout (XTREME's name for it: bucc -> bucc2018)."""
    return tasks.get(task).submission_folder


# ---- writing (also for `evaluate --export-xtreme`) -------------------------------------------
def write_predictions(root: str | os.PathLike, task: str, lang: str, predictions: Any, split: str = "test") -> Path:
    """Write one language's predictions in the XTREME layout, atomically; returns the file written."""
    spec = tasks.get(task)
    kind = spec.prediction_shape
    atomic.safe_name(split, "split")
    atomic.safe_name(lang, "language")
    path = Path(root) / folder_name(spec.name) / f"{split}-{lang}.{extension(kind)}"
    if kind == "answer":
        text = json.dumps({str(k): str(v) for k, v in dict(predictions).items()}, ensure_ascii=False, indent=1) + "\n"
    elif kind == "ranking":  # Mewsli-X's layout: {example id: [candidate ids, best first]}
        text = json.dumps({str(k): [str(c) for c in v] for k, v in dict(predictions).items()},
                          ensure_ascii=False) + "\n"
    elif kind == "tags":
        sentences = [list(map(str, tags)) for tags in predictions]
        if any(not tags for tags in sentences):
            raise DataError(f"{task} {lang}: an empty sentence cannot be written in the XTREME tag layout")
        text = "\n\n".join("\n".join(tags) for tags in sentences) + "\n"
    elif kind == "pair":
        text = "".join(f"{src}\t{tgt}\n" for src, tgt in predictions)
    else:
        text = "".join(f"{_one_line(value)}\n" for value in predictions)
    atomic.write_text(path, text)
    return path


def extension(kind: str) -> str:
    """The file extension of a prediction shape in XTREME's layout: JSON for answers and rankings."""
    return "json" if kind in ("answer", "ranking") else "tsv"


def _one_line(value: Any) -> str:
    text = str(value)
    if "\n" in text or "\r" in text:
        raise DataError(f"prediction {text!r} spans several lines")
    return text
