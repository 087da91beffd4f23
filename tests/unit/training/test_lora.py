"""--peft lora: the resolved settings, the per-family default targets, and what stays frozen."""

from __future__ import annotations

import pytest

from stilt_cli.core import checkpoint, tasks
from stilt_cli.core.errors import UsageError
from stilt_cli.core.training import config, lora
from stilt_cli.core.training.config import UNSET


def _resolve(**given):
    return config.resolve({k: given.get(k, UNSET) for k in config.DEFAULTS if k in given}, [tasks.get("xnli")])


def test_full_fine_tuning_configs_carry_no_peft_settings():
    plain = _resolve().to_json()
    assert not set(config.PEFT_KEYS) & set(plain) and not set(config.PEFT_KEYS) & set(plain["sources"])
    assert plain["freeze_embeddings"] is False


def test_lora_implies_frozen_embeddings_and_keeps_its_settings():
    cfg = _resolve(peft="lora", lora_r=4, lora_targets="query, value")
    as_json = cfg.to_json()
    assert as_json["peft"] == "lora" and as_json["lora_r"] == 4 and as_json["lora_targets"] == ["query", "value"]
    assert cfg["freeze_embeddings"] is True and cfg.sources["freeze_embeddings"] == "peft:lora"
    with pytest.raises(UsageError, match="keeps the word embeddings frozen"):
        _resolve(peft="lora", freeze_embeddings=False)
    with pytest.raises(UsageError, match="--lora-alpha has no effect without --peft lora"):
        _resolve(lora_alpha=32.0)


@pytest.mark.parametrize("kind, expected", [
    ("mt5", ["q", "k", "v", "o", "wi_0", "wi_1", "wo"]),  # mT5's gated FFN: no plain `wi` exists
    ("mbert", ["query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"]),
    ("xlmr-xl", ["query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"]),
    ("eurobert", ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]),
])
def test_default_targets_are_the_family_projections_and_exist(tiny_ckpts, kind, expected):
    parent = checkpoint.load(tiny_ckpts[kind])
    cfg = _resolve(peft="lora")
    plan = lora.resolve(cfg, parent)
    assert plan.requested == ["attention", "feed_forward"]
    assert plan.targets == expected  # those of the family's projections this encoder has
    assert cfg["lora_targets"] == plan.targets and cfg.sources["lora_targets"].startswith("family:")


@pytest.mark.parametrize("kind, per_layer", [("xlmr-xl", 6), ("eurobert", 7)])
def test_default_targets_adapt_every_projection_and_only_the_adapters_learn(tiny_ckpts, kind, per_layer):
    """The families with their own projection names (EuroBERT's Llama-style q/k/v/o and gate/up/down; XLM-R
    XL's pre-layer-norm blocks): every projection of every layer gets an adapter, the adapters alone get
    gradients, and merging gives a plain encoder that computes what the adapted one does."""
    import torch

    from stilt_cli.core.encoders.families import encoder_inputs
    from stilt_cli.core.encoders.load import model_from_dir, tokenizer_from_dir

    parent = checkpoint.load(tiny_ckpts[kind])
    plan = lora.resolve(_resolve(peft="lora"), parent)
    encoder = model_from_dir(parent.encoder_dir, parent.encoder["model_class"])
    wrapped = lora.apply(encoder, plan)
    adapted = [name for name, _ in wrapped.named_modules() if name.endswith(".base_layer")]
    assert len(adapted) == per_layer * parent.encoder["num_layers"], adapted
    tokenizer = tokenizer_from_dir(parent.encoder_dir)
    batch = encoder_inputs(encoder.config, tokenizer(["der Hund schläft", "a cat"], padding=True, return_tensors="pt"))
    torch.manual_seed(0)
    for name, param in wrapped.named_parameters():
        if ".lora_B." in name:  # peft starts B at zero; move it so the merge has something to carry
            param.data.normal_(0, 0.02)
    wrapped.train()
    wrapped(**batch).last_hidden_state.pow(2).mean().backward()
    with_grad = [n for n, p in wrapped.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0]
    assert with_grad and all(".lora_A." in n or ".lora_B." in n for n in with_grad)
    wrapped.eval()
    with torch.no_grad():
        adapted_out = wrapped(**batch).last_hidden_state
        merged = wrapped.merge_and_unload()
        assert float((merged(**batch).last_hidden_state - adapted_out).abs().max()) < 1e-5


def test_group_names_and_suffixes_mix(tiny_ckpts):
    cfg = _resolve(peft="lora", lora_targets="attention,intermediate.dense,query")
    plan = lora.resolve(cfg, checkpoint.load(tiny_ckpts["mbert"]))
    assert plan.targets == ["query", "key", "value", "attention.output.dense", "intermediate.dense"]  # once each
    assert plan.requested == ["attention", "intermediate.dense", "query"] and cfg.sources["lora_targets"] == "cli"


def test_one_group_adapts_only_its_own_modules(tiny_ckpts):
    """BERT's feed-forward suffix `output.dense` also ends `attention.output.dense`: asking for the
    feed-forward group alone must not adapt the attention output projection."""
    from stilt_cli.core.encoders.load import model_from_dir

    parent = checkpoint.load(tiny_ckpts["mbert"])
    plan = lora.resolve(_resolve(peft="lora", lora_targets="feed_forward"), parent)
    assert plan.exclude == ["attention.output.dense"] and plan.to_json()["exclude_modules"] == plan.exclude
    wrapped = lora.apply(model_from_dir(parent.encoder_dir, parent.encoder["model_class"]), plan)
    adapted = {name.split(".base_layer")[0] for name, _ in wrapped.named_modules() if name.endswith(".base_layer")}
    assert adapted and all(name.endswith(("intermediate.dense", "layer.0.output.dense", "layer.1.output.dense"))
                           and "attention" not in name for name in adapted), adapted
    assert any(name.endswith("layer.0.output.dense") for name in adapted), adapted
    both = lora.resolve(_resolve(peft="lora"), parent)
    assert both.exclude == [] and "exclude_modules" not in both.to_json()


def test_lora_leaves_only_adapters_trainable_and_the_sparse_embedding_gradient_off():
    from transformers import BertConfig, BertModel

    from stilt_cli.core.device import choose
    from stilt_cli.core.training.embedgrad import MIN_VALUES, SparseEmbeddingGrad

    vocab = MIN_VALUES // 64 + 8  # just big enough for the sparse embedding gradient to engage
    model = BertModel(BertConfig(vocab_size=vocab, hidden_size=64, num_hidden_layers=1, num_attention_heads=2,
                                 intermediate_size=64), add_pooling_layer=False)
    cpu = choose("cpu")
    assert SparseEmbeddingGrad(model, model, cpu, False).active
    plan = lora.Plan(r=2, alpha=4.0, dropout=0.0, targets=["query", "value"], requested=["query", "value"],
                     model_type="bert")
    wrapped = lora.apply(model, plan)
    trainable = [n for n, p in wrapped.named_parameters() if p.requires_grad]
    assert trainable and all(".lora_A." in n or ".lora_B." in n for n in trainable)
    assert not SparseEmbeddingGrad(wrapped, wrapped, cpu, False).active
