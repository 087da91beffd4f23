"""`stilt data export` on the real files of ../shared/data (skipped when absent): XNLI counts, UD POS from CoNLL-U."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.realdata


def test_export_shared_xnli_counts(cli, shared_data):
    folder = shared_data / "xnli"
    if not (folder / "xtreme_format/dev-de.tsv").exists():
        pytest.skip("xnli dev-de.tsv is not in this copy")
    result = cli("data", "export", "xnli", "--split", "dev", "--langs", "de", "--data-dir", folder)
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 2490


def test_export_shared_udpos_from_conllu(cli, shared_data):
    folder = shared_data / "udpos" / "ud_v2.5_conllu"
    if not folder.exists():
        pytest.skip("the UD treebanks are not in this copy")
    result = cli("data", "export", "udpos", "--split", "test", "--langs", "en", "--data-dir", folder)
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 2077
