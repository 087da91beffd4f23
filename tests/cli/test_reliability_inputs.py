"""The bad-input catalogue: every stage that reads a kind of input answers each broken variant with
ONE line on stderr naming what and where (file:line, option or checkpoint), its documented exit code,
no traceback, nothing on stdout, and the existing output untouched (every run below is allowed to
overwrite it, so a failure that clobbered it would show).

Parametrised over the stages rather than written per stage; the per-stage files keep the checks
specific to one stage (see docs/failure-behaviour.md for the table of who tests what)."""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from stilt_cli.core import atomic, textio
from tests.helpers import poison_loss

# ---- one good line per input kind ----------------------------------------------------------------
NLI = {"id": "n1", "lang": "en", "text_a": "a cat sleeps", "text_b": "a cat sleeps", "label": "entailment"}
PAIRS = ([{"id": f"de:{i}", "lang": "de", "side": "src", "text": t} for i, t in enumerate(["Hund", "Katze", "Haus"])]
         + [{"id": f"en:{i}", "lang": "de", "side": "tgt", "text": t} for i, t in enumerate(["dog", "cat", "house"])]
         + [{"lang": "de", "link": [f"de:{i}", f"en:{i}"]} for i in range(3)])
SENTENCE = {"id": "s1", "text": "a sentence to embed"}
RECORD = {"kind": "eval", "task": "xnli", "lang": "de", "split": "test", "metric": "accuracy", "value": 0.5}


class Stage:
    """How one stage takes a JSONL input: the command line, good rows, and the field to break.
    `needs`: the checkpoint it runs on (a pretrained one, or one with a trained xnli head)."""

    def __init__(self, rows: list[dict], field: str, wrong, argv: Callable[[Path, Path, Path], list],
                 output: str = "file", needs: str = "pretrained"):
        self.rows, self.field, self.wrong, self.argv, self.output = rows, field, wrong, argv, output
        self.needs = needs


STAGES = {
    "target": Stage([NLI] * 4, "text_a", 3, lambda ck, f, o: [
        "target", ck, "--task", "xnli", "--data", f, "-o", o, "--max-steps", "1", "--if-exists", "overwrite"], "dir"),
    "intermediate": Stage([NLI] * 4, "text_b", ["a"], lambda ck, f, o: [
        "intermediate", ck, "--task", "mnli", "--data", f"mnli={f}", "-o", o, "--max-steps", "1",
        "--if-exists", "overwrite"], "dir"),
    "evaluate": Stage([NLI, dict(NLI, lang="de")], "text_a", ["a"], lambda ck, f, o: [
        "evaluate", ck, "--task", "xnli", "--data", f, "-o", o], needs="trained"),
    "retrieve": Stage(PAIRS, "text", 3, lambda ck, f, o: ["retrieve", ck, "--task", "tatoeba", "--data", f, "-o", o]),
    "align": Stage(PAIRS, "side", 1, lambda ck, f, o: ["align", ck, "--pairs", f, "-o", o]),
    "embed": Stage([SENTENCE] * 3, "text", 3, lambda ck, f, o: [
        "embed", ck, "--input", f, "-o", o, "--if-exists", "overwrite"], "embed"),
    "summary": Stage([RECORD], "value", "0.5", lambda ck, f, o: ["summary", f, "-o", o]),
    "correlate": Stage([RECORD], "metric", 7, lambda ck, f, o: ["correlate", f, f, "-o", o]),
}


def lines(*rows) -> bytes:
    return b"".join((r if isinstance(r, bytes) else orjson.dumps(r)) + b"\n" for r in rows)


def without(row: dict, field: str) -> dict:
    return {k: v for k, v in row.items() if k != field}


def _first_with(rows: list[dict], field: str) -> dict:
    return next(r for r in rows if field in r)


