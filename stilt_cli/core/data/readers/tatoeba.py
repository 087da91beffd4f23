"""Tatoeba (LASER's test sets, as XTREME uses them) in its two release formats.

- LASER's originals, `tatoeba.<xxx>-eng.<xxx>` and `tatoeba.<xxx>-eng.eng` (LASER codes: cmn, swh,
  pes, …; see `core/tasks/langs.py`): line *i* of one file translates line *i* of the other, so the gold is
  the line alignment.
- XTREME's preprocessed copy, `<xx>-en.<xx>` and `<xx>-en.en`: the non-English file is copied
  unchanged, but the English file is written sorted, which hides the alignment. It is readable
  (sentences only, e.g. for `stilt embed`); accuracy needs the original files or XTREME's labels file
  `test-<xx>.tsv` (line *k*: the 0-based line of `<xx>-en.<xx>` that the *k*-th English line translates).

Canonical retrieval examples (`core/data/examples.py`): sentence records `{"id", "lang", "side", "text"}`
with side "src" (the language) or "tgt" (English), and gold records `{"lang", "link": [src, tgt]}`.
Ids are `<xx>:<line>` and `en:<line>` (1-based line numbers of the file read).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from stilt_cli.core import console, textio
from stilt_cli.core.errors import DataError
from stilt_cli.core.tasks import langs as langmod


def read_lines(path: Path) -> list[str]:
    """Lines of a UTF-8 text file, stripped like XTREME strips them; trailing blank lines dropped.
    Interior blank lines are kept: dropping them would shift the alignment."""
    stripped = [line.strip() for _, line in textio.lines(path)]
    while stripped and not stripped[-1]:
        stripped.pop()
    return stripped


def _original(data_dir: Path, laser: str) -> tuple[Path, Path]:
    return data_dir / f"tatoeba.{laser}-eng.{laser}", data_dir / f"tatoeba.{laser}-eng.eng"


def _xtreme(data_dir: Path, code: str) -> tuple[Path, Path]:
    return data_dir / f"{code}-en.{code}", data_dir / f"{code}-en.en"


def _labels_file(data_dir: Path, code: str) -> Path | None:
    for candidate in (data_dir / f"test-{code}.tsv", data_dir / "labels" / f"test-{code}.tsv",
                      data_dir / "labels" / "tatoeba" / f"test-{code}.tsv"):
        if candidate.is_file():
            return candidate
    return None


def expected_files(code: str, split: str = "test") -> list[str]:
    """The file names looked for, for messages and `stilt data check`."""
    laser = langmod.get(code).laser or code
    return [f"tatoeba.{laser}-eng.{laser}", f"tatoeba.{laser}-eng.eng", f"{code}-en.{code}", f"{code}-en.en"]


def available(data_dir: str | os.PathLike, split: str = "test") -> list[str]:
    """Languages (ISO 639-1) with a complete file pair in `data_dir`, in either format."""
    data_dir = Path(data_dir)
    found = []
    for code, lang in langmod.table().items():
        if code == "en":
            continue
        pairs = [_xtreme(data_dir, code)] + ([_original(data_dir, lang.laser)] if lang.laser else [])
        if any(a.is_file() and b.is_file() for a, b in pairs):
            found.append(code)
    return found


def _parallel(src_path: Path, tgt_path: Path) -> tuple[list[str], list[str]]:
    src, tgt = read_lines(src_path), read_lines(tgt_path)
    if not src and not tgt:
        raise DataError(f"{src_path} and {tgt_path} are empty", "re-download the Tatoeba files")
    for path, lines in ((src_path, src), (tgt_path, tgt)):
        if not lines:
            raise DataError(f"{path} is empty", "re-download the Tatoeba files")
    if len(src) != len(tgt):
        raise DataError(
            f"{src_path.name} has {len(src)} lines but {tgt_path.name} has {len(tgt)}",
            "line i of one file must translate line i of the other; the pair is truncated or mismatched",
        )
    return src, tgt


def _sentences(code: str, src: list[str], tgt: list[str], split: str) -> list[dict[str, Any]]:
    rows = [{"id": f"{code}:{i}", "lang": code, "side": "src", "text": t, "split": split} for i, t in enumerate(src, 1)]
    rows += [{"id": f"en:{i}", "lang": code, "side": "tgt", "text": t, "split": split} for i, t in enumerate(tgt, 1)]
    return rows


def _read_labels(path: Path, n_src: int, n_tgt: int) -> list[int]:
    labels = []
    for number, line in enumerate(read_lines(path), 1):
        try:
            value = int(line.split("\t")[0])
        except ValueError:
            raise DataError(f"{path}:{number}: expected a 0-based line number, got '{line[:40]}'") from None
        if not 0 <= value < n_src:
            raise DataError(f"{path}:{number}: line {value} is out of range for {n_src} sentences",
                            "labels must be 0-based line numbers of the non-English file")
        labels.append(value)
    if len(labels) != n_tgt:
        raise DataError(f"{path} has {len(labels)} labels but the English file has {n_tgt} lines",
                        "one label per English line")
    return labels


def read_language(data_dir: str | os.PathLike, code: str, split: str = "test") -> list[dict[str, Any]]:
    """One language's sentences and gold links, from whichever format is present."""
    data_dir = Path(data_dir)
    lang = langmod.get(code)
    code = lang.code
    if lang.laser:
        src_path, tgt_path = _original(data_dir, lang.laser)
        if src_path.is_file() and tgt_path.is_file():
            src, tgt = _parallel(src_path, tgt_path)
            links = [{"lang": code, "link": [f"{code}:{i}", f"en:{i}"], "split": split} for i in range(1, len(src) + 1)]
            return _sentences(code, src, tgt, split) + links
    src_path, tgt_path = _xtreme(data_dir, code)
    if src_path.is_file() and tgt_path.is_file():
        src, tgt = read_lines(src_path), read_lines(tgt_path)
        for path, lines in ((src_path, src), (tgt_path, tgt)):
            if not lines:
                raise DataError(f"{path} is empty", "re-run XTREME's preprocessing or use LASER's original files")
        labels_path = _labels_file(data_dir, code)
        if labels_path is None:
            console.warn(
                f"tatoeba {code}: {tgt_path.name} is XTREME's sorted copy, so the gold alignment is hidden; "
                f"sentences only (accuracy needs LASER's tatoeba.{lang.laser or code}-eng.* files or a labels "
                f"file test-{code}.tsv)"
            )
            return _sentences(code, src, tgt, split)
        labels = _read_labels(labels_path, len(src), len(tgt))
        links = [{"lang": code, "link": [f"{code}:{s + 1}", f"en:{k}"], "split": split}
                 for k, s in enumerate(labels, 1)]
        return _sentences(code, src, tgt, split) + links
    raise DataError(f"no Tatoeba files for '{code}' in {data_dir}",
                    "looked for " + ", ".join(expected_files(code)))


def read(data_dir: str | os.PathLike, langs: list[str] | None = None, split: str = "test") -> list[dict[str, Any]]:
    """Canonical retrieval examples for `langs` (None: every language with files in `data_dir`)."""
    data_dir = Path(data_dir)
    if split != "test":
        raise DataError(f"Tatoeba has only a test split, not '{split}'", "use --split test")
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: no such directory", "point --data-dir at the folder with the Tatoeba files")
    codes = list(langs) if langs else available(data_dir)
    if not codes:
        raise DataError(f"no Tatoeba files in {data_dir}",
                        "expected LASER's tatoeba.<xxx>-eng.<xxx|eng> pairs or XTREME's <xx>-en.<xx|en>")
    rows: list[dict[str, Any]] = []
    for code in codes:
        rows.extend(read_language(data_dir, code, split))
    return rows
