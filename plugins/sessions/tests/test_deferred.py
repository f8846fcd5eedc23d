"""Background chores of the sessions plugin: they wait before starting, unless someone waits for them."""

from __future__ import annotations

import threading
import time

from agentwinter_sessions.deferred import Deferred


def test_a_chore_waits_its_delay_then_runs_on_its_own():
    ran = threading.Event()
    job = Deferred(ran.set, 0.5)
    assert not ran.is_set() and job.is_alive()  # still waiting
    assert ran.wait(5)  # ran without anyone waiting for it
    job.join(5)  # it ran already: this only waits for its thread to end
    assert not job.is_alive()


def test_waiting_for_a_chore_starts_it_at_once():
    ran: list[str] = []
    job = Deferred(lambda: ran.append(threading.current_thread().name), 60)
    started = time.monotonic()
    job.join(10)
    assert ran and ran[0] != threading.current_thread().name  # in its own thread
    assert time.monotonic() - started < 10 and not job.is_alive()  # not after the 60 s delay


def test_a_cancelled_chore_never_runs_and_one_that_ran_is_left_alone():
    ran: list[int] = []
    waiting = Deferred(lambda: ran.append(1), 60)
    waiting.cancel()
    waiting.join(10)
    assert ran == [] and not waiting.is_alive()
    done = Deferred(lambda: ran.append(2), 60)
    done.join(10)
    done.cancel()
    assert ran == [2]
