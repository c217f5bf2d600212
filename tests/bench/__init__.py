"""The benchmark: every workload of fitness measured against PostgreSQL doing the same SQL.

Run it with `uv run python -m tests.bench [--quick | --smoke] [--json PATH]`; see issue 5.
Nothing here is collected by pytest (no file is named test_*.py).
"""
