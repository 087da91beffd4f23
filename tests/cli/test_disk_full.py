"""A full disk (or a refused write) while training writes its resumable state or its checkpoint: one line
naming the folder and the fix, exit 1, no temporary left behind, and `--resume` afterwards ends with the
checkpoint an uninterrupted run writes. The failures are injected where the libraries write (safetensors,
torch.save, transformers' save_pretrained) as those libraries report them; one test fills a real, small
tmpfs (skipped where mounting is not permitted)."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import train_data as td
from tests.helpers import write_jsonl

FULL = "Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: \"No space left on device\" })"


def digest(checkpoint: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(checkpoint.rglob("*.safetensors")):
        h.update(str(path.relative_to(checkpoint)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def job(tiny_xlmr, tmp_path_factory):
    from tests.helpers import invoke

    root = tmp_path_factory.mktemp("disk-full")
    nli = write_jsonl(root / "nli.jsonl", td.nli(24))

    def args(out: Path, *extra: str) -> list[str]:
        return ["target", str(tiny_xlmr), "--task", "xnli", "--data", str(nli), "--max-steps", "6",
                "--batch-size", "4", "--save-every", "2", "-o", str(out), *extra]

    reference = root / "reference"
    assert invoke(*args(reference)).exit_code == 0
    return {"root": root, "args": args, "reference": digest(reference)}


def failing_on(call: int, exc: BaseException, real):
    """`real`, except that its `call`-th use raises `exc` (the disk filled up just then)."""
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == call:
            raise exc
        return real(*args, **kwargs)

    return wrapper


def temporaries(root: Path) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.name.endswith((".tmp", ".old")) or ".tmp" in p.name]


def assert_one_line(result, where: str) -> None:
    assert result.exit_code == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    assert where in errors[0] and ("disk full while writing" in errors[0] or "cannot write" in errors[0]), errors
    assert "--resume" in errors[0] and "[(" not in errors[0], errors


@pytest.mark.parametrize("where", ["safetensors", "torch.save", "final-encoder", "final-state", "copytree"])
def test_a_full_disk_while_training_writes_is_one_line_and_resumable(job, where, cli, monkeypatch):
    import safetensors.torch
    import torch
    from safetensors import SafetensorError

    out = job["root"] / f"out-{where}"
    if where == "safetensors":  # the second periodic state's weights
        monkeypatch.setattr(safetensors.torch, "save_model",
                            failing_on(2, SafetensorError(FULL), safetensors.torch.save_model))
    elif where == "torch.save":  # torch's stream writer drops the errno: "unexpected pos"
        error = RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 4416 vs 4310")
        monkeypatch.setattr(torch, "save", failing_on(6, error, torch.save))
    elif where == "final-state":  # the trained weights as the final state (after the states of steps 2 and 4)
        monkeypatch.setattr(safetensors.torch, "save_model",
                            failing_on(3, SafetensorError(FULL), safetensors.torch.save_model))
    elif where == "final-encoder":
        from transformers import PreTrainedModel

        error = SafetensorError(FULL)
        monkeypatch.setattr(PreTrainedModel, "save_pretrained", lambda *a, **k: (_ for _ in ()).throw(error))
    else:  # copying the parent's MLM head: shutil.Error carries a list of (source, target, reason) tuples
        from stilt_cli.core import checkpoint

        def copy(self, parent):
            raise shutil.Error([(str(parent.path), str(self.partial / "mlm_head"),
                                 "[Errno 28] No space left on device")])

        monkeypatch.setattr(checkpoint.Writer, "copy_mlm_head_from", copy)
    result = cli(*job["args"](out))
    assert_one_line(result, str(out) + ".partial")
    assert not out.exists() and not temporaries(job["root"] / f"out-{where}.partial")
    monkeypatch.undo()
    done = cli(*job["args"](out, "--resume"))
    assert done.exit_code == 0, done.stderr
    assert "resumed" in done.stderr
    assert digest(out) == job["reference"] and not out.with_name(out.name + ".partial").exists()


@contextlib.contextmanager
def small_tmpfs(mountpoint: Path, size: str):
    mountpoint.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mountpoint)], check=True,
                       capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True, timeout=20)


def test_a_real_full_filesystem(job, cli, tmp_path):
    """A 6 MiB tmpfs holds the state of step 2 but not the next one beside it; once the disk is grown
    (what freeing space amounts to), `--resume` continues from step 2 in place."""
    with small_tmpfs(tmp_path / "small", "6m") as disk:
        out = disk / "ckpt"
        result = cli(*job["args"](out))
        assert_one_line(result, str(disk))
        assert not out.exists() and not temporaries(disk)
        assert (disk / "ckpt.partial" / "state" / "state.json").is_file()
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True, capture_output=True, timeout=20)
        done = cli(*job["args"](out, "--resume"))
        assert done.exit_code == 0, done.stderr
        assert "resumed from step 2" in done.stderr
        assert digest(out) == job["reference"]
