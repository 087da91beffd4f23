"""The loop: multi-task sampling, accumulation equal to one big batch, keep-best + early stopping on the
English dev set, NaN loss stops with the last good state kept."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stilt_cli.core import checkpoint, tasks
from stilt_cli.core.data import features
from stilt_cli.core.device import Capabilities, choose, decide
from stilt_cli.core.encoders.load import from_checkpoint
from stilt_cli.core.errors import DataError
from stilt_cli.core.model import heads
from stilt_cli.core.training import callbacks, config, loop, sampling, trainstate
from stilt_cli.core.training.distributed import Dist
from tests import train_data as td
from tests.helpers import poison_loss

NLI = ["entailment", "neutral", "contradiction"]


def test_sampling_methods():
    sizes = [900, 100]
    assert np.allclose(sampling.probabilities(sizes, "proportional"), [0.9, 0.1])
    assert np.allclose(sampling.probabilities(sizes, "uniform"), [0.5, 0.5])
    tempered = sampling.probabilities(sizes, "temperature", 2.0)
    assert np.allclose(tempered, np.array([30.0, 10.0]) / 40.0)  # sqrt sizes
    plan = sampling.schedule(sizes, 2000, "proportional", seed=1)
    assert abs(np.mean(plan == 0) - 0.9) < 0.03
    assert np.array_equal(plan, sampling.schedule(sizes, 2000, "proportional", seed=1))
    assert not np.array_equal(plan, sampling.schedule(sizes, 2000, "proportional", seed=2))
    positions = sampling.positions(np.array([0, 1, 0, 0, 1]))
    assert positions.tolist() == [0, 0, 1, 2, 1]


def _setup(ckpt, tmp_path, rows=None, dev=None, **settings):
    encoder = from_checkpoint(checkpoint.load(ckpt))
    torch.manual_seed(0)
    spec = heads.HeadSpec(name="xnli", type="classification", task="xnli", labels=NLI,
                          hidden_size=encoder.hidden_size, dropout=0.0)
    heads.set_encoder_dropout(encoder.model, 0.0)
    model = heads.Model(encoder.model, {"xnli": spec}, {"xnli": heads.build_head(spec)})
    tok = encoder.tokenizer
    kwargs = dict(task="xnli", head_type="classification", max_length=32, labels=NLI)
    feats = features.featurize(rows or td.nli(64), tok, split="train", **kwargs)
    dev_set = None
    if dev is not None:
        dev_set = loop.DevSet(spec=tasks.get("xnli"), examples=dev,
                               features=features.featurize(dev, tok, split="dev", **kwargs))
    values = {"lr": 1e-3, "batch_size": 16, "eval_every": 0, **settings}
    cfg = config.resolve(values, [tasks.get("xnli")])
    job = loop.TrainTask(name="xnli", task="xnli", head_type="classification", features=feats,
                          batch_size=cfg.task("xnli", "batch_size"), epochs=cfg.task("xnli", "epochs"), dev=dev_set)
    runtime = loop.Runtime(device=choose("cpu"), dist=Dist(), state_dir=tmp_path / "state", config_key="k",
                            pad_id=tok.pad_token_id)
    return model, job, cfg, runtime


def test_gradient_accumulation_equals_one_big_batch(tiny_ckpts, tmp_path):
    results = []
    for accumulation in (1, 4):
        model, job, cfg, runtime = _setup(tiny_ckpts["mbert"], tmp_path, max_steps=6, grad_accum=accumulation)
        loop.train(model, [job], cfg, runtime)
        results.append({k: v.clone() for k, v in model.state_dict().items()})
    for key, value in results[0].items():
        assert torch.allclose(value, results[1][key], atol=2e-6, rtol=1e-5), key


@pytest.mark.parametrize("frozen_embeddings", [False, True])
def test_keep_best_and_early_stopping(tiny_xlmr, tmp_path, monkeypatch, frozen_embeddings):
    scores = iter([0.5, 0.7, 0.6, 0.55, 0.9])
    snapshots, kept = {}, []
    real_snapshot = callbacks.snapshot
    monkeypatch.setattr(callbacks, "snapshot", lambda model: kept.append(real_snapshot(model)) or kept[-1])

    def fake_evaluate(model, tasks_, cfg, rt):  # the dev metric is scripted; weights are real
        snapshots[len(snapshots) + 1] = {k: v.clone() for k, v in model.state_dict().items()}
        return {"xnli": next(scores)}

    monkeypatch.setattr(loop, "evaluate", fake_evaluate)
    model, job, cfg, runtime = _setup(tiny_xlmr, tmp_path, dev=td.nli(9, seed=5), max_steps=50, eval_every=2,
                                      patience=2)
    embeddings = model.encoder.get_input_embeddings().weight
    embeddings.requires_grad_(not frozen_embeddings)
    before = embeddings.detach().clone()
    state = loop.train(model, [job], cfg, runtime)
    # keep-best copies what training can change: frozen weights (LoRA's base, frozen embeddings) are not copied
    names = set(kept[0])
    assert any(k.endswith("word_embeddings.weight") for k in names) is not frozen_embeddings
    assert frozen_embeddings is torch.equal(embeddings, before)
    assert state.stopped_early and state.step == 8  # evals at 2, 4, 6, 8: no gain after step 4 twice
    assert state.best == 0.7 and state.best_step == 4
    assert [h["step"] for h in state.history] == [2, 4, 6, 8]
    for key, value in model.state_dict().items():  # the weights of step 4, not of step 8
        assert torch.equal(value, snapshots[2][key]), key


def test_real_dev_evaluation_is_english_accuracy(tiny_xlmr, tmp_path):
    dev = td.nli(30, seed=9)
    model, job, cfg, runtime = _setup(tiny_xlmr, tmp_path, dev=dev, max_steps=2, eval_every=1)
    state = loop.train(model, [job], cfg, runtime)
    assert len(state.history) == 2
    value = state.history[-1]["dev"]["xnli"]
    assert 0.0 <= value <= 1.0 and round(value * 30) == pytest.approx(value * 30)  # a share of 30 examples


def test_nan_loss_stops_and_keeps_the_last_good_state(tiny_xlmr, tmp_path, monkeypatch):
    poison_loss(monkeypatch, at_call=4)
    model, job, cfg, runtime = _setup(tiny_xlmr, tmp_path, max_steps=10)
    with pytest.raises(DataError, match=r"loss became nan at step 4 .*last good state \(step 3\)"):
        loop.train(model, [job], cfg, runtime)
    assert trainstate.exists(runtime.state_dir)
    import json

    assert json.loads((runtime.state_dir / "state.json").read_text())["progress"]["step"] == 3


@pytest.mark.parametrize("accumulation", [1, 4])
def test_sparse_embedding_gradient_gives_the_dense_update(accumulation, tiny_xlmr, tmp_path, monkeypatch):
    from stilt_cli.core.training import embedgrad

    results, used = [], []
    real_densify = embedgrad.SparseEmbeddingGrad.densify

    def spy(self):
        used.append(self.active and self.embedding.weight.grad is not None and self.embedding.weight.grad.is_sparse)
        real_densify(self)

    monkeypatch.setattr(embedgrad.SparseEmbeddingGrad, "densify", spy)
    for threshold in (1 << 62, 0):  # dense path, then the sparse one
        monkeypatch.setattr(embedgrad, "MIN_VALUES", threshold)
        model, job, cfg, runtime = _setup(tiny_xlmr, tmp_path / str(threshold), max_steps=5, grad_accum=accumulation)
        loop.train(model, [job], cfg, runtime)
        assert model.encoder.get_input_embeddings().sparse is False  # restored after training
        results.append({k: v.clone() for k, v in model.state_dict().items()})
    assert used[:5] == [False] * 5 and used[5:] == [True] * 5
    for key, value in results[0].items():
        assert torch.allclose(value, results[1][key], atol=2e-6, rtol=1e-5), key


def test_sparse_embedding_gradient_only_where_safe(tiny_xlmr, monkeypatch):
    from stilt_cli.core.training import embedgrad

    monkeypatch.setattr(embedgrad, "MIN_VALUES", 0)
    encoder = from_checkpoint(checkpoint.load(tiny_xlmr)).model
    cpu = choose("cpu")
    cuda = decide("auto", "auto", Capabilities(cuda_available=True, cuda_count=1, cuda_bf16=True))  # faked GPU
    assert embedgrad.SparseEmbeddingGrad(encoder, encoder, cpu, distributed=False).active
    assert not embedgrad.SparseEmbeddingGrad(encoder, encoder, cpu, distributed=True).active
    assert not embedgrad.SparseEmbeddingGrad(encoder, encoder, cuda, distributed=False).active  # CPU only
    mps = decide("auto", "auto", Capabilities(mps_available=True))
    assert not embedgrad.SparseEmbeddingGrad(encoder, encoder, mps, distributed=False).active
    tied = torch.nn.ModuleDict({"encoder": encoder, "decoder": torch.nn.Linear(4, 4)})
    tied["decoder"].weight = encoder.get_input_embeddings().weight
    assert not embedgrad.SparseEmbeddingGrad(tied, encoder, cpu, distributed=False).active
    encoder.get_input_embeddings().weight.requires_grad_(False)  # --freeze-embeddings
    assert not embedgrad.SparseEmbeddingGrad(encoder, encoder, cpu, distributed=False).active
