"""The MMF workload's child process: import one CSV export, report time and peak memory.

    python -m tests.bench.mmf_child PATH    (against DATABASE_URL; prints one JSON line)

A process of its own, so that its peak resident set is the import's and nothing else's.
"""

from __future__ import annotations

import json
import sys
import time

from fitness.services.mmf_import import import_mmf_file


def main(path: str) -> None:
    started = time.perf_counter()
    result = import_mmf_file(path)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_rss_bytes": _peak_rss_bytes(),
                "rows": result.rows,
                "inserted": result.inserted,
                "errors": result.error_count,
            }
        )
    )


def _peak_rss_bytes() -> int | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # macOS: bytes; Linux: KiB


if __name__ == "__main__":
    main(sys.argv[1])
