"""Run the aggregator CLI, pausing at the Nth call of an os function so a test can SIGKILL it.

Usage: python -m tests.killpoint FUNCTION N -- aggregator arguments...
It prints "paused" on stdout when it reaches the point, then blocks until killed.
"""

import os
import sys

from aggregator.cli import main


def pause_at(name: str, nth: int) -> None:
    original = getattr(os, name)
    calls = 0

    def wrapper(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == nth:
            print("paused", flush=True)
            sys.stdin.read()  # blocks: the test kills us here
        return original(*args, **kwargs)

    setattr(os, name, wrapper)


if __name__ == "__main__":
    function, nth, separator, *argv = sys.argv[1:]
    assert separator == "--"
    pause_at(function, int(nth))
    raise SystemExit(main(argv))
