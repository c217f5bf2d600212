"""`--profile`: cProfile of our side of each workload, to find where the time goes.

The first repetition of each workload runs under the profiler (so its figure is slower
than the others; the median absorbs it), and the functions that spent the most time
themselves are printed per workload.
"""

from __future__ import annotations

import cProfile
import io
import pstats


class ProfileLog:
    """Profiles collected per workload (one per thread for threaded workloads)."""

    def __init__(self, top: int = 15) -> None:
        self.top = top
        self._profiles: dict[str, list[cProfile.Profile]] = {}

    def add(self, workload: str, profiles: list[cProfile.Profile]) -> None:
        self._profiles.setdefault(workload, []).extend(profiles)

    def report(self) -> str:
        """Each workload's top functions by own time (tottime) and by cumulative time."""
        out = io.StringIO()
        for workload, profiles in self._profiles.items():
            stats = pstats.Stats(profiles[0], stream=out)
            for profile in profiles[1:]:
                stats.add(profile)
            stats.strip_dirs()
            out.write(f"\n==== profile: {workload} (by own time)\n")
            stats.sort_stats("tottime").print_stats(self.top)
            out.write(f"==== profile: {workload} (by cumulative time)\n")
            stats.sort_stats("cumulative").print_stats(self.top)
        return out.getvalue()