# (case id, file content for a stage, line the error must name or None, text the error line must hold)
CASES: dict[str, Callable[[Stage], tuple[bytes, int | None, str]]] = {
    # the broken line is the last one, with no final newline, after two blank lines
    "invalid-json-on-the-last-line": lambda s: (lines(*s.rows, b"", b"") + b'{"id": ', len(s.rows) + 3,
                                                "invalid JSON"),
    "not-an-object-after-blank-lines": lambda s: (lines(*s.rows, b"", b"", b"[1, 2]"), len(s.rows) + 3,
                                                  "expected a JSON object"),
    "non-utf8": lambda s: (lines(*s.rows, b'{"text": "caf\xe9"}'), len(s.rows) + 1, "not valid UTF-8"),
    "missing-field": lambda s: (lines(*s.rows, b"", without(_first_with(s.rows, s.field), s.field)),
                                len(s.rows) + 2, s.field),
    "wrong-type": lambda s: (lines(*s.rows, dict(_first_with(s.rows, s.field), **{s.field: s.wrong})),
                             len(s.rows) + 1, s.field),
    "huge-line": lambda s: (lines(*s.rows, dict(_first_with(s.rows, s.field), pad="x" * 5000)), len(s.rows) + 1,
                            "line longer than 4096 bytes"),
    "empty-file": lambda s: (b"", None, ""),
    "only-blank-lines": lambda s: (b"\n  \r\n\n", None, ""),
}


@pytest.fixture(scope="module")
def checkpoints(tiny_xlmr, tmp_path_factory) -> dict[str, Path]:
    """The pretrained tiny checkpoint, and one with an xnli head (one training step) for evaluate."""
    from typer.testing import CliRunner

    from stilt_cli.cli import app

    root = tmp_path_factory.mktemp("catalogue")
    data = root / "nli.jsonl"
    data.write_bytes(lines(*[NLI] * 4))
    trained = root / "trained"
    result = CliRunner().invoke(app, ["target", str(tiny_xlmr), "--task", "xnli", "--data", str(data), "-o",
                                      str(trained), "--max-steps", "1"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return {"pretrained": tiny_xlmr, "trained": trained}


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below `folder` (lock files and a failed stage's record `.OUT.failed.json` aside: they are meant
    to stay, see docs/failure-behaviour.md) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.endswith(".lock") and not (p.name.startswith(".")
                                                                     and p.name.endswith(".failed.json"))}


def existing_output(stage: Stage, out: Path) -> None:
    """An output from an earlier run that the failing run is allowed to overwrite, but must not."""
    if stage.output == "dir":
        out.mkdir()
        (out / "stilt.json").write_text('{"earlier": "run"}\n')
    elif stage.output == "embed":
        for suffix in (".npy", ".ids", ".json"):
            out.with_name(out.name + suffix).write_text("earlier\n")
    else:
        out.write_text("earlier\n")


def assert_one_line(result, code: int, *fragments: str) -> str:
    """Exactly one error line, the last thing on stderr; nothing on stdout; no traceback."""
    assert result.exit_code == code, result.stderr
    text = result.stderr.strip().splitlines()
    errors = [line for line in text if line.startswith("error:")]
    assert len(errors) == 1 and text[-1] == errors[0], result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("name", list(STAGES))
def test_broken_jsonl_input(cli, checkpoints, tmp_path, monkeypatch, name, case):
    stage = STAGES[name]
    monkeypatch.setattr(textio, "MAX_LINE_BYTES", 4096)
    content, line, text = CASES[case](stage)
    data = tmp_path / "input.jsonl"
    data.write_bytes(content)
    out = tmp_path / "out"
    existing_output(stage, out)
    before = snapshot(tmp_path)
    result = cli(*stage.argv(checkpoints[stage.needs], data, out))
    where = f"{data}:{line}:" if line else str(data)
    error = assert_one_line(result, 1, where, text)
    if case == "missing-field":
        assert "missing" in error
    assert snapshot(tmp_path) == before  # nothing written, nothing replaced, no temporary left


@pytest.mark.parametrize("name", ["target", "evaluate", "retrieve", "embed", "summary"])
def test_bom_crlf_blank_lines_and_extra_fields_are_read(cli, checkpoints, tmp_path, name):
    stage = STAGES[name]
    rows = [dict(r, note="an extra field nobody reads") for r in stage.rows]
    content = b"\xef\xbb\xbf" + lines(*rows).replace(b"\n", b"\r\n\r\n")
    data = tmp_path / "input.jsonl"
    data.write_bytes(content)
    out = tmp_path / "out"
    result = cli(*stage.argv(checkpoints[stage.needs], data, out))
    assert result.exit_code == 0, result.stderr
    if name == "evaluate":
        assert sorted((r["lang"], r["n"]) for r in map(orjson.loads, out.read_bytes().splitlines())) == [
            ("de", 1), ("en", 1)]
    elif name == "target":
        assert json.loads((out / "stilt.json").read_text())["lineage"][-1]["data"]["xnli"]["train"]["examples"] == 4
    elif name == "retrieve":
        assert orjson.loads(out.read_bytes().splitlines()[0])["n"] == 3
    elif name == "embed":
        assert (tmp_path / "out.ids").read_text().split() == ["s1", "s1", "s1"]
    else:
        assert "xnli" in out.read_text()


# ---- unknown names: the nearest known one is suggested ----------------------------------------
@pytest.mark.parametrize("args, code, suggestion", [
    (["intermediate", "CKPT", "--task", "mnl", "-o", "OUT"], 2, "did you mean 'mnli'"),
    (["retrieve", "CKPT", "--task", "tatoba"], 2, "did you mean 'tatoeba'"),
    (["align", "CKPT", "--task", "tatoba"], 2, "did you mean 'tatoeba'"),
    (["retrieve", "CKPT", "--task", "tatoeba", "--langs", "dee"], 2, "did you mean 'de'"),
    (["target", "CKPT", "--task", "xnli", "--data", "DATA", "--train-langs", "dee", "-o", "OUT"], 2,
     "did you mean 'de'"),
    (["data", "export", "xnli", "--split", "dev", "--langs", "dee", "--data-dir", "TMP"], 2, "did you mean 'de'"),
    (["correlate", "RECORDS", "RECORDS", "--metric", "acuracy"], 1, "did you mean 'accuracy'"),
    (["correlate", "RECORDS", "RECORDS", "--task", "xnl"], 1, "did you mean 'xnli'"),
    (["summary", "RECORDS", "--xtreme-version", "xtrem"], 2, "did you mean 'xtreme'"),
])
def test_unknown_names_suggest_the_nearest(cli, checkpoints, tmp_path, args, code, suggestion):
    records_file = tmp_path / "records.jsonl"
    records_file.write_bytes(lines(RECORD))
    data = tmp_path / "nli.jsonl"
    data.write_bytes(lines(*[NLI] * 4))
    values = {"CKPT": checkpoints["pretrained"], "OUT": tmp_path / "out", "DATA": data, "RECORDS": records_file,
              "TMP": tmp_path}
    result = cli(*[values.get(a, a) for a in args])
    assert_one_line(result, code, suggestion)
    assert not (tmp_path / "out").exists()


# ---- broken checkpoints, for every stage that loads one ----------------------------------------
def _no_manifest(ckpt: Path) -> str:
    (ckpt / "stilt.json").unlink()
    return "has no stilt.json manifest"


def _truncated_weights(ckpt: Path) -> str:
    weights = ckpt / "encoder" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 3])
    return "truncated or corrupt"


