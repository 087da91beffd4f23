"""BUCC 2018 parallel-sentence mining data: `<xx>-en.<split>.<xx>` and `<xx>-en.<split>.en` hold
`id<TAB>sentence` lines, `<xx>-en.<split>.gold` holds `xx_id<TAB>en_id` lines.

XTREME names the BUCC sample set `dev` and the BUCC training set `test`; the official release names
(`sample`, `training`) and its `<xx>-en/` subfolders are accepted too. The gold file is optional (a
split without it reads as sentences only; mining then says it needs the gold), but every id it names
must exist in the sentence files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from stilt_cli.core import console
from stilt_cli.core.data.readers.tatoeba import read_lines
from stilt_cli.core.errors import DataError
from stilt_cli.core.tasks import langs as langmod

LANGS = ("de", "fr", "ru", "zh")
SPLIT_NAMES = {"dev": ("dev", "sample"), "test": ("test", "training")}


def _folders(data_dir: Path, code: str) -> list[Path]:
    return [data_dir, data_dir / f"{code}-en", data_dir / "bucc2018" / f"{code}-en"]


def _find(data_dir: Path, code: str, split: str, suffix: str) -> Path | None:
    for name in SPLIT_NAMES[split]:
        for folder in _folders(data_dir, code):
            path = folder / f"{code}-en.{name}.{suffix}"
            if path.is_file():
                return path
    return None


def expected_files(code: str, split: str) -> list[str]:
    names = SPLIT_NAMES.get(split, (split,))
    return [f"{code}-en.{name}.{side}" for name in names for side in (code, "en", "gold")]


def _sentences(path: Path) -> list[tuple[str, str]]:
    """(id, sentence) per line; ids must be unique."""
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    for number, line in enumerate(read_lines(path), 1):
        ident, tab, text = line.partition("\t")
        ident = ident.strip()
        if not tab or not ident:
            raise DataError(f"{path}:{number}: expected 'id<TAB>sentence'",
                            "BUCC sentence files have two tab-separated columns")
        if ident in seen:
            raise DataError(f"{path}:{number}: id '{ident}' occurs twice", "ids must be unique within a file")
        seen.add(ident)
        rows.append((ident, text.strip()))
    if not rows:
        raise DataError(f"{path} is empty", "re-download the BUCC files")
    return rows


def _gold(path: Path, src_ids: set[str], tgt_ids: set[str], src_name: str, tgt_name: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for number, line in enumerate(read_lines(path), 1):
        if not line:
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise DataError(f"{path}:{number}: expected 'xx_id<TAB>en_id'")
        src, tgt = parts[0].strip(), parts[1].strip()
        if src not in src_ids:
            raise DataError(f"{path}:{number}: id '{src}' is not in {src_name}", "gold and sentence files must come "
                                                                                 "from the same split")
        if tgt not in tgt_ids:
            raise DataError(f"{path}:{number}: id '{tgt}' is not in {tgt_name}", "gold and sentence files must come "
                                                                                 "from the same split")
        pairs.append((src, tgt))
    if not pairs:
        raise DataError(f"{path} is empty", "a gold file lists at least one xx_id<TAB>en_id pair")
    return pairs


def read_language(data_dir: str | os.PathLike, code: str, split: str) -> list[dict[str, Any]]:
    data_dir = Path(data_dir)
    code = langmod.normalise(code)
    src_path, tgt_path = _find(data_dir, code, split, code), _find(data_dir, code, split, "en")
    if src_path is None or tgt_path is None:
        hint = "looked for " + ", ".join(n for n in expected_files(code, split) if not n.endswith(".gold"))
        if split == "test":
            hint += " (BUCC's test split is the BUCC training set; with only the sample set, use --split dev)"
        raise DataError(f"no BUCC {split} sentence files for '{code}' in {data_dir}", hint)
    src, tgt = _sentences(src_path), _sentences(tgt_path)
    rows: list[dict[str, Any]] = [{"id": i, "lang": code, "side": "src", "text": t, "split": split} for i, t in src]
    rows += [{"id": i, "lang": code, "side": "tgt", "text": t, "split": split} for i, t in tgt]
    gold_path = _find(data_dir, code, split, "gold")
    if gold_path is None:
        console.warn(f"bucc {code} {split}: no gold file ({code}-en.{split}.gold); sentences only")
        return rows
    gold = _gold(gold_path, {i for i, _ in src}, {i for i, _ in tgt}, src_path.name, tgt_path.name)
    rows += [{"lang": code, "link": [s, t], "split": split} for s, t in gold]
    return rows


def available(data_dir: str | os.PathLike, split: str) -> list[str]:
    data_dir = Path(data_dir)
    return [c for c in LANGS if _find(data_dir, c, split, c) is not None
            and _find(data_dir, c, split, "en") is not None]


def read(data_dir: str | os.PathLike, langs: list[str] | None = None, split: str = "dev") -> list[dict[str, Any]]:
    """Canonical retrieval examples of one split for `langs` (None: every language with files present)."""
    data_dir = Path(data_dir)
    split = {"sample": "dev", "training": "test"}.get(split, split)
    if split not in SPLIT_NAMES:
        raise DataError(f"BUCC has splits dev (the sample set) and test (the training set), not '{split}'")
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: no such directory", "point --data-dir at the folder with the BUCC files")
    codes = list(langs) if langs else available(data_dir, split)
    if not codes:
        raise DataError(f"no BUCC {split} sentence files in {data_dir}",
                        "expected <xx>-en." + SPLIT_NAMES[split][0] + ".<xx|en|gold> (xx in de, fr, ru, zh)")
    rows: list[dict[str, Any]] = []
    for code in codes:
        rows.extend(read_language(data_dir, code, split))
    return rows
