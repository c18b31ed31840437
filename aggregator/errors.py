"""How a problem is told in one line (status, run report, skip counts, the daemon's log)."""

from __future__ import annotations

import re

from aggregator.normalize import plain_name

REPORT_CHARS = 600  # past this a reason is cut: a server's 60 KB status line, a page's text
_C1 = re.compile("[\x80-\x9f]")  # C1 controls: XML keeps them, a terminal may obey them (CSI)


def counted(count: int, one: str, many: str) -> str:
    """ "1 entry", "3 entries"."""
    return f"{count} {one if count == 1 else many}"


def one_line(text: str, limit: int = REPORT_CHARS) -> str:
    """Text that may come from the network (a status line, a URL, a page) fit for a report
    line: control characters (a terminal's escape sequences) and bidi controls out, whitespace
    collapsed, at most `limit` characters."""
    text = plain_name(_C1.sub(" ", text))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def exception_line(exc: BaseException, limit: int = 200) -> str:
    """ "TypeName: first line of its message", at most `limit` characters."""
    said = next(iter(str(exc).strip().splitlines()), "")
    return one_line(f"{type(exc).__name__}: {said}" if said else type(exc).__name__, limit)