def _foreign_tokenizer(ckpt: Path, other: Path) -> str:
    shutil.copy(other / "encoder" / "tokenizer.json", ckpt / "encoder" / "tokenizer.json")
    return "different checkpoints"


def _newer_schema(ckpt: Path) -> str:
    manifest = json.loads((ckpt / "stilt.json").read_text())
    (ckpt / "stilt.json").write_text(json.dumps(dict(manifest, schema="stilt.checkpoint/9")))
    return "upgrade stilt"


def _half_written_manifest(ckpt: Path) -> str:
    manifest = (ckpt / "stilt.json").read_bytes()
    (ckpt / "stilt.json").write_bytes(manifest[: len(manifest) // 2])
    return "unreadable manifest"


def _truncated_head(ckpt: Path) -> str:
    weights = ckpt / "heads" / "xnli" / "head.safetensors"
    weights.write_bytes(weights.read_bytes()[:40])
    return "unreadable"


BROKEN = {"no-manifest": _no_manifest, "truncated-safetensors": _truncated_weights, "truncated-head": _truncated_head,
          "tokenizer-of-another-checkpoint": _foreign_tokenizer, "newer-schema": _newer_schema,
          "half-written-manifest": _half_written_manifest}


@pytest.mark.parametrize("name, broken", [
    (name, broken) for name in ("target", "intermediate", "evaluate", "retrieve", "align", "embed")
    for broken in BROKEN if broken != "truncated-head" or name == "evaluate"])  # only evaluate reads a head
def test_broken_checkpoint(cli, tiny_ckpts, checkpoints, tmp_path, name, broken):
    stage = STAGES[name]
    ckpt = tmp_path / "ckpt"
    shutil.copytree(checkpoints[stage.needs], ckpt)
    fix = BROKEN[broken]
    expected = fix(ckpt, tiny_ckpts["mt5"]) if broken == "tokenizer-of-another-checkpoint" else fix(ckpt)
    data = tmp_path / "input.jsonl"
    data.write_bytes(lines(*stage.rows))
    out = tmp_path / "out"
    existing_output(stage, out)
    before = snapshot(tmp_path)
    result = cli(*stage.argv(ckpt, data, out))
    assert_one_line(result, 1, expected, "ckpt")
    assert snapshot(tmp_path) == before


# ---- an output that exists: refused by default, nothing touched ----------------------------------
def test_existing_checkpoint_output_is_refused_by_intermediate(cli, checkpoints, tmp_path):
    data = tmp_path / "nli.jsonl"
    data.write_bytes(lines(*[NLI] * 4))
    out = tmp_path / "out"
    existing_output(STAGES["intermediate"], out)
    before = snapshot(tmp_path)
    result = cli("intermediate", checkpoints["pretrained"], "--task", "mnli", "--data", f"mnli={data}", "-o", out)
    assert_one_line(result, 2, f"output {out} already exists", "--if-exists")
    assert snapshot(tmp_path) == before


# ---- disk full while writing, for each kind of writer ---------------------------------------------
def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("name, where", [
    ("retrieve", "fsync"), ("summary", "write"), ("correlate", "replace"), ("embed", "fsync"),
    ("target", "replace"), ("evaluate", "write"),
])
def test_disk_full_while_writing(cli, checkpoints, tmp_path, monkeypatch, name, where):
    """Space runs out while the content is written, flushed to disk, or renamed into place."""
    import pathlib

    stage = STAGES[name]
    data = tmp_path / "input.jsonl"
    rows = stage.rows
    if name == "correlate":  # four languages, the least correlate works with
        rows = [dict(RECORD, lang=lang, value=v) for lang, v in zip(("de", "fr", "zh", "ar"), (0.1, 0.2, 0.3, 0.4))]
        (tmp_path / "run.jsonl").write_bytes(lines(*[dict(r, value=r["value"] * 2) for r in rows]))
    data.write_bytes(lines(*rows))
    out = tmp_path / "out"
    existing_output(stage, out)
    before = snapshot(tmp_path)
    argv = stage.argv(checkpoints[stage.needs], data, out)
    if name == "correlate":
        argv = ["correlate", data, tmp_path / "run.jsonl", "--features", "syntax", "--bootstrap", "100",
                "--permutations", "100", "-o", out]
    target = {"fsync": (os, "fsync"), "write": (pathlib.Path, "write_bytes"), "replace": (os, "replace")}[where]
    monkeypatch.setattr(*target, _enospc)
    result = cli(*argv)
    monkeypatch.undo()
    assert_one_line(result, 1, "disk full while writing")
    after = snapshot(tmp_path)
    kept = atomic.partial_dir(out)
    if stage.output == "dir" and (kept / "state" / "state.json").is_file():
        # a training stage that ran out of space while saving its checkpoint keeps the trained weights as a
        # resumable state (docs/failure-behaviour.md): nothing else is new, and --resume finishes the save
        assert {k: v for k, v in after.items() if not k.startswith(kept.name + "/")} == before
        assert not [p for p in kept.rglob("*") if p.name.endswith(".tmp")]
        finished = cli(*argv, "--resume", "--if-exists", "overwrite")
        assert finished.exit_code == 0, finished.stderr
        assert (out / "stilt.json").is_file() and not kept.exists()
        return
    assert after == before
    assert not list(tmp_path.glob("*.partial"))


# ---- a NaN loss through the command: one line, the last good state kept, nothing replaced ----------
def test_nan_loss_through_the_command(cli, checkpoints, tmp_path, monkeypatch):
    poison_loss(monkeypatch, at_call=3)
    data = tmp_path / "nli.jsonl"
    data.write_bytes(lines(*[NLI] * 8))
    out = tmp_path / "out"
    existing_output(STAGES["target"], out)
    before = (out / "stilt.json").read_bytes()
    result = cli("target", checkpoints["pretrained"], "--task", "xnli", "--data", data, "-o", out, "--max-steps", "5",
                 "--batch-size", "4", "--if-exists", "overwrite")
    assert_one_line(result, 1, "loss became nan at step 3", "last good state (step 2)", "--lr")
    assert (out / "stilt.json").read_bytes() == before
    state = json.loads((tmp_path / "out.partial" / "state" / "state.json").read_text())
    assert state["progress"]["step"] == 2  # resumable from the last good step
