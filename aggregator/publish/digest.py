"""Render the HTML digest page from a Jinja2 template (autoescaped)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from aggregator.config import Config
from aggregator.models import Story

RTL_LANGUAGES = frozenset({"ar", "fa", "ps", "ur", "ckb", "he", "ug", "prs", "pbu"})

environment = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def group_by_category(stories: list[Story], config: Config) -> list[tuple[str, list[Story]]]:
    """Stories grouped by category, categories in the order feeds.yaml first names them."""
    order = list(dict.fromkeys(s.category for s in config.sources))
    groups: dict[str, list[Story]] = defaultdict(list)
    for story in stories:
        groups[story.category].append(story)
    ranked = sorted(groups, key=lambda c: order.index(c) if c in order else len(order))
    return [(category, groups[category]) for category in ranked]


def digest_html(config: Config, stories: list[Story], now: datetime) -> bytes:
    """index.html: the last `site.digest_hours` of stories, grouped by category."""
    zone = config.site.zone
    template = environment.get_template("digest.html")
    page = template.render(
        site=config.site,
        groups=group_by_category(stories, config),
        count=len(stories),
        generated=now.astimezone(zone),
        zone=zone,
        rtl=RTL_LANGUAGES,
    )
    return page.encode("utf-8")
