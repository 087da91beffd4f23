"""Encoder families as data: retrieval defaults with their sources, family names from model_type and
source name, projection modules and token-type facts that match the real modules, and the one-line
answers for an unknown family, a model that needs remote code and a class transformers lacks."""

from __future__ import annotations

import inspect
import json

import pytest

from stilt_cli.core.encoders import families
from stilt_cli.core.encoders.families import XTREME_DEPTH, retrieval_default


@pytest.mark.parametrize(("family", "layers", "layer", "source"), [
    ("xlmr", 24, 14, "X-STILTs (Phang et al., 2020), XLM-R Large: layer 14 of 24"),
    ("xlmr", 12, 8, "XTREME (Hu et al., 2020), XLM-R base: layer 8 of 12"),
    ("mbert", 12, 8, "XTREME (Hu et al., 2020), mBERT: layer 8 of 12"),
    ("xlmr", 6, 4, f"{XTREME_DEPTH}: layer 4 of 6"),
    ("deberta-v2", 12, 8, f"{XTREME_DEPTH}: layer 8 of 12"),
    ("modernbert", 22, 15, f"{XTREME_DEPTH}: layer 15 of 22"),  # mmBERT-base
    ("rembert", 32, 21, f"{XTREME_DEPTH}: layer 21 of 32"),
    ("umt5", 24, 16, f"{XTREME_DEPTH}: layer 16 of 24"),
    ("xlm-roberta-xl", 36, 24, f"{XTREME_DEPTH}: layer 24 of 36"),  # XLM-R XL: X-STILTs' 14 of 24 was Large's
    ("xlm-roberta-xl", 48, 32, f"{XTREME_DEPTH}: layer 32 of 48"),  # XXL
    ("eurobert", 12, 8, f"{XTREME_DEPTH}: layer 8 of 12"),  # EuroBERT-210m
    ("labse", 12, 12, "LaBSE (Feng et al., 2022): layer 12 of 12"),
    ("e5", 12, 12, "multilingual-e5 (Wang et al., 2024): layer 12 of 12"),
    ("electra", 12, 8, f"{XTREME_DEPTH}: layer 8 of 12"),  # never seen: the relative depth, said so
])
def test_retrieval_default_and_its_source(family, layers, layer, source):
    assert retrieval_default(family, layers) == (layer, source)


def test_family_names_from_model_type_and_source():
    from types import SimpleNamespace as Config

    assert families.family_of(Config(model_type="bert"), "/models/bert-base-multilingual-cased") == "mbert"
    assert families.family_of(Config(model_type="bert"), "sentence-transformers/LaBSE") == "labse"
    assert families.family_of(Config(model_type="bert"), "intfloat/multilingual-e5-small") == "e5"
    assert families.family_of(Config(model_type="umt5")) == "umt5"
    assert families.family_of(Config(model_type="xlm-roberta"), "facebook/xlm-v-base") == "xlmr"
    assert families.family_of(Config(model_type="electra")) == "electra"
    assert families.family_of(Config(model_type="xlm-roberta-xl"), "facebook/xlm-roberta-xxl") == "xlm-roberta-xl"
    assert families.family_of(Config(model_type="eurobert"), "EuroBERT/EuroBERT-610m") == "eurobert"
    assert families.get("eurobert").head_pooling == "mean" and families.get("xlm-roberta-xl").head_pooling == "cls"
    assert families.get("mt5").has_cls is False and families.get("umt5").head_pooling == "mean"
    assert families.get("electra").verified is False and families.get("xlmr").verified is True


@pytest.mark.parametrize("kind", ["xlmr", "mbert", "mdeberta", "rembert", "modernbert", "mt5", "umt5", "t5", "xlmr-xl",
                                  "eurobert"])
def test_family_facts_match_the_real_modules(kind):
    from stilt_cli.core.encoders import tiny

    model, _, _, mlm = tiny.build(kind, sizes={"hidden": 32, "ffn": 64})
    family = families.get(families.family_of(model.config, "multilingual" if kind == "mbert" else ""))
    assert family.tiny == kind
    assert family.encoder_class in ("AutoModel", type(model).__name__)
    names = [n for n, _ in model.named_modules()]
    projections = families.projection_modules(model.config)
    assert set(projections) == {"attention", "feed_forward"}
    for suffix in projections["attention"]:
        assert any(n.endswith("." + suffix) for n in names), suffix
    assert any(n.endswith("." + s) for s in projections["feed_forward"] for n in names)
    takes_types = "token_type_ids" in inspect.signature(model.forward).parameters
    assert takes_types == (family.token_types != "none"), kind
    assert (mlm is not None) == (family.mlm_class is not None)
    if mlm is not None:
        assert mlm["modules"] and all(k.split(".")[0] in mlm["modules"] for k in mlm["state"])


