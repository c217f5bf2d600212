"""The archive workload's child process: import one Strava export (a dry run), report time
and peak memory.

    python -m tests.bench.archive_child PATH    (against DATABASE_URL; prints one JSON line)

A process of its own, so that its peak resident set is the import's and nothing else's.
"""

from __future__ import annotations

import json
import sys
import time

from fitness.services.strava_archive_import import import_strava_archive
from tests.bench.mmf_child import _peak_rss_bytes


def main(path: str) -> None:
    started = time.perf_counter()
    result = import_strava_archive(path, dry_run=True)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_rss_bytes": _peak_rss_bytes(),
                "rows": result.rows,
                "inserted": result.inserted,
                "files_read": result.files_read,
                "errors": result.error_count,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
