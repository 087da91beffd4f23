"""The XNLI-1.0 release: `xnli.{dev,test}.tsv` (header row, all 15 languages in one file) and
`xnli.{dev,test}.jsonl`. Read as XTREME's `xnli_preprocess` does: columns `language`, `gold_label`,
`sentence1`, `sentence2`, texts stripped, 'contradictory' -> 'contradiction'."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from stilt_cli.core import textio
from stilt_cli.core.data.readers._io import Context, Located, clean, field, headed_tsv
from stilt_cli.core.errors import DataError

NEEDED = ("language", "gold_label", "sentence1", "sentence2")


def _label(value: str) -> str:
    value = value.strip()
    return "contradiction" if value == "contradictory" else value


def read_tsv(path: Path, ctx: Context) -> Iterator[Located]:
    expected = "the XNLI-1.0 columns (language gold_label ... sentence1 sentence2 ... pairID), tab-separated"
    names, rows = headed_tsv(path, expected)
    missing = [n for n in NEEDED if n not in names]
    if missing:
        raise DataError(f"{path}:1: not an XNLI-1.0 TSV (header lacks {', '.join(missing)})", f"expected {expected}")
    column = {n: names.index(n) for n in NEEDED}
    pair_column = names.index("pairID") if "pairID" in names else None
    for count, (number, fields) in enumerate(rows, 1):
        lang = fields[column["language"]].strip()
        pair = fields[pair_column].strip() if pair_column is not None else count
        yield f"{path}:{number}", {"id": f"{ctx.split}-{lang}-{pair}", "lang": lang,
                                   "text_a": clean(fields[column["sentence1"]]),
                                   "text_b": clean(fields[column["sentence2"]]),
                                   "label": _label(fields[column["gold_label"]])}


def read_jsonl(path: Path, ctx: Context) -> Iterator[Located]:
    for number, obj in textio.read_jsonl(path, "XNLI-1.0"):
        where = f"{path}:{number}"
        expected = "language, gold_label, sentence1, sentence2, pairID"
        lang = str(field(obj, ("language",), where, expected)).strip()
        yield where, {"id": f"{ctx.split}-{lang}-{obj.get('pairID', number)}", "lang": lang,
                      "text_a": clean(field(obj, ("sentence1",), where, expected)),
                      "text_b": clean(field(obj, ("sentence2",), where, expected)),
                      "label": _label(str(field(obj, ("gold_label",), where, expected)))}
