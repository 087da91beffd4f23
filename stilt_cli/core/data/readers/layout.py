"""Finding a task's files under `--data-dir`.

A spec lists, per split, candidate files as `format:pattern` (first present wins). A pattern is
looked for, in order:
1. at `DATA_DIR/pattern`;
2. at `DATA_DIR/<task folder>/pattern` (XTREME's `download/<task>/` layout);
3. anywhere below DATA_DIR where the path ends like the pattern, preferring paths that pass through a
   folder named after the task and never through one named after another task (so `--data-dir` may
   point at a whole collection of tasks). Matches in several unrelated folders are refused as
   ambiguous rather than guessed.
A glob pattern (`R*/dev.jsonl`, `en_*-ud-test.conllu`) reads every match, in file-name order.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path

from stilt_cli.core.errors import DataError
from stilt_cli.core.tasks import langs as langmod
from stilt_cli.core.tasks.spec import TaskSpec


@dataclass(frozen=True)
class Candidate:
    format: str
    pattern: str  # with placeholders, as the spec writes it

    def __str__(self) -> str:
        return f"{self.format}:{self.pattern}"


def candidates(spec: TaskSpec, split: str) -> list[Candidate]:
    raw = spec.files.get(split, ())
    if isinstance(raw, str):
        raw = (raw,)
    out = []
    for entry in raw:
        fmt, sep, pattern = entry.partition(":")
        if not sep:  # a bare path: stilt's canonical JSONL (the demo tasks' layout)
            fmt, pattern = "jsonl", entry
        out.append(Candidate(fmt, pattern))
    return out


def split_pair(lang: str) -> tuple[str, str]:
    """MLQA's 'context-question' code ('en-de') -> ('en', 'de'); a plain code is both."""
    context, sep, question = lang.partition("-")
    return (context, question) if sep else (lang, lang)


def fill(pattern: str, lang: str | None, split: str) -> str:
    values = {"split": split}
    if lang is not None:
        context, question = split_pair(lang)
        info = langmod.get(context)
        values.update(lang=context, qlang=question, iso3=info.iso3, laser=info.laser or info.iso3, name=info.name,
                      langname=info.name.lower())
    try:
        return pattern.format(**values)
    except KeyError as exc:
        raise DataError(f"file pattern '{pattern}' needs a language ({exc})", "give --langs") from None


class Tree:
    """Every file below a data dir, listed once (a big download folder is walked a single time)."""

    def __init__(self, root: Path):
        self.root = root
        self._files: list[tuple[str, ...]] | None = None

    def files(self) -> list[tuple[str, ...]]:
        if self._files is None:
            found = []
            for folder, dirs, names in os.walk(self.root):
                # hidden folders, and OUT.partial/ folders of unfinished stilt runs, are never read
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not d.endswith(".partial"))
                rel = Path(folder).relative_to(self.root).parts
                found.extend(rel + (name,) for name in sorted(names))
            self._files = found
        return self._files


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _archive_member(path: Path) -> bool:
    from stilt_cli.core.data.readers.tagging import archive_member_exists

    return archive_member_exists(path)


def _at(base: Path, relpattern: str) -> list[Path]:
    """Files matching the pattern right under `base` (an archive member counts for `x.tar.gz/dev`)."""
    if _is_glob(relpattern):
        return sorted(p for p in base.glob(relpattern) if p.is_file())
    path = base / relpattern
    return [path] if path.is_file() or _archive_member(path) else []


def find(tree: Tree, relpattern: str, folders: tuple[str, ...], foreign: frozenset[str] = frozenset()) -> list[Path]:
    """Files matching `relpattern` (already filled in) under the tree, by the rules of this module."""
    root = tree.root
    for base in (root, *(root / f for f in folders)):
        if base.is_dir() and (hits := _at(base, relpattern)):
            return hits
    parts = tuple(Path(relpattern).parts)
    archive = parts[-2] if len(parts) >= 2 and parts[-2].endswith(".tar.gz") else None
    matches = []
    for rel in tree.files():
        if archive and rel[-1] == archive and fnmatch.fnmatch(rel[-1], parts[-2]):
            member = root.joinpath(*rel) / parts[-1]
            if _archive_member(member):
                matches.append(rel + (parts[-1],))
            continue
        if len(rel) >= len(parts) and all(fnmatch.fnmatchcase(a, b) for a, b in zip(rel[-len(parts):], parts)):
            matches.append(rel)
    matches = [m for m in matches if not foreign.intersection(m[:-len(parts)])]
    if not matches:
        return []
    preferred = [m for m in matches if any(f in m[:-len(parts)] for f in folders)]
    chosen = preferred or matches
    if not _is_glob(relpattern):
        places = sorted({m[:-len(parts)] for m in chosen}, key=lambda m: (len(m), m))
        if len(places) > 1 and not preferred:
            shown = ", ".join("/".join(p) or "." for p in places[:4])
            raise DataError(f"{relpattern} found in several folders under {root} ({shown})",
                            "point --data-dir at the task's own folder")
        chosen = [m for m in chosen if m[:-len(parts)] == places[0]]
    return [root.joinpath(*m) for m in sorted(chosen)]
