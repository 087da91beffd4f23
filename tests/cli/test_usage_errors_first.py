"""Usage errors come first: a wrong choice, task or language is refused while options are parsed — one
line, exit 2 — before any checkpoint, data file or heavy library is touched (checked in a fresh
process: neither torch nor transformers may be imported)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# one fresh process imports the CLI once (that much is light), then forks a child per case: each child
# starts from exactly what `stilt` imports before parsing, so sys.modules tells what parsing imported
PROBE = """
import io, json, os, sys
import typer.main
from stilt_cli.cli import app
command = typer.main.get_command(app)  # built once, as `stilt` builds it before parsing
results = []
for argv in json.loads(sys.stdin.read()):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        err = io.StringIO()
        sys.stderr, sys.stdout = err, io.StringIO()
        try:
            command(args=argv, prog_name="stilt")
            code = 0
        except SystemExit as exc:
            code = exc.code
        heavy = [m for m in ("torch", "transformers", "datasets", "faiss", "lang2vec", "urielplus") if m in sys.modules]
        os.write(write, json.dumps({"code": code, "heavy": heavy, "stderr": err.getvalue()}).encode())
        os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.waitpid(pid, 0)
    results.append(json.loads(b"".join(chunks)))
print(json.dumps(results))
"""

# every command with a choice-valued option, and the unknown names they take; CKPT and files do not exist:
# reading them would be a data error (exit 1), so exit 2 shows that nothing was read first
CASES = [
    (["retrieve", "CKPT", "--task", "tatoeba", "--format", "bogus"], "unknown --format 'bogus'"),
    (["retrieve", "CKPT", "--task", "tatoeba", "--protocol", "jiant"], "unknown --protocol 'jiant'"),
    (["retrieve", "CKPT", "--task", "tatoeba", "--direction", "en2de"], "unknown --direction 'en2de'"),
    (["retrieve", "CKPT", "--task", "tatoeba", "--pooling", "max"], "unknown --pooling 'max'"),
    (["retrieve", "CKPT", "--task", "tatoba"], "unknown task 'tatoba' (did you mean 'tatoeba'"),
    (["retrieve", "CKPT", "--task", "xnli"], "task xnli is not a retrieval task"),
    (["retrieve", "CKPT", "--task", "tatoeba", "--langs", "de,xx"], "--langs: unknown language 'xx'"),
    (["retrieve", "CKPT", "--task", "tatoeba", "--layer", "top"], "--layer must be a layer number or 'all'"),
    (["align", "CKPT", "--task", "tatoeba", "--format", "bogus"], "unknown --format 'bogus'"),
    (["align", "CKPT", "--task", "tatoeba", "--pooling", "max"], "unknown --pooling 'max'"),
    (["embed", "CKPT", "-i", "in.txt", "-o", "out", "--dtype", "float8"], "unknown --dtype 'float8'"),
    (["embed", "CKPT", "-i", "in.txt", "-o", "out", "--if-exists", "replace"], "unknown --if-exists 'replace'"),
    (["evaluate", "CKPT", "--task", "xnli", "--format", "bogus"], "unknown --format 'bogus'"),
    (["evaluate", "CKPT", "--task", "xnl"], "unknown task 'xnl'"),
    (["evaluate", "CKPT", "--task", "xnli", "--langs", "dee"], "unknown language 'dee' (did you mean 'de'"),
    (["evaluate", "CKPT", "--task", "xnli", "--precision", "fp8"], "unknown --precision 'fp8'"),
    (["evaluate", "CKPT", "--task", "xnli", "--device", "gpu"], "unknown device 'gpu'"),
    (["summary", "RESULTS", "--format", "bogus"], "unknown --format 'bogus'"),
    (["target", "CKPT", "--task", "xnli", "-o", "OUT", "--report-to", "tensorbord"],
     "unknown --report-to 'tensorbord'"),
    (["intermediate", "CKPT", "--task", "mnli", "-o", "OUT", "--report-to", "none,wandb"],
     "--report-to none cannot be"),
    (["summary", "RESULTS", "--xtreme-version", "xtreme-s"], "unknown --xtreme-version 'xtreme-s'"),
    (["score", "--predictions", "P", "--labels", "L", "--format", "bogus"], "unknown --format 'bogus'"),
    (["correlate", "A", "B", "--format", "bogus"], "unknown --format 'bogus'"),
    (["correlate", "A", "B", "--correction", "bonferroni"], "unknown --correction 'bonferroni'"),
    (["correlate", "A", "B", "--features", "syntx"], "unknown feature 'syntx' (did you mean 'syntax'"),
    (["correlate", "A", "B", "--covariates", "fertilty"], "unknown covariate 'fertilty'"),
    (["correlate", "A", "B", "--urielplus-data", "all"], "unknown --urielplus-data 'all'"),
    (["distances", "--langs", "de", "--format", "bogus"], "unknown --format 'bogus'"),
    (["distances", "--langs", "de,qq"], "--langs: unknown language 'qq'"),
    (["distances", "--langs", "de", "--ref", "eng-us"], "--ref: unknown language 'eng-us'"),
    (["tasks", "--format", "bogus"], "unknown --format 'bogus'"),
    (["tasks", "--role", "target-task"], "unknown --role 'target-task'"),
    (["tasks", "--benchmark", "xtrem"], "unknown --benchmark 'xtrem'"),
    (["tasks", "show", "xnl"], "unknown task 'xnl'"),
    (["data", "export", "xnl", "--split", "dev"], "unknown task 'xnl'"),
    (["data", "check", "xnli", "panxx"], "unknown task 'panxx'"),
    (["data", "check", "xnli", "--format", "bogus"], "unknown --format 'bogus'"),
    (["data", "demo", "-o", "OUT", "--if-exists", "keep"], "unknown --if-exists 'keep'"),
    (["pretrain-load", "tiny:xlmr", "-o", "OUT", "--if-exists", "keep"], "unknown --if-exists 'keep'"),
    (["target", "CKPT", "--task", "xnl", "-o", "OUT"], "unknown task 'xnl'"),
    (["target", "CKPT", "--task", "xnli", "-o", "OUT", "--precision", "half"], "unknown --precision 'half'"),
    (["target", "CKPT", "--task", "xnli", "-o", "OUT", "--preset", "paper"], "unknown --preset 'paper'"),
    (["target", "CKPT", "--task", "xnli", "-o", "OUT", "--train-langs", "de,xx"],
     "--train-langs: unknown language 'xx'"),
    (["intermediate", "CKPT", "--task", "mnli,squad1x", "-o", "OUT"], "unknown task 'squad1x'"),
    (["intermediate", "CKPT", "--task", "mnli", "-o", "OUT", "--sampling", "random"], "unknown --sampling 'random'"),
    (["env", "--format", "bogus"], "unknown --format 'bogus'"),
]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Every case's exit code, heavy modules and stderr, from one probe process (cwd: an empty folder)."""
    cwd = tmp_path_factory.mktemp("usage")
    result = subprocess.run([sys.executable, "-c", PROBE], input=json.dumps([argv for argv, _ in CASES]),
                            capture_output=True, text=True, cwd=cwd, timeout=300)
    assert result.returncode == 0, result.stderr
    return cwd, dict(zip((" ".join(argv) for argv, _ in CASES), json.loads(result.stdout)))


@pytest.mark.parametrize("argv, message", CASES, ids=[" ".join(a[:1] + a[-2:]) for a, _ in CASES])
def test_refused_while_parsing_with_nothing_heavy_imported(outcomes, argv, message):
    cwd, by_case = outcomes
    outcome = by_case[" ".join(argv)]
    stderr = outcome.pop("stderr")
    assert outcome == {"code": 2, "heavy": []}, stderr
    assert stderr.startswith("error: ") and stderr.count("\n") == 1, stderr
    assert message in stderr
    assert not any(cwd.iterdir())  # nothing written by any case, not even a lock


def test_the_probe_sees_a_heavy_import():
    """The check would notice: a command that gets past parsing imports the heavy libraries."""
    result = subprocess.run([sys.executable, "-c", PROBE], input=json.dumps([["env"]]), capture_output=True,
                            text=True, timeout=300)
    outcome = json.loads(result.stdout)[0]
    assert outcome["code"] == 0 and "torch" in outcome["heavy"]
