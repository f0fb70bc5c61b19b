"""Page assembly shared by every report: one Jinja2 environment (autoescaped), JSON islands that are
safe inside ``<script>``, and the plotly.js bundle inlined once per page.

Every report is one self-contained file: CSS, JavaScript (plotly.js from the installed ``plotly``
package plus ``report.js`` from this package) and data are inlined, so it opens offline and never
fetches anything from a CDN.

The one exception is a report written for the service (``plotly="service"``): plotly.js (4.8 MB, most
of a report) is left out and replaced by one marked ``<script src>`` tag naming the service's copy
(:data:`PLOTLY_ROUTE`); the service puts the bundle back in whenever it hands the file out
(:func:`inline_plotly`), so what a browser gets from it, shown or downloaded, is self-contained again,
while a job folder holds no copy of plotly.
"""

from __future__ import annotations

import functools
import json
import math
import re
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from evalscope import __version__
from evalscope.fsio import atomic_write_text

STATE_COLORS = {
    "correct": "#2e9d5b",
    "wrong": "#d9534f",
    "unparsed": "#f0ad4e",
    "truncated": "#8e6cc0",
    "error": "#6c757d",
}
PALETTE = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]


#: where the service serves the plotly.js bundle; a ``plotly="service"`` report names it
PLOTLY_ROUTE = "/report-assets/plotly.min.js"
#: the attribute that marks the left-out bundle's tag (what :func:`inline_plotly` replaces)
PLOTLY_MARK = "data-evalscope-plotly"
PLOTLY_MODES = ("inline", "service")
_MARK_RE = re.compile(r'<script src="[^"<>]*" ' + PLOTLY_MARK + r'="[^"<>]*"></script>')


class ReportError(RuntimeError):
    """A folder that holds no run this package can report on; the message says what was expected."""


def _package_text(name: str) -> str:
    return resources.files("evalscope.report").joinpath("assets", name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def plotly_js() -> str:
    """The plotly.js bundle shipped inside the ``plotly`` Python package (never a CDN)."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ReportError("HTML reports need plotly: pip install 'evalscope[report]'") from exc
    return get_plotlyjs()


def plotly_version() -> str:
    """Version of the plotly Python package whose bundle is inlined."""
    import plotly

    return plotly.__version__


@functools.lru_cache(maxsize=1)
def _env():
    try:
        import jinja2
    except ImportError as exc:  # pragma: no cover
        raise ReportError("HTML reports need jinja2: pip install 'evalscope[report]'") from exc
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("evalscope.report", "templates"),
        autoescape=True,  # model output is untrusted text: escape everything by default
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = fmt_num
    env.globals["json_island"] = json_island
    return env


def clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf become null, numpy scalars and arrays become Python values."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if hasattr(value, "tolist"):
        return clean(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_island_text(data: Any) -> str:
    """JSON that cannot end its ``<script>`` element early nor open an HTML comment: ``<``, ``>`` and
    ``&`` are written as ``\\u`` escapes, which JSON.parse reads back unchanged."""
    text = json.dumps(clean(data), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def json_island(element_id: str, data: Any):
    """A ``<script type="application/json">`` element holding ``data`` (for templates)."""
    from markupsafe import Markup, escape

    return Markup(
        f'<script type="application/json" id="{escape(element_id)}">{json_island_text(data)}</script>'
    )


def fmt_num(value: Any, digits: int = 4) -> str:
    """Numbers for tables: ints as is, floats with ``digits`` significant digits (at least two
    decimals above 1), None as '–'."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if abs(value) >= 1:
        text = f"{value:.{max(2, digits - len(str(int(abs(value)))))}f}"
    else:
        text = f"{value:.{digits}g}"
    return text.rstrip("0").rstrip(".") if "." in text and "e" not in text else text


def figure(
    data: list[dict[str, Any]],
    title: str,
    xaxis: dict[str, Any] | None = None,
    yaxis: dict[str, Any] | None = None,
    **layout: Any,
) -> dict[str, Any]:
    """A plotly figure spec (plain JSON, rendered by plotly.js in the page)."""
    # a legend of many entries wraps into rows, plotly's automargin shrinks the plot to fit them and
    # the legend (placed in plot heights) creeps up onto the axis title: start it lower per extra row
    entries = sum(1 for t in data if t.get("showlegend", True) is not False)
    extra_rows = max(0, -(-entries // 4) - 1)
    base: dict[str, Any] = {
        "title": {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 15}},
        "margin": {"l": 60, "r": 20, "t": 48, "b": 50},
        # below the x axis title (plotly grows the margin to fit it)
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.28 - 0.06 * extra_rows},
        "template": {"layout": {"paper_bgcolor": "#fff", "plot_bgcolor": "#fafbfc"}},
        "hovermode": "closest",
        "height": 360,
    }
    if xaxis:
        base["xaxis"] = {"gridcolor": "#e5e7eb", **xaxis}
    if yaxis:
        base["yaxis"] = {"gridcolor": "#e5e7eb", **yaxis}
    base.update(layout)
    return {"data": data, "layout": base}


def plotly_tag(mode: str = "inline"):
    """The page's plotly.js element: the whole bundle inline, or (``"service"``) the marked tag that
    :func:`inline_plotly` replaces with it."""
    from markupsafe import Markup

    if mode not in PLOTLY_MODES:
        raise ValueError(f"plotly: {mode!r} is not one of {', '.join(PLOTLY_MODES)}")
    if mode == "service":
        return Markup(f'<script src="{PLOTLY_ROUTE}" {PLOTLY_MARK}="{plotly_version()}"></script>')
    return Markup("<script>") + _script_safe(plotly_js()) + Markup("</script>")


def inline_plotly(html: str) -> str:
    """``html`` with a service report's plotly.js tag replaced by the inline bundle (unchanged when it
    has none), so the file works offline wherever it goes next."""
    m = _MARK_RE.search(html)
    if m is None:
        return html
    return html[: m.start()] + str(plotly_tag("inline")) + html[m.end() :]


def render_html(template: str, plotly: str = "inline", **context: Any) -> str:
    """The page for ``template`` (see :func:`render`), as text."""
    env = _env()
    return env.get_template(template).render(
        plotly_tag=plotly_tag(plotly),
        plotly_mode=plotly,
        report_js=_script_safe(_package_text("report.js")),
        report_css=_script_safe(_package_text("report.css")),
        generated_at=datetime.now().astimezone().isoformat(timespec="seconds"),
        version=__version__,
        plotly_version=plotly_version(),
        **context,
    )


def render(template: str, output: Path, plotly: str = "inline", **context: Any) -> Path:
    """Render ``template`` with the shared assets inlined and write it to ``output`` atomically
    (``plotly="service"``: plotly.js left out, see the module's docstring)."""
    html = render_html(template, plotly, **context)
    output = Path(output)
    atomic_write_text(output, html, mode=0o644)  # a report is meant to be shared
    return output


def _script_safe(code: str):
    """Our own CSS/JS, inlined verbatim (autoescape would turn its quotes into entities)."""
    from markupsafe import Markup

    # A bundle that contained "</script" would end its element early; plotly.js never does, but a
    # cheap guard keeps a future bundle from silently breaking every report.
    if "</script" in code.lower():
        code = code.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")
    return Markup(code)
