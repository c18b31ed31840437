"""Render a file from many stories so that one story that cannot be rendered drops only itself."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from aggregator.errors import exception_line

T = TypeVar("T")


def render_isolated(
    items: Sequence[T], render: Callable[[list[T]], bytes], describe: Callable[[T], str]
) -> tuple[bytes, list[str]]:
    """Render every item; when that fails, try each item alone, drop the ones that fail, and
    render the rest. Returns the bytes and one line per dropped item. A failure that no single
    item explains is raised: the file cannot be written this run."""
    try:
        return render(list(items)), []
    except Exception:
        pass
    kept: list[T] = []
    dropped: list[str] = []
    for item in items:
        try:
            render([item])
        except Exception as exc:
            dropped.append(f"{describe(item)}: {exception_line(exc, 200)}")
        else:
            kept.append(item)
    return render(kept), dropped
