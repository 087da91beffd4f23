"""Atomic outputs and output locks.

Every file stilt writes appears whole or not at all: it is written to a temporary name in the same
directory, flushed, fsynced and renamed over the target. Directories (checkpoints) are built in
`OUT.partial/` and renamed at the end. Two runs given the same output are refused by a lock file,
so Make -j never interleaves them.

The output policy (`--if-exists`) is decided here for every writer (checkpoints, embeddings, the demo data):
`decide` answers "write" (absent, or --if-exists overwrite), "compare" (--if-exists skip: the writer keeps
the output only when it was made from the same inputs, and says so) or refuses (--if-exists error).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from stilt_cli.core.errors import DataError, OutputExistsError, UsageError

IF_EXISTS = ("error", "skip", "overwrite")


def disk_error(path: Path, exc: OSError, hint: str | None = None) -> DataError:
    """An OSError while writing `path` as one line with the fix (`hint` replaces the default one)."""
    if exc.errno == errno.ENOSPC:
        return DataError(f"disk full while writing {path}", hint or "free space or write elsewhere; nothing "
                                                                    "was replaced")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return DataError(f"cannot write {path}: permission denied", hint or "choose a writable output path")
    return DataError(f"cannot write {path}: {exc.strerror or exc}", hint)


_FULL = ("no space left on device", "storagefull", "disk quota exceeded", "file too large")
_DENIED = ("permission denied", "permissiondenied", "read-only file system")
_WRITE_FAILED = ("unexpected pos", "file write failed")  # torch.save's stream writer, which drops the errno


def write_failure(exc: BaseException, path: Path) -> OSError | None:
    """A failed write as an OSError with its errno, whichever library raised it: an OSError as it is;
    shutil.Error (copytree's list of (source, target, reason) tuples) as its first failure; safetensors'
    SafetensorError and torch.save's RuntimeError by their text. None when `exc` is not a failed write."""
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list) and exc.args[0]:
        _, target, why = exc.args[0][0]
        return _from_text(str(why), Path(target)) or OSError(errno.EIO, str(why), str(target))
    if isinstance(exc, OSError):
        return exc
    if isinstance(exc, RuntimeError) or type(exc).__name__ == "SafetensorError":
        return _from_text(str(exc), path)
    return None


