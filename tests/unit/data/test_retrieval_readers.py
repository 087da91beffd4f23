"""Tatoeba and BUCC readers: both Tatoeba formats, BUCC id/gold files, every bad input
(the real files: tests/realdata/test_retrieval_realdata.py)."""

from __future__ import annotations

import pytest

from stilt_cli.core.data.readers import bucc, tatoeba
from stilt_cli.core.errors import DataError


def _write(path, lines, newline="\n", bom=False):
    data = newline.join(lines) + newline
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode("utf-8"))


def _error(call, *args, **kwargs) -> str:
    """The one-line message (with hint) of the DataError `call` raises."""
    with pytest.raises(DataError) as info:
        call(*args, **kwargs)
    return info.value.one_line()


def _sentences(rows, side):
    return [(r["id"], r["text"]) for r in rows if r.get("side") == side]


def test_tatoeba_original_laser_files_gold_is_line_alignment(tmp_path):
    # LASER names Chinese 'cmn': stilt's zh maps to it; CRLF and a BOM are accepted, trailing blank lines dropped
    _write(tmp_path / "tatoeba.cmn-eng.cmn", ["我爱你。", "你好", ""], newline="\r\n", bom=True)
    _write(tmp_path / "tatoeba.cmn-eng.eng", [" I love you. ", "Hello"])
    rows = tatoeba.read(tmp_path, ["zh"])
    assert _sentences(rows, "src") == [("zh:1", "我爱你。"), ("zh:2", "你好")]
    assert _sentences(rows, "tgt") == [("en:1", "I love you."), ("en:2", "Hello")]
    assert [r["link"] for r in rows if "link" in r] == [["zh:1", "en:1"], ["zh:2", "en:2"]]
    assert {r["lang"] for r in rows} == {"zh"}
    assert tatoeba.available(tmp_path) == ["zh"]


def test_tatoeba_xtreme_sorted_copy_reads_sentences_only_and_says_why(tmp_path, capsys):
    _write(tmp_path / "sw-en.sw", ["Habari", "Asante"])
    _write(tmp_path / "sw-en.en", ["Hello", "Thanks"])
    rows = tatoeba.read(tmp_path, ["sw"])
    assert len(_sentences(rows, "src")) == 2 and not any("link" in r for r in rows)
    assert "sorted" in capsys.readouterr().err


def test_tatoeba_xtreme_copy_with_labels_file(tmp_path):
    _write(tmp_path / "sw-en.sw", ["Habari", "Asante"])
    _write(tmp_path / "sw-en.en", ["Hello", "Thanks"])  # sorted English; labels give the sw line of each
    _write(tmp_path / "test-sw.tsv", ["0", "1"])
    rows = tatoeba.read(tmp_path, ["sw"])
    assert [r["link"] for r in rows if "link" in r] == [["sw:1", "en:1"], ["sw:2", "en:2"]]
    _write(tmp_path / "test-sw.tsv", ["0", "7"])
    with pytest.raises(DataError, match="out of range"):
        tatoeba.read(tmp_path, ["sw"])


def test_tatoeba_bad_inputs(tmp_path):
    _write(tmp_path / "tatoeba.deu-eng.deu", ["a", "b", "c"])
    _write(tmp_path / "tatoeba.deu-eng.eng", ["a", "b"])
    with pytest.raises(DataError, match="has 3 lines but tatoeba.deu-eng.eng has 2"):
        tatoeba.read(tmp_path, ["de"])
    (tmp_path / "tatoeba.fra-eng.fra").write_text("")
    (tmp_path / "tatoeba.fra-eng.eng").write_text("")
    with pytest.raises(DataError, match="empty"):
        tatoeba.read(tmp_path, ["fr"])
    message = _error(tatoeba.read, tmp_path, ["ja"])
    assert "no Tatoeba files for 'ja'" in message and "tatoeba.jpn-eng.jpn" in message
    with pytest.raises(DataError, match="only a test split"):
        tatoeba.read(tmp_path, ["de"], split="dev")
    (tmp_path / "tatoeba.ita-eng.ita").write_bytes(b"ok\n\xff\xfe\n")
    _write(tmp_path / "tatoeba.ita-eng.eng", ["ok", "x"])
    with pytest.raises(DataError, match=r"tatoeba.ita-eng.ita:2: not valid UTF-8"):
        tatoeba.read(tmp_path, ["it"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no Tatoeba files in"):
        tatoeba.read(empty)


def _bucc_files(folder, split="dev"):
    _write(folder / f"de-en.{split}.de", ["de-1\tHallo Welt", "de-2\tGuten Morgen"])
    _write(folder / f"de-en.{split}.en", ["en-1\tGood morning", "en-2\tUnrelated", "en-3\tHello world"])
    _write(folder / f"de-en.{split}.gold", ["de-1\ten-3", "de-2\ten-1"])


def test_bucc_reads_ids_sentences_and_gold(tmp_path):
    _bucc_files(tmp_path)
    rows = bucc.read(tmp_path, ["de"], "dev")
    assert _sentences(rows, "src") == [("de-1", "Hallo Welt"), ("de-2", "Guten Morgen")]
    assert len(_sentences(rows, "tgt")) == 3
    assert [r["link"] for r in rows if "link" in r] == [["de-1", "en-3"], ["de-2", "en-1"]]
    assert bucc.available(tmp_path, "dev") == ["de"] and bucc.available(tmp_path, "test") == []


def test_bucc_official_names_and_subfolder(tmp_path):
    folder = tmp_path / "de-en"
    folder.mkdir()
    _bucc_files(folder, "sample")
    assert len([r for r in bucc.read(tmp_path, ["de"], "dev") if "link" in r]) == 2


def test_bucc_bad_inputs(tmp_path):
    _bucc_files(tmp_path)
    _write(tmp_path / "de-en.dev.gold", ["de-1\ten-3", "de-9\ten-1"])
    with pytest.raises(DataError, match=r"de-en.dev.gold:2: id 'de-9' is not in de-en.dev.de"):
        bucc.read(tmp_path, ["de"], "dev")
    _write(tmp_path / "de-en.dev.gold", ["de-1\ten-33"])
    with pytest.raises(DataError, match="'en-33' is not in de-en.dev.en"):
        bucc.read(tmp_path, ["de"], "dev")
    _write(tmp_path / "de-en.dev.de", ["de-1 no tab here"])
    with pytest.raises(DataError, match=r"de-en.dev.de:1: expected 'id<TAB>sentence'"):
        bucc.read(tmp_path, ["de"], "dev")
    (tmp_path / "de-en.dev.de").write_text("")
    with pytest.raises(DataError, match="empty"):
        bucc.read(tmp_path, ["de"], "dev")
    assert "BUCC's test split is the BUCC training set" in _error(bucc.read, tmp_path, ["de"], "test")
    with pytest.raises(DataError, match="not 'train'"):
        bucc.read(tmp_path, ["de"], "train")


def test_bucc_without_gold_reads_sentences(tmp_path, capsys):
    _bucc_files(tmp_path)
    (tmp_path / "de-en.dev.gold").unlink()
    rows = bucc.read(tmp_path, None, "dev")
    assert not any("link" in r for r in rows) and len(rows) == 5
    assert "no gold file" in capsys.readouterr().err
