"""A self-contained HTML drift report: summary, sortable drift table, one plot per column.

Works offline: styles, the sorting script and the plots (inline SVG overlays of the
reference and current distributions) are all inside the one file; no CDN, no fonts.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

from harness.kernel.atomic import write_text_atomic
from monitoring.drift import ColumnResult, DriftResult, NumericPlot

__all__ = [
    "CUR_COLOR",
    "REF_COLOR",
    "render",
    "summary_rows",
    "write_html",
]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2330}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.muted{color:#667085}.verdict{display:inline-block;padding:4px 10px;border-radius:6px;
font-weight:600}.bad{background:#fde2e1;color:#a0251d}.good{background:#dcf5e3;color:#17663a}
table{border-collapse:collapse;font-size:13px;width:100%}th,td{padding:5px 8px;
border-bottom:1px solid #e4e7ec;text-align:right}th{cursor:pointer;background:#f3f5f8;
user-select:none;position:sticky;top:0}th:first-child,td:first-child,td.t{text-align:left}
th.sorted-asc::after{content:" \\25B2"}th.sorted-desc::after{content:" \\25BC"}
tr.drift td:first-child{border-left:4px solid #d92d20}.plots{display:flex;flex-wrap:wrap;gap:14px}
.plot{border:1px solid #e4e7ec;border-radius:8px;padding:8px;width:380px}
.plot h3{font-size:13px;margin:0 0 4px}.legend span{display:inline-block;width:10px;height:10px;
margin:0 4px 0 10px}.warn{color:#b54708}
"""

_SCRIPT = """
(function () {
  var table = document.getElementById("drift-table");
  var headers = table.querySelectorAll("th");
  headers.forEach(function (th, col) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var asc = !th.classList.contains("sorted-asc");
      headers.forEach(function (h) { h.classList.remove("sorted-asc", "sorted-desc"); });
      th.classList.add(asc ? "sorted-asc" : "sorted-desc");
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute("data-v"), y = b.cells[col].getAttribute("data-v");
        var nx = parseFloat(x), ny = parseFloat(y);
        var r = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : String(x).localeCompare(String(y));
        return asc ? r : -r;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
})();
"""

REF_COLOR = "#2e6fdb"
CUR_COLOR = "#f08a24"


def render(result: DriftResult) -> str:
    """The whole page as one string."""
    verdict = "Data-set drift detected" if result.dataset_drift else "No data-set drift"
    css_class = "bad" if result.dataset_drift else "good"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>Drift report: {_e(result.current)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Drift report</h1><div class='muted'>reference <b>{_e(result.reference)}</b> "
        f"({result.n_reference:,} rows) vs current <b>{_e(result.current)}</b> "
        f"({result.n_current:,} rows)</div>",
        f"<p><span class='verdict {css_class}'>{verdict}</span> "
        f"{result.n_drifted_features} of {result.n_features} features drifted "
        f"(share {result.drift_share:.2f}, threshold {result.drift_share_threshold:.2f})"
        f"{_role_line(result)}</p>",
        _concept(result),
        "<h2>Columns</h2><p class='muted'>Click a header to sort.</p>",
        _table(result.columns),
        "<h2>Distributions</h2><div class='legend muted'>"
        f"<span style='background:{REF_COLOR}'></span>reference"
        f"<span style='background:{CUR_COLOR}'></span>current</div><div class='plots'>",
        *(_plot(i, c) for i, c in enumerate(result.columns)),
        f"</div><script>{_SCRIPT}</script></body></html>",
    ]
    return "\n".join(parts)


def write_html(result: DriftResult, path: str | Path) -> Path:
    """Write the page atomically."""
    return write_text_atomic(Path(path), render(result))


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _role_line(result: DriftResult) -> str:
    parts = []
    if result.label_drift is not None:
        parts.append(f"label drift: {'yes' if result.label_drift else 'no'}")
    if result.prediction_drift is not None:
        parts.append(f"prediction drift: {'yes' if result.prediction_drift else 'no'}")
    return ("; " + "; ".join(parts)) if parts else ""


def _concept(result: DriftResult) -> str:
    concept = result.concept
    if concept is None:
        return ""
    fired = []
    if concept.ddm is not None and concept.ddm.drift_index is not None:
        fired.append(f"DDM at row {concept.ddm.drift_index:,}")
    if concept.page_hinkley.drift_index is not None:
        fired.append(f"Page-Hinkley at row {concept.page_hinkley.drift_index:,}")
    if concept.flagged_windows:
        fired.append(
            f"{concept.flagged_windows} window(s) of {concept.window} rows below reference"
        )
    ref = "n/a" if concept.reference_value is None else f"{concept.reference_value:.4f}"
    cur = "n/a" if concept.current_value is None else f"{concept.current_value:.4f}"
    state = "bad" if concept.drift else "good"
    text = "; ".join(fired) if fired else "no detector fired"
    return (
        f"<h2>Concept drift</h2><p><span class='verdict {state}'>"
        f"{'Concept drift' if concept.drift else 'No concept drift'}</span> {concept.metric}: "
        f"reference {ref}, current {cur} ({concept.n:,} labelled rows); {_e(text)}</p>"
    )


