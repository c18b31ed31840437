"""Publish source health as status.json and status.html for editors."""

from __future__ import annotations

import json
from datetime import datetime
from html import escape

from markupsafe import Markup

from aggregator.config import Config
from aggregator.health import STRIP_DAYS, SourceHealth, zone_label
from aggregator.publish.digest import templates


def status_json(rows: list[SourceHealth], now: datetime) -> bytes:
    """Machine-readable health of every source."""
    document = {"generated": now.isoformat(), "sources": [row.as_json() for row in rows]}
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def strip_svg(daily: tuple[int, ...]) -> Markup:
    """A source's new entries a day as a small bar chart (inline SVG, no script), so an editor
    sees a source going quiet; its title says the numbers for screen readers."""
    width, height, gap = 6, 24, 2
    top = max(daily, default=0) or 1
    heights = [max(1, round(height * n / top)) for n in daily]
    bars = "".join(
        f'<rect x="{i * (width + gap)}" y="{height - h}" width="{width}" height="{h}" '
        f'opacity="{1 if n else 0.25}"/>'
        for i, (n, h) in enumerate(zip(daily, heights, strict=True))
    )
    label = ", ".join(str(n) for n in daily)
    total = len(daily) * (width + gap)
    return Markup(
        f'<svg role="img" width="{total}" height="{height}" viewBox="0 0 {total} {height}">'
        f"<title>new entries a day, oldest first: {escape(label)}</title>{bars}</svg>"
    )


def status_html(config: Config, rows: list[SourceHealth], now: datetime) -> bytes:
    """The editors' health page: failing and silent sources first."""
    order = {"disabled": 0, "failing": 1, "retry after": 2, "new": 3, "ok": 4}
    ranked = sorted(rows, key=lambda r: (order[r.state], not r.silent, r.name))
    page = (
        templates()
        .get_template("status.html")
        .render(
            site=config.site,
            rows=ranked,
            generated=now.astimezone(config.site.zone),
            zone=config.site.zone,
            zone_label=zone_label(config.site.timezone),
            strip=strip_svg,
            strip_days=STRIP_DAYS,
            failing=sum(1 for r in rows if r.state != "ok"),
            silent=sum(1 for r in rows if r.silent),
        )
    )
    return page.encode("utf-8")
