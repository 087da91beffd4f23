"""The pretrained MLM head for continued-MLM training, rebuilt from a checkpoint's `mlm_head/`.

`head.json` names the source's *ForMaskedLM class and the child modules that make its head, applied in
order (XLM-R `lm_head`; BERT and RemBERT `cls`; ModernBERT `head` then `decoder`; mDeBERTa's
`lm_predictions`, called with the word embeddings). A tied decoder is the encoder's input embedding
matrix again; an untied one (RemBERT: its output embeddings are wider than its input ones) was saved
with the head. Checkpoints from before `modules` was recorded have a single head child, found by name.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from stilt_cli.core.errors import DataError


class MLMHead(nn.Module):
    """The source model's MLM head modules (transformers' own), each registered under its own name."""

    def __init__(self, modules: dict[str, nn.Module], takes_embeddings: list[str], embeddings: nn.Module, tied: bool):
        super().__init__()
        self.order = list(modules)
        self.takes_embeddings = set(takes_embeddings)
        self.tied = tied
        for name, module in modules.items():
            self.add_module(name, module)
        self._embeddings = [embeddings]  # a list: the encoder owns it, the head only reads it

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        for name in self.order:
            module = getattr(self, name)
            hidden = module(hidden, self._embeddings[0]) if name in self.takes_embeddings else module(hidden)
        return hidden


def build_mlm_head(encoder: nn.Module, head_state: dict[str, torch.Tensor], config: dict[str, Any]) -> MLMHead:
    """Rebuild the source model's MLM head from its saved weights; tie its decoder where the source did."""
    from stilt_cli.core.libs import transformers

    cls = getattr(transformers(), config["model_class"])
    model_config = encoder.config
    if config.get("config_overrides"):
        import copy

        model_config = copy.deepcopy(model_config)
        for key, value in config["config_overrides"].items():
            setattr(model_config, key, value)
    with torch.device("meta"):  # the full *ForMaskedLM would allocate a second encoder otherwise
        full = cls(model_config)
    children = [name for name, _ in full.named_children() if name != config["base_prefix"]]
    names = list(config.get("modules") or children)
    if not names or [n for n in names if n not in children] or (not config.get("modules") and len(children) != 1):
        raise DataError(f"cannot find the MLM head inside {config['model_class']} (children: {children})",
                        "re-create the checkpoint with `stilt pretrain-load`")
    tied = bool(config.get("tied_decoder", True))
    takes_embeddings = list(config.get("takes_embeddings") or [])
    modules = {}
    for name in names:
        module = getattr(full, name).to_empty(device="cpu")
        state = {k[len(name) + 1:]: v for k, v in head_state.items() if k.startswith(name + ".")}
        missing, unexpected = module.load_state_dict(state, strict=False)
        if unexpected or [k for k in missing if not (tied and _is_decoder_weight(name + "." + k))]:
            raise DataError("the checkpoint's mlm_head does not fit its encoder",
                            "re-create the checkpoint with `stilt pretrain-load`")
        modules[name] = module
    head = MLMHead(modules, takes_embeddings, encoder.get_input_embeddings(), tied)
    if tied and not takes_embeddings:
        decoder = next((m for n, m in head.named_modules() if n.endswith("decoder")), None)
        if decoder is None:
            raise DataError("the checkpoint's mlm_head has no decoder to tie", "re-create the checkpoint")
        decoder.weight = encoder.get_input_embeddings().weight  # tied, as in the pretrained model
    return head


def _is_decoder_weight(name: str) -> bool:
    return name == "decoder.weight" or name.endswith(".decoder.weight")


def mlm_state_to_save(head: MLMHead) -> dict[str, torch.Tensor]:
    """The MLM head's weights under the source model's names, without a tied decoder matrix."""
    return {k: v for k, v in head.state_dict().items() if not (head.tied and _is_decoder_weight(k))}
