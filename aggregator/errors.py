"""How an unforeseen exception is told in one line (status, run report, skip counts)."""

from __future__ import annotations


def exception_line(exc: BaseException, limit: int = 200) -> str:
    """ "TypeName: first line of its message", at most `limit` characters."""
    said = next(iter(str(exc).strip().splitlines()), "")
    text = f"{type(exc).__name__}: {said}" if said else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
