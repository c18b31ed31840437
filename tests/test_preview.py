"""`aggregator demo` (the whole product offline, on sample feeds) and `aggregator serve`."""

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import feedparser

from aggregator.cli import main

REPO = Path(__file__).parent.parent


def test_demo_runs_the_real_pipeline_offline_into_a_folder(tmp_path, capsys):
    folder = tmp_path / "demo"
    assert main(["demo", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "summary: 7 sources ok, 0 failed; 13 new entries; 13 stories published" in out
    assert f"open {(folder / 'output' / 'index.html').resolve()}" in out
    output = folder / "output"
    rss = feedparser.parse(str(output / "feed.xml"))
    assert not rss.bozo and len(rss.entries) == 13
    items = json.loads((output / "feed.json").read_text(encoding="utf-8"))["items"]
    assert {i["language"] for i in items} == {"en", "fa", "ps"}
    salang = next(i for i in items if i["title"].startswith("Salang pass reopens"))
    assert "Also reported by" in salang["content_html"]  # three outlets, one story
    assert (output / "images" / "bamyan.svg").is_file()
    page = (output / "index.html").read_text(encoding="utf-8")
    assert "images/bamyan.svg" in page and "(no date in the feed)" in page
    assert (folder / "feeds.yaml").is_file()  # the demo's configuration, for a look
    yesterday = [p.name for p in (output / "archive").glob("20*.html")]
    assert len(yesterday) == 1  # the news of a day before, fetched then, as an archived edition
    archived = (output / "archive" / yesterday[0]).read_text(encoding="utf-8")
    assert "First snow of the winter falls on Kabul" in archived
    assert "Salang pass" not in archived


def test_serve_previews_an_output_folder_until_stopped(tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>t</title><p>hello</p>")
    server = subprocess.Popen(
        [sys.executable, "-m", "aggregator", "serve", str(tmp_path), "--port", "0"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = server.stdout.readline()
        assert line.startswith(f"serving {tmp_path} at http://127.0.0.1:")
        url = line.split(" at ")[1].split()[0]
        with urllib.request.urlopen(url + "index.html", timeout=10) as answer:
            assert b"hello" in answer.read()
        server.terminate()
        assert server.wait(timeout=30) == 0
    finally:
        server.kill()
        server.stdout.close()
        server.stderr.close()


def test_serve_refuses_a_folder_without_a_page(tmp_path, capsys):
    assert main(["serve", str(tmp_path)]) == 1
    assert "has no index.html" in capsys.readouterr().err


def test_each_language_has_its_page_and_feeds(tmp_path, capsys):
    folder = tmp_path / "demo"
    assert main(["demo", str(folder)]) == 0
    capsys.readouterr()
    output = folder / "output"
    dari = feedparser.parse(str(output / "lang" / "fa.xml"))
    assert not dari.bozo and dari.feed.language == "fa" and len(dari.entries) == 3
    assert dari.feed.title == "AOP News - Daily Digest (demo): دری"
    pashto = json.loads((output / "lang" / "ps.json").read_text(encoding="utf-8"))
    assert {i["language"] for i in pashto["items"]} == {"ps"} and len(pashto["items"]) == 3
    assert pashto["feed_url"].endswith("/lang/ps.json")
    atom = feedparser.parse(str(output / "lang" / "en.atom.xml"))
    assert not atom.bozo and len(atom.entries) == 7
    media = feedparser.parse(str(output / "category" / "afghan-media.xml"))
    assert len(media.entries) == 5
    page = (output / "fa.html").read_text(encoding="utf-8")
    assert '<html lang="fa" dir="rtl">' in page
    assert "شاهراه سالنگ" in page and "Salang pass" not in page
    assert '<h2 id="latest-heading">تازه‌ترین خبرها</h2>' in page  # headings in Dari too
    index = (output / "index.html").read_text(encoding="utf-8")
    assert '<a href="fa.html" lang="fa">دری</a>' in index
    assert 'href="lang/ps.xml">RSS</a>' in index
    assert (
        '<link rel="alternate" type="application/rss+xml" '
        'title="AOP News - Daily Digest (demo): پښتو (RSS)" href="lang/ps.xml">' in index
    )
