"""The Flyte Deck of a job's results: totals, failures by code, tokens and cost, batch timelines, charts.

`render_deck` turns the summary (`summary.SummaryBuilder.build`) into one self-contained HTML page:
inline CSS and inline SVG charts, no script and nothing fetched (Flyte's console may have no internet
route, and a deck must not call out). The Flyte faces show it (flytekit's `Deck`, Flyte 2's `flyte.report`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

DECK_NAME = "OpenAI batch results"

_COLORS = {"succeeded": "#2e7d32", "failed": "#c62828", "missing": "#757575"}
_PHASE_COLORS = {"validating": "#f9a825", "in_progress": "#1565c0", "finalizing": "#6a1b9a"}
_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#212121;margin:16px}
h1{font-size:20px;margin:0 0 12px}h2{font-size:16px;margin:20px 0 8px}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:110px}
.card .n{font-size:22px;font-weight:600}.card .l{font-size:12px;color:#616161}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left}
th{background:#f5f5f5}td{white-space:nowrap}td.msg{white-space:normal}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{font-size:12px;color:#616161}svg{display:block;margin-top:8px}svg text{font-size:12px;fill:#212121}
"""


def render_deck(summary: Mapping[str, Any], title: str = DECK_NAME) -> str:
    """The deck's HTML for a summary dict."""
    sections = [
        f"<h1>{_e(title)}</h1>",
        _totals(summary),
        _outcome_chart(summary),
        _attempts(summary),
        _failures(summary),
        _usage(summary),
        _timelines(summary.get("batches") or []),
    ]
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>'
        + _e(title)
        + "</title><style>"
        + _STYLE
        + "</style></head><body>"
        + "".join(sections)
        + "</body></html>"
    )


def _totals(summary: Mapping[str, Any]) -> str:
    cards = [
        ("requests", summary.get("requests")),
        ("succeeded", summary.get("succeeded")),
        ("failed", summary.get("failed")),
        ("missing", summary.get("missing")),
        ("resent", summary.get("resent")),
    ]
    body = "".join(
        f'<div class="card" id="total-{name}"><div class="n">{_n(value)}</div><div class="l">{name}</div></div>'
        for name, value in cards
    )
    return f'<h2>Totals</h2><div class="cards">{body}</div>'


def _outcome_chart(summary: Mapping[str, Any]) -> str:
    """A stacked bar of succeeded, failed and missing requests, with a legend giving the counts."""
    total = int(summary.get("requests") or 0)
    width, height = 600, 28
    x = 0.0
    bars = []
    legend = []
    for i, name in enumerate(("succeeded", "failed", "missing")):
        count = int(summary.get(name) or 0)
        share = count / total if total else 0.0
        w = share * width
        if count:
            bars.append(
                f'<rect x="{x:.1f}" y="0" width="{max(w, 2):.1f}" height="{height}" fill="{_COLORS[name]}">'
                f"<title>{name}: {_n(count)}</title></rect>"
            )
        x += w
        legend.append(
            f'<rect x="{i * 200}" y="{height + 10}" width="12" height="12" fill="{_COLORS[name]}"/>'
            f'<text x="{i * 200 + 18}" y="{height + 21}">{name} {_n(count)} ({share:.1%})</text>'
        )
    if not bars:
        bars.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="#eeeeee"/>')
    return (
        f'<h2>Outcome</h2><svg role="img" aria-label="outcome of every request" width="{width}" '
        f'height="{height + 30}" viewBox="0 0 {width} {height + 30}">{"".join(bars)}{"".join(legend)}</svg>'
    )


def _attempts(summary: Mapping[str, Any]) -> str:
    attempts = summary.get("attempts") or {}
    if not attempts:
        return ""
    limit = summary.get("max_request_attempts")
    rows = "".join(
        f'<tr><td class="num">{_e(n)}</td><td class="num">{_n(c)}</td></tr>' for n, c in attempts.items()
    )
    note = f'<p class="note">At most {_n(limit)} attempts per request.</p>' if limit else ""
    return f"<h2>Attempts</h2><table><tr><th>attempts</th><th>requests</th></tr>{rows}</table>{note}"


