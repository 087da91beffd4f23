"""Heads on every tiny encoder kind: each head type trains a few steps and its loss falls; heads save,
load and refuse a task they do not fit; the MLM head is the pretrained one, tied to the embeddings."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from stilt_cli.core import checkpoint, tasks
from stilt_cli.core.data import features
from stilt_cli.core.device import choose
from stilt_cli.core.encoders.load import from_checkpoint
from stilt_cli.core.errors import DataError
from stilt_cli.core.model import heads
from stilt_cli.core.training import batching, config, loop
from stilt_cli.core.training.distributed import Dist
from tests import train_data as td

PANX = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
NLI = ["entailment", "neutral", "contradiction"]


def _model(ckpt: Path, head_type: str, task: str, labels: list[str], seed: int = 0):
    encoder = from_checkpoint(checkpoint.load(ckpt))
    torch.manual_seed(seed)
    spec = heads.HeadSpec(name=task, type=head_type, task=task, labels=labels, hidden_size=encoder.hidden_size,
                          pooling=heads.pooling_for(encoder.facts["family"]), dropout=0.0)
    return heads.Model(encoder.model, {task: spec}, {task: heads.build_head(spec)}), encoder.tokenizer


def mean_loss(model: heads.Model, name: str, feats: features.Features, pad_id: int, **mlm) -> float:
    model.eval()
    total, items = 0.0, 0
    torch.manual_seed(123)  # MLM masking: the same masks before and after training
    with torch.no_grad():
        for rows in batching.sorted_batches(feats.lengths(), 32):
            batch = batching.collate(feats, rows, pad_id)
            if mlm:
                batch = batching.mask_tokens(batch, **mlm)
            total += float(heads.loss_sum(feats.head_type, model(name, batch), batch))
            items += heads.loss_items(feats.head_type, batch)
    model.train()
    return total / items


def fit(model, tokenizer, feats, steps: int, lr: float, tmp_path: Path, mlm: dict | None = None) -> None:
    task = feats.task
    cfg = config.resolve({"lr": lr, "max_steps": steps, "batch_size": 16, "eval_every": 0}, [tasks.get(task)])
    job = loop.TrainTask(name=task, task=task, head_type=feats.head_type, features=feats, batch_size=16, epochs=1)
    runtime = loop.Runtime(device=choose("cpu"), dist=Dist(), state_dir=tmp_path / "state", config_key="test",
                            pad_id=tokenizer.pad_token_id, mlm=mlm or {})
    loop.train(model, [job], cfg, runtime)


CASES = [
    # first-token pooling on a random 2-layer encoder needs the encoder to learn first: a higher lr
    ("xlmr", "classification", "sst2", td.sentiment, ["0", "1"], 60, 3e-3),
    ("mbert", "classification", "xnli", td.nli, NLI, 60, 3e-3),
    ("mt5", "classification", "sst2", td.sentiment, ["0", "1"], 30, 1e-3),
    ("mbert", "tagging", "panx", td.entities, PANX, 30, 1e-3),
    ("mt5", "tagging", "panx", td.entities, PANX, 30, 1e-3),
    ("xlmr", "qa", "squad_v1", td.questions, [], 40, 1e-3),
    ("mt5", "qa", "squad_v1", td.questions, [], 40, 1e-3),
    ("xlmr", "multiple-choice", "xcopa", td.choices, [], 30, 3e-3),
    ("mt5", "multiple-choice", "xcopa", td.choices, [], 30, 3e-3),
    # in-batch negatives: each query must pick its own candidate among the batch's others. Mean pooling only:
    # a random encoder's first-token vectors are near-identical, and a contrastive loss's gradient is the
    # difference between candidates, so from there it barely moves (pretrained [CLS] vectors differ)
    ("mt5", "dual-encoder", "mewsli-x", td.ranking, [], 30, 1e-3),
]


@pytest.mark.parametrize("kind, head_type, task, make, labels, steps, lr", CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_each_head_type_trains_and_its_loss_falls(tiny_ckpts, tmp_path, kind, head_type, task, make, labels, steps, lr):
    model, tokenizer = _model(tiny_ckpts[kind], head_type, task, labels)
    feats = features.featurize(make(96), tokenizer, task=task, head_type=head_type, split="train", max_length=64,
                               labels=labels, doc_stride=16)
    before = mean_loss(model, task, feats, tokenizer.pad_token_id)
    fit(model, tokenizer, feats, steps, lr, tmp_path)
    after = mean_loss(model, task, feats, tokenizer.pad_token_id)
    assert after < 0.85 * before, (before, after)


def test_mlm_head_is_the_pretrained_one_tied_and_trains(tiny_xlmr, tmp_path):
    from stilt_cli.core.training.stages import _mlm_files

    parent = checkpoint.load(tiny_xlmr)
    encoder = from_checkpoint(parent)
    state, saved = _mlm_files(parent)
    head = heads.build_mlm_head(encoder.model, state, saved)
    # the pretrained weights, not a random head; the decoder is the embedding matrix itself
    for key, value in heads.mlm_state_to_save(head).items():
        assert torch.equal(value, state[key]), key
    decoder = head.lm_head.decoder
    assert decoder.weight is encoder.model.get_input_embeddings().weight
    spec = heads.HeadSpec(name="mlm", type="mlm", task="mlm", hidden_size=encoder.hidden_size)
    model = heads.Model(encoder.model, {"mlm": spec}, {"mlm": head})
    tok = encoder.tokenizer
    rows = [{"id": str(i), "lang": "en", "text": line} for i, line in enumerate(td.text_lines(64))]
    feats = features.featurize(rows, tok, task="mlm", head_type="mlm", split="train", max_length=32)
    mlm = {"mask_id": tok.mask_token_id, "vocab_size": len(tok), "special_ids": list(tok.all_special_ids),
           "probability": 0.15}
    before = mean_loss(model, "mlm", feats, tok.pad_token_id, **mlm)
    fit(model, tok, feats, 30, 1e-3, tmp_path, mlm=mlm)
    assert mean_loss(model, "mlm", feats, tok.pad_token_id, **mlm) < 0.9 * before
    assert head.lm_head.decoder.weight is encoder.model.get_input_embeddings().weight  # still tied


def test_pooling_follows_the_encoder_family():
    assert heads.pooling_for("xlmr") == "cls" and heads.pooling_for("mbert") == "cls"
    assert heads.pooling_for("mt5") == "mean" and heads.pooling_for("e5") == "mean"
    hidden = torch.arange(12.0).view(1, 3, 4)
    mask = torch.tensor([[1, 1, 0]])
    assert torch.equal(heads.pool(hidden, mask, "cls"), hidden[:, 0])
    assert torch.equal(heads.pool(hidden, mask, "mean"), hidden[:, :2].mean(1))


def test_a_head_written_with_the_old_pooling_name_first_still_loads(tiny_xlmr, tmp_path):
    """Heads written before the one pooling vocabulary say "first" for "cls": they load, and predict the same."""
    import json

    model, _ = _model(tiny_xlmr, "classification", "xnli", NLI)
    assert model.specs["xnli"].pooling == "cls"
    old = dict(model.specs["xnli"].to_json(), pooling="first")
    with checkpoint.writer(tmp_path / "old") as writer:
        writer.copy_encoder_from(checkpoint.load(tiny_xlmr))
        writer.save_head("xnli", model.heads["xnli"].state_dict(), old)
        writer.finish({"stage": "test"})
    saved = checkpoint.load(tmp_path / "old")
    assert json.loads((tmp_path / "old" / saved.heads["xnli"]["dir"] / "head.json").read_text())["pooling"] == "first"
    loaded = heads.load_model(saved, from_checkpoint(saved).model, "xnli", expected=model.specs["xnli"])
    assert loaded.specs["xnli"].pooling == "cls" and loaded.heads["xnli"].pooling == "cls"
    hidden, mask = torch.randn(2, 5, 8), torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    assert torch.equal(heads.pool(hidden, mask, loaded.specs["xnli"].pooling), hidden[:, 0])
    from stilt_cli.core.encoders.families import POOLING
    from stilt_cli.core.retrieval.extract import POOLINGS

    assert set(POOLING) <= set(POOLINGS)  # one vocabulary: heads and --pooling name the same two ways alike


def test_head_saves_loads_and_refuses_another_task(tiny_xlmr, tmp_path):
    model, tokenizer = _model(tiny_xlmr, "classification", "xnli", NLI)
    with checkpoint.writer(tmp_path / "ck") as writer:
        writer.copy_encoder_from(checkpoint.load(tiny_xlmr))
        writer.save_head("xnli", model.heads["xnli"].state_dict(), model.specs["xnli"].to_json())
        writer.finish({"stage": "test"})
    saved = checkpoint.load(tmp_path / "ck")
    assert saved.heads["xnli"]["type"] == "classification" and saved.heads["xnli"]["num_labels"] == 3
    encoder = from_checkpoint(saved)
    loaded = heads.load_model(saved, encoder.model, "xnli", expected=model.specs["xnli"])
    for key, value in model.heads["xnli"].state_dict().items():
        assert torch.equal(loaded.heads["xnli"].state_dict()[key], value)
    tagging = heads.HeadSpec(name="xnli", type="tagging", task="panx", labels=PANX, hidden_size=encoder.hidden_size)
    with pytest.raises(DataError, match="is a classification head, but task panx needs a tagging head"):
        heads.load_model(saved, encoder.model, "xnli", expected=tagging)
    other_labels = heads.HeadSpec(name="xnli", type="classification", task="pawsx", labels=["0", "1"],
                                  hidden_size=encoder.hidden_size)
    with pytest.raises(DataError, match="has labels"):
        heads.load_model(saved, encoder.model, "xnli", expected=other_labels)
    with pytest.raises(DataError, match="has no head 'udpos'"):
        heads.load_model(saved, encoder.model, "udpos")
