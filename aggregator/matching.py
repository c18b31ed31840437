"""Which earlier entry each new entry joins, in the order stories are assigned: the clusterer's
calls for one run, apart from the writing of stories (`stories.py`), so that a helper process
(`ahead.py`) can make them ahead of the writer, exactly as the writer would have made them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aggregator.dedupe import Clusterer, Comparison, EntryFeatures, Features
from aggregator.models import Entry, Route


class AheadFailed(Exception):
    """A decision made ahead does not fit what the writer reads: matching is done again, in
    the writer's process."""


Members = Sequence[tuple[int, str]]  # the clustered entries at an entry's URL: (id, outlet)
OwnItems = Callable[[], list[tuple[int, Entry]]]  # its outlet's, newest first: read when asked


@dataclass(frozen=True, slots=True)
class Decision:
    """What clustering decided for one entry, in entry ids: the stories are the writer's."""

    route: Route
    other: int | None = None  # the entry whose story it joins (OWN, MATCH; None: a new story)
    comparison: Comparison | None = None  # what decided it (OWN, MATCH)
    alone: bool = False  # FORCED: split off by an editor, and so never a match for others


def routes_for(source: str, members: Members) -> tuple[Route, ...]:
    """The routes an entry of `source` can take, given the clustered entries at its URL."""
    if any(outlet != source for _, outlet in members):
        return (Route.URL,)
    return (Route.OWN, Route.MATCH) if members else (Route.MATCH,)


class Matcher:
    """Decides entries one after another against the window its clusterer holds; an entry
    decided is matched with later ones once it is `commit`ted."""

    def __init__(self, clusterer: Clusterer, features: EntryFeatures) -> None:
        self.clusterer = clusterer
        self.features = features

    def decide(self, f: Features, members: Members, own: OwnItems) -> Decision:
        """The same URL from another outlet; else, where this outlet used the URL before, its
        item whose text agrees (a re-post under a new guid); else the clusterer's match."""
        routes = routes_for(f.source, members)
        if routes[0] is Route.URL:
            return Decision(Route.URL)
        if Route.OWN in routes:
            for other_id, other in own():
                earlier = self.features.stored(other_id, other)
                comparison = self.clusterer.compare(f, earlier, any_age=True)
                if comparison.same:
                    return Decision(Route.OWN, other_id, comparison)
        matched, comparison = self.clusterer.match(f)
        return Decision(Route.MATCH, matched, comparison)

    def commit(self, f: Features) -> None:
        """Index a decided entry: from now on, later entries are matched with it."""
        self.clusterer.add(f)
