"""Server-side SVG charts for the HTML pages: no JavaScript, no external assets.

Every chart is an inline ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` (named by
``aria-labelledby``), a text label for every bar and its value written next to it, so the
figures can be read by screen readers, copied as text and printed.  A chart holds nothing
focusable (an image's content is presentational): the links to what the bars show are in the
table of figures the page writes beside it.

Each chart is drawn in one of two :class:`Layout` s: :data:`WIDE`, labels left of their bars,
and :data:`NARROW` for phones, labels above their bars so that the text stays legible when the
chart is scaled to a 390 px screen; the page shows one or the other by the screen's width.

The functions here only draw: the figures come from the store (see
:func:`poli_kg.web.home.figures.home_charts`), so nothing here is specific to the data.

The SVG is written in code, not in a Jinja template, because it is geometry: every element's
position and size is computed from the figures and the lengths of the labels, so a template
would hold nothing but the computed attributes.  Every text goes through ``escape`` and the
result is returned as :class:`~markupsafe.Markup` for the home page's template to embed.

* :func:`bar_chart` — horizontal bars, one series (members by type, patents by domain);
  an optional *total* bar shows a published total next to the sum of the bars, with the
  unexplained remainder hatched.
* :func:`grouped_bar_chart` — horizontal bars grouped by category, one bar per series, in
  one or more panels with their own scale (the two calls, counts and amounts in M€).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from markupsafe import Markup

__all__ = ["Bar", "Group", "Layout", "NARROW", "PALETTE", "Panel", "Total", "WIDE",
           "bar_chart", "grouped_bar_chart"]

PALETTE = ("#1f4e8c", "#d9822b", "#2a7f62", "#8e44ad", "#b03a48", "#5b6676")
"""Bar colours, the first for single-series charts (the site's accent colour)."""

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
LABEL_GAP = 10
VALUE_SPACE = 74        # room right of the longest bar for its value
BAR_HEIGHT = 22
BAR_GAP = 10
PAD = 12
INK, MUTED, LINE = "#1c2430", "#5b6676", "#d9dee6"


@dataclass(frozen=True)
class Layout:
    """How a chart is laid out: its width, its text size, and whether labels stand above
    their bars (``stacked``) rather than left of them."""

    name: str
    width: float
    font: float
    stacked: bool

    @property
    def char_width(self) -> float:
        """The approximate advance of one character of a label."""
        return self.font * 0.53

    @property
    def line(self) -> float:
        """The height of a line of labels."""
        return self.font * 1.3


WIDE = Layout("wide", 640, 12.5, False)
NARROW = Layout("narrow", 340, 14, True)


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value, how the value is written, and the page it shows
    (linked from the page's table of figures)."""

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
    """An SVG document being written in one layout, with its label and bar columns."""

    layout: Layout
    labels: Sequence[str]
    parts: list[str] = field(default_factory=list)
    height: float = 0.0

    def add(self, text: str) -> None:
        self.parts.append(text)

    @property
    def label_x(self) -> float:
        """Where labels start (stacked) or end (beside the bars)."""
        if self.layout.stacked:
            return PAD
        longest = max((len(label) for label in self.labels), default=0)
        return PAD + min(max(longest * self.layout.char_width, 60.0), self.layout.width * 0.42)

    @property
    def bar_x(self) -> float:
        return PAD if self.layout.stacked else self.label_x + LABEL_GAP

    @property
    def bar_span(self) -> float:
        """The length of the longest bar."""
        return self.layout.width - self.bar_x - VALUE_SPACE - PAD

    def text(self, x: float, y: float, text: str, *, anchor: str = "start",
             size: float | None = None, weight: str = "normal", fill: str = INK,
             css: str = "") -> str:
        klass = f' class="{css}"' if css else ""
        return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" '
                f'font-size="{size or self.layout.font}" font-weight="{weight}" '
                f'fill="{fill}"{klass}>{escape(text)}</text>')

    def label(self, y: float, text: str, *, weight: str = "normal") -> float:
        """A label above the bars that follow (stacked layout), wrapped to the chart's width;
        returns where the bars start."""
        per_line = max(int((self.layout.width - 2 * PAD) / self.layout.char_width), 8)
        lines: list[str] = []
        for word in text.split():
            if lines and len(lines[-1]) + 1 + len(word) <= per_line:
                lines[-1] += " " + word
            else:
                lines.append(word)
        for line in lines:
            y += self.layout.line
            self.add(self.text(PAD, y - 3, line, weight=weight))
        return y + 2


def _open(svg: _Svg, ident: str, title: str, desc: str) -> tuple[str, str]:
    """Start the document; return the ids of its title and desc."""
    title_id, desc_id = f"{ident}-title", f"{ident}-desc"
    svg.add(f'<title id="{title_id}">{escape(title)}</title>')
    svg.add(f'<desc id="{desc_id}">{escape(desc)}</desc>')
    svg.add(f'<rect class="chart-bg" x="0" y="0" width="{svg.layout.width}" height="__HEIGHT__" '
            f'fill="#ffffff"/>')
    return title_id, desc_id


def _close(svg: _Svg, title_id: str, desc_id: str, css: str) -> Markup:
    height = round(svg.height)
    width = svg.layout.width
    body = "\n".join(svg.parts).replace("__HEIGHT__", str(height))
    klass = f"chart chart--{svg.layout.name} {css}".strip()
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{klass}" '
        f'viewBox="0 0 {width:.0f} {height}" width="{width:.0f}" height="{height}" '
        f'role="img" aria-labelledby="{title_id} {desc_id}" font-family="{FONT}">\n'
        f"{body}\n</svg>"
    )


