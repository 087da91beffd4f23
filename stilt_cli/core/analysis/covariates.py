"""Covariates for `correlate --covariates`: what besides distance from English explains a gain.

- `fertility`: tokenizer fertility = subword tokens per word, computed by stilt with the evaluated
  checkpoint's tokenizer on the task's evaluation text (the first `FERTILITY_SAMPLE` examples of each
  language). Words are the dataset's own tokens where it has them (UDPOS, PAN-X), otherwise
  whitespace-separated words. For scripts written without spaces between words (Han, Japanese,
  Thai, Myanmar, Khmer) whitespace words are meaningless, so fertility is missing there unless the
  text comes pre-tokenized.
- `subword-overlap`: the share of the distinct subword types (token ids, special tokens not counted)
  in a language's evaluation text that also occur in the English (`--ref`) evaluation text of the same
  task and split, both tokenized with the evaluated checkpoint's tokenizer, on the same sample as
  fertility (the first `FERTILITY_SAMPLE` examples of each language); for retrieval pairs the English
  text is their English side. Missing when the task has no English evaluation text. A share of types, not of running
  tokens: a rare shared subword counts as much as a frequent one.
- `pretrain-size`: log10 of the language's pretraining corpus size in GiB, from a table with its
  source: by default `stilt_cli/data/cc100_sizes.tsv`, XLM-R's CC-100 (Conneau et al. 2020,
  Appendix A, Table 6; see the file's header for the transcription used and its caveats). Languages
  without a row are missing. `--pretrain-sizes FILE` takes another table in the same format (e.g.
  Wikipedia sizes for mBERT).

Missing values are reported with a reason and the language is left out of the partial correlation,
never imputed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stilt_cli.core import console
from stilt_cli.core.errors import DataError, StiltError, UsageError, comma_list
from stilt_cli.core.tasks import langs

NAMES = ("fertility", "subword-overlap", "pretrain-size")
TOKENIZER_COVARIATES = ("fertility", "subword-overlap")  # measured with --checkpoint's tokenizer
DEFINITIONS = {
    "fertility": "subword tokens per word on the evaluation text",
    "subword-overlap": "share of the distinct subword types of the evaluation text that also occur in the "
                       "reference language's evaluation text of the same task",
    "pretrain-size": "log10(pretraining corpus size in GiB)",
}
FERTILITY_SAMPLE = 1000  # examples per language: plenty for a stable ratio, cheap to tokenize
UNSEGMENTED_SCRIPTS = {"Han", "Japanese", "Thai", "Myanmar", "Khmer"}
DEFAULT_SIZES = Path(__file__).resolve().parents[2] / "data" / "cc100_sizes.tsv"
# codes of the CC-100 table that stilt spells differently
_SIZE_ALIASES = {"no": "nb"}


@dataclass
class Covariate:
    """Per-language values of one covariate (None where missing, with the reason)."""

    name: str
    definition: str
    source: str
    values: dict[str, float | None] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def set(self, lang: str, value: float | None, reason: str | None = None) -> None:
        self.values[lang] = value
        if value is None:
            self.missing[lang] = reason or "unknown"


def parse(value: str | None) -> list[str]:
    """`--covariates fertility,subword-overlap,pretrain-size` -> names, with did-you-mean."""
    return comma_list(value, "--covariates", choices=NAMES, what="covariate", empty_ok=True, all_word=None,
                      normalise=lambda name: name.lower().replace("_", "-")) or []


# ---- pretraining corpus size ---------------------------------------------------------------------

def read_size_table(path: str | os.PathLike | None = None) -> dict[str, dict[str, Any]]:
    """{stilt code: {"size_gib", "tokens_millions", "name", "note"}}; rows sharing a code are summed."""
    path = Path(path) if path is not None else DEFAULT_SIZES
    if not path.is_file():
        raise DataError(f"{path}: no such file", "give a TSV with columns code, name, tokens_millions, size_gib")
    sizes: dict[str, dict[str, Any]] = {}
    header: list[str] | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if header is None:
            header = [c.strip() for c in cells]
            if "code" not in header or "size_gib" not in header:
                raise DataError(f"{path}:{number}: header must name at least 'code' and 'size_gib' (tab-separated)")
            continue
        row = dict(zip(header, (c.strip() for c in cells)))
        code = row.get("code", "")
        if code in ("", "-"):
            continue
        try:
            gib = float(row["size_gib"])
            tokens = float(row["tokens_millions"]) if row.get("tokens_millions") else None
        except (KeyError, ValueError):
            raise DataError(f"{path}:{number}: size_gib / tokens_millions must be numbers") from None
        if gib <= 0:
            raise DataError(f"{path}:{number}: size_gib must be positive")
        code = _SIZE_ALIASES.get(code, code)
        try:
            code = langs.normalise(code)
        except UsageError:
            pass  # a language stilt's table does not list: kept under its own code
        entry = sizes.setdefault(code, {"size_gib": 0.0, "tokens_millions": 0.0, "name": row.get("name", ""),
                                        "note": row.get("note", "")})
        entry["size_gib"] += gib
        entry["tokens_millions"] = (None if tokens is None or entry["tokens_millions"] is None
                                    else entry["tokens_millions"] + tokens)
    return sizes


def pretrain_size(codes: Iterable[str], table: str | os.PathLike | None = None) -> Covariate:
    sizes = read_size_table(table)
    source = str(table) if table is not None else "CC-100 (XLM-R): Conneau et al. 2020, Appendix A, Table 6"
    covariate = Covariate("pretrain-size", DEFINITIONS["pretrain-size"], source)
    for code in codes:
        entry = sizes.get(code)
        if entry is None:
            covariate.set(code, None, f"no pretraining size for '{code}' in "
                                      f"{Path(table).name if table else 'the CC-100 table'}")
        else:
            covariate.set(code, math.log10(entry["size_gib"]))
    return covariate


# ---- tokenizer fertility -------------------------------------------------------------------------

def texts_of(example: dict[str, Any]) -> list[str | list[str]]:
    """The evaluation text of one canonical example: strings, or a list of words when pre-tokenized."""
    if isinstance(example.get("tokens"), list):
        return [example["tokens"]]
    if "link" in example:
        return []
    if example.get("side") == "tgt":
        return []  # the English side of a retrieval pair says nothing about the other language
    out: list[str | list[str]] = []
    for name in ("text_a", "text_b", "text", "context", "question"):
        if isinstance(example.get(name), str):
            out.append(example[name])
    if isinstance(example.get("choices"), list):
        out.extend(c for c in example["choices"] if isinstance(c, str))
    return out


def texts_by_lang(examples: Iterable[dict[str, Any]], sample: int = FERTILITY_SAMPLE,
                  ref: str | None = None) -> dict[str, list[str | list[str]]]:
    """Each language's evaluation text (the first `sample` examples). With `ref`, the reference-language
    side of retrieval pairs (side 'tgt', filed under the other language) is the reference's text."""
    seen: dict[str, int] = {}
    out: dict[str, list[str | list[str]]] = {}
    for example in examples:
        lang = example.get("lang")
        english_side = ref is not None and example.get("side") == "tgt" and isinstance(example.get("text"), str)
        if english_side:
            lang = ref
        if not isinstance(lang, str) or seen.get(lang, 0) >= sample:
            continue
        parts = [example["text"]] if english_side else texts_of(example)
        if parts:
            seen[lang] = seen.get(lang, 0) + 1
            out.setdefault(lang, []).extend(parts)
    return out