def _electra_folder(root):
    import transformers

    from stilt_cli.core.encoders import tiny

    _, tokenizer, _ = tiny.source_model("mbert")
    config = transformers.ElectraConfig(vocab_size=len(tokenizer), embedding_size=16, hidden_size=32,
                                        num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    transformers.ElectraForMaskedLM(config).save_pretrained(root)
    tokenizer.save_pretrained(root)
    return root


def test_an_unknown_family_loads_with_one_warning(cli, tmp_path):
    source = _electra_folder(tmp_path / "electra-tiny")
    result = cli("pretrain-load", source, "-o", tmp_path / "ckpt")
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    known = "bert, deberta-v2, eurobert, modernbert, mt5, rembert, roberta, t5, umt5, xlm-roberta, xlm-roberta-xl"
    assert warnings == [f"warning: model_type 'electra' is not a family stilt has verified ({known}): loading it "
                        "through AutoModel; its MLM head, token types, CLS token and retrieval layer are unverified"]
    assert "the checkpoint keeps none, so continued MLM is unavailable" in result.stderr
    manifest = json.loads((tmp_path / "ckpt" / "stilt.json").read_text())
    encoder = manifest["encoder"]
    assert encoder["family"] == "electra" and encoder["family_verified"] is False
    assert encoder["retrieval_layer_source"] == f"{XTREME_DEPTH}: layer 1 of 2" and manifest["mlm_head"] is None
    (tmp_path / "in.txt").write_text("one line\nanother line\n")
    assert cli("embed", tmp_path / "ckpt", "--input", tmp_path / "in.txt", "-o", tmp_path / "v").exit_code == 0


def test_remote_code_is_refused_without_trust_remote_code(cli, tmp_path):
    source = tmp_path / "custom"
    source.mkdir()
    (source / "config.json").write_text(json.dumps({
        "model_type": "stilt-custom", "auto_map": {"AutoConfig": "configuration_custom.CustomConfig",
                                                   "AutoModel": "modeling_custom.CustomModel"}}))
    result = cli("pretrain-load", source, "-o", tmp_path / "ckpt")
    assert result.exit_code == 2 and result.stdout == "" and not (tmp_path / "ckpt").exists()
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: '{source}' needs its own modelling code (config.json has auto_map), which stilt runs only when "
        "told to (hint: pass --trust-remote-code to `stilt pretrain-load` if you trust that code, then use the "
        "checkpoint it writes)")
    assert "Traceback" not in result.stderr


def test_a_class_transformers_lacks_is_one_line(tmp_path):
    from stilt_cli.core.encoders.load import model_from_dir
    from stilt_cli.core.errors import DataError

    with pytest.raises(DataError) as info:
        model_from_dir(tmp_path, "NoSuchEncoderModel")
    assert "needs transformers.NoSuchEncoderModel, which transformers" in info.value.one_line()


def test_a_family_whose_model_type_transformers_lacks_is_one_line(cli, tmp_path, monkeypatch):
    """EuroBERT on a transformers from before it shipped the classes: its hub config.json maps to the
    repository's own code, yet the answer names the missing class and the installed version."""
    import transformers
    from transformers.models.auto import configuration_auto

    source = tmp_path / "EuroBERT-210m"
    source.mkdir()
    (source / "config.json").write_text(json.dumps({"model_type": "eurobert", "auto_map": {
        "AutoConfig": "configuration_eurobert.EuroBertConfig", "AutoModel": "modeling_eurobert.EuroBertModel"}}))
    monkeypatch.delitem(configuration_auto.CONFIG_MAPPING_NAMES, "eurobert")
    result = cli("pretrain-load", source, "-o", tmp_path / "ckpt")
    assert result.exit_code == 1 and result.stdout == "" and not (tmp_path / "ckpt").exists()
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: '{source}' is a eurobert model, which needs transformers.EuroBertForMaskedLM; transformers "
        f"{transformers.__version__} lacks it (hint: upgrade transformers; stilt verified eurobert with "
        f"{', '.join(families.EUROBERT.verified_with)})")


def test_every_tiny_builder_is_named_in_the_cli_reference():
    from stilt_cli.core.encoders.tiny import TINY_KINDS
    from tests.helpers import ROOT

    reference = (ROOT / "docs" / "CLI.md").read_text(encoding="utf-8")
    listed = reference.split("tiny:KIND (", 1)[1].split(")", 1)[0].split(",")
    assert sorted(" ".join(k.split()) for k in listed) == sorted(TINY_KINDS)
    assert {f.tiny for f in families.FAMILIES if f.tiny} == set(TINY_KINDS)
