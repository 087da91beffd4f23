"""`summary --effect` against an arm measured once without a seed (an untrained encoder's retrieval): its one
value pairs with every seed of the trained arm, so the effect keeps the trained arm's seeds."""

from __future__ import annotations

import json

from stilt_cli.core import records
from tests.helpers import write_jsonl

LANGS = ("de", "fr", "ja", "sw")


def test_seedless_base_pairs_with_every_seed(cli, tmp_path):
    base = write_jsonl(tmp_path / "base.jsonl",
                       [records.make("retrieval", "tatoeba", lang, "accuracy", 0.5, split="test") for lang in LANGS])
    arm = write_jsonl(tmp_path / "arm.jsonl", [records.make("retrieval", "tatoeba", lang, "accuracy", 0.5 + 0.1 * seed,
                                                            split="test", seed=seed)
                                               for seed in (1, 2) for lang in LANGS])
    result = cli("summary", f"base={base}", f"arm={arm}", "--effect", "base:arm", "--format", "jsonl",
                 "--resamples", "200")
    assert result.exit_code == 0, result.stderr
    task = next(r for r in map(json.loads, result.stdout.splitlines())
                if r["kind"] == "effect" and r["params"]["level"] == "task")
    assert task["n_seeds"] == 2 and abs(task["value"] - 0.15) < 1e-9  # mean of +0.1 and +0.2
    assert task["ci_low"] <= 0.15 <= task["ci_high"]
