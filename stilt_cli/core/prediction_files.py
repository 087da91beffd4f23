"""Where `stilt evaluate` writes predictions: per-language JSONL (`--save-predictions`) and the XTREME
submission layout (`--export-xtreme`).

Both folders share one layout, `<task>/<split>-<lang>.<ext>` (task folders named as XTREME names them),
so `stilt score --predictions DIR` reads either: the JSONL files hold `{"id", "prediction"}` per
example (a label; a list of tags; an answer text; a choice index), the XTREME files what the
leaderboard expects (`core/scoring.write_predictions`). Every file is written atomically, and its
name is built only from the task name, the split and a language code that passed validation, never
from text read out of the data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stilt_cli.core.errors import UsageError

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
        from stilt_cli.core import scoring, tasks
        from stilt_cli.core.jsonl import write_jsonl

        if not SAFE_LANG.fullmatch(lang):  # validated upstream; a second guard, since it names a file
            raise UsageError(f"language code '{lang}' cannot name a prediction file")
        written: list[Path] = []
        folder = scoring.folder_name(self.task)
        if self.jsonl_dir is not None:
            path = self.jsonl_dir / folder / f"{self.split}-{lang}.jsonl"
            write_jsonl(path, ({"id": ex["id"], "prediction": p} for ex, p in zip(examples, predictions)))
            written.append(path)
        if self.xtreme_dir is not None:
            kind = scoring.shape(tasks.get(self.task))
            value: Any = predictions
            if kind == "answer":
                value = {ex["id"]: p for ex, p in zip(examples, predictions)}
            written.append(scoring.write_predictions(self.xtreme_dir, self.task, lang, value, split=self.split))
        return written
