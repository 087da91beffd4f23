"""The CLI shell: help, version, every command documented, exit codes, stdout vs stderr."""

from __future__ import annotations

import subprocess
import sys
import time

import typer.main

from stilt_cli.cli import app


def _all_commands(group=None, prefix=()):
    click_group = group or typer.main.get_command(app)
    for name, command in click_group.commands.items():
        yield prefix + (name,), command
        if hasattr(command, "commands"):
            yield from _all_commands(command, prefix + (name,))


def test_every_command_has_help_text():
    missing = [" ".join(path) for path, command in _all_commands() if not (command.help or "").strip()]
    assert missing == []


def test_help_lists_commands_and_is_fast():
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "stilt_cli", "--help"], capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - start
    assert "pretrain-load" in result.stdout and "env" in result.stdout
    # heavy libraries are imported lazily: --help must not pay for torch/transformers
    probe = subprocess.run([sys.executable, "-X", "importtime", "-m", "stilt_cli", "--help"], capture_output=True, text=True)
    heavy = [m for m in ("torch", "transformers", "datasets", "faiss") if f" {m}\n" in probe.stderr or f"| {m}\n" in probe.stderr]
    assert heavy == []
    assert elapsed < 5  # generous for a loaded CI machine; typically ~0.2 s


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("stilt ")


def test_usage_error_exit_code(cli):
    result = cli("pretrain-load")
    assert result.exit_code == 2


def test_env_reports_device_and_offline(cli):
    import orjson

    result = cli("env")
    assert result.exit_code == 0, result.stderr
    info = orjson.loads(result.stdout.strip().splitlines()[0])
    assert info["device"] in ("cpu", "cuda", "mps")
    assert info["hf_hub_offline"] is True
    assert info["faiss"] in ("cpu", "gpu", "none")
