"""Reports of a run: summary.json, report.md (plots as PNG files) and a self-contained report.html.

Plots come from matplotlib (Agg backend, no display needed); the HTML embeds them as base64 PNG so the
file can be mailed or attached to CI as one artefact.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eval.compare import Comparison, row_correct
from eval.metrics import METRIC_KEYS

__all__ = ["write_summary", "render_plots", "write_reports", "format_metric", "comparison_lines"]

_BAR_KEYS = ("retrieval.doc_hit@1", "retrieval.doc_hit@5", "retrieval.mrr@10", "retrieval.paragraph_hit@5",
             "context.answer_recall", "answer.contains", "answer.f1", "answer.correct", "citation.precision",
             "citation.recall", "abstention.precision", "abstention.recall")
_GROUP_KEYS = ("retrieval.doc_hit@1", "retrieval.doc_hit@5", "context.answer_recall", "answer.contains",
               "answer.correct")


def format_metric(value: float | None, key: str = "") -> str:
    if value is None:
        return "n/a"
    if key.startswith(("latency", "prompt_tokens")) or key in ("questions", "answerable"):
        return f"{value:,.0f}"
    return f"{value:.3f}"


def write_summary(out: Path, summary: Mapping[str, Any]) -> Path:
    path = out / "summary.json"
    path.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


# --- plots ------------------------------------------------------------------------------------------

def _figure_png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def _overall_plot(plt: Any, metrics: Mapping[str, float | None]) -> bytes:
    keys = [k for k in _BAR_KEYS if metrics.get(k) is not None]
    fig, ax = plt.subplots(figsize=(9, 0.42 * max(len(keys), 1) + 1))
    values = [metrics[k] for k in keys]
    bars = ax.barh(keys[::-1], values[::-1], color="#3b7dd8")
    ax.bar_label(bars, fmt="%.2f", padding=3)
    ax.set_xlim(0, 1.1)
    ax.set_title("Overall metrics (higher is better)")
    return _figure_png(fig)


def _group_plot(plt: Any, groups: Mapping[str, Mapping[str, float | None]], title: str) -> bytes:
    keys = [k for k in _GROUP_KEYS if any(g.get(k) is not None for g in groups.values())]
    names = list(groups)
    fig, ax = plt.subplots(figsize=(9, 3.8))
    width = 0.8 / max(len(keys), 1)
    for i, key in enumerate(keys):
        xs = [j + i * width for j in range(len(names))]
        ys = [groups[n].get(key) or 0.0 for n in names]
        ax.bar(xs, ys, width=width, label=key)
    ax.set_xticks([j + width * (len(keys) - 1) / 2 for j in range(len(names))])
    ax.set_xticklabels([f"{n}\n(n={int(groups[n].get('questions') or 0)})" for n in names])
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    ax.legend(fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    return _figure_png(fig)


def _latency_plot(plt: Any, rows: Sequence[Mapping[str, Any]], metrics: Mapping[str, float | None]) -> bytes:
    latencies = [float(r["latency_ms"]) for r in rows if r.get("latency_ms") is not None]
    fig, ax = plt.subplots(figsize=(9, 3.2))
    ax.hist(latencies, bins=min(30, max(5, len(latencies) // 2)), color="#6a9f58")
    for key, style in (("latency_ms.p50", "--"), ("latency_ms.p95", ":")):
        if metrics.get(key) is not None:
            ax.axvline(metrics[key], color="black", linestyle=style, label=f"{key.split('.')[1]} {metrics[key]:.0f} ms")
    ax.set_xlabel("latency per question (ms)")
    ax.set_ylabel("questions")
    ax.set_title("Latency")
    ax.legend()
    return _figure_png(fig)


def _delta_plot(plt: Any, comparison: Comparison) -> bytes:
    items = [(k, d) for k, (_, _, d) in comparison.deltas.items() if d is not None and k in _BAR_KEYS]
    fig, ax = plt.subplots(figsize=(9, 0.42 * max(len(items), 1) + 1))
    colors = ["#2e8b57" if d >= 0 else "#c0392b" for _, d in items]
    ax.barh([k for k, _ in items][::-1], [d for _, d in items][::-1], color=colors[::-1])
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_title("Change against the previous run (new - old)")
    return _figure_png(fig)


def render_plots(summary: Mapping[str, Any], rows: Sequence[Mapping[str, Any]],
                 comparison: Comparison | None = None) -> dict[str, bytes]:
    """name -> PNG bytes. Imports matplotlib lazily and forces the Agg backend (no display, thread-safe)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        plots = {
            "overall": _overall_plot(plt, summary["metrics"]),
            "by_type": _group_plot(plt, summary["by_type"], "By question type"),
            "by_lang": _group_plot(plt, summary["by_lang"], "By question language"),
            "latency": _latency_plot(plt, rows, summary["metrics"]),
        }
        if comparison is not None:
            plots["delta"] = _delta_plot(plt, comparison)
    finally:
        plt.close("all")
    return plots


