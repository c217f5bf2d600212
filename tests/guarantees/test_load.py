"""Load: 16 concurrent clients of mixed traffic against `fitness serve`, then an intact history.

A real `fitness serve` process on 127.0.0.1 is driven by 16 client threads (httpx, one
keep-alive connection each) for a bounded time: page through runs, read runs, versions and
histories, edit with and without If-Match (some If-Match deliberately stale), restore and
delete. Every answer must be one the operation expects (412 for a stale If-Match, 404 for a
run another client just deleted); afterwards every run's history must account for exactly
the changes the clients were told succeeded, and `fitness db check` must pass.

The default suite runs it for 8 seconds. For the long form, set FITNESS_LOAD_SECONDS:

    FITNESS_LOAD_SECONDS=60 uv run pytest tests/guarantees/test_load.py -s

`-s` shows the figures (requests, errors, 412s, p50/p99 latency per operation).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from fitness.config import PROJECT_ROOT
from fitness.db.integrity import find_problems
from fitness.db.runs import import_runs
from tests.factories import RunFactory
from tests.guarantees.conftest import Served, serving

LOAD_SECONDS = float(os.environ.get("FITNESS_LOAD_SECONDS", "8"))
CLIENTS = 16
SEEDED_RUNS = 300
# A few runs get a third of the traffic, so that clients really do collide on them.
HOT_RUNS = 12
SEED = 20250506

# What each operation may answer. 404: another client deleted the run first; 412: another
# client changed it between this client's read and its If-Match write.
EXPECTED: dict[str, set[int]] = {
    "list": {200},
    "read": {200},
    "read_to_edit": {200, 404},
    "history": {200},
    "version": {200},
    "edit": {200, 404},
    "edit_if_match": {200, 404, 412},
    "edit_stale": {404, 412},
    "restore": {200},
    "delete": {200, 404},
}
MUTATIONS = ("edit", "edit_if_match", "edit_stale", "restore", "delete")


@dataclass
class Tally:
    """What one client did: latencies and statuses per operation, versions it created."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    versions_created: Counter[str] = field(default_factory=Counter)


