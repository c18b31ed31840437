"""Run the aggregator CLI, pausing at the Nth call of a function so a test can SIGKILL it there.

Usage: python -m tests.killpoint TARGET N -- aggregator arguments...
TARGET is `os.replace`, `aggregator.store.Store.upsert_entry` and the like. The process prints
"paused" on stdout when it reaches the point, then blocks until it is killed.
"""

import importlib
import sys

from aggregator.cli import main


def pause_at(target: str, nth: int) -> None:
    module_name, _, attribute = target.rpartition(".")
    try:
        owner = importlib.import_module(module_name)
    except ModuleNotFoundError:  # a method: module.Class.method
        module_name, _, class_name = module_name.rpartition(".")
        owner = getattr(importlib.import_module(module_name), class_name)
    original = getattr(owner, attribute)
    calls = 0

    def wrapper(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == nth:
            print("paused", flush=True)
            sys.stdin.read()  # blocks: the test kills us here
        return original(*args, **kwargs)

    setattr(owner, attribute, wrapper)


if __name__ == "__main__":
    target, nth, separator, *argv = sys.argv[1:]
    assert separator == "--"
    pause_at(target, int(nth))
    raise SystemExit(main(argv))
