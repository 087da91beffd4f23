"""Tiny random models of every verified encoder family, saved in Hugging Face layout the way a cluster
user brings a downloaded model (`save_pretrained` of the class the hub checkpoint holds, and its fast
tokenizer), plus how to run each source with its own transformers class for faithfulness checks.

`SOURCES`: case name -> (tiny kind, folder name, sizes, what the folder holds). The folder names matter
where stilt tells a family by its source name (mBERT, LaBSE).
"""

from __future__ import annotations

import json
from pathlib import Path

LARGE_VOCAB = 250_002  # XLM-R's; XLM-V and Glot500 have 0.9-1M rows, the same code paths
SOURCES = {
    "xlmr": ("xlmr", "xlm-roberta-tiny", {}, "mlm"),
    "xlmv-250k": ("xlmr", "xlm-v-tiny", {"hidden": 32, "ffn": 64, "vocab_padded_to": LARGE_VOCAB}, "mlm"),
    "mbert": ("mbert", "bert-base-multilingual-tiny", {}, "mlm"),
    "labse": ("mbert", "LaBSE-tiny", {}, "encoder"),  # LaBSE's checkpoint is a BertModel: no MLM head
    "mdeberta": ("mdeberta", "mdeberta-v3-tiny", {}, "mlm"),
    "rembert": ("rembert", "rembert-tiny", {}, "mlm"),
    "modernbert": ("modernbert", "mmBERT-tiny", {}, "mlm"),
    "mt5": ("mt5", "mt5-tiny", {}, "seq2seq"),
    "umt5": ("umt5", "umt5-tiny", {}, "seq2seq"),
    "t5": ("t5", "t5-tiny", {}, "seq2seq"),
    "xlmr-xl": ("xlmr-xl", "xlm-roberta-xl-tiny", {}, "mlm"),
    "eurobert": ("eurobert", "EuroBERT-tiny", {}, "mlm"),
}
# EuroBERT's hub config.json still maps its classes to the repository's own code, from before transformers
# shipped them: a built-in model_type loads with transformers' classes and the folder's code never runs
EUROBERT_AUTO_MAP = {"AutoConfig": "configuration_eurobert.EuroBertConfig",
                     "AutoModel": "modeling_eurobert.EuroBertModel",
                     "AutoModelForMaskedLM": "modeling_eurobert.EuroBertForMaskedLM"}
SEQ2SEQ = {"mt5": "MT5ForConditionalGeneration", "umt5": "UMT5ForConditionalGeneration",
           "t5": "T5ForConditionalGeneration"}


def save_source(case: str, root: Path) -> Path:
    """Build the case's tiny model and save it as its hub checkpoint would be laid out."""
    import torch
    import transformers

    from stilt_cli.core.encoders import tiny

    kind, name, sizes, holds = SOURCES[case]
    out = root / name
    model, tokenizer, _ = tiny.source_model(kind, seed=0, sizes=sizes)
    if holds == "encoder":
        model = model.base_model
    elif holds == "seq2seq":  # the hub holds the whole encoder-decoder; stilt keeps the encoder
        torch.manual_seed(1)
        full = getattr(transformers, SEQ2SEQ[kind])(model.config)
        full.load_state_dict(model.state_dict(), strict=False)
        model = full
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    if kind in ("mdeberta", "eurobert"):
        config = json.loads((out / "config.json").read_text())
        config.pop("legacy", None)  # microsoft/mdeberta-v3-base's config.json says nothing of `legacy`
        if kind == "eurobert":
            config["auto_map"] = EUROBERT_AUTO_MAP
        (out / "config.json").write_text(json.dumps(config, indent=2))
    return out


def source_hidden(case: str, folder: Path, batch: dict):
    """The source's last hidden states, loaded with its own transformers class (not stilt's choice)."""
    import torch
    import transformers

    kind, _, _, holds = SOURCES[case]
    if holds == "seq2seq":
        encoder = getattr(transformers, SEQ2SEQ[kind]).from_pretrained(folder).get_encoder()
    elif holds == "mlm":
        encoder = transformers.AutoModelForMaskedLM.from_pretrained(folder).base_model
    else:
        encoder = transformers.AutoModel.from_pretrained(folder)
    encoder.eval()
    with torch.inference_mode():
        return encoder(**batch).last_hidden_state
