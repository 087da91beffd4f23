"""Atomic outputs and output locks, for every writer: a crash in the middle of a write leaves the old
output (or none) and no file a later stage would take for a finished one; every command that writes
`-o` refuses a second run given the same output; runs writing different outputs into one results
folder at the same time (`make -j`) leave every file whole."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson
import pytest

from stilt_cli.core import atomic, checkpoint
from stilt_cli.core.errors import DataError
from tests.helpers import held_by_another_run, write_jsonl

NLI = {"id": "n1", "lang": "en", "text_a": "a cat sleeps", "text_b": "a cat sleeps", "label": "entailment"}
PAIRS = ([{"id": f"de:{i}", "lang": "de", "side": "src", "text": t} for i, t in enumerate(["Hund", "Katze", "Haus"])]
         + [{"id": f"en:{i}", "lang": "de", "side": "tgt", "text": t} for i, t in enumerate(["dog", "cat", "house"])]
         + [{"lang": "de", "link": [f"de:{i}", f"en:{i}"]} for i in range(3)])
RECORDS = [{"kind": "eval", "task": "xnli", "lang": lang, "split": "test", "metric": "accuracy", "value": v}
           for lang, v in (("de", 0.5), ("fr", 0.6), ("zh", 0.4), ("ar", 0.3))]


@pytest.fixture
def inputs(tmp_path) -> dict[str, Path]:
    (tmp_path / "xnli").mkdir()
    (tmp_path / "xnli" / "dev-de.tsv").write_text("ein Satz\tein Satz\tentailment\n", encoding="utf-8")
    return {"nli": write_jsonl(tmp_path / "nli.jsonl", [NLI] * 4),
            "pairs": write_jsonl(tmp_path / "pairs.jsonl", PAIRS),
            "records": write_jsonl(tmp_path / "records.jsonl", RECORDS),
            "sentences": write_jsonl(tmp_path / "sentences.jsonl", [{"id": "s", "text": "hello"}]),
            "dir": tmp_path}


# ---- locks: every command writing -o -------------------------------------------------------------
LOCKED = {  # command -> argv, OUT standing for the output
    "retrieve": ["retrieve", "CKPT", "--task", "tatoeba", "--data", "pairs", "-o", "OUT"],
    "align": ["align", "CKPT", "--pairs", "pairs", "-o", "OUT"],
    "evaluate": ["evaluate", "CKPT", "--task", "xnli", "--data", "nli", "-o", "OUT"],
    "summary": ["summary", "records", "-o", "OUT"],
    "correlate": ["correlate", "records", "records", "-o", "OUT"],
    "distances": ["distances", "--langs", "de", "-o", "OUT"],
    "score": ["score", "--predictions", "dir", "--labels", "dir", "-o", "OUT"],
    "data export": ["data", "export", "xnli", "--split", "dev", "--langs", "de", "--data-dir", "dir", "-o", "OUT"],
    "data demo": ["data", "demo", "-o", "OUT", "--langs", "de"],
    "embed": ["embed", "CKPT", "--input", "sentences", "-o", "OUT"],
    "pretrain-load": ["pretrain-load", "tiny:xlmr", "-o", "OUT"],
    "target": ["target", "CKPT", "--task", "xnli", "--data", "nli", "-o", "OUT", "--max-steps", "1"],
    "intermediate": ["intermediate", "CKPT", "--task", "mnli", "--data", "mnli=NLI", "-o", "OUT", "--max-steps", "1"],
}


@pytest.mark.parametrize("name", list(LOCKED))
def test_a_second_run_given_the_same_output_is_refused(cli, tiny_xlmr, inputs, tmp_path, name):
    out = tmp_path / "results" / "out"
    values = {"CKPT": str(tiny_xlmr), "OUT": str(out), "mnli=NLI": f"mnli={inputs['nli']}",
              **{k: str(v) for k, v in inputs.items()}}
    with held_by_another_run(out):
        result = cli(*[values.get(a, a) for a in LOCKED[name]])
    assert result.exit_code == 2, result.stderr
    assert result.stderr == (f"error: another stilt run is writing {out} "
                             "(hint: wait for it, or give this run a different -o)\n")  # refused before any work
    assert result.stdout == ""
    assert [p.name for p in (tmp_path / "results").iterdir() if not p.name.endswith(".lock")] == []


def test_one_run_takes_its_own_output_lock_again(tmp_path):
    """The command boundary and the checkpoint writer below it both lock the output: no self-refusal."""
    with atomic.output_lock(tmp_path / "out"), atomic.output_lock(tmp_path / "out"):
        with pytest.raises(Exception, match="another stilt run"), held_by_another_run(tmp_path / "other"):
            with atomic.output_lock(tmp_path / "other"):
                pass


def test_make_j_different_outputs_whole_and_the_same_output_refused(inputs, tmp_path):
    """Real processes in parallel into one folder; the test process holds one output's lock, as a
    first run of the same target would."""
    results = tmp_path / "results"
    env = dict(os.environ, OMP_NUM_THREADS="1")

    def start(name: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "stilt_cli", "summary", str(inputs["records"]), "--format",
                                 "jsonl", "--resamples", "200", "-o", str(results / name)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    with atomic.output_lock(results / "busy.jsonl"):
        procs = {name: start(name) for name in ("a.jsonl", "b.jsonl", "c.jsonl", "busy.jsonl")}
        done = {name: (p.wait(timeout=300), p.stderr.read()) for name, p in procs.items()}
    code, stderr = done.pop("busy.jsonl")
    assert code == 2 and f"another stilt run is writing {results / 'busy.jsonl'}" in stderr
    assert all(code == 0 for code, _ in done.values()), done
    # every file is whole: each line one JSON record, ending with a newline, and the three files hold the
    # same records (same input, same seed). `created` is the one field that follows the clock (seconds),
    # so it is left out of the comparison: runs that straddle a second differ there and only there.
    files = {name: (results / name).read_bytes() for name in done}
    assert all(data.endswith(b"\n") for data in files.values()), files
    contents = {name: [orjson.loads(line) for line in data.splitlines()] for name, data in files.items()}
    assert all(r.pop("created") for rows in contents.values() for r in rows)
    rows = contents.pop("a.jsonl")
    assert all(other == rows for other in contents.values())  # nothing interleaved, nothing cut short
    assert rows and all(r["schema"].startswith("stilt.record/") for r in rows)
    assert sorted(p.name for p in results.iterdir() if not p.name.startswith(".")) == ["a.jsonl", "b.jsonl",
                                                                                      "c.jsonl"]


# ---- checkpoints ---------------------------------------------------------------------------------
def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*.safetensors")):
        h.update(path.read_bytes())
    return h.hexdigest()


def test_checkpoint_crash_before_the_rename_leaves_no_checkpoint(cli, tiny_xlmr, inputs, tmp_path, monkeypatch):
    """No OUT; OUT.partial/ holds the complete checkpoint (manifest last), which --resume renames into place."""
    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash")

    out = tmp_path / "ckpt"
    args = ("target", tiny_xlmr, "--task", "xnli", "--data", inputs["nli"], "-o", out, "--max-steps", "2")
    monkeypatch.setattr(atomic, "commit_dir", crash)
    with pytest.raises(RuntimeError):
        cli(*args)
    monkeypatch.undo()
    assert not out.exists() and (atomic.partial_dir(out) / "stilt.json").is_file()
    assert not (atomic.partial_dir(out) / "state").exists()
    with pytest.raises(DataError, match="does not exist"):
        checkpoint.load(out)
    assert "add --resume" in cli(*args).stderr  # a fresh start would throw the finished work away
    again = cli(*args, "--resume")
    assert again.exit_code == 0, again.stderr
    assert "finished the save an interruption had cut short" in again.stderr
    assert checkpoint.load(out).heads and not atomic.partial_dir(out).exists()


def test_crash_while_saving_the_final_weights_resumes_to_the_same_checkpoint(cli, tiny_xlmr, inputs, tmp_path,
                                                                             monkeypatch):
    args = ["target", tiny_xlmr, "--task", "xnli", "--data", inputs["nli"], "--max-steps", "4", "--batch-size", "2",
            "--save-every", "2"]
    assert cli(*args, "-o", tmp_path / "reference").exit_code == 0

    def crash(self, *a, **k):
        raise RuntimeError("simulated crash while saving a head")

    monkeypatch.setattr(checkpoint.Writer, "save_head", crash)
    out = tmp_path / "ckpt"
    with pytest.raises(RuntimeError):
        cli(*args, "-o", out)
    monkeypatch.undo()
    assert not out.exists()
    state = json.loads((atomic.partial_dir(out) / "state" / "state.json").read_text())
    assert state["progress"]["step"] == 4 and state["final"]  # the trained weights, kept before the save began
    done = cli(*args, "-o", out, "--resume")
    assert done.exit_code == 0, done.stderr
    assert _digest(out) == _digest(tmp_path / "reference")


# ---- embeddings: three files that belong together -----------------------------------------------
def test_embed_crash_between_renames_is_seen_as_incomplete(cli, tiny_xlmr, inputs, tmp_path, monkeypatch):
    out = tmp_path / "emb"
    assert cli("embed", tiny_xlmr, "--input", inputs["sentences"], "-o", out).exit_code == 0
    first = {s: out.with_name("emb" + s).read_bytes() for s in (".npy", ".ids", ".json")}
    more = write_jsonl(tmp_path / "more.jsonl", [{"id": "a", "text": "one"}, {"id": "b", "text": "two"}])
    real = os.replace
    calls = {"n": 0}

    def second_rename_fails(src, dst):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.EIO, "Input/output error")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", second_rename_fails)
    result = cli("embed", tiny_xlmr, "--input", more, "-o", out, "--if-exists", "overwrite", "--no-cache")
    monkeypatch.undo()
    assert result.exit_code == 1 and "cannot write" in result.stderr
    # the new .npy is in place, the old .ids still beside it: without .json the set says "incomplete"
    assert np.load(out.with_name("emb.npy")).shape[0] == 2
    assert out.with_name("emb.ids").read_bytes() == first[".ids"]
    assert not out.with_name("emb.json").exists()
    skip = cli("embed", tiny_xlmr, "--input", inputs["sentences"], "-o", out, "--if-exists", "skip")
    assert skip.exit_code == 2 and "incomplete" in skip.stderr  # never taken for the earlier, finished output
    assert not [p for p in tmp_path.glob(".emb*") if not p.name.endswith(".lock")]  # no temporaries left


def test_embedding_cache_entry_appears_only_when_complete(tiny_xlmr, tmp_path, monkeypatch):
    from stilt_cli.core.retrieval import embed_cache, encoder, extract

    monkeypatch.setenv("STILT_CACHE", str(tmp_path / "cache"))
    embedder = encoder.load(str(tiny_xlmr), "mean", None)
    spec = extract.EmbedSpec((2,), "mean", 32)
    real = embedder.compute

    def dies_half_way(texts, spec_, out):
        out[..., :1, :] = 1.0  # half the rows written into the memory map, then the process "dies"
        raise KeyboardInterrupt

    monkeypatch.setattr(embedder, "compute", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        embed_cache.embed(embedder, ["eins", "zwei"], spec)
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and not p.name.endswith(".lock")]
    monkeypatch.setattr(embedder, "compute", real)
    vectors = embed_cache.embed(embedder, ["eins", "zwei"], spec)
    assert vectors.shape[1] == 2 and not np.any(vectors == 1.0)


# ---- plots and the demo folder ------------------------------------------------------------------
def test_plot_crash_mid_write_keeps_the_old_png(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from stilt_cli.core.analysis import plots

    path = tmp_path / "gain.png"
    plots.scatter(path, [plots.Series("xnli", [0.1, 0.2], [0.3, 0.1], ["de", "fr"])])
    old = path.read_bytes()

    def half_written(self, target, **kwargs):
        Path(target).write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 10)  # a truncated PNG
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", half_written)
    with pytest.raises(DataError, match="disk full while writing .*gain.png"):
        plots.scatter(path, [plots.Series("xnli", [0.1, 0.2], [0.5, 0.6], ["de", "fr"])])
    assert path.read_bytes() == old and [p.name for p in tmp_path.iterdir()] == ["gain.png"]


def test_demo_build_crash_leaves_no_folder(cli, tmp_path, monkeypatch):
    from stilt_cli.core import textio

    real = textio.write_jsonl
    calls = {"n": 0}

    def fails_on_the_third_file(path, rows):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, rows)

    monkeypatch.setattr(textio, "write_jsonl", fails_on_the_third_file)
    out = tmp_path / "demo"
    result = cli("data", "demo", "-o", out, "--langs", "de,fr")
    assert result.exit_code == 1 and "disk full while writing" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == []


def test_unfinished_partial_folders_are_never_read_as_data(tmp_path):
    from stilt_cli.core import tasks
    from stilt_cli.core.data import readers

    unfinished = tmp_path / "data" / "xnli.partial"
    unfinished.mkdir(parents=True)
    (unfinished / "dev-de.tsv").write_text("ein Satz\tein Satz\tentailment\n", encoding="utf-8")
    with pytest.raises(DataError, match="no xnli dev file for 'de'"):
        readers.read_split(tasks.get("xnli"), "dev", ["de"], tmp_path / "data")
