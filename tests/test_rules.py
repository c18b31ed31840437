"""Include/exclude rules: top level and per source, on folded text, and `check --rules`."""

from __future__ import annotations

import feedparser

from aggregator.cli import main

# Dari written with Arabic letter forms (ك, ي) and Persian digits, as some outlets' CMSs do.
DARI = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Azadi</title>
<link>https://azadi.example/</link><language>fa</language>
<item><title>نشست كابل درباره آب</title><link>https://azadi.example/1</link>
<description>در سال ۲۰۲۶ برگزار شد</description></item>
<item><title>نتایج فوتبال</title><link>https://azadi.example/2</link>
<description>اعلان تجارتی</description></item>
<item><title>هرات: بازار گندم</title><link>https://azadi.example/3</link>
<description>قیمت‌ها پایین آمد</description></item>
</channel></rss>""".encode()

ENGLISH = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>K</title>
<link>https://k.example/</link>
<item><title>U.S. envoy visits Kabul</title><link>https://k.example/1</link>
<description>Talks on aid.</description></item>
<item><title>Sponsored: buy a phone</title><link>https://k.example/2</link>
<description>Advert.</description></item>
</channel></rss>"""


def setup(workspace, feed_server, **top):
    dari = feed_server.add("/dari", DARI, headers={"Content-Type": "application/rss+xml"})
    english = feed_server.add("/en", ENGLISH, headers={"Content-Type": "application/rss+xml"})
    workspace.write_config(
        [
            # Persian forms and ASCII digits in the rules; Arabic forms, Persian digits in the feed
            {"name": "Azadi", "url": dari, "language": "fa", "include": ["کابل", "هرات", "2026"]},
            {"name": "Khaama", "url": english},
        ],
        **top,
    )


def titles(workspace) -> set[str]:
    return {e.title for e in feedparser.parse(str(workspace.output / "feed.xml")).entries}


def test_top_level_rules_apply_to_every_source_and_match_folded_text(workspace, feed_server):
    setup(workspace, feed_server, exclude=["sponsored", "/اعلان\\s+تجارتی/", "بازار"])
    assert main(workspace.args("run")) == 0
    assert titles(workspace) == {"نشست كابل درباره آب", "U.S. envoy visits Kabul"}


def test_check_rules_prints_what_a_source_keeps_and_drops(workspace, feed_server, capsys):
    setup(workspace, feed_server, exclude=["Sponsored"])
    assert main(["check", "--config", str(workspace.config), "--rules", "Azadi"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "keep  نشست كابل درباره آب" in out and "keep  هرات: بازار گندم" in out
    assert "drop  نتایج فوتبال  (no source include rule matches)" in out
    assert out[-1] == "Azadi: 2 kept, 1 dropped by the rules"
    assert main(["check", "--config", str(workspace.config), "--rules", "Khaama"]) == 0
    out = capsys.readouterr().out
    assert "drop  Sponsored: buy a phone  (feeds.yaml exclude rule 'Sponsored' matches)" in out
    assert main(["check", "--config", str(workspace.config), "--rules", "Nobody"]) == 2
