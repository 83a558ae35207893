"""Compare two runs: metric deltas and the questions whose correctness flipped.

A question is "correct" when its per-question ``correct`` score is 1 (answer modes) or, in a retrieval-only
run, when its gold document is the first hit; the same rule on both sides, so flips are meaningful.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.runner import EvalError, load_results

__all__ = ["Comparison", "Flip", "row_correct", "compare_runs", "load_run", "parse_thresholds", "failures"]


@dataclass(frozen=True)
class Flip:
    id: str
    question: str
    before: bool
    after: bool


@dataclass
class Comparison:
    old_dir: str
    #: metric -> (old, new, new - old); None where either side lacks the metric
    deltas: dict[str, tuple[float | None, float | None, float | None]] = field(default_factory=dict)
    fixed: list[Flip] = field(default_factory=list)
    broken: list[Flip] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "old_dir": self.old_dir,
            "deltas": {k: {"old": o, "new": n, "delta": d} for k, (o, n, d) in self.deltas.items()},
            "fixed": [f.__dict__ for f in self.fixed],
            "broken": [f.__dict__ for f in self.broken],
        }


def row_correct(row: Mapping[str, Any]) -> bool | None:
    scores = row.get("scores") or {}
    if "correct" in scores:
        return bool(scores["correct"])
    if "doc_hit@1" in scores:
        return bool(scores["doc_hit@1"])
    return None


def load_run(directory: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(summary, rows by id) of a finished run folder."""
    summary_path = Path(directory) / "summary.json"
    if not summary_path.exists():
        raise EvalError(f"no summary.json in {directory}", hint="pass the --out folder of a finished eval run")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    return summary, load_results(Path(directory) / "results.jsonl")


def compare_runs(old_dir: Path, new_metrics: Mapping[str, float | None],
                 new_rows: Sequence[Mapping[str, Any]]) -> Comparison:
    old_summary, old_rows = load_run(old_dir)
    old_metrics = old_summary.get("metrics", {})
    comparison = Comparison(old_dir=str(old_dir))
    for key in list(new_metrics) + [k for k in old_metrics if k not in new_metrics]:
        old, new = old_metrics.get(key), new_metrics.get(key)
        delta = new - old if old is not None and new is not None else None
        comparison.deltas[key] = (old, new, delta)
    for row in new_rows:
        before_row = old_rows.get(row["id"])
        if before_row is None:
            continue
        before, after = row_correct(before_row), row_correct(row)
        if before is None or after is None or before == after:
            continue
        flip = Flip(id=row["id"], question=row.get("question", ""), before=before, after=after)
        (comparison.fixed if after else comparison.broken).append(flip)
    return comparison


def parse_thresholds(specs: Sequence[str]) -> dict[str, float]:
    """``metric=value`` strings -> {metric: value}; unknown syntax is an error naming the bad spec."""
    thresholds: dict[str, float] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        try:
            thresholds[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise EvalError(f"bad --fail-under {spec!r}", hint="write metric=value, e.g. answer.contains=0.6")
    return thresholds


def failures(metrics: Mapping[str, float | None], thresholds: Mapping[str, float]) -> list[str]:
    """One line per threshold not met; a metric that is missing or null fails (it was not measured)."""
    lines = []
    for name, minimum in thresholds.items():
        if name not in metrics:
            lines.append(f"{name}: unknown metric (known: {', '.join(sorted(metrics))})")
        elif metrics[name] is None:
            lines.append(f"{name}: not measured in this mode (need >= {minimum:g})")
        elif metrics[name] < minimum:  # type: ignore[operator]
            lines.append(f"{name}: {metrics[name]:.4f} < {minimum:g}")
    return lines