def _bar_row(svg: _Svg, y: float, scale: float, bar: Bar, colour: str, *,
             label: str | None = None) -> float:
    """One labelled bar with its value at its end; returns where the next row starts."""
    shown = bar.label if label is None else label
    if svg.layout.stacked and shown:
        y = svg.label(y, shown)
    width = max(bar.value * scale, 1.5 if bar.value > 0 else 0.0)
    mid = y + BAR_HEIGHT / 2 + 4.5
    svg.add(
        '<g class="chart-bar">'
        + (svg.text(svg.label_x, mid, shown, anchor="end")
           if shown and not svg.layout.stacked else "")
        + f'<rect x="{svg.bar_x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{BAR_HEIGHT}" '
        f'rx="2" fill="{colour}"/>'
        + svg.text(svg.bar_x + width + 6, mid, bar.display, weight="600", css="chart-value")
        + "</g>")
    return y + BAR_HEIGHT


def _total_row(svg: _Svg, ident: str, y: float, scale: float, total: Total,
               parts: float) -> float:
    """The published total (hatched outline) against the sum of the bars (filled)."""
    svg.add(f'<line x1="{PAD}" x2="{svg.layout.width - PAD}" y1="{y - 7:.1f}" y2="{y - 7:.1f}" '
            f'stroke="{LINE}"/>')
    svg.add('<g class="chart-total">')
    if svg.layout.stacked:
        y = svg.label(y, total.label, weight="600")
    else:
        svg.add(svg.text(svg.label_x, y + BAR_HEIGHT / 2 + 4.5, total.label, anchor="end",
                         weight="600"))
    mid = y + BAR_HEIGHT / 2 + 4.5
    full = total.value * scale
    filled = min(parts, total.value) * scale
    bar_x = svg.bar_x
    svg.add(f'<pattern id="{ident}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
            f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fbe9d7"/>'
            f'<line x1="0" y1="0" x2="0" y2="6" stroke="#d9822b" stroke-width="2"/></pattern>')
    svg.add(f'<rect x="{bar_x:.1f}" y="{y:.1f}" width="{full:.1f}" height="{BAR_HEIGHT}" rx="2" '
            f'fill="url(#{ident}-hatch)" stroke="#d9822b"/>')
    svg.add(f'<rect x="{bar_x:.1f}" y="{y:.1f}" width="{filled:.1f}" height="{BAR_HEIGHT}" '
            f'rx="2" fill="{PALETTE[5]}"/>')
    svg.add(svg.text(bar_x + full + 6, mid, total.display, weight="700", css="chart-value"))
    remainder = bool(total.remainder_label) and parts < total.value
    if remainder:
        svg.add(svg.text(bar_x + (filled + full) / 2, y + BAR_HEIGHT + 15,
                         total.remainder_label, anchor="middle",
                         size=svg.layout.font - 1, fill="#8a4b12"))
    svg.add("</g>")
    return y + BAR_HEIGHT + (20 if remainder else 6)


