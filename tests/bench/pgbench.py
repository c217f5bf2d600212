"""pgbench as the baseline: the library's own SQL, replayed by PostgreSQL's load generator.

A script is built from a captured statement: the parameters that vary per transaction
become pgbench variables, every other parameter is inlined as an SQL literal (pgbench
cannot send NULL parameters; literals only make the baseline's plan easier, never harder).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from fitness.db.embedded import embedded_bin_dir
from tests.bench.measure import CapturedQuery

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
_VARIABLE = re.compile(r"(?<![:\w]):(\w+)")
_TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.MULTILINE)
_PROCESSED = re.compile(r"number of transactions actually processed: (\d+)/(\d+)")
_FAILED = re.compile(r"number of failed transactions: (\d+)")


@dataclass(frozen=True, slots=True)
class PgbenchRun:
    """The figures pgbench printed for one run."""

    tps: float
    processed: int
    failed: int


def build_script(
    captured: CapturedQuery,
    *,
    variables: Mapping[str, str],
    setup: tuple[str, ...],
    in_transaction: bool,
    url: str,
) -> str:
    """A pgbench script: the `setup` meta-commands, then the captured statement, between
    BEGIN and COMMIT when `in_transaction` (each is a round trip, as in psycopg).

    `variables` maps a parameter name to the pgbench expression that replaces it (using
    variables defined in `setup`); all other parameters become literals.
    """
    if not isinstance(captured.params, Mapping):
        raise TypeError("pgbench scripts are built from statements with named parameters")
    params = captured.params
    with psycopg.connect(url) as conn:

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name is None:
                return "%"
            if name in variables:
                return variables[name]
            return sql.Literal(params[name]).as_string(conn)

        statement = _PLACEHOLDER.sub(replace, captured.query).strip().rstrip(";")
    defined = {line.split()[1] for line in setup}
    stray = set(_VARIABLE.findall(statement)) - defined
    if stray:
        # pgbench would read `:name` inside a literal (a timestamp, say) as a variable.
        raise ValueError(f"the statement has text pgbench would take for variables: {stray}")
    body = ("BEGIN;", statement + ";", "COMMIT;") if in_transaction else (statement + ";",)
    return "\n".join((*setup, *body)) + "\n"


def run_pgbench(
    url: str,
    script: str,
    *,
    clients: int,
    transactions_per_client: int,
    work_dir: Path,
    name: str,
    timeout: float,
) -> PgbenchRun:
    """Run `script` with `clients` connections, each doing a fixed number of transactions.

    Prepared statements, like psycopg's after its fifth execution of a query.
    """
    script_path = work_dir / f"{name}.sql"
    script_path.write_text(script)
    command = [
        str(embedded_bin_dir() / "pgbench"),
        "--no-vacuum",
        "--protocol=prepared",
        f"--client={clients}",
        f"--transactions={transactions_per_client}",
        f"--file={script_path}",
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    output = done.stdout + done.stderr
    tps, processed = _TPS.search(output), _PROCESSED.search(output)
    if done.returncode != 0 or tps is None or processed is None:
        raise RuntimeError(f"pgbench failed (exit {done.returncode}):\n{output}")
    failed = _FAILED.search(output)
    return PgbenchRun(
        tps=float(tps.group(1)),
        processed=int(processed.group(1)),
        failed=int(failed.group(1)) if failed else 0,
    )
