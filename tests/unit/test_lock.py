"""run_lock with real processes: a killed holder blocks nothing, a live one is named, and many
processes racing over a stale lock file never hold it two at a time."""

import multiprocessing
import os
import signal
import time

import pytest

from cptbench.run.lock import RunLockedError, run_lock

FORK = multiprocessing.get_context("fork")  # cheap to start 16 at once; nothing is held at fork time
CONTENDERS = 16
RACE_S = 4.0  # of short rounds: the old pid-file lock let two in within a few dozen rounds (~200 run in 3 s)
MAX_ROUNDS = 2000
HOLD_S = 0.003


def _hold_forever(path, ready):
    with run_lock(path):
        ready.set()
        time.sleep(60)


def _dead_holder(path):
    """A process that was SIGKILLed while holding the lock; its pid is left in the lock file."""
    ready = FORK.Event()
    holder = FORK.Process(target=_hold_forever, args=(path, ready), daemon=True)
    holder.start()
    assert ready.wait(10)
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(10)
    assert holder.exitcode == -signal.SIGKILL
    return holder.pid


def _contend(path, barrier, stop, start_at, inside, most, wins, failures):
    """Each round: wait for the stale lock to be planted, start at one shared instant, try the lock."""
    for round_ in range(MAX_ROUNDS):
        barrier.wait(10)
        if stop.value:
            return
        while time.monotonic() < start_at.value:  # spin, so the racers start within microseconds
            pass
        try:
            with run_lock(path):
                with inside.get_lock():
                    inside.value += 1
                    most.value = max(most.value, inside.value)
                    wins[round_] += 1
                time.sleep(HOLD_S)
                with inside.get_lock():
                    inside.value -= 1
        except RunLockedError:
            pass
        except Exception:
            with failures.get_lock():
                failures.value += 1
        barrier.wait(10)


def test_lock_left_by_a_killed_holder_does_not_block(tmp_path):
    path = tmp_path / "run" / ".lock"
    dead = _dead_holder(path)
    assert path.read_text() == str(dead)  # stale: the file and its dead owner's pid are still there
    with run_lock(path):
        assert path.read_text() == str(os.getpid())


def test_live_holder_refuses_at_once_naming_its_pid(tmp_path):
    path = tmp_path / ".lock"
    ready = FORK.Event()
    holder = FORK.Process(target=_hold_forever, args=(path, ready), daemon=True)
    holder.start()
    try:
        assert ready.wait(10)
        started = time.monotonic()
        with pytest.raises(RunLockedError, match=f"{path}: run directory is in use by process {holder.pid}$") as refused:
            with run_lock(path):
                pytest.fail("entered a lock a live process holds")
        assert time.monotonic() - started < 1.0 and refused.value.exit_code == 3
    finally:
        holder.kill()
        holder.join(10)
    with run_lock(path):  # its holder is gone
        pass


def test_racers_over_a_stale_lock_never_hold_it_together(tmp_path):
    """Round after round, a stale lock file (its owner SIGKILLed) and 16 racers released at once.

    The old pid-file lock let two racers that both read the dead owner's pid each unlink the
    other's fresh file, and both ran; a window of microseconds, hence many short rounds."""
    path = tmp_path / ".lock"
    dead = _dead_holder(path)
    barrier, stop, start_at = FORK.Barrier(CONTENDERS + 1), FORK.Value("b", 0), FORK.Value("d", 0.0)
    inside, most, failures = FORK.Value("i", 0), FORK.Value("i", 0), FORK.Value("i", 0)
    wins = FORK.Array("i", MAX_ROUNDS)
    args = (path, barrier, stop, start_at, inside, most, wins, failures)
    racers = [FORK.Process(target=_contend, args=args, daemon=True) for _ in range(CONTENDERS)]
    for racer in racers:
        racer.start()
    try:
        deadline, rounds = time.monotonic() + RACE_S, 0
        while rounds < MAX_ROUNDS and time.monotonic() < deadline and most.value <= 1:
            path.write_text(str(dead))  # the lock file is there and names a dead owner
            start_at.value = time.monotonic() + 0.002
            barrier.wait(10)
            barrier.wait(10)
            rounds += 1
        stop.value = 1
        barrier.wait(10)
    finally:
        for racer in racers:
            racer.join(5)
            if racer.is_alive():
                racer.kill()
    assert most.value == 1, f"{most.value} processes held the run lock at once (round {rounds})"
    assert failures.value == 0, "a racer failed with something other than RunLockedError"
    assert all(wins[:rounds]), "a round where every racer was refused"
    assert rounds >= 30  # enough rounds ran for the race to mean something