def _failures(summary: Mapping[str, Any]) -> str:
    failures: Sequence[Mapping[str, Any]] = summary.get("failures") or []
    if not failures:
        return "<h2>Failures</h2><p>No request failed.</p>"
    rows = "".join(
        "<tr>"
        f'<td>{_e(f["code"])}</td><td class="num">{_n(f["count"])}</td>'
        f'<td class="num">{_e(f.get("http_status") or "")}</td>'
        f"<td>{_e(f['example'].get('custom_id'))}</td><td class='msg'>{_e(f['example'].get('message'))}</td>"
        "</tr>"
        for f in failures
    )
    return (
        "<h2>Failures by error code</h2><table><tr><th>code</th><th>requests</th><th>HTTP</th>"
        f"<th>example custom_id</th><th>example message</th></tr>{rows}</table>" + _failure_chart(failures)
    )


def _failure_chart(failures: Sequence[Mapping[str, Any]]) -> str:
    shown = failures[:10]
    most = max(int(f["count"]) for f in shown)
    bar_height, label_width, width = 20, 170, 600
    bars = []
    for i, f in enumerate(shown):
        y = i * (bar_height + 6)
        w = (width - label_width - 70) * int(f["count"]) / most
        bars.append(
            f'<text x="0" y="{y + 14}">{_e(str(f["code"])[:24])}</text>'
            f'<rect x="{label_width}" y="{y}" width="{max(w, 2):.1f}" height="{bar_height}" fill="{_COLORS["failed"]}"/>'
            f'<text x="{label_width + w + 6:.1f}" y="{y + 14}">{_n(f["count"])}</text>'
        )
    height = len(shown) * (bar_height + 6)
    return (
        f'<svg role="img" aria-label="failures by error code" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">{"".join(bars)}</svg>'
    )


def _usage(summary: Mapping[str, Any]) -> str:
    tokens = summary.get("tokens") or {}
    cost = summary.get("cost") or {}
    rows = "".join(
        "<tr>"
        f'<td>{_e(m["model"])}</td><td class="num">{_n(m["requests"])}</td>'
        f'<td class="num">{_n(m["prompt_tokens"])}</td><td class="num">{_n(m["completion_tokens"])}</td>'
        f'<td class="num">{_price(m.get("price_per_million"))}</td><td class="num">{_usd(m.get("usd"))}</td>'
        "</tr>"
        for m in cost.get("models") or []
    )
    unknown = cost.get("unknown_models") or []
    total = _usd(cost.get("known_usd"))
    if unknown:
        total += " + unknown (" + ", ".join(_e(m) for m in unknown) + ")"
    counted = (
        "as each batch reported it (its usage)"
        if tokens.get("source") == "reported"
        else "counted from the answers in the result files"
    )
    overridden = cost.get("overridden") or []
    override = f" Prices given for: {', '.join(_e(m) for m in overridden)}." if overridden else ""
    return (
        "<h2>Tokens and estimated cost</h2>"
        f'<p id="tokens">Prompt tokens {_n(tokens.get("prompt"))}, completion tokens '
        f"{_n(tokens.get('completion'))}, total {_n(tokens.get('total'))}, {counted}.</p>"
        "<table><tr><th>model</th><th>answered</th><th>prompt tokens</th><th>completion tokens</th>"
        f"<th>Batch price per 1M (in / out)</th><th>estimated cost</th></tr>{rows}"
        f'<tr><th colspan="5">total</th><td class="num" id="cost-total">{total}</td></tr></table>'
        f'<p class="note">Estimated from these tokens at Batch API prices from {_e(cost.get("source"))}, '
        f"as of {_e(cost.get('as_of'))}.{override} A model without a price is shown as unknown, not as free.</p>"
    )


