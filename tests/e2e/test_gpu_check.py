"""`make gpu-check` in its CPU toy mode (GPU_CHECK_DEVICE=cpu), as a whole process, so it cannot rot while
no GPU is at hand: every case runs (the chain in bf16 and fp16 through CPU autocast, the Trainer and
pad-to-128 peers, search and mining, a gloo DDP step), the JSON is written where asked, stdout is the
table, and the packages it imported are those its header lists (beyond torch and transformers)."""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from stilt_cli.bench import gpu_check

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow  # `make test-fast` leaves it out; `make test` runs it


# every installed package outside torch, transformers, the header's list and their requirements is made
# unimportable in the child: the run shows that the list is enough (transformers skips absent optional ones)
BLOCKED_RUN = """
import builtins, json, sys, runpy
blocked = set(json.loads(sys.argv[1]))
real_import = builtins.__import__
def guarded(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and name.split(".")[0] in blocked and name.split(".")[0] not in sys.modules:
        raise ModuleNotFoundError(f"No module named '{name}' (blocked by the test)", name=name)
    return real_import(name, globals, locals, fromlist, level)
builtins.__import__ = guarded
import importlib.util
real_find_spec = importlib.util.find_spec
def hidden(name, package=None):  # availability probes (torch's, transformers') see the package absent
    return None if name.split(".")[0] in blocked else real_find_spec(name, package)
importlib.util.find_spec = hidden
sys.argv = sys.argv[:1]
runpy.run_module("stilt_cli.bench.gpu_check", run_name="__main__", alter_sys=True)
"""


def _blocked_modules() -> list[str]:
    allowed = _closure(["torch", "transformers", *gpu_check.NEEDS]) | {"faiss-cpu", "faiss-gpu"}
    blocked = set()
    for module, dists in md.packages_distributions().items():
        names = {re.sub(r"[-_.]+", "-", d).lower() for d in dists}
        if not names & allowed and module.isidentifier() and module not in sys.stdlib_module_names \
                and module not in ("stilt_cli", "tests"):
            blocked.add(module)
    return sorted(blocked)


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu-check") / "results-gpu-cpu-mode.json"
    env = dict(os.environ, GPU_CHECK_DEVICE="cpu", GPU_CHECK_OUT=str(out), OMP_NUM_THREADS="1",
               PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", BLOCKED_RUN, json.dumps(_blocked_modules())], capture_output=True,
                            text=True, env=env, cwd=ROOT, timeout=600)
    return result, json.loads(out.read_text()) if out.exists() else None


def test_every_case_passes_in_cpu_mode(toy_run):
    result, data = toy_run
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert data["schema"] == gpu_check.SCHEMA and data["mode"] == "cpu-toy"
    assert {"torch", "transformers", "gpu", "driver", "cpu", "cpu_capability"} <= set(data["environment"])
    assert data["environment"]["cpu"] and data["environment"]["cpu_capability"]  # two machines' figures told apart
    assert set(data["cases"]) == {"chain", "large", "lora", "retrieval", "ddp", "fsdp"}
    assert all(r["ok"] is not False for r in data["rows"])
    measures = [r["measure"] for r in data["rows"]]
    assert any(m.startswith("bf16 on cpu") for m in measures) and any(m.startswith("fp16 on cpu") for m in measures)
    assert {"stilt: samples/s", "pad128: samples/s", "trainer: samples/s"} <= set(measures)
    assert any("margin mining" in m for m in measures) and any("DDP step" in m for m in measures)
    assert {"full: samples/s", "lora: samples/s", "LoRA / full: step time", "LoRA / full: peak memory"} <= set(measures)
    assert any(m.startswith("1 process(es): loss") for m in measures)  # the fsdp case: sharded, trained
    assert any(m.startswith("plan memory estimate / measured peak") for m in measures)
    assert not (ROOT / "bench" / "results-gpu.json").exists() or "results-gpu.json" in _tracked()


def _tracked() -> str:
    return subprocess.run(["git", "ls-files", "bench"], capture_output=True, text=True, cwd=ROOT).stdout


def test_stdout_is_the_table_and_progress_is_on_stderr(toy_run):
    result, _ = toy_run
    assert result.stdout.lstrip().startswith("stilt gpu-check") and "wrote " not in result.stdout
    assert "{'train_runtime'" not in result.stdout  # the Trainer's own print goes to stderr
    assert "gpu-check: chain" in result.stderr


def _closure(names: list[str]) -> set[str]:
    """Distributions that `names` pull in (their non-extra requirements, recursively)."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        for text in requires:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def test_runs_with_only_what_the_header_lists(toy_run):
    """The toy run above had every other package blocked; and the header names the list."""
    _, data = toy_run
    blocked = set(_blocked_modules())
    assert "datasets" in blocked or "datasets" not in md.packages_distributions()  # the blocking is real
    assert not blocked & set(data["imported"])
    assert all(name in gpu_check.__doc__ for name in gpu_check.NEEDS)
