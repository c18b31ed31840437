"""Matching ahead in a helper process gives the stories that clustering in one process gives."""

import logging
import pickle
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator import ahead, deadlines
from aggregator.ahead import Ahead
from aggregator.pipeline import assign_stories
from aggregator.store import Store
from aggregator.stories import StoryAssigner, merge, split
from tests.test_dedupe import CONFIG, story_entry

START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
REUSED = "https://khaama.af/1"
OWN = "https://khaama.af/16"  # only Khaama's
APART = "https://khaama.af/10"  # split off by an editor
MERGED = ("https://tolo.af/11", "https://ariana.af/12")  # merged by an editor

EARLIER = [
    story_entry("Pajhwok", "2", "Wheat prices fall in Herat markets", START - 30 * HOUR),
    story_entry("Khaama", "10", "Taliban close girls schools in Kandahar", START - 29 * HOUR),
    story_entry("TOLO", "11", "Kabul traffic police launch campaign", START - 28 * HOUR),
    story_entry("Ariana", "12", "New bridge opens over Kabul river", START - 27 * HOUR),
]
# every route: the clusterer's match, the same URL from another outlet, an outlet's item at a
# URL it used before (this run or an earlier one, text alike or not), an editor's split or merge
ITEMS = [
    story_entry("Khaama", "1", "Flash floods kill 12 in Baghlan", START, url=REUSED),
    story_entry("TOLO", "3", "12 killed by flash floods in Baghlan", START + HOUR),
    story_entry("Khaama", "4", "Kabul bakers raise bread prices", START + 2 * HOUR, url=REUSED),
    story_entry("Ariana", "5", "Baghlan floods", START + 3 * HOUR, url=REUSED),
    story_entry("Khaama", "6", "Taliban close girls schools in Kandahar", START, url=APART),
    story_entry("TOLO", "7", "Kabul traffic police campaign", START + HOUR, url=MERGED[0]),
    story_entry("Khaama", "16", "Herat airport reopens after repairs", START, url=OWN),
    story_entry("Khaama", "8", "Herat airport reopens after repairs", START + 4 * HOUR, url=OWN),
    story_entry("Ariana", "9", "Kunduz teachers receive salaries", START + 5 * HOUR),
    story_entry("TOLO", "13", "Taliban close girls schools in Kandahar", START + 6 * HOUR),
    story_entry(
        "Pajhwok", "14", "Wheat prices fall in Herat markets", START + HOUR, url=EARLIER[0].url
    ),
    story_entry("Pajhwok", "15", "Kandahar governor visits Spin Boldak", START + 7 * HOUR),
]
NOW = START + 8 * HOUR


@pytest.fixture(autouse=True)
def forkable(monkeypatch) -> None:
    """Other tests' servers may leave idle threads behind in this process: fork all the same."""
    monkeypatch.setattr(deadlines, "fork_safe", lambda: True)


def clustered(path: Path, monkeypatch, ahead_from: int) -> tuple[list, list, list]:
    """Cluster EARLIER, correct it as an editor, cluster ITEMS; what the database then holds."""
    monkeypatch.setattr(ahead, "AHEAD_FROM", ahead_from)
    with Store(path) as store:
        with store.transaction():
            for item in EARLIER:
                store.upsert_entry(item, START - 26 * HOUR)
        assert assign_stories(CONFIG, store, START - 26 * HOUR) == []
        with store.transaction():
            split(store, CONFIG.site.link, APART, START - 25 * HOUR)
            merge(store, MERGED[0], MERGED[1], START - 25 * HOUR)
            for item in ITEMS:
                store.upsert_entry(item, NOW)
        problems = assign_stories(CONFIG, store, NOW)
        stories = store.conn.execute("SELECT id, url, first_seen FROM stories ORDER BY id")
        entries = store.conn.execute(
            "SELECT guid, story_id, match, match_order, words FROM entries ORDER BY id"
        )
        return problems, list(map(tuple, stories)), list(map(tuple, entries))


@pytest.fixture
def decided(monkeypatch) -> list[int]:
    """The entry ids decided in the helper process, as the writer takes them."""
    taken: list[int] = []
    real = Ahead.decisions

    def decisions(self):
        for entry_id, decision in real(self):
            taken.append(entry_id)
            yield entry_id, decision

    monkeypatch.setattr(Ahead, "decisions", decisions)
    return taken


@pytest.fixture
def sent(monkeypatch) -> list[int]:
    """The entry ids whose features the writer folded and sent to the helper, which gets
    them as they were made: the same as those read back from the word sets stored."""
    ids: list[int] = []
    real = Ahead.send_features

    def send_features(self, folded):
        ids.extend(f.key for f in folded)
        assert pickle.loads(pickle.dumps(folded)) == folded
        real(self, folded)

    monkeypatch.setattr(Ahead, "send_features", send_features)
    return ids