# --- text -------------------------------------------------------------------------------------------

def comparison_lines(comparison: Comparison) -> list[str]:
    """Printable lines: metric deltas, then flipped questions."""
    lines = [f"compared with {comparison.old_dir}:"]
    for key, (old, new, delta) in comparison.deltas.items():
        if key in METRIC_KEYS or delta:
            sign = "" if delta is None else f"{delta:+.3f}"
            lines.append(f"  {key:28} {format_metric(old, key):>9} -> {format_metric(new, key):>9}  {sign}")
    lines.append(f"  fixed (wrong -> right): {len(comparison.fixed)}; broken (right -> wrong): {len(comparison.broken)}")
    lines += [f"    + {f.id}: {f.question}" for f in comparison.fixed]
    lines += [f"    - {f.id}: {f.question}" for f in comparison.broken]
    return lines


def _models(summary: Mapping[str, Any]) -> str:
    """Model names for the header; a local model folder is shown by its last path parts, not in full."""
    models = summary.get("models", {})
    embed = str(models.get("embed") or "")
    if "/" in embed and Path(embed).exists():
        embed = "/".join(Path(embed).parts[-2:])
    text = f"embed {embed or 'none'} · LLM {models.get('llm') or 'none'}"
    return text + (f" · {models['embed_error']}" if models.get("embed_error") else "")


def _table_md(groups: Mapping[str, Mapping[str, float | None]]) -> list[str]:
    names = list(groups)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for key in METRIC_KEYS + ("answer.correct", "questions"):
        lines.append(f"| {key} | " + " | ".join(format_metric(groups[n].get(key), key) for n in names) + " |")
    return lines


def _misses(rows: Sequence[Mapping[str, Any]], limit: int = 40) -> list[Mapping[str, Any]]:
    return [r for r in rows if row_correct(r) is False][:limit]


def _markdown(summary: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], comparison: Comparison | None) -> str:
    config = summary.get("config", {})
    lines = [f"# Sanad eval: {config.get('suite', '')}", "",
             f"mode **{config.get('mode')}** · corpus `{summary.get('corpus', {}).get('hash', '')}` · "
             f"{len(rows)} questions · {_models(summary)}", "",
             "![overall](plots/overall.png)", "", "## Metrics", ""]
    lines += _table_md({"overall": summary["metrics"]}) + ["", "## By type", ""] + _table_md(summary["by_type"])
    lines += ["", "![by type](plots/by_type.png)", "", "## By language", ""] + _table_md(summary["by_lang"])
    lines += ["", "![by language](plots/by_lang.png)", "", "## Latency", "", "![latency](plots/latency.png)", ""]
    if comparison is not None:
        lines += ["## Compared with a previous run", "", "![delta](plots/delta.png)", "", "```"]
        lines += comparison_lines(comparison) + ["```", ""]
    lines += ["## Questions answered wrongly", ""]
    for row in _misses(rows):
        lines.append(f"- `{row['id']}` ({row.get('type')}, {row.get('lang')}) {row.get('question')} → "
                     f"{(row.get('answer') or '').strip()[:160]!r} · retrieved {row.get('retrieved', [])[:3]}")
    return "\n".join(lines) + "\n"


_CSS = """body{font-family:system-ui,'Noto Naskh Arabic',sans-serif;margin:24px auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f0f3f8}td:first-child,th:first-child{text-align:left}img{max-width:100%}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #dde;border-radius:8px;padding:10px 14px;min-width:150px}
.card b{display:block;font-size:26px}.bad{color:#c0392b}.good{color:#2e8b57}.q{unicode-bidi:plaintext}"""
_CARDS = ("retrieval.doc_hit@1", "retrieval.doc_hit@5", "context.answer_recall", "answer.contains",
          "answer.correct", "abstention.recall", "latency_ms.p50")


