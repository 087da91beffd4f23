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
    from typer.testing import CliRunner

    from stilt_cli.cli import app

    runner = CliRunner()

    def invoke(*args: str, input: str | bytes | None = None):
        return runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)

    return invoke


def _build_tiny(root: Path, kind: str) -> Path:
    from stilt_cli.core.encoders.pretrain import PretrainConfig, run

    out = root / f"tiny-{kind}"
    if not (out / "stilt.json").exists():
        run(PretrainConfig(source=f"tiny:{kind}", output=out, seed=0))
    return out


@pytest.fixture(scope="session")
def tiny_ckpts(tmp_path_factory) -> dict[str, Path]:
    """tiny:xlmr, tiny:mbert and tiny:mt5 checkpoints, built once per test session."""
    root = tmp_path_factory.mktemp("tiny-ckpts")
    return {kind: _build_tiny(root, kind) for kind in ("xlmr", "mbert", "mt5")}


@pytest.fixture(scope="session")
def tiny_xlmr(tiny_ckpts) -> Path:
    return tiny_ckpts["xlmr"]
