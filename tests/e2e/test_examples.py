"""The examples run end to end: the demo chain and every example's tiny mode (offline), and the
full paper grid's wiring (`make -n`)."""

from __future__ import annotations

import json
import os
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
    """`make -n` of the full grid: every run x target, the LAUNCH prefix on every training command."""
    result = _make(ROOT / "examples/paper", "-n", f"OUT={tmp_path}", "LAUNCH=srun --gres=gpu:1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    training = [line for line in lines if " intermediate " in line or " target " in line]
    assert training and all(line.startswith("srun --gres=gpu:1 ") for line in training)
    runs = 1 + 9 + 2  # baseline, nine intermediate tasks, multi-task, continued MLM
    assert sum(" intermediate " in line for line in training) == 9 + 2
    assert sum(" target " in line for line in training) == runs * 6 + 3  # mlqa shares xquad's head; translate-train
    assert sum(" evaluate " in line for line in lines) == runs * 7 + 3
    assert sum(" retrieve " in line for line in lines) == runs * 2
    multi = next(line for line in training if "inter-multi/encoder" in line and " intermediate " in line)
    assert "--task anli_plus,mnli,qqp,squad_v1,squad_v2,hellaswag,ccg,cosmosqa,commonsenseqa" in multi
    assert any(" summary " in line and "--baseline baseline" in line for line in lines)
    assert any(" correlate " in line for line in lines)


def test_paper_grid_tiny(tmp_path):
    result = _make(ROOT / "examples/paper", "TINY=1", f"OUT={tmp_path / 'grid'}")
    assert result.returncode == 0, result.stderr[-3000:]
    results = tmp_path / "grid" / "results"
    runs = ["baseline", "inter-demo-territory-pairs", "inter-demo-names", "inter-multi", "inter-mlm"]
    for run in runs:
        for task in ("demo-names", "demo-name-tags", "demo-parallel"):
            assert (results / run / f"{task}.jsonl").stat().st_size > 0, (run, task)
    summary = (results / "summary.md").read_text()
    assert all(run in summary for run in runs)
    assert (results / "correlate" / "inter-multi.jsonl").is_file()
    # make never deleted a checkpoint's manifest as an "intermediate" file
    assert (tmp_path / "grid" / "inter-multi" / "encoder" / "stilt.json").is_file()


@pytest.mark.parametrize("example", ["typology", "alignment", "mt5-xtreme-r", "multilingual-intermediate"])
def test_research_question_examples_tiny(tmp_path, example):
    result = _make(ROOT / "examples/questions" / example, "TINY=1", f"OUT={tmp_path / 'out'}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert list((tmp_path / "out" / "results").glob("*")), result.stdout[-2000:]
    assert not list((tmp_path / "out").rglob("*.partial")) and "rm " not in result.stdout
    if example == "typology":  # the report answers its question: checked by content
        from tests.cli.test_correlate_report import check_typology_example

        check_typology_example(tmp_path / "out" / "results")
    if example == "alignment":  # a LoRA arm beside full fine-tuning, compared on one page
        import json

        report = (tmp_path / "out" / "results" / "report.md").read_text()
        assert all(f"Δ {arm}" in report for arm in ("inter", "inter-lora", "direct")) and "| 0 |" in report
        lora = json.loads((tmp_path / "out" / "inter-lora" / "stilt.json").read_text())
        assert lora["lineage"][-1]["peft"]["method"] == "lora" and "intermediate" in lora["adapters"]
        assert "peft" not in json.loads((tmp_path / "out" / "inter" / "stilt.json").read_text())["lineage"][-1]


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
