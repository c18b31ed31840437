"""Parser worker processes: forked where no other thread runs, else from the fork server."""

import gc
import os
import signal

from aggregator import deadlines
from aggregator.workers import NICENESS, ParserPool


def _parent(context: object) -> tuple[int, int]:
    return os.getpid(), os.getppid()


def test_workers_are_forked_from_this_process_where_no_other_thread_runs(monkeypatch):
    monkeypatch.setattr(deadlines, "fork_safe", lambda: True)  # a cron run
    with ParserPool(workers=2) as pool:
        pool.start()
        assert pool.run(_parent)[1] == os.getpid()
    monkeypatch.setattr(deadlines, "fork_safe", lambda: False)  # a progress bar's thread runs
    with ParserPool(workers=2) as pool:
        pool.start()
        worker, parent = pool.run(_parent)
        assert parent != os.getpid() and worker != os.getpid()  # the fork server's child


def test_the_heap_is_frozen_before_the_workers_are_forked(monkeypatch):
    """What the forked workers share is in the permanent generation, which their collections
    (and this process's, and its exit) leave alone; not without a fork."""
    try:
        gc.unfreeze()
        monkeypatch.setattr(deadlines, "fork_safe", lambda: False)
        with ParserPool(workers=1) as pool:
            pool.start()
        assert gc.get_freeze_count() == 0
        monkeypatch.setattr(deadlines, "fork_safe", lambda: True)
        with ParserPool(workers=1) as pool:
            pool.start()
            assert gc.get_freeze_count() > 1000  # this process's modules, among others
    finally:
        gc.unfreeze()


def test_a_forked_pool_whose_worker_died_is_replaced_from_the_fork_server(monkeypatch):
    monkeypatch.setattr(deadlines, "fork_safe", lambda: True)
    with ParserPool(workers=1) as pool:
        pool.start()
        worker, parent = pool.run(_parent)
        assert parent == os.getpid()
        os.kill(worker, signal.SIGKILL)  # the OOM killer, say
        again, parent = pool.run(_parent)  # tried once more, in a new pool
        assert again != worker and parent != os.getpid()


def test_workers_that_cannot_be_forked_come_from_the_fork_server_on_first_use(monkeypatch):
    import multiprocessing.context

    def no_fork(*args, **kwargs):
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(deadlines, "fork_safe", lambda: True)
    monkeypatch.setattr(multiprocessing.context.ForkProcess, "_Popen", staticmethod(no_fork))
    with ParserPool(workers=1) as pool:
        pool.start()  # does not raise: the run goes on
        assert pool.run(_parent)[1] != os.getpid()


def _niceness(context: object) -> int:
    return os.nice(0)


def test_workers_yield_the_cpu_to_the_process_that_stores(monkeypatch):
    before = os.nice(0)
    expected = min(before + NICENESS, 19)
    for forked in (True, False):  # forked, and from the fork server
        monkeypatch.setattr(deadlines, "fork_safe", lambda forked=forked: forked)
        with ParserPool(workers=1) as pool:
            pool.start()
            assert pool.run(_niceness) == expected
    assert os.nice(0) == before  # this process keeps its share