def _table_html(groups: Mapping[str, Mapping[str, float | None]]) -> str:
    head = "".join(f"<th>{html.escape(n)}</th>" for n in groups)
    body = "".join(
        f"<tr><td>{key}</td>" + "".join(f"<td>{format_metric(g.get(key), key)}</td>" for g in groups.values()) + "</tr>"
        for key in METRIC_KEYS + ("answer.correct", "questions"))
    return f"<table><tr><th>metric</th>{head}</tr>{body}</table>"


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{alt}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _compare_html(comparison: Comparison, plots: Mapping[str, bytes]) -> str:
    items = "".join(
        f'<li class="{"good" if f.after else "bad"}"><code>{html.escape(f.id)}</code> '
        f'{"wrong → right" if f.after else "right → wrong"}: <span class="q">{html.escape(f.question)}</span></li>'
        for f in comparison.fixed + comparison.broken)
    return (f"<h2>Compared with {html.escape(comparison.old_dir)}</h2>{_img(plots['delta'], 'delta')}"
            f"<p>{len(comparison.fixed)} fixed, {len(comparison.broken)} broken</p><ul>{items}</ul>")


def _html(summary: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], plots: Mapping[str, bytes],
          comparison: Comparison | None) -> str:
    metrics, config = summary["metrics"], summary.get("config", {})
    cards = "".join(f'<div class="card">{k}<b>{format_metric(metrics.get(k), k)}</b></div>' for k in _CARDS)
    misses = "".join(
        f"<tr><td><code>{html.escape(r['id'])}</code></td><td>{html.escape(str(r.get('type')))}</td>"
        f"<td class='q'>{html.escape(r.get('question', ''))}</td>"
        f"<td class='q'>{html.escape((r.get('answer') or '').strip()[:200])}</td>"
        f"<td>{html.escape(', '.join(r.get('retrieved', [])[:3]))}</td></tr>" for r in _misses(rows))
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>Sanad eval</title><style>{_CSS}</style></head><body>",
        f"<h1>Sanad eval · {html.escape(Path(str(config.get('suite', ''))).name)}</h1>",
        f"<p>mode <b>{html.escape(str(config.get('mode')))}</b> · {len(rows)} questions · corpus "
        f"<code>{html.escape(str(summary.get('corpus', {}).get('hash', '')))[:12]}</code> · "
        f"{html.escape(_models(summary))}</p>",
        f"<div class='cards'>{cards}</div>", _img(plots["overall"], "overall"),
        "<h2>By question type</h2>", _img(plots["by_type"], "by type"), _table_html(summary["by_type"]),
        "<h2>By language</h2>", _img(plots["by_lang"], "by language"), _table_html(summary["by_lang"]),
        "<h2>Latency</h2>", _img(plots["latency"], "latency"),
    ]
    if comparison is not None:
        parts.append(_compare_html(comparison, plots))
    parts += ["<h2>All metrics</h2>", _table_html({"overall": metrics}),
              "<h2>Questions answered wrongly</h2><table><tr><th>id</th><th>type</th><th>question</th>"
              f"<th>answer</th><th>retrieved</th></tr>{misses}</table></body></html>"]
    return "\n".join(parts)


def write_reports(out: Path, summary: Mapping[str, Any], rows: Sequence[Mapping[str, Any]],
                  comparison: Comparison | None = None) -> dict[str, Path]:
    """Write plots/*.png, report.md and report.html; return their paths."""
    plots = render_plots(summary, rows, comparison)
    plot_dir = out / "plots"
    plot_dir.mkdir(parents=True, exist_ok=True)
    for name, png in plots.items():
        (plot_dir / f"{name}.png").write_bytes(png)
    md, page = out / "report.md", out / "report.html"
    md.write_text(_markdown(summary, rows, comparison), encoding="utf-8")
    page.write_text(_html(summary, rows, plots, comparison), encoding="utf-8")
    return {"markdown": md, "html": page, "plots": plot_dir}
