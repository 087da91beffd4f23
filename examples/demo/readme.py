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
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import transcript

ROOT = Path(__file__).resolve().parents[2]
COLD = "demo-out/cold"  # relative to ROOT; removed before every run
TOLERANCES = Path(__file__).with_name("tolerances.json")  # measured by spread.py
REGENERATE = "make readme-demo"


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _fail(message: str, hint: str) -> None:
    _say(f"error: {message} (hint: {hint})")
    raise SystemExit(1)


def cold_env(out: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment with every cache inside `out` (so nothing is reused), plus `extra` (kernel paths)."""
    return dict(os.environ, STILT_CACHE=str(out / "cache"), HF_HOME=str(out / "hf"),
                MPLCONFIGDIR=str(out / "matplotlib"), XDG_CACHE_HOME=str(out / "xdg"), **(extra or {}))


def run_cold(out: Path, extra: dict[str, str] | None = None, plant=None) -> tuple[str, float]:
    """The demo chain from nothing, then report.py's printout with the paths `make demo` would print;
    `plant(out)`, if given, runs on the built data before any training (see shuffle_labels)."""
    shutil.rmtree(out, ignore_errors=True)
    env = cold_env(out, extra)
    where = os.path.relpath(out, ROOT)
    bin_dir = Path(sys.executable).parent
    command = ["make", "-f", "examples/demo/Makefile", f"OUT={where}", f"PY={sys.executable}",
               f"STILT={bin_dir / 'stilt'}"]
    _say(f"demo: a cold run in {where}/ (about 11 minutes on 2 CPU cores): {' '.join(command)}")
    started = time.monotonic()
    # the chain's own output is progress here: it goes to stderr, as everything but data does
    if plant is not None:
        subprocess.run([*command, f"{where}/data/README.json"], cwd=ROOT, env=env, stdout=sys.stderr,
                       stderr=sys.stderr, check=True)
        plant(out)
    done = subprocess.run(command, cwd=ROOT, env=env, stdout=sys.stderr, stderr=sys.stderr)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        _fail(f"the demo failed (exit {done.returncode}); its output is above", f"rerun `{' '.join(command)}`")
    report = subprocess.run([sys.executable, "examples/demo/report.py", where], cwd=ROOT, env=env,
                            capture_output=True, text=True, check=True)
    return report.stdout.replace(f"{where}/", "demo-out/"), seconds


def signature(extra: dict[str, str] | None = None) -> dict[str, str]:
    """What exact equality of the demo's numbers needs: CPU model, the kernels torch picks on it (its CPU
    capability), torch's thread count and torch's version, as the demo's processes would see them (stilt's
    own machine facts, `core/device.py`, probed in a process with this environment)."""
    probe = ("import json; from stilt_cli.core.device import machine; m = machine(); print(json.dumps({"
             "'cpu': m['cpu'], 'capability': m['cpu_capability'], 'threads': str(m['torch_threads']), "
             "'torch': m['torch']}))")
    return json.loads(subprocess.run([sys.executable, "-c", probe], env=dict(os.environ, **(extra or {})),
                                     capture_output=True, text=True, check=True).stdout)


def machine(extra: dict[str, str] | None = None) -> str:
    """The signature as the README's provenance line names it."""
    sig = signature(extra)
    threads = int(sig["threads"])
    return (f"{sig['cpu']}, torch CPU capability {sig['capability']}, {threads} torch thread{'s' * (threads != 1)}, "
            f"torch {sig['torch']}")


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
    transcript.block(text)  # fail on a README without markers before spending ten minutes
    printed, seconds = run_cold(ROOT / COLD)
    updated = transcript.splice(text, transcript.render(printed, provenance(seconds), signature()))
    readme.write_text(updated, encoding="utf-8")
    _say(f"{readme.name}: demo block regenerated ({seconds / 60:.1f} min cold run); review and commit it")


def shuffle_labels(out: Path) -> None:
    """A planted regression for showing that the check catches one: the target task's English training
    labels permuted (seeded), so the target runs learn nothing about the task."""
    import random

    train = out / "data" / "demo-names" / "train.jsonl"
    rows = [json.loads(line) for line in train.read_text(encoding="utf-8").splitlines() if line.strip()]
    labels = [row["label"] for row in rows]
    random.Random(0).shuffle(labels)
    train.write_text("".join(json.dumps(dict(row, label=label), ensure_ascii=False) + "\n"
                             for row, label in zip(rows, labels)), encoding="utf-8")
    _say(f"demo-check: planted regression: {len(rows)} training labels of demo-names shuffled in {train}")


PLANTS = {"shuffle-labels": shuffle_labels}


def compare(text: str, printed: str) -> tuple[list[str], str]:
    """The differences that fail the check, and how the run was compared: number for number where this
    machine's signature is the README's, else within the measured tolerances."""
    expected, found = transcript.headline(transcript.transcript_of(text)), transcript.headline(printed)
    theirs, here = transcript.signature_of(text), signature()
    if theirs == here:
        return transcript.differences(expected, found), "exact (this machine's signature is the README's)"
    tolerance = json.loads(TOLERANCES.read_text(encoding="utf-8"))["tolerance"]
    mode = (f"within the measured tolerances of {TOLERANCES.name} (this machine: {machine()}; the README's: "
            f"{', '.join(f'{k} {v}' for k, v in sorted((theirs or {'signature': 'none recorded'}).items()))})")
    return transcript.outside(transcript.numbers(expected), transcript.numbers(found), tolerance), mode


def check(readme: Path, plant: str | None = None, out: str = COLD) -> None:
    text = readme.read_text(encoding="utf-8")
    count = len(transcript.numbers(transcript.headline(transcript.transcript_of(text))))
    printed, seconds = run_cold(ROOT / out, plant=PLANTS[plant] if plant else None)
    diffs, mode = compare(text, printed)
    (ROOT / out / "transcript.txt").write_text(printed, encoding="utf-8")
    (ROOT / out / "signature.json").write_text(json.dumps(signature()) + "\n", encoding="utf-8")
    if diffs:
        (ROOT / out / "readme-diff.txt").write_text("\n".join(diffs) + "\n", encoding="utf-8")
        _fail(f"demo-check: {len(diffs)} of {count} headline numbers differ from {readme.name}, compared {mode}; "
              f"first: {diffs[0]} (all: {out}/readme-diff.txt)",
              f"if the change is intended, run `{REGENERATE}` and commit README.md")
    _say(f"demo-check: all {count} headline numbers agree with {readme.name}, compared {mode} "
         f"({seconds / 60:.1f} min cold run)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["write", "check"])
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--out", default=COLD, help="check: the folder of the cold run (removed first)")
    parser.add_argument("--plant", choices=sorted(PLANTS),
                        help="check: plant a regression into the run first (shows that the check fails on it)")
    args = parser.parse_args()
    try:
        if args.action == "write":
            write(args.readme)
        else:
            check(args.readme, args.plant, args.out)
    except transcript.BlockError as error:
        _fail(str(error), f"add the markers back (see examples/demo/transcript.py), then `{REGENERATE}`")


if __name__ == "__main__":
    main()
