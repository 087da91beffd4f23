"""Raw text for MLM (one sentence or document per line) and stilt's own canonical JSONL, so that a
task's files may also be canonical examples (the demo tasks are laid out that way)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from stilt_cli.core.data.readers._io import Context, Located
from stilt_cli.core.textio import lines, read_jsonl


def read_text(path: Path, ctx: Context) -> Iterator[Located]:
    for number, line in lines(path):
        if line.strip():
            yield f"{path}:{number}", {"id": ctx.next_id(), "lang": ctx.lang, "text": line.strip()}


def read_canonical(path: Path, ctx: Context) -> Iterator[Located]:
    for number, obj in read_jsonl(path, f"{ctx.spec.type} example"):
        if "lang" not in obj and ctx.lang:
            obj["lang"] = ctx.lang
        yield f"{path}:{number}", obj
