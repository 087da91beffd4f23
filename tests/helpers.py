"""Helpers that more than one test folder uses: file writers, the CLI in-process, JSON lines back,
an output lock held by "another run", a poisoned loss, a network that refuses every connection, and
XTREME tag files. Tiny training examples are made in `tests/train_data.py`; fixtures are in
`tests/conftest.py`."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]  # the repository: docs/, examples/, stilt_cli/


# ---- files ---------------------------------------------------------------------------------------
def write(path: Path, text: str, *, crlf: bool = False, bom: bool = False) -> Path:
    """`text` into `path` as UTF-8 (its folders made), optionally with CRLF line ends and a BOM."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.replace("\n", "\r\n") if crlf else text
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode("utf-8"))
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def jsonl(source: str | Path) -> list[dict]:
    """The rows of JSON Lines: text (a command's stdout) or a file; blank lines skipped."""
    text = source.read_text(encoding="utf-8") if isinstance(source, Path) else source
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def ok_rows(result) -> list[dict]:
    """The JSON rows a command printed, once it is known to have succeeded (else its stderr is shown)."""
    assert result.exit_code == 0, result.stderr
    return jsonl(result.stdout)


# ---- the CLI ---------------------------------------------------------------------------------------
def invoke(*args: Any, input: str | bytes | None = None):
    """The real CLI in this process; click's Result with .stdout and .stderr kept apart. The `cli`
    fixture is this; module-scoped fixtures, which cannot take `cli`, call it directly."""
    from typer.testing import CliRunner

    from stilt_cli.cli import app

    return CliRunner().invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)


# ---- concurrency and failures ------------------------------------------------------------------
@contextlib.contextmanager
def held_by_another_run(out: Path) -> Iterator[None]:
    """The output lock of `out`, held by another thread for as long as the block runs (a concurrent run)."""
    from stilt_cli.core import atomic

    inside, release = threading.Event(), threading.Event()

    def first_run():
        with atomic.output_lock(out):
            inside.set()
            release.wait(60)

    thread = threading.Thread(target=first_run)
    thread.start()
    assert inside.wait(10)
    try:
        yield
    finally:
        release.set()
        thread.join()


def poison_loss(monkeypatch, at_call: int) -> None:
    """The training loss becomes NaN on the `at_call`-th call of `heads.loss_sum` (1-based)."""
    from stilt_cli.core.model import heads

    real = heads.loss_sum
    calls = {"n": 0}

    def poisoned(head_type, logits, batch):
        calls["n"] += 1
        value = real(head_type, logits, batch)
        return value * float("nan") if calls["n"] == at_call else value

    monkeypatch.setattr(heads, "loss_sum", poisoned)


def refuse_connections(patch) -> list[Any]:
    """Every outgoing connection and name lookup is refused at the socket layer (through `patch`, a
    pytest MonkeyPatch) and recorded: -> the list of what something tried to reach, empty while nothing
    tried. Refusing rather than raising an assertion keeps the code under test on its ordinary error path."""
    attempts: list[Any] = []

    def refuse(what):
        attempts.append(what)
        return ConnectionRefusedError(f"test: no network ({what!r})")

    def connect(self, address, *args, **kwargs):
        raise refuse(address)

    def create_connection(address, *args, **kwargs):
        raise refuse(address)

    def getaddrinfo(host, port, *args, **kwargs):
        attempts.append((host, port))
        raise socket.gaierror(socket.EAI_NONAME, f"test: no name lookups ({host!r})")

    patch.setattr(socket.socket, "connect", connect)
    patch.setattr(socket.socket, "connect_ex", connect)
    patch.setattr(socket, "create_connection", create_connection)
    patch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


# ---- plots -----------------------------------------------------------------------------------------
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a whole PNG file; fails on anything else or a truncated one."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, "not a PNG file"
    assert data[12:16] == b"IHDR"
    assert data.rstrip(b"\x00").endswith(b"IEND\xaeB`\x82"), "truncated PNG"
    return struct.unpack(">II", data[16:24])


# ---- embeddings ----------------------------------------------------------------------------------
EMBED_TEXTS = ["A short one.", "Die Katze sitzt auf der Matte und schläft den ganzen Nachmittag.", "x",
               "猫在垫子上睡觉。", "Une phrase de longueur moyenne, avec une virgule."]  # lengths and scripts apart


def all_layers(embedder, texts: list[str], pooling: str = "mean"):
    """Every layer's sentence vectors in one full pass: (layers + 1, len(texts), hidden) float32."""
    import numpy as np

    from stilt_cli.core.retrieval import extract

    total = embedder.num_layers
    out = np.empty((total + 1, len(texts), embedder.encoder.hidden_size), dtype=np.float32)
    embedder.compute(texts, extract.EmbedSpec(tuple(range(total + 1)), pooling), out)
    return out


# ---- XTREME tag files --------------------------------------------------------------------------
def tag_sentences(path: Path) -> list[list[str]]:
    """The tags (last tab-separated field) of a `token<TAB>tag` file, one list per sentence."""
    sentences, current = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
        else:
            current.append(line.strip().split("\t")[-1])
    if current:
        sentences.append(current)
    return sentences


def shift_every_7th(gold: list[list[str]]) -> list[list[str]]:
    """Deterministic predictions with known errors: every 7th token (corpus order) takes the gold tag
    of the token before it."""
    pred, count, previous = [], 0, "O"
    for sentence in gold:
        row = []
        for tag in sentence:
            count += 1
            row.append(previous if count % 7 == 0 else tag)
            previous = tag
        pred.append(row)
    return pred
