"""The CLI shell: help, version, every command documented, exit codes, stdout vs stderr."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

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


# what makes `stilt --help` slow is importing these; every command imports them inside its function
HEAVY = ("torch", "transformers", "datasets", "faiss", "sentence_transformers", "numpy", "scipy", "matplotlib")
HELP_THEN_MODULES = textwrap.dedent("""
    import json, runpy, sys
    sys.argv = ["stilt", "--help"]
    try:
        runpy.run_module("stilt_cli", run_name="__main__", alter_sys=True)  # = python -m stilt_cli --help
    except SystemExit as stop:
        status = stop.code
    sys.stderr.write(json.dumps({"status": status, "modules": sorted(sys.modules)}))
""")


def test_help_lists_commands_without_importing_heavy_libraries():
    """A fresh interpreter runs `--help`; afterwards no heavy library is in sys.modules (the time this
    takes is `make bench`'s business, not an assertion here)."""
    result = subprocess.run([sys.executable, "-c", HELP_THEN_MODULES], capture_output=True, text=True, timeout=120)
    report = json.loads(result.stderr.splitlines()[-1])
    assert report["status"] in (0, None), result.stderr
    assert "pretrain-load" in result.stdout and "env" in result.stdout
    loaded = {name.split(".")[0] for name in report["modules"]}
    assert "stilt_cli" in loaded and "typer" in loaded  # the probe saw the real start-up
    assert sorted(loaded & set(HEAVY)) == []


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
    # the machine a figure came from: CPU model and the vector kernels torch picks on it (issue 26)
    import torch

    assert info["cpu"] and info["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    # the verified encoder families, with their retrieval default and the transformers version verified
    assert {"xlmr", "mbert", "labse", "deberta-v2", "rembert", "modernbert", "mt5", "umt5", "xlm-roberta-xl",
            "eurobert"} <= set(info["families"])
    assert info["families"]["eurobert"]["mlm_head"].startswith("EuroBertForMaskedLM `lm_head`")
    assert info["families"]["xlm-roberta-xl"]["retrieval_layer"][0].endswith("(no published choice))")
    assert info["families"]["umt5"]["encoder_class"] == "UMT5EncoderModel"
    assert info["families"]["xlmr"]["retrieval_layer"][0].startswith("14 of 24 (X-STILTs")
    verified = info["families_verified_with"]
    assert verified["installed"] == info["packages"]["transformers"] and verified["transformers"]



def test_env_reports_the_offline_flags_as_the_loaders_read_them(cli, monkeypatch):
    """One reader of HF_*_OFFLINE (`core/hub.py`): `stilt env` says offline exactly when the loaders are."""
    import orjson

    from stilt_cli.core import hub
    from stilt_cli.core.data import hubdata

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the reachability probe fails at once
    for spelling, offline in (("1", True), ("yes", True), ("YES", True), ("true", True), ("On", True), ("0", False),
                              ("no", False)):
        monkeypatch.setenv("HF_DATASETS_OFFLINE", spelling)
        assert hubdata.offline() is offline and hub.datasets_offline() is offline, spelling
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "yes")  # the loaders are offline: so must `stilt env` say
    result = cli("env")
    assert result.exit_code == 0, result.stderr
    info = orjson.loads(result.stdout.strip().splitlines()[0])
    assert info["hf_datasets_offline"] is True and info["hf_hub_offline"] is False
