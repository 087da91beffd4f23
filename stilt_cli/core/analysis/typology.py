"""How far a language is from English (or any reference language): distances from URIEL, URIEL+ and UD.

Languages are looked up by their *individual* ISO 639-3 code from `core/tasks/langs.py` (cmn not zho,
arb not ara, swh, ekk, pes, zsm, lvs, khk, uzn, azj, quz, nob). Definitions (u, v are the two
languages' vectors):

| feature    | source                         | definition                                                        |
|------------|--------------------------------|-------------------------------------------------------------------|
| syntax     | URIEL via lang2vec, syntax_knn | cosine distance 1 - cos(u, v) over the 103 syntactic features (WALS, SSWL, Ethnologue; gaps filled by URIEL's k-nearest-neighbour prediction) |
| phonology  | URIEL via lang2vec, phonology_knn | the same over the 28 phonological features                     |
| inventory  | URIEL via lang2vec, inventory_knn | the same over the 158 phoneme-inventory features (PHOIBLE, Ethnologue) |
| genetic    | URIEL+ (urielplus) "genetic"   | angular distance 2 arccos(cos(u, v)) / pi over the 3,718 family-membership features (Glottolog tree) |
| geographic | URIEL+ "geographic"            | angular distance over the 299 geographic features (the language's location expressed as its distance to 299 fixed points on the globe) |
| featural   | URIEL+ "featural"              | angular distance over the typological features (the released data's 289: syntax + phonology + inventory) that *both* languages have a known value for; no imputation |
| morphology | URIEL+ "morphological", integrated data | angular distance over the morphological (`M_`) features both languages have observed: Grambank's, which exist only after URIEL+'s database integration, so this feature always uses the integrated data |
| script     | URIEL+ "script"                | angular distance over the 42 writing-system features (ScriptSource: script type, region, direction, word spacing, case, diacritics, ...) |
| ud-feats-per-word, ud-forms-per-lemma, ud-mattr | UD CoNLL-U under `--data-dir` | absolute difference of corpus measures of morphology: see `core/analysis/udmorph.py` |

Without `--features` the six URIEL / URIEL+ distances above `morphology` are computed (`DEFAULT_FEATURES`);
`all` is every feature (the UD ones need `--data-dir`).

lang2vec's k-NN sets cover every language, so syntax/phonology/inventory are never missing for a
URIEL language. URIEL+ uses only observed values (union over sources), so a pair with no shared
known feature has no distance: that is reported as missing with URIEL+'s reason (e.g. featural
for Latvian `lvs` and Slovak `slk`), never imputed. Values are rounded to 4 decimals by URIEL+.

URIEL+ data: `released` (default) is the database the urielplus package ships (the URIEL vectors,
looked up by ISO 639-3); `integrated` first runs URIEL+'s `integrate_databases()` (Grambank, APICS,
eWAVE, BDPROTO, SAPHON, Glottolog, plus URIEL+'s rule-based inference of features implied by other
features; about a minute of CPU, done once, then all of stilt's languages are cached) and looks
languages up by Glottocode (URIEL+'s own ISO-to-Glottocode map; the code used is in each record).
URIEL+ settings are its defaults: union aggregation over sources, angular distance.

Every computed distance is cached on disk (`$STILT_CACHE/typology/`, default
`~/.cache/stilt/typology/`, one JSON file per feature, reference, source version and data mode,
written atomically), so the libraries are loaded only for languages not seen before.
"""  # noqa: E501 (Markdown table rows cannot be wrapped)

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import orjson

from stilt_cli.core import atomic, console
from stilt_cli.core.analysis import udmorph
from stilt_cli.core.analysis.distance import Distance  # noqa: F401 (typology's record type)
from stilt_cli.core.errors import DataError, UsageError, comma_list
from stilt_cli.core.tasks import langs

CACHE_FORMAT = "stilt.typology/1"
URIELPLUS_DATA = ("released", "integrated")


@dataclass(frozen=True)
class Feature:
    name: str
    library: str  # "lang2vec", "urielplus" or "ud" (core/analysis/udmorph.py)
    key: str  # lang2vec feature set, URIEL+ distance category, or UD measure
    definition: str
    integrated: bool = False  # URIEL+ features that exist only in the integrated data

    def urielplus_data(self, asked: str) -> str | None:
        """The URIEL+ data this feature is computed on, given --urielplus-data (None: not URIEL+)."""
        if self.library != "urielplus":
            return None
        return "integrated" if self.integrated else asked


