"""Corpus morphology from Universal Dependencies treebanks: three measures of how much a language
inflects, read from CoNLL-U files under `--data-dir`, compared with the reference language's.

Treebanks are found the way `udpos` finds them (`conllu:{lang}_*-ud-{split}.conllu` of the udpos spec,
the layout rules of `core/data/readers/layout.py`): every treebank of a language and every split
present (train, dev, test), concatenated in file-name order. Words are the *syntactic* words of the
annotation (the `de` + `le` of `du`, no empty nodes), read by `core/data/readers/conllu.words`;
punctuation (UPOS `PUNCT`) is left out; forms and lemmas are compared lower-cased.

| feature            | definition |
|--------------------|------------|
| ud-feats-per-word  | mean number of FEATS (`Case=Nom|Number=Sing` counts 2, `_` counts 0) per word |
| ud-forms-per-lemma | mean number of distinct word forms per lemma, over lemmas seen at least twice (words whose LEMMA is `_` are left out) |
| ud-mattr           | moving-average type-token ratio of the word forms: the mean, over every window of 500 consecutive words, of distinct forms / 500 (Covington & McFall 2010) |

The distance of a language is |value - reference value|; every record also carries both values, the
word count and the files read (in `details`). A measure is missing, with the reason, for a language
without a treebank, when the reference has none, when the treebank has no FEATS or no LEMMA
annotation at all (unannotated is not the same as featureless: e.g. treebanks that never fill
FEATS), when no lemma occurs twice, or when there are fewer than 500 words for MATTR. Caveat:
forms-per-lemma grows with corpus size (more text shows more of each paradigm), so compare it
between treebanks of similar size; MATTR's fixed window is what makes it size-independent.
"""  # noqa: E501 (Markdown table rows cannot be wrapped)

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from stilt_cli.core.data.readers import conllu
from stilt_cli.core.errors import UsageError
from stilt_cli.core.tasks import langs

PROTOCOL = "ud-morphology-v1"
MATTR_WINDOW = 500
LEFT_OUT_UPOS = frozenset({"PUNCT"})
SPLITS = ("train", "dev", "test")
DEFINITIONS = {
    "ud-feats-per-word": "|a - b| between the mean number of UD FEATS per word (punctuation left out) of the "
                         "two languages' treebanks",
    "ud-forms-per-lemma": "|a - b| between the mean number of distinct lower-cased word forms per lemma, over "
                          "lemmas seen at least twice, of the two languages' treebanks (grows with corpus size)",
    "ud-mattr": f"|a - b| between the moving-average type-token ratio (window {MATTR_WINDOW} words, lower-cased "
                "forms, punctuation left out) of the two languages' treebanks",
}
MEASURES = tuple(DEFINITIONS)


@dataclass
class Profile:
    """One language's three measures, from the treebanks found for it."""

    lang: str
    files: list[str] = field(default_factory=list)
    n_words: int = 0
    values: dict[str, float | None] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)


def check_data_dir(data_dir: str | None, features: Iterable[str]) -> None:
    """Usage errors before any heavy work: the UD measures read treebanks from --data-dir."""
    wanted = [name for name in features if name in DEFINITIONS]
    if not wanted:
        return
    if data_dir is None:
        raise UsageError(f"--features {','.join(wanted)} reads UD treebanks: give --data-dir DIR",
                         "a folder with CoNLL-U files named like en_ewt-ud-test.conllu (any depth)")
    if not Path(data_dir).is_dir():
        raise UsageError(f"--data-dir {data_dir}: no such folder")


# ---- the measures --------------------------------------------------------------------------------

def mattr(tokens: list[str], window: int = MATTR_WINDOW) -> float | None:
    """Moving-average type-token ratio: mean distinct/window over all len-window+1 windows."""
    if len(tokens) < window:
        return None
    counts = Counter(tokens[:window])
    total = len(counts)
    for start in range(1, len(tokens) - window + 1):
        leaving, entering = tokens[start - 1], tokens[start + window - 1]
        counts[leaving] -= 1
        if counts[leaving] == 0:
            del counts[leaving]
        counts[entering] += 1
        total += len(counts)
    return total / ((len(tokens) - window + 1) * window)


