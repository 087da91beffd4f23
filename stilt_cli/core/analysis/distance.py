"""One distance of a language to the reference language, by one measure, as `stilt distances` writes it
(a `distance` record): the typology measures (`typology.py`) and the UD corpus measures (`udmorph.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stilt_cli.core import records


@dataclass
class Distance:
    lang: str  # stilt code
    feature: str
    value: float | None
    ref: str
    code: str | None  # the code the library was asked for (639-3, or Glottocode when integrated)
    ref_code: str | None
    source: str
    definition: str
    missing_reason: str | None = None
    n_features: int | None = None
    protocol: str = "uriel-distance-v1"
    details: dict[str, Any] | None = None  # what the measure found (UD: both values, word counts, files)

    def record(self) -> dict[str, Any]:
        params = {"ref": self.ref, "source": self.source, "code": self.code, "ref_code": self.ref_code,
                  "definition": self.definition}
        if self.n_features is not None:
            params["n_features"] = self.n_features
        extra = {"details": self.details} if self.details is not None else {}
        return records.make("distance", "typology", self.lang, self.feature, self.value, params=params,
                            protocol=self.protocol, missing_reason=self.missing_reason, **extra)
