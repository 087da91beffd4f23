"""Generate docs/CLI.md from the commands' own --help, so the reference cannot drift.

`python -m stilt_cli.docgen > docs/CLI.md` (or `make docs`); a test fails when the file is stale.
"""

from __future__ import annotations

import os

import typer.main


def _walk(command, path: tuple[str, ...]):
    yield path, command
    if hasattr(command, "commands"):
        for name in sorted(command.commands):
            yield from _walk(command.commands[name], path + (name,))


def render() -> str:
    from stilt_cli.cli import app

    os.environ["COLUMNS"] = "100"
    root = typer.main.get_command(app)
    parts = ["# stilt command reference", "", "Generated from `--help` by `python -m stilt_cli.docgen`; do not edit.", ""]
    for path, command in _walk(root, ("stilt",)):
        with command.context_class(command, info_name=" ".join(path), terminal_width=100, max_content_width=100) as ctx:
            text = command.get_help(ctx)
        parts += [f"## {' '.join(path)}", "", "```text", text.rstrip(), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
