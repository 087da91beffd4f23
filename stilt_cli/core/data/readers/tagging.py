"""Token-per-line tagging files: XTREME's `token<TAB>tag` (UD-POS, PAN-X), CCG `token<TAB>supertag`,
and PAN-X's raw Rahimi-split files whose tokens carry a `lang:` prefix (read straight from a
`{lang}.tar.gz` archive when that is what the folder holds). A blank line ends a sentence; a file
whose tokens have no tag column (XTREME's label-stripped tests) reads as unlabelled."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

from stilt_cli.core import console
from stilt_cli.core.data.readers._io import Context, Located
from stilt_cli.core.errors import DataError
from stilt_cli.core.textio import lines

EXPECTED = "one token<TAB>tag per line (or token alone, unlabelled), a blank line between sentences"


def _sentences(path: Path, ctx: Context, data: bytes | None, split_token) -> Iterator[Located]:
    tokens: list[str] = []
    tags: list[str] = []
    start = 0
    labelled: bool | None = None

    def flush() -> Located:
        example = {"id": ctx.next_id(), "lang": ctx.lang, "tokens": tokens, "tags": tags if labelled else None}
        if not labelled:
            example["unlabelled"] = True
        return f"{path}:{start}", example

    source = path if data is None else io.BytesIO(data)
    for number, line in lines(source, name=str(path)):
        if not line.strip():
            if tokens:
                yield flush()
                tokens, tags = [], []
            continue
        fields = line.split("\t")
        where = f"{path}:{number}"
        if len(fields) > 2:
            raise DataError(f"{where}: {len(fields)} tab-separated fields, not a token<TAB>tag file",
                            f"expected {EXPECTED}")
        has_tag = len(fields) == 2
        if labelled is None:
            labelled = has_tag
        elif has_tag != labelled:
            raise DataError(f"{where}: {'a tag' if has_tag else 'no tag'} where earlier lines "
                            f"{'have none' if has_tag else 'have one'}", f"expected {EXPECTED}")
        token = split_token(fields[0], where)
        if token is None:
            continue
        if not tokens:
            start = number
        tokens.append(token)
        if has_tag:
            tag = fields[1].strip()
            if not tag:
                raise DataError(f"{where}: empty tag", f"expected {EXPECTED}")
            tags.append(tag)
    if tokens:
        yield flush()


def read(path: Path, ctx: Context) -> Iterator[Located]:
    def plain(token: str, where: str) -> str:
        token = token.strip()
        if not token:
            raise DataError(f"{where}: empty token", f"expected {EXPECTED}")
        return token

    yield from _sentences(path, ctx, None, plain)


def read_panx_raw(path: Path, ctx: Context) -> Iterator[Located]:
    """`lang:token<TAB>tag`; like XTREME's `panx_preprocess`, the text after the first ':' is the token
    and a line without ':' is dropped (reported)."""
    dropped = 0

    def prefixed(token: str, where: str) -> str | None:
        nonlocal dropped
        index = token.find(":")
        if index == -1:
            dropped += 1
            return None
        return token[index + 1:].strip()

    data = None
    archive, member = path.parent, path.name
    if not path.exists() and archive.is_file() and archive.name.endswith(".tar.gz"):
        data = _from_archive(archive, member)
    yield from _sentences(path, ctx, data, prefixed)
    if dropped:
        console.warn(f"{path}: dropped {dropped} lines without a 'lang:' token prefix (as XTREME does)")


def _from_archive(archive: Path, member: str) -> bytes:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for info in tar.getmembers():
                if info.isfile() and Path(info.name).name == member:
                    handle = tar.extractfile(info)
                    return handle.read() if handle else b""
    except (tarfile.TarError, OSError) as exc:
        raise DataError(f"{archive}: not a readable .tar.gz archive ({exc})") from None
    raise DataError(f"{archive}: has no member '{member}'", "a PAN-X archive holds dev, test and train")


def archive_member_exists(path: Path) -> bool:
    """For `{lang}.tar.gz/{split}` patterns whose archive is a real file rather than a folder."""
    archive = path.parent
    if not (archive.is_file() and archive.name.endswith(".tar.gz")):
        return False
    try:
        with tarfile.open(archive, "r:gz") as tar:
            return any(Path(n).name == path.name for n in tar.getnames())
    except (tarfile.TarError, OSError):
        return False

