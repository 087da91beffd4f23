from __future__ import annotations

from stilt_cli.commands._common import Format, Quiet, guard, setup


def command(fmt: Format = "jsonl", quiet: Quiet = False) -> None:
    """Report versions, device (cuda/mps/cpu, bf16), FAISS flavour and offline state."""
    setup(quiet)
    with guard():
        from stilt_cli.core.console import emit
        from stilt_cli.core.device import report

        emit([report()], fmt)