def _num(value: float | None, digits: int = 4) -> tuple[str, str]:
    """(shown text, sort key) for a number that may be missing or infinite."""
    if value is None:
        return "-", "-1e308"
    if math.isinf(value):
        return ("inf" if value > 0 else "-inf"), ("1e308" if value > 0 else "-1e308")
    return f"{value:.{digits}g}", repr(float(value))


def _table(columns: list[ColumnResult]) -> str:
    head = [
        "Column",
        "Role",
        "Kind",
        "Test",
        "Score",
        "Threshold",
        "Drift",
        "Non-finite ref",
        "Non-finite cur",
        "KS",
        "Wasserstein (normed)",
        "PSI",
        "Chi-square p",
        "JS distance",
    ]
    rows = []
    for i, c in enumerate(columns):
        num, cat = c.numeric, c.categorical
        cells = [
            (f"<a href='#col-{i}'>{_e(c.name)}</a>", c.name, "t"),
            (_e(c.role), c.role, "t"),
            (_e(c.kind), c.kind, "t"),
            (_e(c.method), c.method, "t"),
            (*_num(c.score), ""),
            (*_num(c.threshold), ""),
            ("yes" if c.drift else ("n/a" if c.status != "ok" else "no"), str(int(c.drift)), "t"),
            (f"{c.nonfinite_share_reference:.1%}", repr(c.nonfinite_share_reference), ""),
            (
                f"{c.nonfinite_share_current:.1%}"
                + (" <span class='warn'>&#9888;</span>" if c.nonfinite_shift else ""),
                repr(c.nonfinite_share_current),
                "",
            ),
            (*_num(num.ks_statistic if num else None), ""),
            (*_num(num.wasserstein_normed if num else None), ""),
            (*_num(num.psi if num else None), ""),
            (*_num(cat.chi2_pvalue if cat else None), ""),
            (*_num(cat.js_distance if cat else None), ""),
        ]
        tds = "".join(
            f"<td class='{cls}' data-v='{_e(key)}'>{text}</td>" for text, key, cls in cells
        )
        title = f" title='{_e(c.reason)}'" if c.reason else ""
        rows.append(f"<tr class='{'drift' if c.drift else ''}'{title}>{tds}</tr>")
    header = "".join(f"<th>{h}</th>" for h in head)
    return (
        f"<table id='drift-table'><thead><tr>{header}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _plot(index: int, column: ColumnResult) -> str:
    plot = column.plot
    title = (
        f"<h3 id='col-{index}'>{_e(column.name)} <span class='muted'>({_e(column.method)} "
        f"{_num(column.score)[0]}{', drift' if column.drift else ''})</span></h3>"
    )
    if plot is None:
        reason = column.reason or "no data to plot"
        return f"<div class='plot'>{title}<p class='muted'>{_e(reason)}</p></div>"
    if isinstance(plot, NumericPlot):
        labels = [f"≤ {v:.4g}" for v in plot.edges] + ["above reference max"]
        svg = _bars(labels, [*plot.reference, 0.0], plot.current)
    else:
        svg = _bars([str(c) for c in plot.categories], plot.reference, plot.current)
    return f"<div class='plot'>{title}{svg}</div>"


def _bars(labels: list[str], reference: list[float], current: list[float]) -> str:
    """Overlaid bars (reference behind, current in front) as inline SVG."""
    width, height, pad = 360, 170, 22
    count = max(len(labels), 1)
    top = max([*reference, *current, 1e-12])
    step = (width - 2 * pad) / count
    shapes: list[str] = []
    for i, label in enumerate(labels):
        x = pad + i * step
        for value, color, shrink in ((reference[i], REF_COLOR, 0.0), (current[i], CUR_COLOR, 0.25)):
            h = (height - 2 * pad) * value / top
            shapes.append(
                f"<rect x='{x + step * shrink:.2f}' y='{height - pad - h:.2f}' "
                f"width='{max(step * (1 - 2 * shrink) - 0.5, 0.5):.2f}' height='{h:.2f}' "
                f"fill='{color}' fill-opacity='0.65'><title>{_e(label)}: reference "
                f"{reference[i]:.3%}, current {current[i]:.3%}</title></rect>"
            )
    axis = (
        f"<line x1='{pad}' y1='{height - pad}' x2='{width - pad}' y2='{height - pad}' "
        "stroke='#98a2b3'/>"
        f"<text x='{pad}' y='{height - 6}' font-size='10' fill='#667085'>{_e(labels[0])}</text>"
        f"<text x='{width - pad}' y='{height - 6}' font-size='10' fill='#667085' "
        f"text-anchor='end'>{_e(labels[-1])}</text>"
        f"<text x='{pad}' y='14' font-size='10' fill='#667085'>max share {top:.2%}</text>"
    )
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img'>{''.join(shapes)}{axis}</svg>"
    )


def summary_rows(result: DriftResult) -> list[dict[str, str]]:
    """Rows for a terminal table (shared with the CLI)."""
    return [
        {
            "column": c.name,
            "role": c.role,
            "test": c.method,
            "score": _num(c.score)[0],
            "threshold": _num(c.threshold)[0],
            "drift": "yes" if c.drift else ("n/a" if c.status != "ok" else "no"),
        }
        for c in result.columns
    ]