class LoadClient:
    """One simulated client: a seeded random mix of operations until the deadline."""

    def __init__(self, served: Served, index: int, run_ids: list[str], deadline: float) -> None:
        self.http = served.client()
        self.index = index
        self.random = random.Random(SEED + index)
        self.run_ids = run_ids
        self.deadline = deadline
        self.tally = Tally()
        self._edits = 0
        self._operations: list[tuple[Callable[[], None], int]] = [
            (self.list_page, 14),
            (self.read, 18),
            (self.history, 10),
            (self.version, 5),
            (self.edit, 16),
            (self.edit_if_match, 16),
            (self.edit_stale, 6),
            (self.restore, 8),
            (self.delete, 7),
        ]

    def run(self) -> None:
        operations, weights = zip(*self._operations, strict=True)
        with self.http:
            while time.monotonic() < self.deadline:
                self.random.choices(operations, weights)[0]()

    # --- operations -----------------------------------------------------------------------

    def list_page(self) -> None:
        first = self.request("list", "GET", "/runs", params={"limit": 50})
        cursor = first.json().get("next_cursor") if first.status_code == 200 else None
        if cursor and self.random.random() < 0.5:
            self.request("list", "GET", "/runs", params={"limit": 50, "cursor": cursor})

    def read(self) -> None:
        self.request("read", "GET", f"/runs/{self.pick()}", params={"include_deleted": "true"})

    def history(self) -> None:
        self.request("history", "GET", f"/runs/{self.pick()}/history")

    def version(self) -> None:
        self.request("version", "GET", f"/runs/{self.pick()}/history/1")

    def edit(self, run_id: str | None = None) -> httpx.Response:
        run_id = run_id or self.pick()
        return self.request("edit", "PATCH", f"/runs/{run_id}", json=self.change(), run_id=run_id)

    def edit_if_match(self) -> None:
        run_id = self.pick()
        current = self.request("read_to_edit", "GET", f"/runs/{run_id}")
        if current.status_code != 200:
            return
        headers = {"If-Match": current.headers["ETag"]}
        self.request(
            "edit_if_match",
            "PATCH",
            f"/runs/{run_id}",
            json=self.change(),
            headers=headers,
            run_id=run_id,
        )

    def edit_stale(self) -> None:
        # Read, change it ourselves, then send the ETag we read: it is stale for certain.
        run_id = self.pick()
        current = self.request("read_to_edit", "GET", f"/runs/{run_id}")
        if current.status_code != 200 or self.edit(run_id).status_code != 200:
            return
        headers = {"If-Match": current.headers["ETag"]}
        self.request(
            "edit_stale",
            "PATCH",
            f"/runs/{run_id}",
            json=self.change(),
            headers=headers,
            run_id=run_id,
        )

    def restore(self) -> None:
        run_id = self.pick()
        self.request(
            "restore",
            "POST",
            f"/runs/{run_id}/restore/1",
            json={"changed_by": f"client {self.index}"},
            run_id=run_id,
        )

    def delete(self) -> None:
        run_id = self.pick()
        self.request("delete", "DELETE", f"/runs/{run_id}", run_id=run_id)

    # --- plumbing -------------------------------------------------------------------------

    def pick(self) -> str:
        if self.random.random() < 1 / 3:
            return self.run_ids[self.random.randrange(HOT_RUNS)]
        return self.random.choice(self.run_ids)

    def change(self) -> dict[str, object]:
        # A distance no other edit uses, so that every accepted edit changes the run (within
        # the 1,000-mile bound: 40 miles per client, ten-thousandths per edit).
        self._edits += 1
        distance = round(100 + self.index * 40 + self._edits / 10_000, 4)
        return {"distance": distance, "changed_by": "load"}

    def request(
        self, operation: str, method: str, path: str, *, run_id: str | None = None, **kwargs: object
    ) -> httpx.Response:
        started = time.perf_counter()
        try:
            response = self.http.request(method, path, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as error:
            self.tally.unexpected.append(f"{operation} {method} {path}: {error!r}")
            raise
        elapsed = time.perf_counter() - started
        self.tally.latencies.setdefault(operation, []).append(elapsed)
        self.tally.statuses[(operation, response.status_code)] += 1
        if response.status_code not in EXPECTED[operation]:
            self.tally.unexpected.append(
                f"{operation} {method} {path}: {response.status_code} {response.text[:300]}"
            )
        elif operation in MUTATIONS and response.status_code == 200 and run_id is not None:
            self.tally.versions_created[run_id] += 1
        return response


def percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def report(tallies: list[Tally], seconds: float) -> str:
    latencies: dict[str, list[float]] = {}
    statuses: Counter[tuple[str, int]] = Counter()
    for tally in tallies:
        statuses += tally.statuses
        for operation, values in tally.latencies.items():
            latencies.setdefault(operation, []).extend(values)
    every = sorted(value for values in latencies.values() for value in values)
    lines = [
        f"load: {CLIENTS} clients, {seconds:.1f} s, {len(every)} requests "
        f"({len(every) / seconds:.0f}/s), "
        f"unexpected {sum(len(t.unexpected) for t in tallies)}, "
        f"412 {sum(n for (_, status), n in statuses.items() if status == 412)}, "
        f"5xx {sum(n for (_, status), n in statuses.items() if status >= 500)}, "
        f"p50 {percentile(every, 0.5) * 1000:.1f} ms, p99 {percentile(every, 0.99) * 1000:.1f} ms"
    ]
    for operation in EXPECTED:
        values = sorted(latencies.get(operation, []))
        if not values:
            continue
        answered = ", ".join(
            f"{status}: {n}" for (op, status), n in sorted(statuses.items()) if op == operation
        )
        lines.append(
            f"  {operation:<14} {len(values):>6}  p50 {percentile(values, 0.5) * 1000:6.1f} ms"
            f"  p99 {percentile(values, 0.99) * 1000:6.1f} ms  ({answered})"
        )
    return "\n".join(lines)


def test_sixteen_clients_of_mixed_traffic_get_only_expected_answers_and_lose_no_version(
    db: str, raw_conn: psycopg.Connection, runs: RunFactory, tmp_path: Path
) -> None:
    seeded = runs.many(SEEDED_RUNS)
    import_runs(seeded)
    run_ids = [run.id for run in seeded]

    with serving(db, tmp_path / "serve.log") as served:
        started = time.monotonic()
        clients = [
            LoadClient(served, index, run_ids, started + LOAD_SECONDS) for index in range(CLIENTS)
        ]
        threads = [threading.Thread(target=client.run) for client in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=LOAD_SECONDS + 120)
        elapsed = time.monotonic() - started
        assert not any(thread.is_alive() for thread in threads)
        server_log = served.log()

    tallies = [client.tally for client in clients]
    print("\n" + report(tallies, elapsed))
    unexpected = [line for tally in tallies for line in tally.unexpected]
    assert unexpected == [], "\n".join(unexpected[:20])
    assert "Traceback" not in server_log and " 500 " not in server_log
    statuses = Counter[tuple[str, int]]()
    for tally in tallies:
        statuses += tally.statuses
    assert statuses[("edit_stale", 412)] > 0

    # Every change a client was told succeeded is one version; nothing else is.
    created = Counter[str]()
    for tally in tallies:
        created += tally.versions_created
    versions = dict(
        raw_conn.execute("SELECT run_id, max(version_number) FROM runs_history GROUP BY run_id")
    )
    assert versions == {run_id: 1 + created[run_id] for run_id in run_ids}
    assert find_problems() == []
    check = subprocess.run(
        [sys.executable, "-m", "fitness.cli", "db", "check"],
        env=os.environ | {"DATABASE_URL": db},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (check.returncode, check.stdout.strip()) == (0, "ok"), check.stderr