def measure(words: Iterable[conllu.Word]) -> tuple[dict[str, float | None], dict[str, str], int]:
    """(values, missing reasons, word count) of the three measures over a sequence of words."""
    n_words = n_feats = annotated = 0
    forms: list[str] = []
    lemma_forms: dict[str, set[str]] = defaultdict(set)
    lemma_count: Counter[str] = Counter()
    for word in words:
        if word.upos in LEFT_OUT_UPOS:
            continue
        n_words += 1
        if word.feats != "_":
            n_feats += len(word.feats.split("|"))
            annotated += 1
        form = word.form.lower()
        forms.append(form)
        if word.lemma != "_":
            lemma = word.lemma.lower()
            lemma_forms[lemma].add(form)
            lemma_count[lemma] += 1
    values: dict[str, float | None] = dict.fromkeys(MEASURES)
    missing: dict[str, str] = {}
    if n_words == 0:
        return values, dict.fromkeys(MEASURES, "the treebank has no words besides punctuation"), 0
    if annotated:
        values["ud-feats-per-word"] = n_feats / n_words
    else:
        missing["ud-feats-per-word"] = "no word of the treebank has FEATS (unannotated, not necessarily featureless)"
    repeated = [lemma for lemma, count in lemma_count.items() if count >= 2]
    if repeated:
        values["ud-forms-per-lemma"] = sum(len(lemma_forms[lemma]) for lemma in repeated) / len(repeated)
    else:
        missing["ud-forms-per-lemma"] = ("the treebank has no LEMMA annotation" if not lemma_count
                                         else "no lemma occurs twice")
    values["ud-mattr"] = mattr(forms)
    if values["ud-mattr"] is None:
        missing["ud-mattr"] = f"only {n_words} words, fewer than the MATTR window of {MATTR_WINDOW}"
    return values, missing, n_words


# ---- finding and reading treebanks ---------------------------------------------------------------

def treebank_files(lang: str, data_dir: str | Path, tree: Any = None) -> tuple[list[Path], list[str]]:
    """(CoNLL-U files of `lang` under data_dir, every pattern looked for), as udpos finds them."""
    from stilt_cli.core import tasks
    from stilt_cli.core.data.readers import foreign_folders, task_folders
    from stilt_cli.core.data.readers.layout import Tree, candidates, fill, find

    spec = tasks.get("udpos")
    tree = tree or Tree(Path(data_dir))
    found: list[Path] = []
    looked: list[str] = []
    for split in SPLITS:
        for candidate in candidates(spec, split):
            if candidate.format != "conllu":
                continue
            pattern = fill(candidate.pattern, lang, split)
            looked.append(pattern)
            found.extend(p for p in find(tree, pattern, task_folders(spec), foreign_folders(spec)) if p not in found)
    return sorted(found), looked


@lru_cache(maxsize=256)
def _profile_of_files(files: tuple[tuple[str, int, int], ...]) -> tuple[dict[str, float | None], dict[str, str], int]:
    """Measures of a set of files (path, size, mtime): a file changed on disk is read again."""
    def every_word():
        for path, _size, _mtime in files:
            for sentence in conllu.words(Path(path)):
                yield from sentence

    return measure(every_word())


def profile(lang: str, data_dir: str | Path, tree: Any = None) -> Profile:
    files, looked = treebank_files(lang, data_dir, tree)
    result = Profile(lang, files=[_shown(path, data_dir) for path in files])
    if not files:
        reason = f"no UD treebank for '{lang}' under {data_dir} (looked for {', '.join(dict.fromkeys(looked))})"
        result.values = dict.fromkeys(MEASURES)
        result.missing = dict.fromkeys(MEASURES, reason)
        return result
    key = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    values, missing, n_words = _profile_of_files(key)
    result.values, result.missing, result.n_words = dict(values), dict(missing), n_words
    return result


def _shown(path: Path, data_dir: str | Path) -> str:
    try:
        return str(path.relative_to(data_dir))
    except ValueError:
        return str(path)


# ---- distances to the reference ------------------------------------------------------------------

def distances(codes: list[str], features: list[str], ref: str, data_dir: str | Path) -> list[Any]:
    """Distance items of each language to `ref` for each UD measure in `features`."""
    from stilt_cli.core.analysis.distance import Distance
    from stilt_cli.core.data.readers.layout import Tree

    check_data_dir(None if data_dir is None else str(data_dir), features)
    ref_lang = langs.get(ref)
    tree = Tree(Path(data_dir))  # the folder is walked once for every language
    profiles = {code: profile(code, data_dir, tree) for code in dict.fromkeys([ref_lang.code, *codes])}
    ref_profile = profiles[ref_lang.code]
    source = f"Universal Dependencies CoNLL-U under {data_dir}"
    out = []
    for name in features:
        ref_value = ref_profile.values[name]
        for code in codes:
            mine = profiles[code]
            value, reason = None, mine.missing.get(name)
            if mine.values[name] is not None and ref_value is None:
                reason = f"the reference {ref_lang.code} has no value: {ref_profile.missing[name]}"
            elif mine.values[name] is not None:
                value = round(abs(mine.values[name] - ref_value), 6)
            details = {"lang_value": _rounded(mine.values[name]), "ref_value": _rounded(ref_value),
                       "n_words": mine.n_words, "ref_n_words": ref_profile.n_words, "files": mine.files,
                       "ref_files": ref_profile.files}
            out.append(Distance(code, name, value, ref_lang.code, langs.get(code).iso3, ref_lang.iso3, source,
                                DEFINITIONS[name], reason, None, protocol=PROTOCOL, details=details))
    return out


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)