FEATURES: dict[str, Feature] = {f.name: f for f in (
    Feature("syntax", "lang2vec", "syntax_knn",
            "cosine distance 1-cos(u,v) between URIEL syntax_knn vectors (103 features, k-NN imputed)"),
    Feature("phonology", "lang2vec", "phonology_knn",
            "cosine distance 1-cos(u,v) between URIEL phonology_knn vectors (28 features, k-NN imputed)"),
    Feature("inventory", "lang2vec", "inventory_knn",
            "cosine distance 1-cos(u,v) between URIEL inventory_knn vectors (158 features, k-NN imputed)"),
    Feature("genetic", "urielplus", "genetic",
            "URIEL+ genetic distance: angular distance 2*arccos(cos)/pi over family-membership features"),
    Feature("geographic", "urielplus", "geographic",
            "URIEL+ geographic distance: angular distance 2*arccos(cos)/pi over geographic features"),
    Feature("featural", "urielplus", "featural",
            "URIEL+ featural distance: angular distance 2*arccos(cos)/pi over the typological features "
            "both languages have observed (no imputation)"),
    Feature("morphology", "urielplus", "morphological",
            "URIEL+ morphological distance: angular distance 2*arccos(cos)/pi over the morphological (M_, Grambank) "
            "features both languages have observed; always on URIEL+'s integrated data, where they exist",
            integrated=True),
    Feature("script", "urielplus", "script",
            "URIEL+ script distance: angular distance 2*arccos(cos)/pi over the 42 writing-system features "
            "(ScriptSource)"),
    *(Feature(name, "ud", name, definition) for name, definition in udmorph.DEFINITIONS.items()),
)}
DEFAULT_FEATURES = ("syntax", "phonology", "inventory", "genetic", "geographic", "featural")


def parse_features(value: str | None) -> list[str]:
    """`--features syntax,genetic` with did-you-mean for typos; None = DEFAULT_FEATURES, 'all' = every one."""
    if value is not None and value.strip().lower() == "all":
        return list(FEATURES)
    return comma_list(value, "--features", choices=FEATURES, what="feature", normalise=str.lower,
                      example="syntax,genetic") or list(DEFAULT_FEATURES)


def check_inputs(features: list[str], data_dir: str | None) -> None:
    """What the features need, checked before any heavy work (the UD ones read --data-dir)."""
    udmorph.check_data_dir(data_dir, features)


def check_mode(mode: str) -> str:
    if mode not in URIELPLUS_DATA:
        raise UsageError(f"--urielplus-data must be one of {', '.join(URIELPLUS_DATA)}, not '{mode}'")
    return mode


def distances(codes: list[str], features: list[str], ref: str = "en", urielplus_data: str = "released",
              data_dir: str | os.PathLike | None = None) -> list[Distance]:
    """Distance of each language to `ref` for each feature; missing ones carry their reason."""
    check_mode(urielplus_data)
    check_inputs(features, None if data_dir is None else str(data_dir))
    ref_lang = langs.get(ref)
    targets = [langs.get(code) for code in codes]
    out: list[Distance] = []
    for name in features:
        feature = FEATURES[name]
        if feature.library == "ud":
            out.extend(udmorph.distances([t.code for t in targets], [name], ref_lang.code, data_dir))
            continue
        mode = feature.urielplus_data(urielplus_data) or urielplus_data
        source = _source(feature, mode)
        entries = _cached_entries(feature, ref_lang, [t for t in targets if t.code != ref_lang.code], mode, source)
        for lang in targets:
            if lang.code == ref_lang.code:
                out.append(Distance(lang.code, name, 0.0, ref_lang.code, lang.iso3, ref_lang.iso3, source,
                                    feature.definition, None, None))
                continue
            entry = entries[lang.iso3]
            out.append(Distance(lang.code, name, entry["value"], ref_lang.code, entry.get("code"),
                                entry.get("ref_code"), source, feature.definition, entry.get("missing_reason"),
                                entry.get("n_features")))
    return out


