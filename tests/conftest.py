"""Shared fixtures. Tests run offline (HF_HUB_OFFLINE=1) on one torch thread each."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("STILT_QUIET", "0")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MPLBACKEND", "Agg")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from stilt_cli.core.libs import quiet_env  # noqa: E402
from tests.helpers import invoke, refuse_connections  # noqa: E402

quiet_env()

SHARED_DATA = Path(os.environ.get("STILT_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


def pytest_configure(config):
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session", autouse=True)
def _private_stilt_cache(tmp_path_factory):
    """Tests never read or fill the user's ~/.cache/stilt: one throwaway cache per session."""
    os.environ["STILT_CACHE"] = str(tmp_path_factory.mktemp("stilt-cache"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip: a user's fresh machine does not have it."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent")
    return SHARED_DATA


@pytest.fixture
def cli():
    """Run the real CLI in-process; returns click's Result with .stdout and .stderr kept apart."""
    return invoke


@pytest.fixture
def no_network(monkeypatch) -> list:
    """Every connection (and name lookup) is refused at the socket layer; -> the list of what was tried."""
    return refuse_connections(monkeypatch)


@pytest.fixture(scope="module")
def typology_cache(tmp_path_factory):
    """One distance cache for the session's typology users (URIEL / URIEL+ load once); a module takes it
    with `pytestmark = pytest.mark.usefixtures("typology_cache")`."""
    folder = tmp_path_factory.getbasetemp() / "stilt-typology-cache"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STILT_CACHE", str(folder))
        patch.delenv("STILT_NO_CACHE", raising=False)
        yield folder


def _build_tiny(root: Path, kind: str) -> Path:
    from stilt_cli.core.encoders.pretrain import PretrainConfig, run

    out = root / f"tiny-{kind}"
    if not (out / "stilt.json").exists():
        run(PretrainConfig(source=f"tiny:{kind}", output=out, seed=0))
    return out


class _TinyCheckpoints(dict):
    """Kind -> checkpoint path; a kind not built yet is built on first use."""

    def __init__(self, root: Path, kinds: tuple[str, ...]):
        super().__init__({kind: _build_tiny(root, kind) for kind in kinds})
        self.root = root

    def __missing__(self, kind: str) -> Path:
        self[kind] = _build_tiny(self.root, kind)
        return self[kind]


@pytest.fixture(scope="session")
def tiny_ckpts(tmp_path_factory) -> dict[str, Path]:
    """tiny:xlmr, tiny:mbert and tiny:mt5 checkpoints, built once per test session; any other tiny kind
    (`tiny_ckpts["eurobert"]`) once, when first asked for."""
    return _TinyCheckpoints(tmp_path_factory.mktemp("tiny-ckpts"), ("xlmr", "mbert", "mt5"))


@pytest.fixture(scope="session")
def tiny_xlmr(tiny_ckpts) -> Path:
    return tiny_ckpts["xlmr"]
