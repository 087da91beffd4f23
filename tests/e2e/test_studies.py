"""The five research-question studies (examples/questions/), each in its TINY mode (offline, tiny models): the
wiring, not the numbers. Every report names its question, has a no-intermediate baseline arm, >= 2 seeds
paired by index, effects with intervals, an answer worded from them and what the numbers cannot tell;
`make plan` lists every run (arm x seed x task) with its GPU-hours. Question 1's grid is interrupted (SIGTERM
to make's process group while a training stage is paused at a step), shown resumable by `stilt status`,
rerun to completion from the saved step, and gives the report an uninterrupted grid gives. Question 3 reuses
question 1's runs (nothing is trained twice)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.slow
STILT = f"{shlex.quote(sys.executable)} -m stilt_cli"
QUESTIONS = ROOT / "examples/questions"
SECTIONS = ("## Arms", "## Answer", "## What these numbers cannot tell")
EFFECT = re.compile(r"\| [+-]?\d+\.\d+ \[[+-]?\d+\.\d+, [+-]?\d+\.\d+\] \|")


def _env(**extra: str) -> dict[str, str]:
    return dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", OMP_NUM_THREADS="1", **extra)


def _make(study: str, out: Path, *args: str, timeout: int = 1800, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-C", str(QUESTIONS / study), "TINY=1", f"OUT={out}", f"STILT={STILT}",
                           f"PY={sys.executable}", *args], capture_output=True, text=True, env=_env(**env),
                          timeout=timeout)


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def check_study(out: Path, question: int, arms: set[str], effects: set[tuple[str, str]]) -> str:
    """What every study's TINY run must show; returns the report."""
    results = out / "results"
    report = (results / "report.md").read_text(encoding="utf-8")
    assert report.startswith(f"# Question {question}: ")
    assert all(section in report for section in SECTIONS), report[:2000]
    assert EFFECT.search(report), "no effect with its 95 % interval"
    # the study's own sections (question 1 also embeds correlate's page, whose headings are one level down)
    answer = report.split("\n## Answer\n", 1)[1].split("\n## ", 1)[0].strip()
    assert answer and re.search(r"\[[+-]?\d", answer), answer  # worded from numbers, which it quotes
    assert report.split("\n## What these numbers cannot tell\n", 1)[1].strip().startswith("- ")
    records = _records(results / "effects.jsonl") if (results / "effects.jsonl").is_file() else []
    found = {(r["params"]["base"], r["params"]["arm"]) for r in records if r["kind"] == "effect"}
    assert effects <= found, found
    assert arms <= {r["params"]["arm"] for r in records if r["kind"] == "summary"}
    trained = [r for r in records if r["kind"] == "effect" and r["params"]["level"] == "task"]
    assert trained and all(r["n_seeds"] >= 2 for r in trained), [(r["task"], r["n_seeds"]) for r in trained]
    assert not list(out.rglob("*.partial"))
    return report