def _from_text(text: str, path: Path) -> OSError | None:
    lowered = text.lower()
    if any(s in lowered for s in _FULL):
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    if any(s in lowered for s in _DENIED):
        return OSError(errno.EACCES, os.strerror(errno.EACCES), str(path))
    if any(s in lowered for s in _WRITE_FAILED):  # no errno given: a nearly full disk is by far the usual cause
        with contextlib.suppress(OSError):
            if shutil.disk_usage(path if path.is_dir() else path.parent).free < 64 * 2**20:
                return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return OSError(errno.EIO, "the write failed", str(path))
    return None


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it over `path` if the block succeeds."""
    with atomic_group([path], [suffix]) as (tmp,):
        yield tmp


@contextlib.contextmanager
def atomic_group(paths: list[str | os.PathLike], suffixes: list[str] | None = None) -> Iterator[list[Path]]:
    """Files that belong together (embeddings + ids + their description): yield temporary paths; when
    the block succeeds, every one is flushed to disk first, and only then renamed into place, in
    order. With several files the last one marks the set complete: it is removed before the first
    rename, so a crash between renames never leaves an old marker beside new files."""
    paths = [Path(p) for p in paths]
    temps: list[Path] = []
    current = paths[0]  # the file an error message names
    try:
        for current, suffix in zip(paths, suffixes or [""] * len(paths)):
            parent = current.parent if str(current.parent) else Path(".")
            parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{current.name}.", suffix=f".tmp{suffix}", dir=parent)
            os.close(fd)
            temps.append(Path(tmp))
        yield temps
        for tmp, current in zip(temps, paths):  # noqa: B007 - `current` names the file in an error
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o644)
        if len(paths) > 1:
            current = paths[-1]
            current.unlink(missing_ok=True)
        for tmp, current in zip(temps, paths):
            os.replace(tmp, current)
    except OSError as exc:
        raise disk_error(current, exc) from None
    finally:
        for tmp in temps:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def safe_name(value: str, what: str) -> str:
    """A name taken from data or options that becomes part of a file name (a language code, a split):
    refuse anything that could point outside the output folder or hide the file."""
    if (not isinstance(value, str) or not value or value in (".", "..") or value.startswith(".")
            or any(c in value for c in ("/", "\\", "\0")) or any(ord(c) < 32 for c in value)):
        raise DataError(f"{what} {value!r} cannot be part of a file name",
                        "use plain codes such as de, en-de or test")
    return value


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        try:
            tmp.write_bytes(data)
        except OSError as exc:
            raise disk_error(Path(path), exc) from None


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def check_if_exists(policy: str) -> str:
    if policy not in IF_EXISTS:
        raise UsageError(f"--if-exists must be one of {', '.join(IF_EXISTS)}, not '{policy}'")
    return policy


def decide(out: str | os.PathLike, policy: str) -> str:
    """The output policy: "write" when `out` is absent or may be replaced, "compare" when --if-exists skip finds it
    (the writer decides whether it is up to date); --if-exists error refuses an existing output."""
    check_if_exists(policy)
    if not Path(out).exists():
        return "write"
    if policy == "error":
        raise OutputExistsError(f"output {out} already exists", "use --if-exists skip or --if-exists overwrite")
    return "write" if policy == "overwrite" else "compare"


def partial_dir(out: str | os.PathLike) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".partial")


COMMITTED: set[str] = set()  # outputs this process completed: a signal after that is no interruption


def committed(out: str | os.PathLike) -> bool:
    """Whether this process has already renamed `out` into place (it is complete)."""
    return os.path.abspath(out) in COMMITTED


def commit_dir(partial: Path, out: Path, overwrite: bool) -> None:
    """Rename the finished `OUT.partial/` to `OUT`, replacing an old `OUT` only if allowed."""
    _commit_dir(partial, out, overwrite)
    COMMITTED.add(os.path.abspath(out))


def _commit_dir(partial: Path, out: Path, overwrite: bool) -> None:
    if out.exists():
        if not overwrite:
            raise OutputExistsError(f"output {out} appeared while this run was working", "use --if-exists overwrite")
        trash = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, trash)
        os.replace(partial, out)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(partial, out)


_HELD: dict[tuple[int, str], int] = {}  # (thread, lock file) -> depth: a run taking its own lock again


@contextlib.contextmanager
def output_lock(out: str | os.PathLike) -> Iterator[None]:
    """Refuse a second concurrent run writing the same output (lock file beside it). Re-entrant
    within one thread: the command boundary and the writer below it may both ask for it."""
    from filelock import FileLock, Timeout

    out = Path(out)
    parent = out.parent if str(out.parent) else Path(".")
    lock_file = parent / f".{out.name}.lock"
    held = (threading.get_ident(), os.path.abspath(lock_file))
    if held in _HELD:
        _HELD[held] += 1
        try:
            yield
        finally:
            _HELD[held] -= 1
        return
    lock = FileLock(str(lock_file))
    try:
        parent.mkdir(parents=True, exist_ok=True)
        lock.acquire(timeout=0)
    except Timeout:
        raise UsageError(
            f"another stilt run is writing {out}", "wait for it, or give this run a different -o"
        ) from None
    except OSError as exc:  # an unwritable or impossible output folder: say so before any work is done
        raise disk_error(out, exc) from None
    _HELD[held] = 1
    try:
        yield
    finally:
        del _HELD[held]
        # the lock file stays: unlinking it would let a third run lock a fresh inode
        # while the second still holds the old one
        lock.release()
