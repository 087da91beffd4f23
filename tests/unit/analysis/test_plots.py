"""core/analysis/plots.py: valid PNGs of a fixed pixel size, written atomically and reproducibly."""

from __future__ import annotations

import pytest

from stilt_cli.core.analysis import plots
from tests.helpers import png_size


def _series():
    return [plots.Series("xnli", [0.1, 0.2, 0.4, 0.5], [1.0, 2.0, 2.5, 4.0], ["de", "fr", "hi", "ja"]),
            plots.Series("pawsx", [0.1, 0.2, 0.4], [0.5, 1.0, 3.0], ["de", "fr", "hi"])]


def test_scatter_is_a_png_of_the_default_size(tmp_path):
    path = tmp_path / "sub" / "gain-vs-syntax.png"
    plots.scatter(path, _series(), title="gain vs syntax", xlabel="distance", ylabel="gain")
    assert png_size(path) == (plots.WIDTH, plots.HEIGHT)
    assert sorted(p.name for p in path.parent.iterdir()) == ["gain-vs-syntax.png"]  # no temp files left


def test_scatter_custom_size_and_reproducible_bytes(tmp_path):
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    plots.scatter(first, _series(), width=480, height=360)
    plots.scatter(second, _series(), width=480, height=360)
    assert png_size(first) == (480, 360)
    assert first.read_bytes() == second.read_bytes()


def test_scatter_handles_a_single_point_series(tmp_path):
    path = tmp_path / "one.png"
    plots.scatter(path, [plots.Series("x", [0.3], [1.0], ["de"])])  # no line can be fitted: still a plot
    assert png_size(path) == (plots.WIDTH, plots.HEIGHT)


def test_score_vs_layer(tmp_path):
    path = tmp_path / "layers.png"
    plots.score_vs_layer(path, [0, 1, 2, 3], {"de": [0.1, 0.4, 0.6, 0.5], "fr": [0.2, 0.5, 0.7, 0.6]},
                         title="tatoeba accuracy", ylabel="accuracy")
    assert png_size(path) == (plots.WIDTH, plots.HEIGHT)
    with pytest.raises(ValueError, match="3 values for 4 layers"):
        plots.score_vs_layer(tmp_path / "bad.png", [0, 1, 2, 3], {"de": [0.1, 0.2, 0.3]})
    assert not (tmp_path / "bad.png").exists()
