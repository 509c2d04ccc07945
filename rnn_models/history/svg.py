"""Charts as SVG text, drawn here in Python: the pages load no plotting library.

- ``point_chart``: a value per commit with its interval, one line per machine kind (points
  of different kinds are never joined), dashed markers where library versions changed,
  each point a link to its commit;
- ``curves_chart``: the latest learning curve, and earlier ones of which one is shown;
- ``interval_chart``: ratios with their intervals against reference lines (a run's A/B).
"""

import math
from html import escape

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 24, 78
PALETTE = ("#1f6fb4", "#c0392b", "#2e8b3a", "#8e44ad", "#d35400", "#5d4037")
LATEST, EARLIER = "#1f3f6f", "#e07b00"
LEGEND_CHAR = 5.6  # px per character of 10 px legend text, to place the next entry


def _q(value):
    return escape(str(value), quote=True)


def nice_ticks(low, high, count=5):
    """About ``count`` round tick values covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        high, low = (low + 1.0, low - 1.0) if math.isfinite(low) else (1.0, 0.0)
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if raw <= m * step)
    first = math.floor(low / step) * step
    return [first + k * step for k in range(int(math.ceil((high - first) / step)) + 1)]


class _Frame:
    """Maps data to pixels inside the plot area, and draws the y axis."""

    def __init__(self, x_count, values, width=WIDTH, height=HEIGHT):
        finite = [v for v in values if math.isfinite(v)] or [0.0, 1.0]
        self.ticks = nice_ticks(min(finite), max(finite))
        self.low, self.high = self.ticks[0], self.ticks[-1]
        self.width, self.height, self.x_count = width, height, max(x_count, 1)

    def x(self, k):
        span = self.width - LEFT - RIGHT
        return LEFT + span * (k + 0.5) / self.x_count

    def y(self, value):
        value = min(max(value, self.low), self.high)
        return TOP + (self.height - TOP - BOTTOM) * (self.high - value) / (self.high - self.low)

    def axes(self, fmt, y_label):
        out = []
        for t in self.ticks:
            y = self.y(t)
            out.append(f'<line x1="{LEFT}" x2="{self.width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                       f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{_q(fmt(t))}</text>')
        mid = (TOP + self.height - BOTTOM) / 2
        out.append(f'<text x="12" y="{mid:.0f}" transform="rotate(-90 12 {mid:.0f})" '
                   f'text-anchor="middle">{_q(y_label)}</text>')
        return out


def _open(title, width=WIDTH, height=HEIGHT, cls="chart"):
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="{cls}" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-label="{_q(title)}">',
            f'<text x="{LEFT}" y="15" class="title">{_q(title)}</text>']


def point_chart(title, columns, points, y_label, fmt, kinds):
    """``columns``: ``[(commit id, label)]``, the x positions in order. ``points``: dicts with
    ``x`` (a column index), ``y``, ``low``, ``high``, ``kind``, ``tip``, ``url`` (or None),
    ``commit``, optional ``dots`` (more values drawn small, e.g. each seed) and ``mark`` (text
    of a version change at this point). ``kinds``: every kind in a fixed order (its colour)."""
    values = [v for p in points for v in (p["y"], p["low"], p["high"], *p.get("dots", ()))]
    frame = _Frame(len(columns), values)
    out = _open(title) + frame.axes(fmt, y_label)
    base = HEIGHT - BOTTOM
    for k, (commit, label) in enumerate(columns):
        x = frame.x(k)
        out.append(f'<text x="{x:.1f}" y="{base + 12}" transform="rotate(-45 {x:.1f} {base + 12})" '
                   f'text-anchor="end" class="tick">{_q(label)}</text>')
    for p in points:
        if p.get("mark"):
            x = frame.x(p["x"] - 0.5)
            out.append(f'<g class="version-mark"><line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{base}"/>'
                       f'<text x="{x + 2:.1f}" y="{TOP + 9}">{_q(p["mark"])}</text>'
                       f'<title>{_q(p["mark"])}</title></g>')
    colour = {kind: PALETTE[k % len(PALETTE)] for k, kind in enumerate(kinds)}
    for kind in kinds:  # one line per machine kind
        line = sorted((p for p in points if p["kind"] == kind), key=lambda p: p["x"])
        if len(line) > 1:
            path = " ".join(f"{frame.x(p['x']):.1f},{frame.y(p['y']):.1f}" for p in line)
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour[kind]}" '
                       f'stroke-width="1.5" data-kind="{_q(kind)}"/>')
    for p in points:
        x, c = frame.x(p["x"]), colour[p["kind"]]
        body = [f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{frame.y(p["low"]):.1f}" y2="{frame.y(p["high"]):.1f}" '
                f'stroke="{c}" stroke-width="3" opacity="0.45"/>']
        body += [f'<circle cx="{x + 5:.1f}" cy="{frame.y(d):.1f}" r="1.8" fill="{c}" opacity="0.6"/>'
                 for d in p.get("dots", ())]
        body.append(f'<circle cx="{x:.1f}" cy="{frame.y(p["y"]):.1f}" r="4" fill="{c}" stroke="#fff"/>'
                    f'<title>{_q(p["tip"])}</title>')
        attrs = f'class="pt" data-commit="{_q(p["commit"])}"'
        if p.get("url"):
            out.append(f'<a href="{_q(p["url"])}" target="_blank" {attrs}>{"".join(body)}</a>')
        else:
            out.append(f'<g {attrs}>{"".join(body)}</g>')
    x, legend_y = LEFT, HEIGHT - 8
    for kind in kinds:
        out.append(f'<rect x="{x}" y="{legend_y - 8}" width="10" height="10" fill="{colour[kind]}"/>'
                   f'<text x="{x + 14}" y="{legend_y + 1}" class="legend">{_q(kind)}</text>')
        x += 28 + LEGEND_CHAR * len(kind)
    return "\n".join(out + ["</svg>"])


def curves_chart(title, latest, earlier, default, x_label, y_label, fmt, earlier_label="the earlier one chosen"):
    """``latest``: ``(label, [[x, y]])``; ``earlier``: ``[(commit id, label, [[x, y]])]``, each
    a hidden group but ``default``'s (the page's select shows another)."""
    values = [y for _, _, pts in earlier for _, y in pts] + [y for _, y in latest[1]]
    values = [y for y in values if y is not None]
    xs = [x for x, _ in latest[1]] + [x for _, _, pts in earlier for x, _ in pts]
    frame = _Frame(1, values)
    x_low, x_high = (min(xs), max(xs)) if xs else (0, 1)
    span = (x_high - x_low) or 1

    def px(x):
        return LEFT + (WIDTH - LEFT - RIGHT) * (x - x_low) / span

    def path(pts):
        return " ".join(f"{px(x):.1f},{frame.y(y):.1f}" for x, y in pts if y is not None and math.isfinite(y))

    out = _open(title) + frame.axes(fmt, y_label)
    for t in nice_ticks(x_low, x_high):
        if x_low <= t <= x_high:
            out.append(f'<text x="{px(t):.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle">{t:g}</text>')
    out.append(f'<text x="{(LEFT + WIDTH) / 2:.0f}" y="{HEIGHT - BOTTOM + 30}" text-anchor="middle">'
               f'{_q(x_label)}</text>')
    out.append(f'<g class="latest"><polyline points="{path(latest[1])}" fill="none" stroke="{LATEST}" '
               f'stroke-width="2"/><title>{_q(latest[0])}</title></g>')
    for commit, label, pts in earlier:  # over the latest: an unchanged curve still shows
        hidden = "" if commit == default else ' style="display:none"'
        out.append(f'<g class="earlier" data-commit="{_q(commit)}"{hidden}><polyline points="{path(pts)}" '
                   f'fill="none" stroke="{EARLIER}" stroke-width="1.5" stroke-dasharray="5 3"/>'
                   f'<title>{_q(label)}</title></g>')
    legend_y, second = HEIGHT - 12, LEFT + 48 + LEGEND_CHAR * len(latest[0])
    out.append(f'<line x1="{LEFT}" x2="{LEFT + 20}" y1="{legend_y - 4}" y2="{legend_y - 4}" stroke="{LATEST}" '
               f'stroke-width="2"/><text x="{LEFT + 24}" y="{legend_y}" class="legend">{_q(latest[0])}</text>'
               f'<line x1="{second:.0f}" x2="{second + 20:.0f}" y1="{legend_y - 4}" y2="{legend_y - 4}" '
               f'stroke="{EARLIER}" stroke-width="1.5" stroke-dasharray="5 3"/>'
               f'<text x="{second + 24:.0f}" y="{legend_y}" class="legend">{_q(earlier_label)}</text>')
    return "\n".join(out + ["</svg>"])


def interval_chart(title, rows, references, fmt):
    """Horizontal intervals: ``rows`` ``[(label, value, low, high, colour)]``, ``references``
    ``[(value, label)]`` drawn as vertical lines (1.0, the failing threshold)."""
    height = TOP + 22 * len(rows) + 54  # room for the reference lines' labels above the rows
    values = [v for _, v, lo, hi, _ in rows for v in (v, lo, hi)] + [r for r, _ in references]
    finite = [v for v in values if math.isfinite(v)] or [0.9, 1.1]
    ticks = nice_ticks(min(finite), max(finite))
    low, high = ticks[0], ticks[-1]
    left, right = 200, 36

    def px(v):
        v = min(max(v, low), high) if math.isfinite(v) else (high if v > 0 else low)
        return left + (WIDTH - left - right) * (v - low) / (high - low)

    out = _open(title, height=height)
    for t in ticks:
        out.append(f'<line x1="{px(t):.1f}" x2="{px(t):.1f}" y1="{TOP}" y2="{height - 28}" class="grid"/>'
                   f'<text x="{px(t):.1f}" y="{height - 14}" text-anchor="middle">{_q(fmt(t))}</text>')
    for value, label in references:
        x = px(value)
        anchor = ("end", x - 2) if x > WIDTH - 60 else ("start", x + 2)  # a label at the edge stays in
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{height - 28}" '
                   f'class="ref"><title>{_q(label)}</title></line>'
                   f'<text x="{anchor[1]:.1f}" y="{TOP + 10}" text-anchor="{anchor[0]}" class="tick">'
                   f'{_q(fmt(value))}</text>')
    for k, (label, value, lo, hi, colour) in enumerate(rows):
        y = TOP + 26 + 22 * k
        out.append(f'<text x="{left - 6}" y="{y + 4}" text-anchor="end">{_q(label)}</text>'
                   f'<line x1="{px(lo):.1f}" x2="{px(hi):.1f}" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="3"/>'
                   f'<circle cx="{px(value):.1f}" cy="{y}" r="4" fill="{colour}"/>'
                   f'<title>{_q(label)}: {fmt(value)} [{fmt(lo)}, {fmt(hi)}]</title>')
    return "\n".join(out + ["</svg>"])
