"""How big each mode of the benchmark is: full (the issue's figures), quick and smoke.

Quick keeps the full data set (20,000 runs over 10 years, 12 shoes: with fewer runs, the
fixed cost of an import weighed enough to swing its ratio from 1.36x to 1.75x between
runs) with fewer repetitions and shorter loops; smoke is tiny and only proves that every
workload still runs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sizes:
    """Every count the workloads use; each loop is also bounded by `loop_seconds`.

    `repeats` is how often each workload runs (ours and its baseline in turn),
    `read_repeats` the same for the whole-table and date-range reads, which are short.
    """

    mode: str
    runs: int
    years: int
    shoes: int
    repeats: int
    read_repeats: int
    point_reads: int
    edit_threads: int
    edits_per_thread: int
    hot_edits_per_thread: int
    api_clients: int
    api_requests_per_client: int
    mmf_rows: int
    mmf_repeats: int
    archive_activities: int
    loop_seconds: float

    @property
    def judges_targets(self) -> bool:
        """Smoke runs prove the workloads run; only full and quick runs judge the ratios."""
        return self.mode != "smoke"


FULL = Sizes(
    mode="full",
    runs=20_000,
    years=10,
    shoes=12,
    repeats=5,
    read_repeats=15,
    point_reads=2_000,
    edit_threads=8,
    edits_per_thread=250,
    hot_edits_per_thread=100,
    api_clients=8,
    api_requests_per_client=150,
    mmf_rows=100_000,
    mmf_repeats=2,
    archive_activities=5_000,
    loop_seconds=120.0,
)

QUICK = Sizes(
    mode="quick",
    runs=20_000,
    years=10,
    shoes=12,
    repeats=3,
    read_repeats=15,
    point_reads=1_000,
    edit_threads=8,
    edits_per_thread=80,
    hot_edits_per_thread=40,
    api_clients=8,
    api_requests_per_client=50,
    mmf_rows=20_000,
    mmf_repeats=1,
    archive_activities=1_000,
    loop_seconds=30.0,
)

SMOKE = Sizes(
    mode="smoke",
    runs=300,
    years=10,
    shoes=12,
    repeats=1,
    read_repeats=1,
    point_reads=50,
    edit_threads=8,
    edits_per_thread=5,
    hot_edits_per_thread=5,
    api_clients=8,
    api_requests_per_client=5,
    mmf_rows=500,
    mmf_repeats=1,
    archive_activities=30,
    loop_seconds=30.0,
)

MODES = {sizes.mode: sizes for sizes in (FULL, QUICK, SMOKE)}
