"""Measuring: samples and their statistics, a bounded thread driver, and SQL capture.

Capture is how a baseline runs *the same SQL* as the library: the library function runs
once on a connection whose cursors record what they execute, and the baseline replays it.
"""

from __future__ import annotations

import cProfile
import statistics
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql


@dataclass(frozen=True, slots=True)
class Samples:
    """One figure measured several times (seconds, ms, µs or per-second rates)."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def max(self) -> float:
        return max(self.values)


@dataclass(frozen=True, slots=True)
class ThreadRun:
    """What a bounded multi-threaded loop did: completed calls, failures, wall time."""

    completed: int
    failures: int
    seconds: float
    first_errors: tuple[str, ...]

    @property
    def rate(self) -> float:
        return self.completed / self.seconds if self.seconds > 0 else 0.0


def run_threads(
    threads: int,
    calls_per_thread: int,
    call: Callable[[int, int], None],
    *,
    max_seconds: float,
    profiler: Profiler | None = None,
) -> ThreadRun:
    """Call `call(thread_index, call_index)` from `threads` threads, timed from one start.

    Each thread stops after `calls_per_thread` calls or when `max_seconds` have passed,
    whichever comes first. An exception counts as a failure and the thread carries on.
    """
    start_line = threading.Barrier(threads + 1)
    completed = [0] * threads
    failures = [0] * threads
    errors: list[str] = []
    deadline_box: list[float] = []

    def worker(index: int) -> None:
        local_profile = profiler.thread_profile() if profiler else None
        start_line.wait()
        deadline = deadline_box[0]
        if local_profile:
            local_profile.enable()
        for number in range(calls_per_thread):
            if time.monotonic() > deadline:
                break
            try:
                call(index, number)
            except Exception as error:  # counted and reported, never hidden
                failures[index] += 1
                if len(errors) < 5:
                    errors.append(f"{type(error).__name__}: {error}")
            else:
                completed[index] += 1
        if local_profile:
            local_profile.disable()

    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for thread in workers:
        thread.start()
    deadline_box.append(time.monotonic() + max_seconds)
    started = time.perf_counter()
    start_line.wait()
    for thread in workers:
        thread.join(timeout=max_seconds + 30)
    seconds = time.perf_counter() - started
    if any(thread.is_alive() for thread in workers):
        raise RuntimeError(f"a benchmark thread did not finish within {max_seconds + 30:.0f} s")
    return ThreadRun(sum(completed), sum(failures), seconds, tuple(errors))


def time_once(call: Callable[[], object]) -> float:
    """Seconds `call()` takes."""
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


class Profiler:
    """cProfile across threads: each thread profiles itself, the stats are merged after."""

    def __init__(self) -> None:
        self._profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def thread_profile(self) -> cProfile.Profile:
        profile = cProfile.Profile()
        with self._lock:
            self._profiles.append(profile)
        return profile

    def profiles(self) -> list[cProfile.Profile]:
        return list(self._profiles)


@dataclass(frozen=True, slots=True)
class CapturedQuery:
    """A statement as the library sent it: the query and its parameters."""

    query: str
    params: Mapping[str, Any] | Sequence[Any] | None

    def with_value(self, old: object, new: object) -> Mapping[str, Any] | Sequence[Any] | None:
        """The parameters with every occurrence of `old` replaced by `new`."""
        if isinstance(self.params, Mapping):
            return {k: (new if v == old else v) for k, v in self.params.items()}
        if self.params is None:
            return None
        return [new if v == old else v for v in self.params]


def capture_queries(url: str, call: Callable[[psycopg.Connection], object]) -> list[CapturedQuery]:
    """The statements `call(conn)` executes, in order; its writes are rolled back."""
    queries: list[CapturedQuery] = []

    class RecordingCursor(psycopg.Cursor):  # type: ignore[type-arg]
        def execute(self, query, params=None, **kwargs):  # type: ignore[no-untyped-def]
            text = query.as_string(self.connection) if isinstance(query, sql.Composable) else query
            if isinstance(text, bytes):
                text = text.decode()
            queries.append(CapturedQuery(text, params))
            return super().execute(query, params, **kwargs)

    with psycopg.connect(url) as conn:
        conn.cursor_factory = RecordingCursor
        with conn.transaction(force_rollback=True):
            call(conn)
    return queries


def only_query(queries: list[CapturedQuery], what: str) -> CapturedQuery:
    """The one statement in `queries` (a library call that should be one round trip)."""
    if len(queries) != 1:
        raise AssertionError(f"{what} ran {len(queries)} statements, expected exactly one")
    return queries[0]
