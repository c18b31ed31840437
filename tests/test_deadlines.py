import socket
import subprocess
import sys
import time

import pytest

from aggregator.deadlines import Deadline


def _watched_pair(deadline: Deadline) -> tuple[socket.socket, socket.socket]:
    """A socket the deadline watches, and the peer that sees it shut down."""
    mine, peer = socket.socketpair()
    deadline.watch(mine)
    peer.settimeout(10)
    return mine, peer


def test_one_watchdog_cuts_a_near_deadline_behind_a_far_one_and_spares_finished_ones():
    far, finished, near = Deadline(60), Deadline(0.05), Deadline(0.3)
    far.__enter__()  # a request still running, whose deadline is first in line
    far_pair = _watched_pair(far)
    with finished:  # a request done before its deadline: its socket must never be shut
        finished_pair = _watched_pair(finished)
    started = time.monotonic()
    with near:
        _, near_peer = _watched_pair(near)
        assert near_peer.recv(1) == b""  # shut down by the watchdog, in time
    assert time.monotonic() - started < 5
    assert near.expired and not finished.expired and not far.expired
    for _, peer in (far_pair, finished_pair):  # still open: nothing to read yet, no EOF
        peer.setblocking(False)
        with pytest.raises(BlockingIOError):
            peer.recv(1)
    far.__exit__(None, None, None)


FORK_SAFE = """
import threading
from aggregator.deadlines import Deadline, fork_safe

with Deadline(60):  # starts the watchdog, which a forked child forgets
    assert fork_safe()
other_may_go = threading.Event()
other = threading.Thread(target=other_may_go.wait)
other.start()
assert not fork_safe()
other_may_go.set()
other.join()
assert fork_safe()
print("checked")
"""


def test_forking_is_safe_beside_the_watchdog_and_not_beside_another_thread():
    # in a process of its own: no thread of another test is running there
    done = subprocess.run([sys.executable, "-c", FORK_SAFE], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "checked\n"
