"""Language codes: stilt speaks ISO 639-1 (639-3 where no 2-letter code exists) at its interface.

One table maps each language to the code every resource uses where they differ:
- `iso3`: ISO 639-3 of the *individual* language (URIEL/lang2vec need these: cmn not zho, arb not
  ara, swh not swa, ekk not est, pes not fas, zsm not msa);
- `laser`: the code of LASER's Tatoeba files (`tatoeba.cmn-eng.cmn`, `swh`, `pes`, …);
- `name`: the English name, used by hub configs such as `udpos.German`;
- `script` and `family` (genus for Indo-European), the categorical factors of `correlate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from stilt_cli.core.errors import UsageError, comma_list, unknown


@dataclass(frozen=True)
class Language:
    code: str
    iso3: str
    laser: str | None
    name: str
    script: str
    family: str


# code iso3 laser name script family
_TABLE = """
af afr afr Afrikaans Latin IE:Germanic
am amh amh Amharic Ethiopic Afro-Asiatic
ar arb ara Arabic Arabic Afro-Asiatic
az azj aze Azerbaijani Latin Turkic
be bel bel Belarusian Cyrillic IE:Slavic
bg bul bul Bulgarian Cyrillic IE:Slavic
bn ben ben Bengali Bengali IE:Indo-Aryan
ca cat cat Catalan Latin IE:Romance
cs ces ces Czech Latin IE:Slavic
cy cym cym Welsh Latin IE:Celtic
da dan dan Danish Latin IE:Germanic
de deu deu German Latin IE:Germanic
el ell ell Greek Greek IE:Greek
en eng eng English Latin IE:Germanic
es spa spa Spanish Latin IE:Romance
et ekk est Estonian Latin Uralic
eu eus eus Basque Latin Basque
fa pes pes Persian Arabic IE:Iranian
fi fin fin Finnish Latin Uralic
fr fra fra French Latin IE:Romance
ga gle gle Irish Latin IE:Celtic
gl glg glg Galician Latin IE:Romance
gu guj - Gujarati Gujarati IE:Indo-Aryan
he heb heb Hebrew Hebrew Afro-Asiatic
hi hin hin Hindi Devanagari IE:Indo-Aryan
hr hrv hrv Croatian Latin IE:Slavic
ht hat - Haitian Latin Creole
hu hun hun Hungarian Latin Uralic
hy hye hye Armenian Armenian IE:Armenian
id ind ind Indonesian Latin Austronesian
is isl isl Icelandic Latin IE:Germanic
it ita ita Italian Latin IE:Romance
ja jpn jpn Japanese Japanese Japonic
jv jav jav Javanese Latin Austronesian
ka kat kat Georgian Georgian Kartvelian
kk kaz kaz Kazakh Cyrillic Turkic
km khm khm Khmer Khmer Austro-Asiatic
ko kor kor Korean Hangul Koreanic
lt lit lit Lithuanian Latin IE:Baltic
lv lvs lvs Latvian Latin IE:Baltic
mk mkd mkd Macedonian Cyrillic IE:Slavic
ml mal mal Malayalam Malayalam Dravidian
mn khk mon Mongolian Cyrillic Mongolic
mr mar mar Marathi Devanagari IE:Indo-Aryan
ms zsm zsm Malay Latin Austronesian
my mya - Burmese Myanmar Sino-Tibetan
nb nob nob Norwegian Latin IE:Germanic
nl nld nld Dutch Latin IE:Germanic
pa pan - Punjabi Gurmukhi IE:Indo-Aryan
pl pol pol Polish Latin IE:Slavic
pt por por Portuguese Latin IE:Romance
qu quz - Quechua Latin Quechuan
ro ron ron Romanian Latin IE:Romance
ru rus rus Russian Cyrillic IE:Slavic
sk slk slk Slovak Latin IE:Slavic
sl slv slv Slovenian Latin IE:Slavic
sq sqi sqi Albanian Latin IE:Albanian
sr srp srp Serbian Cyrillic IE:Slavic
sv swe swe Swedish Latin IE:Germanic
sw swh swh Swahili Latin Niger-Congo
ta tam tam Tamil Tamil Dravidian
te tel tel Telugu Telugu Dravidian
th tha tha Thai Thai Kra-Dai
tl tgl tgl Tagalog Latin Austronesian
tr tur tur Turkish Latin Turkic
uk ukr ukr Ukrainian Cyrillic IE:Slavic
ur urd urd Urdu Arabic IE:Indo-Aryan
uz uzn uzb Uzbek Latin Turkic
vi vie vie Vietnamese Latin Austro-Asiatic
wo wol - Wolof Latin Niger-Congo
yo yor - Yoruba Latin Niger-Congo
zh cmn cmn Chinese Han Sino-Tibetan
"""


@lru_cache(maxsize=1)
def table() -> dict[str, Language]:
    langs: dict[str, Language] = {}
    for line in _TABLE.strip().splitlines():
        code, iso3, laser, name, script, family = line.split()
        langs[code] = Language(code, iso3, None if laser == "-" else laser, name, script, family)
    return langs


@lru_cache(maxsize=1)
def _aliases() -> dict[str, str]:
    """Other spellings users type, mapped to stilt's code: 639-3 individual and macro codes, LASER codes."""
    aliases: dict[str, str] = {}
    for code, lang in table().items():
        aliases[lang.iso3] = code
        if lang.laser:
            aliases[lang.laser] = code
        aliases[lang.name.lower()] = code
    # macrolanguage codes users commonly type
    aliases.update({"zho": "zh", "ara": "ar", "swa": "sw", "est": "et", "fas": "fa", "msa": "ms", "que": "qu",
                    "aze": "az", "uzb": "uz", "mon": "mn", "lav": "lv", "nor": "nb", "sqi": "sq", "zh-cn": "zh"})
    return aliases