def table(codes: list[str], features: list[str], ref: str = "en", urielplus_data: str = "released",
          data_dir: str | os.PathLike | None = None) -> dict[str, dict[str, float | None]]:
    """{feature: {lang: distance or None}}: what `correlate` joins gains against."""
    result: dict[str, dict[str, float | None]] = {name: {} for name in features}
    for item in distances(codes, features, ref, urielplus_data, data_dir):
        result[item.feature][item.lang] = item.value
    return result


# ---- cache ---------------------------------------------------------------------------------------

def cache_dir() -> Path:
    base = os.environ.get("STILT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "stilt")
    return Path(base) / "typology"


def _cache_enabled() -> bool:
    return os.environ.get("STILT_NO_CACHE", "0").lower() not in ("1", "true", "yes")


def _source(feature: Feature, mode: str) -> str:
    if feature.library == "lang2vec":
        return f"URIEL via lang2vec {_version('lang2vec')} ({feature.key})"
    return f"URIEL+ via urielplus {_version('urielplus')} ({mode} data, {feature.key} distance)"


@cache
def _version(package: str) -> str:
    from stilt_cli.core.libs import version

    return version(package) or "not-installed"


def _cache_file(feature: Feature, ref: langs.Language, mode: str) -> Path:
    tag = (f"lang2vec-{_version('lang2vec')}" if feature.library == "lang2vec"
           else f"urielplus-{_version('urielplus')}-{mode}")
    return cache_dir() / f"{feature.name}-{ref.iso3}-{tag}.json"


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
        return {}  # an old or damaged entry is recomputed, never trusted
    return data.get("entries", {})


def _cached_entries(feature: Feature, ref: langs.Language, targets: list[langs.Language], mode: str,
                    source: str) -> dict[str, dict[str, Any]]:
    path = _cache_file(feature, ref, mode)
    entries = _read_cache(path) if _cache_enabled() else {}
    todo = [lang for lang in targets if lang.iso3 not in entries]
    if not todo:
        return entries
    if feature.library == "urielplus" and mode == "integrated":
        # integration costs a minute: compute every language stilt knows while it is loaded
        todo = [lang for lang in langs.table().values() if lang.iso3 not in entries and lang.code != ref.code]
    console.info(f"computing {feature.name} distances to {ref.code} for {len(todo)} language(s) with {source}")
    if feature.library == "lang2vec":
        fresh = _lang2vec(feature.key, ref.iso3, [lang.iso3 for lang in todo])
    else:
        fresh = _urielplus(feature.key, ref.iso3, [lang.iso3 for lang in todo], mode)
    if _cache_enabled():
        merged = {**_read_cache(path), **fresh}  # another process may have added entries meanwhile
        body = {"format": CACHE_FORMAT, "feature": feature.name, "ref": ref.iso3, "source": source, "entries": merged}
        try:
            atomic.write_bytes(path, orjson.dumps(body, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
        except DataError as exc:  # a read-only cache costs time, not correctness
            console.warn(f"typology cache not written: {exc.message}")
    return {**entries, **fresh}


# ---- lang2vec (URIEL k-NN feature sets) ----------------------------------------------------------

@contextlib.contextmanager
def _library_io() -> Iterator[None]:
    """lang2vec prints to stdout and urielplus configures root logging at INFO: keep both off
    stilt's stdout (data only) and stderr (our own lines only)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    disabled = logging.root.manager.disable
    logging.disable(logging.INFO)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(disabled)
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


def _lang2vec_module():
    with _library_io():
        try:
            import lang2vec.lang2vec as l2v
        except ImportError as exc:
            raise DataError(f"lang2vec cannot be imported ({exc})",
                            "pip install lang2vec 'setuptools<81' (lang2vec needs pkg_resources)") from None
    return l2v


def _cosine_distance(u: list[Any], v: list[Any]) -> tuple[float | None, int, str | None]:
    pairs = [(float(a), float(b)) for a, b in zip(u, v) if a != "--" and b != "--"]
    if not pairs:
        return None, 0, "no feature known for both languages"
    dot = sum(a * b for a, b in pairs)
    norm = math.sqrt(sum(a * a for a, _ in pairs)) * math.sqrt(sum(b * b for _, b in pairs))
    if norm == 0:
        return None, len(pairs), "a feature vector is all zeros on the shared features"
    return round(1.0 - dot / norm, 6), len(pairs), None


def _lang2vec(feature_set: str, ref: str, codes: list[str]) -> dict[str, dict[str, Any]]:
    l2v = _lang2vec_module()

    def vectors(batch: list[str]) -> dict[str, list[Any]]:
        with _library_io():
            return l2v.get_features(batch, feature_set)

    out: dict[str, dict[str, Any]] = {}
    try:
        found = vectors([ref, *codes])
    except Exception:  # lang2vec raises a bare Exception for an unknown code: find which one
        found = {}
        for code in [ref, *codes]:
            try:
                found.update(vectors([code]))
            except Exception:
                out[code] = {"value": None, "code": code, "ref_code": ref,
                             "missing_reason": f"lang2vec has no URIEL {feature_set} vector for '{code}'"}
    if ref not in found:
        for code in codes:
            out[code] = {"value": None, "code": code, "ref_code": ref,
                         "missing_reason": f"lang2vec has no URIEL {feature_set} vector for the reference '{ref}'"}
        return out
    for code in codes:
        if code not in found:
            continue
        value, used, reason = _cosine_distance(found[ref], found[code])
        out[code] = {"value": value, "code": code, "ref_code": ref, "missing_reason": reason, "n_features": used}
    return out


# ---- URIEL+ --------------------------------------------------------------------------------------

@lru_cache(maxsize=2)
def _urielplus_instance(mode: str):
    with _library_io():
        try:
            from urielplus import urielplus
        except ImportError as exc:
            raise DataError(f"urielplus cannot be imported ({exc})", "pip install urielplus") from None
        try:
            instance = urielplus.URIELPlus()
        except OSError as exc:
            raise DataError(f"URIEL+ could not open its database ({exc})",
                            "urielplus copies its database files into its package folder on first use: "
                            "run stilt once where that folder is writable") from None
        if mode == "integrated":
            console.info("integrating the URIEL+ databases (Grambank, APICS, eWAVE, BDPROTO, SAPHON, Glottolog): "
                         "about a minute, once; the distances are cached")
            instance.integrate_databases()
    return instance


@lru_cache(maxsize=1)
def _glottocodes() -> dict[str, str]:
    import csv

    import urielplus

    path = Path(urielplus.__file__).parent / "database" / "urielplus_csvs" / "uriel_glottocode_map.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        return {row["iso_code"].strip(): row["glottocode"].strip() for row in csv.DictReader(handle)}


def _urielplus(category: str, ref: str, codes: list[str], mode: str) -> dict[str, dict[str, Any]]:
    instance = _urielplus_instance(mode)
    lookup = (lambda code: code) if mode == "released" else (lambda code: _glottocodes().get(code))
    ref_code = lookup(ref)
    known = set(map(str, instance.langs[0]))
    out: dict[str, dict[str, Any]] = {}
    for code in codes:
        used = lookup(code)
        entry: dict[str, Any] = {"value": None, "code": used or code, "ref_code": ref_code or ref}
        if used is None or ref_code is None:
            missing = code if used is None else ref
            entry["missing_reason"] = f"URIEL+ has no Glottocode for '{missing}'"
        elif ref_code not in known or used not in known:
            missing = ref_code if ref_code not in known else used
            entry["missing_reason"] = f"'{missing}' is not in the URIEL+ database"
        else:
            with _library_io():
                try:
                    entry["value"] = round(float(instance.new_distance(category, ref_code, used)), 4)
                    entry["missing_reason"] = None
                except Exception as exc:  # URIEL+ reports gaps as ValueError with its reason
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    entry["missing_reason"] = f"URIEL+: {first}"
        out[code] = entry
    return out


def records_for(items: list[Distance]) -> list[dict[str, Any]]:
    return [item.record() for item in items]


def report_missing(items: list[Distance]) -> None:
    """One stderr line per missing distance, so a gap is never silent."""
    for item in items:
        if item.value is None:
            console.warn(f"{item.feature} distance {item.ref}-{item.lang} is missing: {item.missing_reason}")

