"""The examples run end to end: the demo chain and the paper grid's tiny mode (offline), and the full paper
grid's wiring (`make -n`: SEEDS seeds, --resume on every training call, `make plan`). The research-question
studies are in tests/e2e/test_studies.py."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

STILT = f"{shlex.quote(sys.executable)} -m stilt_cli"
pytestmark = pytest.mark.slow


def _make(folder: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", OMP_NUM_THREADS="1")
    return subprocess.run(["make", "-C", str(folder), f"STILT={STILT}", f"PY={sys.executable}", *args],
                          capture_output=True, text=True, env=env, timeout=timeout)


def test_paper_grid_full_wiring_dry_run(tmp_path):
    """`make -n` of the full grid: every run x target x seed (SEEDS, default 3), --resume and the LAUNCH prefix
    on every training command; the pretrained encoder's retrieval once."""
    result = _make(ROOT / "examples/paper", "-n", f"OUT={tmp_path}", "LAUNCH=srun --gres=gpu:1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.replace("\\\n", " ").splitlines()
    training = [line for line in lines if " intermediate " in line or " target " in line]
    assert training and all(line.startswith("srun --gres=gpu:1 ") and " --resume " in line for line in training)
    runs, seeds = 1 + 9 + 2, 3  # baseline, nine intermediate tasks, multi-task, continued MLM
    assert sum(" intermediate " in line for line in training) == (9 + 2) * seeds
    assert sum(" target " in line for line in training) == (runs * 6 + 3) * seeds  # mlqa: xquad's head; translate-train
    assert sum(" evaluate " in line for line in lines) == (runs * 7 + 3) * seeds
    assert sum(" retrieve " in line for line in lines) == 2 + (runs - 1) * 2 * seeds
    assert {f"--seed {s} " for s in (1, 2, 3)} <= {m.group(0) for m in map(re.compile(r"--seed \d+ ").search,
                                                                           training) if m}
    # `make commands`: the same training commands, one per line, for a Slurm job array (examples/slurm/)
    commands = _make(ROOT / "examples/paper", "-s", "--no-print-directory", f"OUT={tmp_path}", "commands").stdout
    def words(line: str) -> str:
        return " ".join(line.removeprefix("srun --gres=gpu:1 ").split())

    assert sorted(map(words, commands.splitlines())) == sorted(map(words, training))
    targets = _make(ROOT / "examples/paper", "-s", "--no-print-directory", f"OUT={tmp_path}",
                    "commands", "STAGE=target")
    assert len(targets.stdout.splitlines()) == (runs * 6 + 3) * seeds
    two = _make(ROOT / "examples/paper", "-n", f"OUT={tmp_path}", "SEEDS=2")
    assert sum(" intermediate " in line for line in two.stdout.splitlines()) == (9 + 2) * 2
    multi = next(line for line in training if "inter-multi/s1/encoder" in line and " intermediate " in line)
    assert "--task anli_plus,mnli,qqp,squad_v1,squad_v2,hellaswag,ccg,cosmosqa,commonsenseqa" in multi
    assert any(" summary " in line and "--baseline baseline" in line for line in lines)
    assert any(" correlate " in line for line in lines)


def test_paper_grid_tiny(tmp_path):
    # one seed keeps the tiny grid's time; seeds are checked by the dry run above and by the studies
    result = _make(ROOT / "examples/paper", "TINY=1", "SEEDS=1", f"OUT={tmp_path / 'grid'}")
    assert result.returncode == 0, result.stderr[-3000:]
    results = tmp_path / "grid" / "results"
    runs = ["baseline", "inter-demo-territory-pairs", "inter-demo-names", "inter-multi", "inter-mlm"]
    for run in runs:
        for task in ("demo-names", "demo-name-tags"):
            assert (results / run / "s1" / f"{task}.jsonl").stat().st_size > 0, (run, task)
        parallel = results / run / ("demo-parallel.jsonl" if run == "baseline" else "s1/demo-parallel.jsonl")
        assert parallel.stat().st_size > 0, run
    summary = (results / "summary.md").read_text()
    assert all(run in summary for run in runs)
    assert (results / "correlate" / "inter-multi.jsonl").is_file()
    # make never deleted a checkpoint's manifest as an "intermediate" file
    assert (tmp_path / "grid" / "inter-multi" / "s1" / "encoder" / "stilt.json").is_file()
    plan = _make(ROOT / "examples/paper", "TINY=1", "SEEDS=1", f"OUT={tmp_path / 'grid'}", "plan")
    assert plan.returncode == 0 and "inter-multi/s1/" in plan.stdout and "TOTAL" in plan.stdout, plan.stderr


def test_demo_chain_with_a_tiny_model(tmp_path):
    """`make demo`'s chain, with a tiny encoder instead of e5-small so that it fits the test budget; then
    a rerun reuses everything."""
    args = ["-f", str(ROOT / "examples/demo/Makefile"), f"OUT={tmp_path / 'demo'}", "MODEL=tiny:xlmr",
            "INTER_STEPS=4", "TARGET_STEPS=4", "DEMO_LANGS=de,fr,ja,sw,ar", "FEATURES=syntax,genetic", "SEEDS=0 1"]
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    run = subprocess.run(["make", f"STILT={STILT}", f"PY={sys.executable}", *args], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "zero-shot baseline" in run.stdout and "syntax distance" in run.stdout
    assert "gain-vs-syntax.png" in run.stdout
    tex = (tmp_path / "demo" / "results" / "summary.tex").read_text()  # the paper table beside the summary
    assert tex.count(r"\begin{tabular}") == tex.count(r"\end{tabular}") >= 1 and "xstilts" in tex
    cards = sorted((tmp_path / "demo" / "ckpt").glob("*/encoder/README.md"))
    assert [p.parent.parent.name for p in cards] == ["base", "inter", "target-baseline-s0", "target-baseline-s1",
                                                     "target-xstilts-s0", "target-xstilts-s1"]
    seeds = {json.loads(line)["seed"] for line in (tmp_path / "demo" / "results" / "eval-xstilts.jsonl").open()}
    assert seeds == {0, 1} and "2 seeds: baseline" in run.stdout  # an arm's file holds every seed's evaluation
    assert not list((tmp_path / "demo").rglob("*.partial")) and not list((tmp_path / "demo").rglob("state"))
    again = subprocess.run(["make", f"STILT={STILT}", f"PY={sys.executable}", *args], capture_output=True, text=True,
                           env=env, cwd=ROOT, timeout=300)
    assert again.returncode == 0 and "stilt_cli intermediate" not in again.stdout  # nothing retrained