def _timelines(batches: Sequence[Mapping[str, Any]]) -> str:
    if not batches:
        return ""
    rows = "".join(
        "<tr>"
        f'<td class="num">{_e(b["round"])}</td><td class="num">{_e(b["part"])}</td><td>{_e(b["id"])}</td>'
        f"<td>{_e(b['status'])}</td>"
        + "".join(f'<td class="num">{_duration(b["phases"].get(phase))}</td>' for phase in _PHASE_COLORS)
        + f'<td class="num">{_counts(b.get("request_counts"))}</td></tr>'
        for b in batches
    )
    return (
        "<h2>Batches</h2><table><tr><th>round</th><th>part</th><th>batch</th><th>status</th>"
        "<th>validating</th><th>in progress</th><th>finalizing</th><th>completed / failed / total</th></tr>"
        f"{rows}</table>" + _gantt(batches)
    )


def _gantt(batches: Sequence[Mapping[str, Any]]) -> str:
    """Each batch as a row of coloured phases on one time axis (seconds since the first batch was created)."""
    spans = [span for b in batches for span in b["phases"].values() if span]
    if not spans:
        return ""
    start = min(s[0] for s in spans)
    length = max(max(s[1] for s in spans) - start, 1)
    label_width, width, row = 150, 600, 18
    plot = width - label_width - 10
    parts = []
    for i, b in enumerate(batches):
        y = i * (row + 4)
        parts.append(f'<text x="0" y="{y + 13}">round {_e(b["round"])} part {_e(b["part"])}</text>')
        for phase, color in _PHASE_COLORS.items():
            span = b["phases"].get(phase)
            if not span:
                continue
            x = label_width + plot * (span[0] - start) / length
            w = max(plot * (span[1] - span[0]) / length, 2)
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row}" fill="{color}">'
                f"<title>{phase}: {_duration(span)}</title></rect>"
            )
    axis_y = len(batches) * (row + 4) + 12
    parts.append(f'<text x="{label_width}" y="{axis_y}">0 s</text>')
    parts.append(f'<text x="{width - 60}" y="{axis_y}">{_n(length)} s</text>')
    legend_y = axis_y + 18
    for i, (phase, color) in enumerate(_PHASE_COLORS.items()):
        parts.append(
            f'<rect x="{i * 130}" y="{legend_y - 10}" width="12" height="12" fill="{color}"/>'
            f'<text x="{i * 130 + 16}" y="{legend_y}">{phase.replace("_", " ")}</text>'
        )
    height = legend_y + 6
    return (
        f'<svg role="img" aria-label="batch timelines" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">{"".join(parts)}</svg>'
    )


def _duration(span: Sequence[int] | None) -> str:
    if not span:
        return "-"
    seconds = int(span[1] - span[0])
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _counts(counts: Mapping[str, Any] | None) -> str:
    if not counts:
        return "-"
    return f"{_n(counts.get('completed'))} / {_n(counts.get('failed'))} / {_n(counts.get('total'))}"


def _price(price: Mapping[str, float] | None) -> str:
    if not price:
        return "unknown"
    return f"{_dollars(price['input'])} / {_dollars(price['output'])}"


def _dollars(value: float) -> str:
    """A price as a price list writes it: cents at least, more digits only when it has them."""
    whole, _, cents = f"{value:.4f}".rstrip("0").partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


def _usd(value: float | None) -> str:
    """Dollars and cents, or two significant digits below a cent; "unknown" for no price."""
    if value is None:
        return "unknown"
    if value >= 0.01 or value == 0:
        return f"${value:,.2f}"
    return f"${value:.{1 - math.floor(math.log10(value))}f}"


def _n(value: Any) -> str:
    return (
        f"{value:,}"
        if isinstance(value, int) and not isinstance(value, bool)
        else _e(value if value is not None else "-")
    )


def _e(value: Any) -> str:
    return html.escape(str(value))
