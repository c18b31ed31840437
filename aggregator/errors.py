"""How a problem is told in one line (status, run report, skip counts, the daemon's log)."""

from __future__ import annotations

import re

REPORT_CHARS = 600  # past this a reason is cut: a server's 60 KB status line, a page's text
# control characters (a terminal's escape sequences among them, C1 too), bidi controls, and
# what no text carries: a server's words printed to an editor's terminal must stay words
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffe\uffff\ud800-\udfff]")


def one_line(text: str, limit: int = REPORT_CHARS) -> str:
    """Text that may come from the network (a status line, a URL, a page) fit for a report
    line: control characters out, whitespace collapsed, at most `limit` characters."""
    text = " ".join(_CONTROLS.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def exception_line(exc: BaseException, limit: int = 200) -> str:
    """ "TypeName: first line of its message", at most `limit` characters."""
    said = next(iter(str(exc).strip().splitlines()), "")
    return one_line(f"{type(exc).__name__}: {said}" if said else type(exc).__name__, limit)