def bar_chart(ident: str, title: str, desc: str, bars: Sequence[Bar], *,
              total: Total | None = None, caption_sum: str = "", css: str = "",
              layout: Layout = WIDE) -> Markup:
    """Horizontal bars, one per item, longest scale = the largest value (or the total).

    ``ident`` must be unique in the page: the ids of the title, desc and pattern derive from it.

    With ``total``, a last row compares the published total (outline) with the sum of the
    bars (filled); ``caption_sum`` (e.g. "sum of the types: 1,094") is written under it.
    """
    svg = _Svg(layout, [bar.label for bar in bars] + ([total.label] if total else []))
    largest = max([bar.value for bar in bars] + ([total.value] if total else []) + [1e-9])
    scale = svg.bar_span / largest
    title_id, desc_id = _open(svg, ident, title, desc)
    y = PAD
    for bar in bars:
        y = _bar_row(svg, y, scale, bar, PALETTE[0]) + BAR_GAP
    if total is not None:
        y = _total_row(svg, ident, y + 4, scale, total, sum(bar.value for bar in bars))
        if caption_sum:
            y += 12
            svg.add(svg.text(svg.bar_x, y, caption_sum, size=layout.font - 1, fill=MUTED))
    svg.height = y + PAD
    return _close(svg, title_id, desc_id, css)


def _legend(svg: _Svg, series: Sequence[str]) -> float:
    """The series' colours and names, wrapped onto more lines when long; returns its bottom."""
    x, y = PAD, PAD + 10
    width_limit = svg.layout.width - PAD
    svg.add('<g class="chart-legend">')
    for index, name in enumerate(series):
        width = 17 + len(name) * svg.layout.char_width
        if x > PAD and x + width > width_limit:
            x, y = PAD, y + svg.layout.line + 4
        svg.add(f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" rx="2" '
                f'fill="{PALETTE[index % len(PALETTE)]}"/>')
        svg.add(svg.text(x + 17, y, name))
        x += width + 22
    svg.add("</g>")
    return y + 18


def grouped_bar_chart(ident: str, title: str, desc: str, series: Sequence[str],
                      panels: Sequence[Panel], *, css: str = "",
                      layout: Layout = WIDE) -> Markup:
    """Horizontal bars grouped by category, one colour per series, a legend on top.

    Each panel has its own scale (its largest value), so counts and amounts can share a
    figure without sharing an axis.
    """
    svg = _Svg(layout, [group.label for panel in panels for group in panel.groups])
    title_id, desc_id = _open(svg, ident, title, desc)
    y = _legend(svg, series)
    for panel in panels:
        largest = max([bar.value for group in panel.groups for bar in group.bars] + [1e-9])
        scale = svg.bar_span / largest
        y += 8
        svg.add(svg.text(PAD, y + 4, panel.title, weight="700", size=layout.font + 0.5,
                         css="chart-panel"))
        svg.add(f'<line x1="{PAD}" x2="{layout.width - PAD}" y1="{y + 10:.1f}" '
                f'y2="{y + 10:.1f}" stroke="{LINE}"/>')
        y += 20
        for group in panel.groups:
            if layout.stacked:
                y = svg.label(y, group.label, weight="600")
            top = y
            for index, bar in enumerate(group.bars):
                y = _bar_row(svg, y, scale, bar, PALETTE[index % len(PALETTE)], label="") + 3
            if not layout.stacked:
                middle = top + (y - 3 - top) / 2 + 4.5
                svg.add(svg.text(svg.label_x, middle, group.label, anchor="end"))
            y += BAR_GAP + 2
    svg.height = y + PAD - BAR_GAP
    return _close(svg, title_id, desc_id, css)
