from dataclasses import replace
from datetime import timedelta

from aggregator.config import Source
from aggregator.dedupe import assign_story, representative, story_id
from aggregator.store import Store, StoredEntry
from tests.conftest import NOW
from tests.test_store import entry


def test_story_id_is_a_tag_uri_from_site_date_and_url():
    sid = story_id("https://www.aopnews.com/", "https://k.com/a", NOW)
    assert sid.startswith("tag:www.aopnews.com,2026-11-28:story/")
    assert sid == story_id("https://www.aopnews.com/", "https://k.com/a", NOW)
    assert sid != story_id("https://www.aopnews.com/", "https://k.com/b", NOW)


def test_same_canonical_url_joins_the_first_story(tmp_path):
    with Store(tmp_path / "a.db") as store, store.transaction():
        first = store.upsert_entry(entry(source="Khaama"), NOW)
        assert assign_story(store, first, entry(source="Khaama"), NOW, "https://aop.af/")
        later = NOW + timedelta(days=2)
        second = store.upsert_entry(entry(source="TOLOnews", guid="t1"), later)
        assert not assign_story(store, second, entry(source="TOLOnews"), later, "https://aop.af/")
        stories = store.conn.execute("SELECT DISTINCT story_id FROM entries").fetchall()
        assert len(stories) == 1
        assert ",2026-11-28:" in stories[0][0]


def member(id_, source, hours_ago):
    e = replace(entry(source=source, guid=str(id_)), published=NOW - timedelta(hours=hours_ago))
    return StoredEntry(id=id_, story_id="s", story_first_seen=NOW, first_seen=NOW, entry=e)


def test_representative_own_then_priority_then_earliest():
    sources = {
        "AOP": Source(name="AOP", url="https://aop.af/feed", own=True),
        "Khaama": Source(name="Khaama", url="https://k.af/feed", priority=5),
        "TOLO": Source(name="TOLO", url="https://t.af/feed", priority=5),
        "Ariana": Source(name="Ariana", url="https://a.af/feed"),
    }
    members = [member(1, "Ariana", 9), member(2, "Khaama", 1), member(3, "TOLO", 3)]
    assert representative(members, sources).entry.source == "TOLO"
    assert representative(members + [member(4, "AOP", 0)], sources).entry.source == "AOP"
    assert representative([member(1, "Ariana", 9)], sources).entry.source == "Ariana"
