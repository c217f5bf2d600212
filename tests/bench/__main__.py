"""`python -m tests.bench`: run the benchmark and exit non-zero when a target is missed."""

from __future__ import annotations

from tests.bench.runner import main

raise SystemExit(main())