def test_matching_ahead_gives_the_stories_of_matching_in_one_process(
    tmp_path, monkeypatch, caplog, decided, sent
):
    alone = clustered(tmp_path / "alone.db", monkeypatch, ahead_from=10**9)
    assert decided == []
    with caplog.at_level(logging.WARNING):
        helped = clustered(tmp_path / "ahead.db", monkeypatch, ahead_from=1)
    assert len(decided) == len(EARLIER) + len(ITEMS)  # both runs, every entry decided ahead
    assert "matching ahead failed" not in caplog.text
    assert sorted(sent) == sorted(decided)  # stored without word sets: folded by the writer
    assert helped == alone  # the same stories, reasons, orders and stored word sets
    problems, _, entries = helped
    assert problems == []
    assert all(words for *_, words in entries)
    story = {guid: story for guid, story, *_ in entries}
    reason = {guid: match for guid, _, match, *_ in entries}
    assert story["1"] == story["3"] == story["5"]  # a match, the same URL from another outlet
    assert reason["5"] == "same URL"
    assert story["8"] == story["16"] and reason["8"].startswith("same URL and title")
    assert story["4"] not in (story["1"], story["10"])  # an outlet's new item at an old URL
    assert story["14"] == story["2"] and reason["14"].startswith("same URL and")
    assert story["6"] != story["10"] and story["13"] not in (story["6"], story["10"])  # split
    assert story["7"] == story["12"] and "aggregator merge" in reason["7"]


def test_an_entry_that_fails_after_matching_ahead_is_clustered_again_and_reported(
    tmp_path, monkeypatch, caplog, decided
):
    real = StoryAssigner._start

    def start(self, entry, now):
        if entry.guid == "9":
            raise RuntimeError("disk on fire")
        return real(self, entry, now)

    monkeypatch.setattr(StoryAssigner, "_start", start)
    alone = clustered(tmp_path / "alone.db", monkeypatch, ahead_from=10**9)
    with caplog.at_level(logging.WARNING):
        helped = clustered(tmp_path / "ahead.db", monkeypatch, ahead_from=1)
    assert decided and "matching ahead failed, clustering again: RuntimeError" in caplog.text
    assert helped == alone
    problems, _, entries = helped
    assert len(problems) == 1 and "disk on fire" in problems[0]
    assert [story for guid, story, *_ in entries if guid == "9"] == [None]


def test_a_helper_that_dies_leaves_the_run_to_cluster_in_one_process(tmp_path, monkeypatch, caplog):
    # more decisions than the pipe holds: the helper cannot have sent them all when it dies
    words = [
        "Kabul",
        "Herat",
        "Kandahar",
        "floods",
        "police",
        "school",
        "wheat",
        "border",
        "talks",
        "prices",
        "bridge",
    ]
    items = [
        story_entry(
            ("Khaama", "TOLO", "Pajhwok", "Ariana")[n % 4],
            str(n),
            f"{words[n % 11]} {words[n * 7 % 11]} {words[n * 5 % 11]} report {n // 3}",
            START + n * timedelta(minutes=1),
        )
        for n in range(3000)
    ]

    def clustered_many(path: Path) -> list[tuple]:
        with Store(path) as store:
            with store.transaction():
                for item in items:
                    store.upsert_entry(item, NOW)
            assert assign_stories(CONFIG, store, NOW) == []
            rows = store.conn.execute("SELECT guid, story_id, match FROM entries ORDER BY id")
            return list(map(tuple, rows))

    monkeypatch.setattr(ahead, "AHEAD_FROM", 10**9)
    alone = clustered_many(tmp_path / "alone.db")
    real_start = Ahead.__init__

    def start_and_kill(self, *args) -> None:
        real_start(self, *args)
        self._process.kill()  # the helper dies (the OOM killer, say) before it sends its last

    monkeypatch.setattr(Ahead, "__init__", start_and_kill)
    monkeypatch.setattr(ahead, "AHEAD_FROM", 1)
    with caplog.at_level(logging.WARNING):
        helped = clustered_many(tmp_path / "ahead.db")
    assert "the helper process ended early" in caplog.text
    assert helped == alone
    assert len({story for _, story, _ in alone}) < len(items)  # some matched


def test_with_another_thread_running_the_run_clusters_in_one_process(monkeypatch):
    monkeypatch.undo()  # the real fork_safe
    monkeypatch.setattr(ahead, "AHEAD_FROM", 1)
    other_may_go = threading.Event()
    other = threading.Thread(target=other_may_go.wait)  # a progress bar's, a scheduler's
    other.start()
    try:
        assert not ahead.worthwhile(CONFIG, 10**6)
    finally:
        other_may_go.set()
        other.join()
    assert ahead.worthwhile(CONFIG, 10**6) == deadlines.fork_safe()
