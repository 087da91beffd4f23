"""The JSONL reader, the result-record contract and atomic outputs."""

from __future__ import annotations

import errno
import os
import threading

import pytest

from stilt_cli.core import atomic, records, textio
from stilt_cli.core.errors import DataError, UsageError
from tests.helpers import held_by_another_run


def _write(tmp_path, data: bytes, name: str = "f.jsonl"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_jsonl_line_numbers_count_blank_lines_and_last_line(tmp_path):
    path = _write(tmp_path, b'{"a": 1}\n\n\n{"a": 2}\n{"a": ')  # last line broken, no newline
    with pytest.raises(DataError, match=r"f.jsonl:5: invalid JSON"):
        list(textio.read_jsonl(path))
    path = _write(tmp_path, b'{"a": 1}\n\n[1, 2]\n')
    with pytest.raises(DataError, match=r":3: expected a JSON object"):
        list(textio.read_jsonl(path))


def test_jsonl_bom_crlf_and_blank_lines(tmp_path):
    path = _write(tmp_path, b'\xef\xbb\xbf{"a": 1}\r\n\r\n{"a": 2}\r\n')
    assert [(n, o["a"]) for n, o in textio.read_jsonl(path)] == [(1, 1), (3, 2)]


def test_jsonl_non_utf8_and_empty(tmp_path):
    path = _write(tmp_path, b'{"a": 1}\n{"a": "\xff"}\n')
    with pytest.raises(DataError, match=r":2: not valid UTF-8"):
        list(textio.read_jsonl(path))
    assert list(textio.read_jsonl(_write(tmp_path, b"", "empty.jsonl"))) == []
    with pytest.raises(DataError, match="no such file"):
        list(textio.read_jsonl(tmp_path / "missing.jsonl"))
    with pytest.raises(DataError, match="is a directory"):
        list(textio.read_jsonl(tmp_path))


def test_jsonl_huge_line(tmp_path, monkeypatch):
    monkeypatch.setattr(textio, "MAX_LINE_BYTES", 100)
    path = _write(tmp_path, b'{"a": 1}\n{"a": "' + b"x" * 200 + b'"}\n')
    with pytest.raises(DataError, match=r":2: line longer than 100 bytes"):
        list(textio.read_jsonl(path))


def test_record_roundtrip_and_identity(tmp_path):
    rec = records.make("eval", "xnli", "de", "accuracy", 0.5, split="test", n=10, params={"b": 1, "a": 2}, seed=3)
    assert rec["schema"] == records.SCHEMA and rec["stilt_version"]
    path = tmp_path / "r.jsonl"
    textio.write_jsonl(path, [rec])
    back = list(records.read(path))
    assert back[0]["value"] == 0.5
    other = dict(rec, params={"a": 2, "b": 1}, seed=9, checkpoint={"name": "x"})
    assert records.identity(other) == records.identity(rec)  # params order, seed and checkpoint do not matter
    assert records.identity(dict(rec, lang="fr")) != records.identity(rec)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"kind": "eval", "task": "xnli", "lang": "de", "metric": "accuracy"}', "missing field 'value'"),
        (b'{"kind": "eval", "task": "xnli", "lang": "de", "metric": "accuracy", "value": "0.5"}',
         "field 'value' has type str"),
        (b'{"kind": "eval", "task": 3, "lang": "de", "metric": "accuracy", "value": 0.5}', "field 'task' has type int"),
        (b'{"kind": "eval", "task": "x", "lang": "de", "metric": "a", "value": 1, "schema": "stilt.record/9"}',
         "record schema stilt.record/9 is newer"),
        (b'{"kind": "eval", "task": "x", "lang": "de", "metric": "a", "value": true}', "field 'value' has type bool"),
    ],
)
def test_record_validation(tmp_path, line, message):
    path = _write(tmp_path, b"\n" + line + b"\n")
    with pytest.raises(DataError, match=r"f.jsonl:2: " + message):
        list(records.read(path))


def test_user_records_with_extra_fields_are_accepted(tmp_path):
    path = _write(tmp_path, b'{"kind": "eval", "task": "xnli", "lang": "de", "metric": "accuracy", "value": 0.7, '
                            b'"note": "paper"}\n')
    (rec,) = records.read(path)
    assert rec["note"] == "paper" and rec["split"] is None and rec["params"] == {}


def test_expand_paths(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "b.jsonl").write_text("")
    (tmp_path / "d" / "a.jsonl").write_text("")
    (tmp_path / "d" / ".hidden.jsonl").write_text("")
    assert [p.name for p in records.expand_paths([tmp_path / "d"])] == ["a.jsonl", "b.jsonl"]
    with pytest.raises(DataError):
        records.expand_paths([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no .jsonl"):
        records.expand_paths([tmp_path / "empty"])


def test_atomic_write_replaces_whole_or_not_at_all(tmp_path, monkeypatch):
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")

    real_replace = os.replace

    def disk_full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(DataError, match="disk full"):
        atomic.write_text(target, "new\n")
    monkeypatch.setattr(os, "replace", real_replace)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]  # no temporary left behind
    atomic.write_text(target, "new\n")
    assert target.read_text() == "new\n"


def test_disk_full_during_write(tmp_path, monkeypatch):
    target = tmp_path / "r.jsonl"
    target.write_text("old\n")
    import pathlib

    def no_space(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pathlib.Path, "write_bytes", no_space)
    with pytest.raises(DataError, match="disk full while writing"):
        textio.write_jsonl(target, [{"a": 1}])
    monkeypatch.undo()
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.jsonl"]


def test_output_lock_refuses_a_second_writer(tmp_path):
    out = tmp_path / "results.jsonl"
    with held_by_another_run(out), pytest.raises(UsageError) as info:
        with atomic.output_lock(out):
            pass
    assert "another stilt run" in info.value.one_line()
    with atomic.output_lock(out):  # free again
        pass


def test_concurrent_writers_of_different_files_do_not_interfere(tmp_path):
    def work(i):
        textio.write_jsonl(tmp_path / f"r{i}.jsonl", [{"i": i, "k": k} for k in range(200)])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(8):
        rows = [o for _, o in textio.read_jsonl(tmp_path / f"r{i}.jsonl")]
        assert len(rows) == 200 and all(r["i"] == i for r in rows)
