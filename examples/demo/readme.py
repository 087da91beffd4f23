"""Run the demo cold and either write its transcript into README.md or check README.md against it.

    python examples/demo/readme.py write   # `make readme-demo`: regenerate README's demo block
    python examples/demo/readme.py check   # `make demo-check` (CI): exit 1 when README's numbers drift

Cold means nothing is reused: the run's output, stilt's caches (tokenized features, typology), the
Hugging Face and matplotlib caches all live in a fresh `demo-out/cold/` inside the clone, so a second
check on the same machine does the same work as CI's first. Progress goes to stderr; stdout stays empty.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import transcript

ROOT = Path(__file__).resolve().parents[2]
COLD = "demo-out/cold"  # relative to ROOT; removed before every run
REGENERATE = "make readme-demo"


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _fail(message: str, hint: str) -> None:
    _say(f"error: {message} (hint: {hint})")
    raise SystemExit(1)


def run_cold(out: Path) -> tuple[str, float]:
    """The demo chain from nothing, then report.py's printout with the paths `make demo` would print."""
    shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ, STILT_CACHE=str(out / "cache"), HF_HOME=str(out / "hf"),
               MPLCONFIGDIR=str(out / "matplotlib"), XDG_CACHE_HOME=str(out / "xdg"))
    bin_dir = Path(sys.executable).parent
    command = ["make", "-f", "examples/demo/Makefile", f"OUT={COLD}", f"PY={sys.executable}", f"STILT={bin_dir / 'stilt'}"]
    _say(f"demo: a cold run in {COLD}/ (about 8 minutes on 2 CPU cores): {' '.join(command)}")
    started = time.monotonic()
    # the chain's own output is progress here: it goes to stderr, as everything but data does
    done = subprocess.run(command, cwd=ROOT, env=env, stdout=sys.stderr, stderr=sys.stderr)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        _fail(f"the demo failed (exit {done.returncode}); its output is above", f"rerun `{' '.join(command)}`")
    report = subprocess.run([sys.executable, "examples/demo/report.py", COLD], cwd=ROOT, env=env,
                            capture_output=True, text=True, check=True)
    return report.stdout.replace(f"{COLD}/", "demo-out/"), seconds


def machine() -> str:
    """CPU model, torch's thread count (what the demo's processes get from this environment), torch version."""
    import torch

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), None) if Path("/proc/cpuinfo").exists() else None
    threads = torch.get_num_threads()
    return f"{cpu or os.uname().machine}, {threads} torch thread{'s' * (threads != 1)}, torch {torch.__version__}"


def commit() -> str:
    """The commit the numbers come from; code changes not yet committed are named (README.md's own are not)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    sha = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)README.md")
    return f"{sha} + uncommitted changes" if dirty else sha


def provenance(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    # the wall time depends on what else the machine ran; the load average says how busy it was
    load = f"; 15-minute load average {os.getloadavg()[2]:.1f} on {os.cpu_count()} CPUs at the end" \
        if hasattr(os, "getloadavg") else ""
    return (f"The end of what `make demo` printed on a cold run (empty caches): "
            f"{datetime.date.today().isoformat()}, commit {commit()}, {machine()}; {minutes} min {rest} s{load}:")


def write(readme: Path) -> None:
    text = readme.read_text(encoding="utf-8")
    transcript.block(text)  # fail on a README without markers before spending eight minutes
    printed, seconds = run_cold(ROOT / COLD)
    updated = transcript.splice(text, transcript.render(printed, provenance(seconds)))
    readme.write_text(updated, encoding="utf-8")
    _say(f"{readme.name}: demo block regenerated ({seconds / 60:.1f} min cold run); review and commit it")


def check(readme: Path) -> None:
    text = readme.read_text(encoding="utf-8")
    expected = transcript.headline(transcript.transcript_of(text))
    printed, seconds = run_cold(ROOT / COLD)
    found = transcript.headline(printed)
    diffs = transcript.differences(expected, found)
    if diffs:
        (ROOT / COLD / "readme-diff.txt").write_text("\n".join(diffs) + "\n", encoding="utf-8")
        here = machine()  # the README's provenance line is wrapped: compare with its spaces joined
        where = ("same CPU type and thread count as README's run" if here in " ".join(transcript.block(text).split())
                 else f"this machine: {here}, not README's: float-level differences are expected")
        _fail(f"demo-check: {len(diffs)} of {len(expected.items())} headline numbers differ from {readme.name}; "
              f"first: {diffs[0]} (all: {COLD}/readme-diff.txt; {where})",
              f"if the change is intended, run `{REGENERATE}` and commit README.md")
    _say(f"demo-check: all {len(expected.items())} headline numbers match {readme.name} "
         f"({seconds / 60:.1f} min cold run)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["write", "check"])
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    args = parser.parse_args()
    try:
        (write if args.action == "write" else check)(args.readme)
    except transcript.BlockError as error:
        _fail(str(error), f"add the markers back (see examples/demo/transcript.py), then `{REGENERATE}`")


if __name__ == "__main__":
    main()
