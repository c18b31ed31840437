"""Publish source health as status.json and status.html for editors."""

from __future__ import annotations

import json
from datetime import datetime

from aggregator.config import Config
from aggregator.health import SourceHealth
from aggregator.publish.digest import environment, zone_label


def status_json(rows: list[SourceHealth], now: datetime) -> bytes:
    """Machine-readable health of every source."""
    document = {"generated": now.isoformat(), "sources": [row.as_json() for row in rows]}
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def status_html(config: Config, rows: list[SourceHealth], now: datetime) -> bytes:
    """The editors' health page: failing and silent sources first."""
    order = {"disabled": 0, "failing": 1, "retry after": 2, "new": 3, "ok": 4}
    ranked = sorted(rows, key=lambda r: (order[r.state], not r.silent, r.name))
    page = environment.get_template("status.html").render(
        site=config.site,
        rows=ranked,
        generated=now.astimezone(config.site.zone),
        zone=config.site.zone,
        zone_label=zone_label(config.site.timezone),
        failing=sum(1 for r in rows if r.state != "ok"),
        silent=sum(1 for r in rows if r.silent),
    )
    return page.encode("utf-8")