def fertility(tokenizer: Any, texts: dict[str, list[str | list[str]]], source: str = "") -> Covariate:
    """Subword tokens per word for each language's texts (special tokens not counted)."""
    covariate = Covariate("fertility", DEFINITIONS["fertility"], source)
    for lang, items in texts.items():
        words = [item for item in items if isinstance(item, list) and item]
        strings = [item for item in items if isinstance(item, str) and item.strip()]
        script = _script(lang)
        if strings and script in UNSEGMENTED_SCRIPTS:
            covariate.set(lang, None, f"{script} text has no spaces between words and the data is not word-segmented")
            continue
        n_words = sum(len(w) for w in words) + sum(len(s.split()) for s in strings)
        if n_words == 0:
            covariate.set(lang, None, "no evaluation text")
            continue
        n_tokens = sum(len(ids) for ids in _token_ids(tokenizer, words + strings))
        covariate.set(lang, n_tokens / n_words)
    return covariate


def _token_ids(tokenizer: Any, items: list[str | list[str]]) -> list[list[int]]:
    words = [item for item in items if isinstance(item, list) and item]
    strings = [item for item in items if isinstance(item, str) and item.strip()]
    out: list[list[int]] = []
    for start in range(0, len(words), 256):
        out.extend(tokenizer(words[start:start + 256], is_split_into_words=True, add_special_tokens=False)["input_ids"])
    for start in range(0, len(strings), 256):
        out.extend(tokenizer(strings[start:start + 256], add_special_tokens=False)["input_ids"])
    return out


def subword_overlap(tokenizer: Any, texts: dict[str, list[str | list[str]]], ref: str = "en",
                    source: str = "") -> Covariate:
    """|types(lang) & types(ref)| / |types(lang)| over each language's evaluation text."""
    covariate = Covariate("subword-overlap", DEFINITIONS["subword-overlap"] + f" ({ref})", source)
    ref_types = {i for ids in _token_ids(tokenizer, texts.get(ref, [])) for i in ids}
    for lang, items in texts.items():
        if lang == ref:
            continue
        types = {i for ids in _token_ids(tokenizer, items) for i in ids}
        if not ref_types:
            covariate.set(lang, None, f"no {ref} evaluation text to compare with")
        elif not types:
            covariate.set(lang, None, "no evaluation text")
        else:
            covariate.set(lang, len(types & ref_types) / len(types))
    return covariate


