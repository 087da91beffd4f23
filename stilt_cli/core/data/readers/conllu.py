"""CoNLL-U (Universal Dependencies), read into XTREME's UD-POS examples.

XTREME converts each treebank with `ud-conversion-tools/conllu_to_conll.py
--replace_subtokens_with_fused_forms` and then `utils_preprocess.py udpos_preprocess`. Reproduced here:

- a multiword token (`12-13 du` over `de` + `le`) becomes one token, its fused surface form, tagged
  with the UPOS of the span's head word: the word with the fewest ancestors in the sentence graph
  (basic heads plus the integer heads of the enhanced DEPS column, as the converter builds it); when
  several words tie, the first of them with the best rank in a per-language UPOS precedence list;
- empty nodes (`8.1`) are ignored; forms lose U+200C and inner spaces (Vietnamese syllables);
- a sentence whose forms are all (or all but one) `_` is dropped (treebanks distributed without text);
- all treebanks of a language are concatenated in file-name order (the pattern may match several).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from stilt_cli.core.data.readers._io import Context, Located
from stilt_cli.core.errors import DataError
from stilt_cli.core.textio import lines

# ud-conversion-tools' POSRANKPRECEDENCEDICT, as XTREME calls it (`--lang` = the file-name prefix)
PRECEDENCE = {
    "default": ("VERB", "NOUN", "PROPN", "PRON", "ADJ", "NUM", "ADV", "INTJ", "AUX", "ADP", "DET", "PART", "CCONJ",
                "SCONJ", "X", "PUNCT"),
    "es": ("VERB", "AUX", "PRON", "ADP", "DET"),
    "fr": ("VERB", "AUX", "PRON", "NOUN", "ADJ", "ADV", "ADP", "DET", "PART", "SCONJ", "CONJ"),
    "it": ("VERB", "AUX", "ADV", "PRON", "ADP", "DET", "INTJ"),
}
EXPECTED = "10 tab-separated CoNLL-U columns (ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC)"


@dataclass(frozen=True)
class Word:
    form: str
    lemma: str
    feats: str  # 'Case=Nom|Number=Sing', or '_'
    upos: str


class _Sentence:
    def __init__(self, start: int):
        self.start = start
        self.words: dict[int, tuple[str, str]] = {}  # id -> (form, upos)
        self.morphology: dict[int, tuple[str, str]] = {}  # id -> (lemma, feats), for core/analysis/udmorph.py
        self.parents: dict[int, set] = {}  # id -> heads (basic + enhanced); '_' heads are the node None
        self.fused: list[tuple[int, int, str]] = []  # (first id, last id, surface form)

    def ancestors(self, node: int) -> int:
        seen: set = set()
        todo = list(self.parents.get(node, ()))
        while todo:
            parent = todo.pop()
            if parent in seen:
                continue
            seen.add(parent)
            todo.extend(self.parents.get(parent, ()))
        return len(seen)

    def span_head(self, first: int, last: int, precedence: tuple[str, ...]) -> int:
        span = list(range(first, last + 1))
        depth = [self.ancestors(n) for n in span]
        highest = [n for n, d in zip(span, depth) if d == min(depth)]
        if len(highest) == 1:
            return highest[0]
        # a tag the list lacks ranks last (the original converter would stop with an error there)
        rank = {upos: i for i, upos in enumerate(precedence)}
        return min(highest, key=lambda n: rank.get(self.words[n][1], len(precedence)))

    def tokens(self, precedence: tuple[str, ...]) -> tuple[list[str], list[str]]:
        replaced: dict[int, str] = {}
        dropped: set[int] = set()
        for first, last, form in self.fused:
            if any(n not in self.words for n in range(first, last + 1)):
                raise DataError(f"line {self.start}: multiword token {first}-{last} covers words that are missing")
            head = self.span_head(first, last, precedence)
            replaced[head] = form
            dropped.update(n for n in range(first, last + 1) if n != head)
        forms, tags = [], []
        for node in sorted(self.words):
            if node in dropped:
                continue
            form, upos = self.words[node]
            forms.append(replaced.get(node, form))
            tags.append(upos)
        return forms, tags


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _parse(path: Path) -> Iterator[_Sentence]:
    sentence: _Sentence | None = None
    for number, line in lines(path):
        if not line.strip():
            if sentence is not None and sentence.words:
                yield sentence
            sentence = None
            continue
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        where = f"{path}:{number}"
        if len(fields) != 10:
            raise DataError(f"{where}: {len(fields)} fields, not a CoNLL-U word line", f"expected {EXPECTED}")
        if sentence is None:
            sentence = _Sentence(number)
        word_id, form, upos, head, deps = fields[0], fields[1], fields[3], fields[6], fields[8]
        if "." in word_id:  # an empty node of the enhanced graph
            continue
        if "-" in word_id:
            first, _, last = word_id.partition("-")
            if _int(first) is None or _int(last) is None:
                raise DataError(f"{where}: bad multiword token id '{word_id}'", f"expected {EXPECTED}")
            sentence.fused.append((int(first), int(last), form))
            continue
        node = _int(word_id)
        if node is None:
            raise DataError(f"{where}: bad word id '{word_id}'", f"expected {EXPECTED}")
        sentence.words[node] = (form, upos.strip())
        sentence.morphology[node] = (fields[2], fields[5])
        parents = {_int(head)} if head != "_" else {None}
        if head != "_" and _int(head) is None:
            raise DataError(f"{where}: bad HEAD '{head}'", f"expected {EXPECTED}")
        if deps != "_":
            parents.update(int(p.split(":", 1)[0]) for p in deps.split("|") if p.split(":", 1)[0].isdigit())
        sentence.parents[node] = parents
    if sentence is not None and sentence.words:
        yield sentence


def words(path: Path) -> Iterator[list[Word]]:
    """The syntactic words of each sentence, as annotated (no fused forms, no empty nodes): what corpus
    measures of morphology count."""
    for sentence in _parse(path):
        yield [Word(form, *sentence.morphology[node], upos) for node, (form, upos) in sorted(sentence.words.items())]


def read(path: Path, ctx: Context) -> Iterator[Located]:
    prefix = path.name.split("_", 1)[0]
    precedence = PRECEDENCE.get(prefix, PRECEDENCE["default"])
    for sentence in _parse(path):
        try:
            forms, tags = sentence.tokens(precedence)
        except DataError as exc:
            raise DataError(f"{path}:{exc.message}") from None
        empty = sum(form == "_" for form in forms)
        if empty and empty >= len(forms) - 1:
            continue  # a treebank without its text
        forms = ["".join(form.replace("\u200c", "").split(" ")) for form in forms]
        yield f"{path}:{sentence.start}", {"id": f"{ctx.next_id()}", "lang": ctx.lang, "tokens": forms,
                                           "tags": tags}
