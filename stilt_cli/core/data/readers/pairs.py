"""Sentence-pair TSV without quoting: XTREME's preprocessed XNLI / PAWS-X files and PAWS-X originals.

- XTREME (`dev-de.tsv`): `sentence1<TAB>sentence2<TAB>label`, no header; test files of the current
  XTREME download have two columns (labels stripped): read as unlabelled.
- PAWS-X release (`x-final/de/dev_2k.tsv`): header `id sentence1 sentence2 label`.
- XGLUE's NLI `test.txt` has XTREME's three-column layout.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from stilt_cli.core.data.readers._io import Context, Located, clean
from stilt_cli.core.errors import DataError
from stilt_cli.core.textio import lines

EXPECTED = ("sentence1<TAB>sentence2<TAB>label (2 columns for unlabelled test files), "
            "or a header id/sentence1/sentence2/label")


def _header(fields: list[str]) -> dict[str, int] | None:
    names = [f.strip().lower() for f in fields]
    if "sentence1" in names and "sentence2" in names:
        return {name: names.index(name) for name in ("id", "sentence1", "sentence2", "label") if name in names}
    return None


def read(path: Path, ctx: Context) -> Iterator[Located]:
    columns: dict[str, int] | None = None
    width: int | None = None
    for number, line in lines(path):
        if not line.strip():
            continue
        fields = line.split("\t")
        if width is None and columns is None:
            columns = _header(fields)
            if columns is not None:
                width = len(fields)
                continue
        where = f"{path}:{number}"
        if columns is not None:
            if len(fields) != width:
                raise DataError(f"{where}: {len(fields)} fields, the header has {width}", f"expected {EXPECTED}")
            label = fields[columns["label"]].strip() if "label" in columns else None
            example_id = fields[columns["id"]].strip() if "id" in columns else ctx.next_id()
            text_a, text_b = fields[columns["sentence1"]], fields[columns["sentence2"]]
        else:
            if len(fields) not in (2, 3):
                raise DataError(f"{where}: {len(fields)} tab-separated fields, not a sentence-pair TSV",
                                f"expected {EXPECTED}")
            if width is None:
                width = len(fields)
            elif len(fields) != width:
                raise DataError(f"{where}: {len(fields)} fields where earlier lines have {width}",
                                f"expected {EXPECTED}")
            example_id = ctx.next_id()
            text_a, text_b = fields[0], fields[1]
            label = fields[2].strip() if width == 3 else None
        example = {"id": example_id, "lang": ctx.lang, "text_a": clean(text_a), "text_b": clean(text_b),
                   "label": label}
        if label is None:
            example["unlabelled"] = True
        yield where, example