def check_plan(study: str, out: Path, arms: set[str], seeds: int = 2) -> None:
    """`make plan`: one row per run (arm x seed x task), GPU-hours each and a total, before any training."""
    result = _make(study, out, "plan", "--no-print-directory", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    text = result.stdout
    for arm in arms:
        for seed in range(1, seeds + 1):
            assert f"{arm}/s{seed}/" in text, (arm, seed, text[-2000:])
    assert "TOTAL" in text


def _status(*folders: Path) -> dict[str, dict]:
    result = subprocess.run([*shlex.split(STILT), "status", *map(str, folders), "--format", "jsonl"],
                            capture_output=True, text=True, env=_env(), timeout=300)
    assert result.returncode == 0, result.stderr
    return {row["path"]: row for row in map(json.loads, result.stdout.splitlines())}


def _interrupt(out: Path, pause: int) -> str:
    """Run question 1's grid until a training stage pauses at step `pause`, then SIGTERM make's process group."""
    command = ["make", "-C", str(QUESTIONS / "typology"), "TINY=1", f"OUT={out}", f"STILT={STILT}",
               f"PY={sys.executable}"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=_env(STILT_PAUSE_AT_STEP=str(pause), STILT_QUIET="0", PYTHONUNBUFFERED="1"),
                            start_new_session=True)
    lines = []
    try:
        for line in proc.stderr:
            lines.append(line)
            if line.startswith(f"paused at step {pause}"):
                os.killpg(proc.pid, signal.SIGTERM)
                break
        lines.extend(proc.stderr)
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode != 0, "".join(lines)[-2000:]
    return "".join(lines)


def test_questions_1_and_3_share_runs_and_survive_an_interruption(tmp_path):
    """Question 1 runs, is interrupted in a training stage and resumed; question 3 then reuses its runs."""
    out = tmp_path / "typology"
    first = _make("typology", out)
    assert first.returncode == 0, first.stderr[-3000:]
    uninterrupted = check_study(out, 1, {"baseline", "xstilts"}, {("baseline", "xstilts")})
    check_plan("typology", out, {"xstilts"})
    from tests.cli.test_correlate_report import check_typology_example

    check_typology_example(out / "results")

    # the same grid again, the second seed's intermediate stage interrupted at step 4 of 8 (saved every 2)
    interrupted = out / "xstilts" / "s2"
    shutil.rmtree(interrupted)
    for stale in ("xstilts/demo-parallel-s2.jsonl", "xstilts.jsonl", "effects.jsonl", "correlate.jsonl",
                  "report.md"):
        (out / "results" / stale).unlink()
    stderr = _interrupt(out, 4)
    assert "saved resumable state at step 4" in stderr or "resumable state" in stderr, stderr[-2000:]
    before = _status(out / "xstilts")
    assert before[str(interrupted)]["state"] in ("resumable", "failed-resumable"), before
    # the pause held the stage after its save at step 4: make's own SIGTERM to its child stops it there at once;
    # where that second signal comes late (a loaded machine) the first one saves at the end of step 5
    step = before[str(interrupted)]["step"]
    assert step in (4, 5), before
    assert before[str(out / "xstilts" / "s1")]["state"] == "complete"

    rerun = _make("typology", out)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"resumed from step {step} of 8" in rerun.stderr
    assert _status(out / "xstilts")[str(interrupted)]["state"] == "complete"
    assert (out / "results" / "report.md").read_text(encoding="utf-8") == uninterrupted

    # question 3 on question 1's runs: nothing trained again
    similarity = tmp_path / "similarity"
    result = _make("similarity", similarity, f"TYPOLOGY_OUT={out}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert " intermediate " not in result.stdout and " target " not in result.stdout
    report = (similarity / "results" / "report.md").read_text(encoding="utf-8")
    assert report.startswith("# Question 3: ") and all(section in report for section in SECTIONS)
    ranking = [r for r in _records(similarity / "results" / "ranking.jsonl") if r["kind"] == "ranking"]
    assert [r["rank"] for r in ranking] == [1, 2, 3, 4]
    assert {r["params"]["measure"] for r in ranking} == {"syntax", "phonology", "script", "subword-overlap"}
    assert "| rank | measure | R² [95 % CI]" in report and EFFECT.search(report)


@pytest.mark.parametrize("study, question, arms, effects", [
    ("alignment", 2, {"base", "inter", "inter-lora", "direct"},
     {("base", "inter"), ("base", "inter-lora"), ("base", "direct"), ("direct", "inter")}),
    ("mt5-xtreme-r", 4, {"baseline", "xstilts"}, {("baseline", "xstilts")}),
    ("multilingual-intermediate", 5, {"baseline", "english", "multilingual"},
     {("baseline", "english"), ("baseline", "multilingual"), ("english", "multilingual")}),
])
def test_study_tiny(tmp_path, study, question, arms, effects):
    out = tmp_path / study
    result = _make(study, out)
    assert result.returncode == 0, result.stderr[-3000:]
    report = check_study(out, question, arms, effects)
    check_plan(study, out, arms - {"base", "baseline"})
    if study == "alignment":  # a LoRA arm beside full fine-tuning; per-layer tables as before
        assert all(f"Δ {arm}" in report for arm in ("inter", "inter-lora", "direct")) and "| 0 |" in report
        lora = json.loads((out / "inter-lora" / "s1" / "stilt.json").read_text())
        assert lora["lineage"][-1]["peft"]["method"] == "lora" and "intermediate" in lora["adapters"]
    if study == "mt5-xtreme-r":  # the morphology regression controls for fertility and subword overlap
        assert "## Gain against morphological distance from English" in report
        terms = {r["params"]["term"] for r in _records(out / "results" / "morphology.jsonl")
                 if r["kind"] == "regression" and r["metric"] == "coefficient"}
        assert {"fertility", "subword-overlap"} < terms
        assert json.loads((out / "base" / "stilt.json").read_text())["encoder"]["family"] == "mt5"
    if study == "multilingual-intermediate":
        assert "## Each task per arm: official metric and F1 where defined" in report
        assert "## XTREME-R score of each arm" in report
