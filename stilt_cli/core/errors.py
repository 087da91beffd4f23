"""The error hierarchy: every expected failure is one of these, and maps to one exit code.

A command never lets an expected failure escape as a traceback: `commands/_common.run` catches
`StiltError`, prints `error: <message> (hint: <hint>)` on one stderr line and exits with `exit_code`.
Names the user typed are checked here too: `unknown()` answers a typo with did-you-mean, and
`comma_list()` is the one parser of comma lists (`--langs de,fr`, `--features syntax,genetic`, …).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable

EXIT_OK = 0
EXIT_DATA = 1  # data or runtime error: bad file, missing model, NaN loss, ...
EXIT_USAGE = 2  # usage error: bad option value, unknown name, output exists
EXIT_INTERRUPTED = 75  # EX_TEMPFAIL: interrupted, resumable state saved
EXIT_SIGINT = 130  # 128 + SIGINT: interrupted with nothing resumable to keep (no output written)


class StiltError(Exception):
    """An expected failure, reported as one line with an optional hint."""

    exit_code = EXIT_DATA

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        text = self.message if not self.hint else f"{self.message} (hint: {self.hint})"
        return " ".join(text.split())  # never more than one line


class DataError(StiltError):
    """Input data, checkpoint or model is missing, malformed or inconsistent."""

    exit_code = EXIT_DATA


class UsageError(StiltError):
    """The command line asks for something that cannot be done as asked."""

    exit_code = EXIT_USAGE


class OutputExistsError(UsageError):
    """The output exists and --if-exists did not allow touching it."""


class Interrupted(StiltError):
    """A signal stopped the run after a resumable state was written."""

    exit_code = EXIT_INTERRUPTED


def did_you_mean(name: str, choices: Iterable[str], what: str) -> str:
    """'unknown task 'xnl' (did you mean 'xnli'?)' with the list of choices as the hint source."""
    choices = sorted(set(choices))
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
    text = f"unknown {what} '{name}'"
    if close:
        text += " (did you mean " + " or ".join(f"'{c}'" for c in close) + "?)"
    return text


def unknown(name: str, choices: Iterable[str], what: str, error: type[StiltError] = UsageError) -> StiltError:
    choices = sorted(set(choices))
    shown = ", ".join(choices[:40]) + (" …" if len(choices) > 40 else "")
    return error(did_you_mean(name, choices, what), f"available: {shown}")


def comma_list(value: str | None, option: str, *, choices: Iterable[str] | None = None, what: str = "name",
               normalise: Callable[[str], str] | None = None, example: str = "a,b",
               empty_ok: bool = False, all_word: str | None = "all") -> list[str] | None:
    """`a, b,a` -> ["a", "b"]: in order, blanks and repeats dropped; None when unset or `all_word`.

    Each item goes through `normalise` (which may raise its own error) and, with `choices`, must be
    one of them (a typo gets did-you-mean). A value that names nothing (',') is a usage error unless
    `empty_ok` (then [])."""
    if value is None or not value.strip() or (all_word is not None and value.strip().lower() == all_word):
        return None
    allowed = None if choices is None else set(choices)
    names: list[str] = []
    for raw in value.split(","):
        raw = raw.strip()
        if not raw:
            continue
        name = normalise(raw) if normalise else raw
        if allowed is not None and name not in allowed:
            raise unknown(raw, allowed, what)
        if name not in names:
            names.append(name)
    if not names and not empty_ok:
        raise UsageError(f"{option} is empty", f"give a comma list such as {example} or 'all'")
    return names

