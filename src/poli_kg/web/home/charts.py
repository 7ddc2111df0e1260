"""Server-side SVG charts for the HTML pages: no JavaScript, no external assets.

Every chart is an inline ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` (named by
``aria-labelledby``), a text label for every bar and its value written next to it, so the
figures can be read by screen readers, copied as text and printed.  Bars may link to the
resource they show (an SVG ``<a href>``).

The functions here only draw: the figures come from the store (see
:func:`poli_kg.web.home.figures.home_charts`), so nothing here is specific to the data.

The SVG is written in code, not in a Jinja template, because it is geometry: every element's
position and size is computed from the figures and the lengths of the labels, so a template
would hold nothing but the computed attributes.  Every text goes through ``escape`` /
``quoteattr`` and the result is returned as :class:`~markupsafe.Markup` for the home page's
template to embed.

* :func:`bar_chart` — horizontal bars, one series (members by type, patents by domain);
  an optional *total* bar shows a published total next to the sum of the bars, with the
  unexplained remainder hatched.
* :func:`grouped_bar_chart` — horizontal bars grouped by category, one bar per series, in
  one or more panels with their own scale (the two calls, counts and amounts in M€).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup

__all__ = ["Bar", "Group", "Panel", "Total", "bar_chart", "grouped_bar_chart", "PALETTE"]

PALETTE = ("#1f4e8c", "#d9822b", "#2a7f62", "#8e44ad", "#b03a48", "#5b6676")
"""Bar colours, the first for single-series charts (the site's accent colour)."""

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
WIDTH = 640
CHAR_WIDTH = 6.6        # approximate advance of a 12.5px sans-serif character
LABEL_GAP = 10
VALUE_SPACE = 74        # room right of the longest bar for its value
BAR_HEIGHT = 22
BAR_GAP = 10
PAD = 12

@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value, how the value is written, and an optional link."""

    label: str
    value: float
    display: str
    href: str | None = None


@dataclass(frozen=True)
class Total:
    """A published total drawn under the bars, against the sum of the bars.

    ``remainder_label`` names the part of the total the bars do not account for
    (drawn hatched); it is left out when the bars add up to the total.
    """

    label: str
    value: float
    display: str
    remainder_label: str = ""
    href: str | None = None


@dataclass(frozen=True)
class Group:
    """A category of a grouped chart: its label and one bar per series (same order)."""

    label: str
    bars: Sequence[Bar]


@dataclass(frozen=True)
class Panel:
    """A block of groups sharing one scale, with a heading (e.g. "M€")."""

    title: str
    groups: Sequence[Group]


@dataclass
class _Svg:
    """An SVG document being written."""

    width: float
    parts: list[str] = field(default_factory=list)
    height: float = 0.0

    def add(self, text: str) -> None:
        self.parts.append(text)


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: float = 12.5,
          weight: str = "normal", fill: str = "#1c2430", css: str = "") -> str:
    klass = f' class="{css}"' if css else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'font-weight="{weight}" fill="{fill}"{klass}>{escape(text)}</text>')


def _link(href: str | None, inner: str, label: str) -> str:
    """``inner`` wrapped in an SVG link to ``href`` (when given)."""
    if not href:
        return inner
    return f'<a href={quoteattr(href)} aria-label={quoteattr(label)}>{inner}</a>'


def _label_width(labels: Sequence[str]) -> float:
    longest = max((len(label) for label in labels), default=0)
    return min(max(longest * CHAR_WIDTH, 60.0), WIDTH * 0.42)


def _open(svg: _Svg, ident: str, title: str, desc: str) -> tuple[str, str]:
    """Start the document; return the ids of its title and desc."""
    title_id, desc_id = f"{ident}-title", f"{ident}-desc"
    svg.add(f'<title id="{title_id}">{escape(title)}</title>')
    svg.add(f'<desc id="{desc_id}">{escape(desc)}</desc>')
    svg.add(f'<rect class="chart-bg" x="0" y="0" width="{svg.width}" height="__HEIGHT__" '
            f'fill="#ffffff"/>')
    return title_id, desc_id


def _close(svg: _Svg, title_id: str, desc_id: str, css: str) -> Markup:
    height = round(svg.height)
    body = "\n".join(svg.parts).replace("__HEIGHT__", str(height))
    klass = f"chart {css}".strip()
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{klass}" '
        f'viewBox="0 0 {svg.width:.0f} {height}" width="{svg.width:.0f}" height="{height}" '
        f'role="img" aria-labelledby="{title_id} {desc_id}" font-family="{FONT}">\n'
        f"{body}\n</svg>"
    )


def _bar_row(svg: _Svg, y: float, label_x: float, bar_x: float, scale: float, bar: Bar,
             colour: str, *, label: str | None = None) -> None:
    """One labelled bar with its value at the end."""
    width = max(bar.value * scale, 1.5 if bar.value > 0 else 0.0)
    mid = y + BAR_HEIGHT / 2 + 4.5
    shown = bar.label if label is None else label
    inner = (
        '<g class="chart-bar">'
        + (_text(label_x, mid, shown, anchor="end") if shown else "")
        + f'<rect x="{bar_x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{BAR_HEIGHT}" '
        f'rx="2" fill="{colour}"/>'
        + _text(bar_x + width + 6, mid, bar.display, weight="600", css="chart-value")
        + "</g>"
    )
    svg.add(_link(bar.href, inner, f"{bar.label}: {bar.display}"))


def bar_chart(ident: str, title: str, desc: str, bars: Sequence[Bar], *,
              total: Total | None = None, caption_sum: str = "", css: str = "") -> Markup:
    """Horizontal bars, one per item, longest scale = the largest value (or the total).

    ``ident`` must be unique in the page: the ids of the title, desc and pattern derive from it.

    With ``total``, a last row compares the published total (outline) with the sum of the
    bars (filled); ``caption_sum`` (e.g. "sum of the types: 1,094") is written under it.
    """
    labels = [bar.label for bar in bars] + ([total.label] if total else [])
    label_w = _label_width(labels)
    label_x = PAD + label_w
    bar_x = label_x + LABEL_GAP
    largest = max([bar.value for bar in bars] + ([total.value] if total else []) + [1e-9])
    scale = (WIDTH - bar_x - VALUE_SPACE - PAD) / largest
    svg = _Svg(WIDTH)
    title_id, desc_id = _open(svg, ident, title, desc)
    y = PAD
    for bar in bars:
        _bar_row(svg, y, label_x, bar_x, scale, bar, PALETTE[0])
        y += BAR_HEIGHT + BAR_GAP
    if total is not None:
        y += 4
        svg.add(f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{y - 7:.1f}" y2="{y - 7:.1f}" '
                f'stroke="#d9dee6"/>')
        parts = sum(bar.value for bar in bars)
        mid = y + BAR_HEIGHT / 2 + 4.5
        full = total.value * scale
        filled = min(parts, total.value) * scale
        inner = [
            '<g class="chart-total">',
            _text(label_x, mid, total.label, anchor="end", weight="600"),
            f'<pattern id="{ident}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
            f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fbe9d7"/>'
            f'<line x1="0" y1="0" x2="0" y2="6" stroke="#d9822b" stroke-width="2"/></pattern>',
            f'<rect x="{bar_x:.1f}" y="{y:.1f}" width="{full:.1f}" height="{BAR_HEIGHT}" rx="2" '
            f'fill="url(#{ident}-hatch)" stroke="#d9822b"/>',
            f'<rect x="{bar_x:.1f}" y="{y:.1f}" width="{filled:.1f}" height="{BAR_HEIGHT}" '
            f'rx="2" fill="{PALETTE[5]}"/>',
            _text(bar_x + full + 6, mid, total.display, weight="700", css="chart-value"),
        ]
        if total.remainder_label and parts < total.value:
            inner.append(_text(bar_x + (filled + full) / 2, y + BAR_HEIGHT + 15,
                               total.remainder_label, anchor="middle", size=11.5,
                               fill="#8a4b12"))
        inner.append("</g>")
        svg.add(_link(total.href, "".join(inner), f"{total.label}: {total.display}"))
        y += BAR_HEIGHT + (20 if total.remainder_label and parts < total.value else 6)
        if caption_sum:
            y += 12
            svg.add(_text(bar_x, y, caption_sum, size=11.5, fill="#5b6676"))
    svg.height = y + PAD
    return _close(svg, title_id, desc_id, css)


def grouped_bar_chart(ident: str, title: str, desc: str, series: Sequence[str],
                      panels: Sequence[Panel], *, css: str = "") -> Markup:
    """Horizontal bars grouped by category, one colour per series, a legend on top.

    Each panel has its own scale (its largest value), so counts and amounts can share a
    figure without sharing an axis.
    """
    labels = [group.label for panel in panels for group in panel.groups]
    label_w = _label_width(labels)
    label_x = PAD + label_w
    bar_x = label_x + LABEL_GAP
    svg = _Svg(WIDTH)
    title_id, desc_id = _open(svg, ident, title, desc)
    # legend, wrapped onto more lines when the series' names are long
    x, y = PAD, PAD + 10
    svg.add('<g class="chart-legend">')
    for index, name in enumerate(series):
        width = 17 + len(name) * CHAR_WIDTH
        if x > PAD and x + width > WIDTH - PAD:
            x, y = PAD, y + 18
        svg.add(f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" rx="2" '
                f'fill="{PALETTE[index % len(PALETTE)]}"/>')
        svg.add(_text(x + 17, y, name))
        x += width + 22
    svg.add("</g>")
    y += 18
    for panel in panels:
        largest = max([bar.value for group in panel.groups for bar in group.bars] + [1e-9])
        scale = (WIDTH - bar_x - VALUE_SPACE - PAD) / largest
        y += 8
        svg.add(_text(PAD, y + 4, panel.title, weight="700", size=13, css="chart-panel"))
        svg.add(f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{y + 10:.1f}" y2="{y + 10:.1f}" '
                f'stroke="#d9dee6"/>')
        y += 20
        for group in panel.groups:
            top = y
            for index, bar in enumerate(group.bars):
                _bar_row(svg, y, label_x, bar_x, scale, bar, PALETTE[index % len(PALETTE)],
                         label="")
                y += BAR_HEIGHT + 3
            block = y - 3 - top
            svg.add(_text(label_x, top + block / 2 + 4.5, group.label, anchor="end"))
            y += BAR_GAP + 2
    svg.height = y + PAD - BAR_GAP
    return _close(svg, title_id, desc_id, css)