def get(code: str) -> Language:
    """Resolve a language code (ISO 639-1, 639-3, LASER code or English name) to its table entry."""
    key = code.strip().lower()
    langs = table()
    if key in langs:
        return langs[key]
    if key in _aliases():
        return langs[_aliases()[key]]
    raise unknown(code, langs, "language")


def normalise(code: str) -> str:
    return get(code).code


def checked(code: str, where: str) -> str:
    """A language code, or MLQA's 'context-question' pair (en-de), normalised through the table. Unknown:
    a usage error when `where` is the --langs option, a data error when it names a data row."""
    from stilt_cli.core.errors import DataError, StiltError, did_you_mean

    parts = code.split("-")
    try:
        if len(parts) > 2:
            raise ValueError(code)
        return "-".join(normalise(part) for part in parts)
    except (StiltError, ValueError):
        option = where.startswith("--")  # an option is a usage error, a data row a data one
        guess = did_you_mean(code, table(), "language" if option else "language code")
        raise (UsageError if option else DataError)(f"{where}: {guess}", "use ISO 639-1 codes such as de, zh") from None


def check_codes(value: str, option: str = "--langs") -> None:
    """`--langs` as typed, before any work: every code — or MLQA 'context-question' pair (en-de) — must be
    in the language table (a typo gets did-you-mean). Which languages a task has is checked later."""
    for raw in comma_list(value, option, example="de,fr") or []:
        if raw.lower() not in table() and raw.lower() not in _aliases():
            checked(raw, option)


def parse_list(value: str | None, allowed: list[str] | None = None, what: str = "language") -> list[str] | None:
    """Parse `--langs de,fr` (or `all`, or None) into stilt codes, checked against `allowed`."""
    def checked(raw: str) -> str:
        code = normalise(raw)
        if allowed is not None and code not in allowed:
            raise UsageError(f"language '{raw}' is not available for this {what}", f"available: {','.join(allowed)}")
        return code

    codes = comma_list(value, "--langs", normalise=checked, example="de,fr")
    if codes is None:
        return None if allowed is None else list(allowed)
    return codes
