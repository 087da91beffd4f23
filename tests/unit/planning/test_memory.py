"""The memory planner: parameter counts of known encoders, the parts' arithmetic, what fits, and the CLI."""

from __future__ import annotations

import json

import pytest

from stilt_cli.core.errors import UsageError
from stilt_cli.core.planning import memory
from tests.helpers import jsonl


@pytest.mark.parametrize("name,millions", [("xlmr-large", 560), ("xlmr-xl", 3480), ("xlmr-xxl", 10700),
                                           ("xlmr-base", 278), ("mbert", 178)])
def test_parameter_counts_match_the_published_sizes(name, millions):
    assert memory.total_params(memory.shape_of(name)) / 1e6 == pytest.approx(millions, rel=0.02)


def test_hub_ids_and_folders_name_shapes(tmp_path):
    assert memory.shape_of("facebook/xlm-roberta-xxl") == memory.shape_of("xlmr-xxl")
    config = {"num_hidden_layers": 2, "hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2,
              "vocab_size": 1000, "max_position_embeddings": 66}
    (tmp_path / "encoder").mkdir()
    (tmp_path / "encoder" / "config.json").write_text(json.dumps(config))
    shape = memory.shape_of(str(tmp_path))  # a stilt checkpoint: its encoder/config.json
    assert (shape.layers, shape.hidden, shape.vocab) == (2, 32, 1000)
    with pytest.raises(UsageError, match="unknown model"):
        memory.shape_of(str(tmp_path / "nothing-here"))


def test_fsdp_divides_the_states_and_lora_trains_a_sliver():
    shape = memory.shape_of("xlmr-xl")
    ddp = memory.estimate(shape, memory.Setup(strategy="ddp", gpus=8))
    fsdp = memory.estimate(shape, memory.Setup(strategy="fsdp", gpus=8))
    lora = memory.estimate(shape, memory.Setup(strategy="lora", gpus=1))
    params = memory.total_params(shape)
    assert ddp["weights_gib"] * memory.GIB == pytest.approx(4 * params, rel=0.01)  # fp32 master weights
    assert ddp["optimizer_gib"] == pytest.approx(2 * ddp["weights_gib"], rel=0.01)  # AdamW's two moments
    assert fsdp["weights_gib"] == pytest.approx(ddp["weights_gib"] / 8, rel=0.02)
    assert fsdp["optimizer_gib"] == pytest.approx(ddp["optimizer_gib"] / 8, rel=0.02)
    assert lora["trainable"] < 0.01 * params and lora["optimizer_gib"] < 0.2
    assert ddp["activations_gib"] == fsdp["activations_gib"]  # 4 rows per GPU either way
    peak = ddp["weights_gib"] + ddp["optimizer_gib"] + ddp["workspace_gib"] + max(ddp["activations_gib"],
                                                                                ddp["gradients_gib"])
    assert ddp["peak_gib"] == pytest.approx(peak, abs=0.02)


def test_checkpointing_and_accumulation_shrink_activations():
    shape = memory.shape_of("xlmr-large")
    base = memory.estimate(shape, memory.Setup(batch_size=32, max_length=512))
    assert memory.estimate(shape, memory.Setup(batch_size=32, max_length=512, gradient_checkpointing=True)
                           )["activations_gib"] < base["activations_gib"] / 4
    assert memory.estimate(shape, memory.Setup(batch_size=32, max_length=512, grad_accum=4)
                           )["activations_gib"] == pytest.approx(base["activations_gib"] / 4, rel=0.05)


def test_xxl_needs_sharding_and_lora_fits_on_few():
    rows, verdict = memory.plan("xlmr-xxl", memory.Setup(gpus=8), ["ddp", "fsdp", "lora"], 80)
    by = {r["strategy"]: r for r in rows}
    assert not by["ddp"]["fits"] and by["ddp"]["min_gpus"] is None  # every GPU holds ~170 GB of states
    assert by["fsdp"]["fits"] and 2 <= by["fsdp"]["min_gpus"] <= 8
    assert "fsdp over >= " in verdict and "ddp does not fit" in verdict


def test_nothing_fits_names_the_smallest_configuration_that_would():
    with pytest.raises(UsageError) as caught:
        memory.plan("xlmr-xxl", memory.Setup(gpus=1), ["ddp", "fsdp"], 24)
    assert "nothing fits 1 x 24 GiB" in caught.value.message
    assert "smallest that fits: " in caught.value.hint and " x 24 GiB GPU(s)" in caught.value.hint


def test_cli_table_jsonl_and_bad_input(cli):
    result = cli("plan", "memory", "xlmr-large", "--gpus-per-node", "4", "--format", "jsonl", "--strategy", "fsdp")
    assert result.exit_code == 0, result.stderr
    (row,) = jsonl(result.stdout)
    assert row["strategy"] == "fsdp" and row["gpus"] == 4 and row["micro_batch"] == 8 and row["fits"]
    assert {"weights_gib", "gradients_gib", "optimizer_gib", "activations_gib", "workspace_gib"} <= row.keys()
    table = cli("plan", "memory", "xlmr-xxl", "--gpus-per-node", "8", "--nodes", "2")
    assert table.exit_code == 0 and "xlmr-xxl, bf16, 32 x 256: ddp does not fit" in table.stdout
    nothing = cli("plan", "memory", "xlmr-xxl", "--strategy", "ddp", "--gpu-memory", "16")
    assert nothing.exit_code == 2 and nothing.stderr.count("\n") == 1 and "smallest that fits" in nothing.stderr
    assert cli("plan", "memory", "xlmr-large", "--strategy", "zero3").exit_code == 2


def test_one_cpu_process_keeps_the_embedding_gradient_in_a_persistent_buffer():
    """The CPU path of core/training/embedgrad.py: the dense word-embedding gradient is one buffer kept
    across steps (workspace); the other gradients are counted as gradients. GPUs, LoRA and several
    processes have no such buffer."""
    from stilt_cli.core.training import embedgrad

    assert memory.SPARSE_EMBEDDING_MIN == embedgrad.MIN_VALUES
    shape = memory.shape_of("xlmr-base")
    cpu = memory.Setup(strategy="ddp", precision="fp32", batch_size=8, max_length=128, gpu=False)
    one, gpu = memory.estimate(shape, cpu), memory.estimate(shape, memory.Setup(**{**cpu.__dict__, "gpu": True}))
    buffer = 4 * shape.vocab * shape.hidden / memory.GIB
    assert one["gradients_gib"] == pytest.approx(gpu["gradients_gib"] - buffer, abs=0.01)
    assert one["workspace_gib"] > buffer
    lora = memory.estimate(shape, memory.Setup(**{**cpu.__dict__, "strategy": "lora"}))
    assert lora["workspace_gib"] < buffer  # a frozen embedding has no gradient