def _script(code: str) -> str | None:
    try:
        return langs.get(code).script
    except UsageError:
        return None


def load_tokenizer(source: str | os.PathLike) -> tuple[Any, str]:
    """The tokenizer of a stilt checkpoint or a transformers model folder / hub id, and its name."""
    from stilt_cli.core import checkpoint as ckpt
    from stilt_cli.core.encoders import load

    path = Path(source)
    if ckpt.is_checkpoint(path):
        return load.tokenizer_from_dir(ckpt.load(path).encoder_dir), str(path)
    if path.is_dir():
        return load.tokenizer_from_dir(path), str(path)
    from stilt_cli.core.libs import transformers

    try:
        return transformers().AutoTokenizer.from_pretrained(str(source)), str(source)
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot load a tokenizer from '{source}': {first}",
                        "give --checkpoint a stilt checkpoint or a local model folder") from None


# ---- gathering covariates for `correlate` --------------------------------------------------------

Lookup = Callable[[Any, str], "float | None"]  # (unit, lang) -> value


def check(names: list[str], checkpoint: str | None) -> None:
    """Usage errors before any heavy work."""
    needing = [name for name in names if name in TOKENIZER_COVARIATES]
    if needing and checkpoint is None:
        verb = "needs" if len(needing) == 1 else "need"
        raise UsageError(f"{' and '.join(needing)} {verb} --checkpoint CKPT (whose tokenizer is measured)")


def collect(names: list[str], units: list[Any], all_langs: list[str], *, checkpoint: str | None = None,
            data_dir: str | None = None, data_files: dict[str, str] | None = None,
            pretrain_sizes: str | None = None, ref: str = "en") -> dict[str, tuple[Lookup, str]]:
    """{name: (lookup(unit, lang), source)} for `correlate`'s units; every missing value is reported once."""
    check(names, checkpoint)
    out: dict[str, tuple[Lookup, str]] = {}
    if "pretrain-size" in names:
        size = pretrain_size(all_langs, pretrain_sizes)
        for lang, reason in size.missing.items():
            console.warn(f"pretrain-size of {lang} is missing: {reason}")
        out["pretrain-size"] = (lambda unit, lang: size.values.get(lang), size.source)
    measured = [name for name in names if name in TOKENIZER_COVARIATES]
    if measured:
        out.update(_tokenizer_covariates(measured, units, checkpoint, data_dir, data_files or {}, ref))
    return {name: out[name] for name in names}


def _tokenizer_covariates(names: list[str], units: list[Any], checkpoint: str, data_dir: str | None,
                          data_files: dict[str, str], ref: str) -> dict[str, tuple[Lookup, str]]:
    """Fertility and subword overlap per (unit, language) on each unit's own evaluation split."""
    from stilt_cli.core import tasks
    from stilt_cli.core.data import sources

    tokenizer, name = load_tokenizer(checkpoint)
    values: dict[str, dict[tuple[str, str], float | None]] = {covariate: {} for covariate in names}
    for unit in units:
        try:
            spec = tasks.get(unit.task)
        except StiltError:
            for covariate in names:
                for lang in unit.gains:
                    console.warn(f"{covariate} for {unit.label}/{lang} is missing: task '{unit.task}' is unknown to "
                                 "stilt, so it has no evaluation text")
            continue
        wanted = sorted(unit.gains) + ([ref] if "subword-overlap" in names and ref not in unit.gains else [])
        texts = texts_by_lang(_examples_found(sources, spec, unit.split or "test", wanted, data_files, data_dir),
                              ref=ref)
        for covariate in names:
            measure = (fertility if covariate == "fertility"
                       else (lambda t, x, source: subword_overlap(t, x, ref, source)))
            found = measure(tokenizer, texts, source=name)
            for lang in unit.gains:
                value = values[covariate][(unit.label, lang)] = found.values.get(lang)
                if value is None:
                    reason = found.missing.get(lang, f"no {spec.name} evaluation text for {lang}")
                    console.warn(f"{covariate} for {unit.label}/{lang} is missing: {reason}")
    return {covariate: ((lambda unit, lang, table=values[covariate]: table.get((unit.label, lang))),
                        f"tokenizer of {name}") for covariate in names}


def _examples_found(sources: Any, spec: Any, split: str, wanted: list[str], data_files: dict[str, str],
                    data_dir: str | None) -> list[dict[str, Any]]:
    """The evaluation examples of `wanted`; a language the source lacks is left to the caller's warning."""
    try:
        return sources.load_examples(spec, split, wanted, data_file=data_files.get(spec.name), data_dir=data_dir)
    except DataError:
        if len(wanted) == 1:
            raise
        # one language missing (typically the reference's text): read the others one by one
        found = []
        for lang in wanted:
            try:
                found.extend(sources.load_examples(spec, split, [lang], data_file=data_files.get(spec.name),
                                                   data_dir=data_dir))
            except DataError:
                continue
        return found
