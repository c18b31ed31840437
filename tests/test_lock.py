import subprocess
import sys
import threading
from pathlib import Path

from aggregator.lock import exclusive, lock_path

REPO = Path(__file__).parent.parent


def aggregator(workspace, *args):
    return subprocess.run(
        [sys.executable, "-m", "aggregator", *workspace.args(*args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_second_process_gives_up_with_exit_3_and_touches_nothing(workspace, sources):
    with exclusive(workspace.db, wait=0):
        busy = aggregator(workspace, "run", "--wait", "0.5")
        assert busy.returncode == 3
        assert "another aggregator is running" in busy.stderr
        assert str(lock_path(workspace.db)) in busy.stderr
        assert not workspace.db.exists() and not workspace.output.exists()
    done = aggregator(workspace, "run", "--wait", "0.5")
    assert done.returncode == 0, done.stderr
    assert (workspace.output / "feed.xml").exists()


def test_publish_and_fetch_take_the_same_lock(workspace, sources):
    with exclusive(workspace.db, wait=0):
        for command in ("fetch", "publish"):
            assert aggregator(workspace, command, "--wait", "0.2").returncode == 3


def test_a_second_writer_waits_for_the_first(tmp_path):
    db = tmp_path / "aggregator.db"
    waiting, events = threading.Event(), []

    def second() -> None:
        waiting.set()
        with exclusive(db, wait=30):
            events.append("second has the lock")

    with exclusive(db, wait=0):
        thread = threading.Thread(target=second)
        thread.start()
        waiting.wait(timeout=30)
        events.append("first lets go")
    thread.join(timeout=60)
    assert events == ["first lets go", "second has the lock"]
