"""The device decision as a table: every row asserted with faked capability probes, so the CUDA, MPS and
CUDA_VISIBLE_DEVICES rows are checked on a machine without a GPU."""

from __future__ import annotations

import pytest

from stilt_cli.core import device
from stilt_cli.core.device import Capabilities, decide
from stilt_cli.core.errors import UsageError
from tests import train_data as td
from tests.helpers import write_jsonl

CPU = Capabilities()
A100 = Capabilities(cuda_available=True, cuda_count=2, cuda_names=("NVIDIA A100", "NVIDIA A100"), cuda_bf16=True)
V100 = Capabilities(cuda_available=True, cuda_count=1, cuda_names=("Tesla V100",), cuda_bf16=False)
MAC = Capabilities(mps_available=True)
HIDDEN = Capabilities(cuda_available=True, cuda_count=1, cuda_names=("NVIDIA A100",), cuda_bf16=True,
                      cuda_visible_devices="")

TABLE = [  # capabilities, --device, --precision, local rank -> device, autocast dtype, grad scaler
    (A100, "auto", "auto", None, "cuda", "bfloat16", False),
    (A100, "cuda", "fp16", None, "cuda", "float16", True),
    (A100, "cuda:1", "fp32", None, "cuda:1", None, False),
    (A100, "auto", "auto", 1, "cuda:1", "bfloat16", False),  # under torchrun: the GPU of the local rank
    (A100, "cpu", "auto", None, "cpu", None, False),
    (V100, "auto", "auto", None, "cuda", "float16", True),
    (V100, "cuda", "fp16", None, "cuda", "float16", True),
    (MAC, "auto", "auto", None, "mps", None, False),
    (MAC, "mps", "bf16", None, "mps", "bfloat16", False),
    (MAC, "mps", "fp16", None, "mps", "float16", True),
    (CPU, "auto", "auto", None, "cpu", None, False),
    (CPU, "auto", "fp32", None, "cpu", None, False),
    (CPU, "cpu", "bf16", None, "cpu", "bfloat16", False),
    (CPU, "cpu", "fp16", None, "cpu", "float16", True),
    (CPU, "auto", "auto", 0, "cpu", None, False),
    (HIDDEN, "auto", "auto", None, "cpu", None, False),  # CUDA_VISIBLE_DEVICES="" hides the GPU
]


@pytest.mark.parametrize("caps, requested, precision, rank, where, amp, scaler", TABLE)
def test_device_table(caps, requested, precision, rank, where, amp, scaler):
    choice = decide(requested, precision, caps, local_rank=rank)
    assert (choice.device, choice.amp_dtype, choice.needs_grad_scaler) == (where, amp, scaler)
    assert choice.type == where.split(":")[0]
    # CPU-only paths are off elsewhere, visibly (the training log line shows the notes)
    assert choice.sparse_embedding_grad is (where == "cpu")
    assert ("sparse embedding gradient off" in choice.describe()) is (where != "cpu")
    assert choice.ddp_backend == ("nccl" if where.startswith("cuda") else "gloo")


REFUSED = [
    (CPU, "cuda", "auto", "CUDA is not available"),
    (CPU, "cuda:0", "auto", "CUDA is not available"),
    (CPU, "mps", "auto", "MPS is not available"),
    (V100, "cuda", "bf16", "Tesla V100 does not support bf16"),
    (A100, "cuda:2", "auto", "only 2 CUDA device"),
    (HIDDEN, "cuda", "auto", "CUDA_VISIBLE_DEVICES='' hides every GPU"),
    (CPU, "gpu", "auto", "unknown device 'gpu'"),
    (CPU, "cpu", "fp8", "unknown precision 'fp8'"),
]


@pytest.mark.parametrize("caps, requested, precision, message", REFUSED)
def test_impossible_choices_are_usage_errors(caps, requested, precision, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(")) as raised:
        decide(requested, precision, caps)
    assert raised.value.exit_code == 2 and raised.value.hint


def test_stilt_device_and_the_option(monkeypatch):
    monkeypatch.setattr(device, "probe", lambda: A100)
    monkeypatch.setenv("STILT_DEVICE", "cpu")
    assert device.choose().device == "cpu"
    assert device.choose("cuda:1").device == "cuda:1"  # --device wins over STILT_DEVICE
    monkeypatch.delenv("STILT_DEVICE")
    assert device.choose().device == "cuda"
    assert device.ddp_backend() == "nccl"
    monkeypatch.setenv("STILT_DEVICE", "cpu")
    assert device.ddp_backend() == "gloo"


@pytest.mark.parametrize("caps, flavour, backend", [
    (A100, "gpu", "faiss-gpu"), (A100, "cpu", "faiss-cpu"), (A100, "none", "torch"),
    (CPU, "gpu", "faiss-cpu"), (CPU, "cpu", "faiss-cpu"), (CPU, "none", "torch"),
])
def test_search_backend_from_faiss_flavour_and_device(caps, flavour, backend):
    assert device.search_backend(decide("auto", "auto", caps), flavour) == backend


def test_this_machine_probe_is_consistent():
    caps = device.probe()
    choice = device.choose()
    assert choice.is_cuda is caps.has_cuda


def test_device_cuda_without_a_gpu_exits_2(cli, tiny_xlmr, tmp_path, monkeypatch):
    monkeypatch.setattr(device, "probe", lambda: CPU)
    data = write_jsonl(tmp_path / "nli.jsonl", td.nli(8))
    result = cli("target", str(tiny_xlmr), "--task", "xnli", "--data", str(data), "--device", "cuda",
                 "-o", str(tmp_path / "out"), "--max-steps", "1")
    assert result.exit_code == 2
    assert "CUDA is not available" in result.stderr and "--device cpu" in result.stderr
    assert not (tmp_path / "out").exists()


def test_every_environment_report_names_the_cpu_and_its_kernels():
    """`make bench`'s results and `stilt env` name the CPU model and torch's CPU capability (issue 26): two
    machines' figures can be told apart, as the demo's machine signature does."""
    import torch

    from stilt_cli.bench import common

    facts = device.machine()
    assert facts["cpu_capability"] == torch.backends.cpu.get_cpu_capability() and facts["cpu"]
    assert facts["cpu"] == device.cpu_model()
    if _has_model_name():  # Linux: the model name, not just the architecture
        assert facts["cpu"] not in ("", "x86_64", "aarch64")
    bench = common.environment()
    assert bench["cpu"] == facts["cpu"] and bench["cpu_capability"] == facts["cpu_capability"]


def _has_model_name() -> bool:
    try:
        return any(line.startswith("model name") for line in open("/proc/cpuinfo", encoding="utf-8"))
    except OSError:
        return False
