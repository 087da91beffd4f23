"""Sentence breaks of a paragraph, where a release gives none (SQuAD v1.1 for LAReQA's training pairs).

XQuAD-R ships its own `sentence_breaks`; SQuAD does not, and XTREME's LAReQA training infers them with a
rule-based breaker (`third_party/processors/sb_sed.py`). This one follows the same idea, written for
stilt: a sentence ends at `.`, `?` or `!` (with closing quotes or brackets) followed by whitespace and an
upper-case letter, a digit or an opening quote/bracket, except after a known abbreviation, a single
initial ("J. R. R. Tolkien") or an initial-dotted form ("U.S."). It is not the same set of rules as
sb_sed's SQuAD-specific tweaks, so a few sentence boundaries (and with them a few training pairs)
differ; evaluation never uses it, since XQuAD-R's breaks are read from the file.
"""

from __future__ import annotations

import re

_END = re.compile(r"""[.?!][)\]'"\u201d\u2019]*(?=\s+[(\['"\u201c\u2018]?[A-Z0-9])""")
_WORD_BEFORE = re.compile(r"([\w.]+)[.?!][)\]'\"\u201d\u2019]*$")
ABBREVIATIONS = frozenset(
    "Mr Mrs Ms Dr Prof Sr Jr St Sta Mt Ft Fr Rev Msgr Lt Gen Col Maj Adm Capt Sgt Rep Gov Sen Pres "
    "Jan Feb Aug Sept Oct Nov Dec vs v pp p cf approx est ca fl b d r c No no Vol Art Sec ch Op et al "
    "e.g i.e a.k.a etc Inc Ltd Co Corp Bros".split())


def _is_abbreviation(text: str, end: int) -> bool:
    """Whether the punctuation that ends at `end` closes an abbreviation rather than a sentence."""
    if text[end - 1] != "." and not text[:end].rstrip(")]'\"\u201d\u2019").endswith("."):
        return False
    match = _WORD_BEFORE.search(text[:end])
    if match is None:
        return False
    word = match.group(1)
    if word in ABBREVIATIONS or word.rstrip(".") in ABBREVIATIONS:
        return True
    # a single initial ("J.") or initials run together ("U.S.", "D.C."): a name or an acronym goes on
    return bool(re.fullmatch(r"(?:[A-Z]\.)*[A-Z]", word))


def breaks(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the sentences of `text`, surrounding whitespace excluded."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _END.finditer(text):
        if _is_abbreviation(text, match.end()):
            continue
        spans.append((start, match.end()))
        start = match.end()
    spans.append((start, len(text)))
    out = []
    for begin, end in spans:
        while begin < end and text[begin].isspace():
            begin += 1
        while end > begin and text[end - 1].isspace():
            end -= 1
        if end > begin:
            out.append((begin, end))
    return out
