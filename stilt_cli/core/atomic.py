"""Atomic outputs and output locks.

Every file stilt writes appears whole or not at all: it is written to a temporary name in the same
directory, flushed, fsynced and renamed over the target. Directories (checkpoints) are built in
`OUT.partial/` and renamed at the end. Two runs given the same output are refused by a lock file,
so Make -j never interleaves them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from stilt_cli.core.errors import DataError, OutputExistsError, UsageError

IF_EXISTS = ("error", "skip", "overwrite")


def _disk_error(path: Path, exc: OSError) -> DataError:
    if exc.errno == errno.ENOSPC:
        return DataError(f"disk full while writing {path}", "free space or write elsewhere; nothing was replaced")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return DataError(f"cannot write {path}: permission denied", "choose a writable output path")
    return DataError(f"cannot write {path}: {exc.strerror or exc}", None)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it over `path` if the block succeeds."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=parent)
        os.close(fd)
    except OSError as exc:
        raise _disk_error(path, exc) from None
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, path)
    except OSError as exc:
        raise _disk_error(path, exc) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        try:
            tmp.write_bytes(data)
        except OSError as exc:
            raise _disk_error(Path(path), exc) from None


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def check_if_exists(policy: str) -> str:
    if policy not in IF_EXISTS:
        raise UsageError(f"--if-exists must be one of {', '.join(IF_EXISTS)}, not '{policy}'")
    return policy


def partial_dir(out: str | os.PathLike) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".partial")


def commit_dir(partial: Path, out: Path, overwrite: bool) -> None:
    """Rename the finished `OUT.partial/` to `OUT`, replacing an old `OUT` only if allowed."""
    if out.exists():
        if not overwrite:
            raise OutputExistsError(f"output {out} appeared while this run was working", "use --if-exists overwrite")
        trash = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, trash)
        os.replace(partial, out)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(partial, out)


@contextlib.contextmanager
def output_lock(out: str | os.PathLike) -> Iterator[None]:
    """Refuse a second concurrent run writing the same output (lock file beside it)."""
    from filelock import FileLock, Timeout

    out = Path(out)
    parent = out.parent if str(out.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(parent / f".{out.name}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise UsageError(
            f"another stilt run is writing {out}", "wait for it, or give this run a different -o"
        ) from None
    try:
        yield
    finally:
        # the lock file stays: unlinking it would let a third run lock a fresh inode
        # while the second still holds the old one
        lock.release()
