"""Results, their verdicts, and the two ways they are shown: a Markdown table and JSON.

A ratio is ours / baseline, so `≤ 1.5×` on a time and `≥ 0.5×` on a rate both mean "no
worse than that compared with PostgreSQL alone". Ours and the baseline are measured in
pairs, back to back; the ratio is the median of the pairs' ratios, which cancels the
machine's slower and faster moments better than a ratio of medians would.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tests.bench.measure import Samples


@dataclass(frozen=True, slots=True)
class Target:
    """What passes: a ratio to the baseline, or an absolute limit on the worst sample."""

    op: str  # "<=", ">=" or "<"
    value: float
    absolute: bool = False

    def met_by(self, figure: float) -> bool:
        if self.op == "<=":
            return figure <= self.value
        if self.op == ">=":
            return figure >= self.value
        return figure < self.value

    def __str__(self) -> str:
        op = {"<=": "≤", ">=": "≥", "<": "<"}[self.op]
        return f"{op} {self.value:g}" + ("" if self.absolute else "×")


@dataclass(frozen=True, slots=True)
class Check:
    """A fact a workload must establish; `judged=False` reports it without failing the run."""

    name: str
    passed: bool
    detail: str
    judged: bool = True


@dataclass(frozen=True, slots=True)
class Result:
    """One row of the table."""

    workload: str
    unit: str
    ours: Samples
    baseline: Samples | None = None
    baseline_label: str = ""
    target: Target | None = None
    judged: bool = True
    checks: tuple[Check, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or 0 in self.baseline.values:
            return None
        if len(self.baseline.values) != len(self.ours.values):
            return self.ours.median / self.baseline.median
        pairs = zip(self.ours.values, self.baseline.values, strict=True)
        return statistics.median(ours / baseline for ours, baseline in pairs)

    @property
    def target_met(self) -> bool | None:
        """None when nothing is judged (no target, or a smoke run)."""
        if self.target is None or not self.judged:
            return None
        if self.target.absolute:
            worst = self.ours.max if self.target.op != ">=" else self.ours.min
            return self.target.met_by(worst)
        return None if self.ratio is None else self.target.met_by(self.ratio)

    @property
    def passed(self) -> bool:
        checks_ok = all(check.passed for check in self.checks if check.judged)
        return checks_ok and self.target_met is not False

    @property
    def verdict(self) -> str:
        if not self.passed:
            return "FAIL"
        if self.target_met is None:
            return "report" if self.target is None else "not judged"
        return "pass"


@dataclass(frozen=True, slots=True)
class BenchRun:
    """A whole benchmark run: where and when, and every result."""

    mode: str
    postgresql: str
    served_by: str
    results: list[Result]
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }


def markdown_table(run: BenchRun) -> str:
    """The results as a Markdown table, with their checks listed after it."""
    info = machine()
    lines = [
        f"Benchmark ({run.mode}) {run.started_at:%Y-%m-%d %H:%M} UTC, {info['cpus']} CPUs, "
        f"{info['platform']}, Python {info['python']}, {run.postgresql} ({run.served_by})",
        "",
        "| workload | unit | median | min | max | baseline median | ratio | target | result |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for result in run.results:
        baseline = "—" if result.baseline is None else _number(result.baseline.median)
        if result.baseline is not None and result.baseline_label:
            baseline += f" ({result.baseline_label})"
        ratio = "—" if result.ratio is None else f"{result.ratio:.2f}×"
        target = "—" if result.target is None else str(result.target)
        lines.append(
            f"| {result.workload} | {result.unit} | {_number(result.ours.median)} "
            f"| {_number(result.ours.min)} | {_number(result.ours.max)} | {baseline} "
            f"| {ratio} | {target} | {result.verdict} |"
        )
    notes = [
        f"- {result.workload}: {check.name}: {check.detail}"
        + ("" if check.judged else " (not judged)")
        + ("" if check.passed or not check.judged else " — FAILED")
        for result in run.results
        for check in result.checks
    ] + [f"- {result.workload}: {note}" for result in run.results for note in result.notes]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def write_json(run: BenchRun, path: Path) -> None:
    """The same results as JSON, with every sample."""
    path.write_text(json.dumps(as_json(run), indent=2, ensure_ascii=False) + "\n")


def as_json(run: BenchRun) -> dict[str, object]:
    return {
        "mode": run.mode,
        "date": run.started_at.isoformat(timespec="seconds"),
        "machine": machine(),
        "postgresql": run.postgresql,
        "served_by": run.served_by,
        "passed": run.passed,
        "results": [
            {
                "workload": result.workload,
                "unit": result.unit,
                "median": result.ours.median,
                "min": result.ours.min,
                "max": result.ours.max,
                "samples": list(result.ours.values),
                "baseline": None
                if result.baseline is None
                else {
                    "label": result.baseline_label,
                    "median": result.baseline.median,
                    "min": result.baseline.min,
                    "max": result.baseline.max,
                    "samples": list(result.baseline.values),
                },
                "ratio": result.ratio,
                "target": None if result.target is None else str(result.target),
                "target_met": result.target_met,
                "checks": [
                    {
                        "name": check.name,
                        "passed": check.passed,
                        "judged": check.judged,
                        "detail": check.detail,
                    }
                    for check in result.checks
                ],
                "notes": list(result.notes),
                "result": result.verdict,
            }
            for result in run.results
        ],
    }


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"
