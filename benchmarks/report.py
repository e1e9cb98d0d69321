"""Benchmark results: measurements against a baseline, targets, table, JSON.

Every measurement is compared with a baseline measured in the same run (the
same machine, the same moment), so the figure that matters is the ratio, not
the absolute time. Pure Python, no Odoo import.
"""

import json
import math
import os
import platform
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"

PASS = "PASS"
FAIL = "FAIL"
NO_TARGET = "-"


@dataclass
class Measurement:
    """One measured figure, its same-run baseline and the targets it must meet.

    ``value`` and ``baseline`` share ``unit``. Targets are optional; any of
    ``max_ratio`` / ``min_ratio`` (on ``value / baseline``) and ``max_value``
    / ``min_value`` (on ``value`` itself) may be combined, and all must hold.
    """

    name: str
    value: float
    unit: str = "s"
    baseline: float | None = None
    max_ratio: float | None = None
    min_ratio: float | None = None
    max_value: float | None = None
    min_value: float | None = None
    note: str = ""
    details: dict = field(default_factory=dict)

    @property
    def ratio(self):
        return compute_ratio(self.value, self.baseline)

    @property
    def verdict(self):
        return judge(self)

    def as_dict(self):
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "baseline": self.baseline,
            "ratio": self.ratio,
            "max_ratio": self.max_ratio,
            "min_ratio": self.min_ratio,
            "max_value": self.max_value,
            "min_value": self.min_value,
            "target": format_target(self),
            "verdict": self.verdict,
            "note": self.note,
            "details": self.details,
        }


def compute_ratio(value, baseline):
    """Return ``value / baseline``, or None when there is no usable baseline."""
    if baseline is None or value is None:
        return None
    if baseline == 0:
        return math.inf if value > 0 else None
    return value / baseline


def judge(measurement):
    """PASS when every target set on ``measurement`` holds, FAIL otherwise.

    A ratio target with no usable baseline fails: the comparison the target
    asks for could not be made. Without any target the verdict is ``-``.
    """
    m = measurement
    checks = []
    ratio = m.ratio
    if m.max_ratio is not None:
        checks.append(ratio is not None and ratio <= m.max_ratio)
    if m.min_ratio is not None:
        checks.append(ratio is not None and ratio >= m.min_ratio)
    if m.max_value is not None:
        checks.append(m.value <= m.max_value)
    if m.min_value is not None:
        checks.append(m.value >= m.min_value)
    if not checks:
        return NO_TARGET
    return PASS if all(checks) else FAIL


def format_number(value):
    """Short human form: 3 significant digits, no exponent for usual sizes."""
    if value is None:
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.1f}"
    if magnitude >= 1 or magnitude == 0:
        return f"{value:.2f}"
    if magnitude >= 0.01:
        return f"{value:.3f}"
    return f"{value:.3g}"


def format_quantity(value, unit):
    if value is None:
        return "-"
    return f"{format_number(value)} {unit}".strip()


def format_ratio(ratio):
    return "-" if ratio is None else f"{format_number(ratio)}x"


def format_target(m):
    """Human description of the targets, e.g. ``<= 1.15x and <= 150 ms``."""
    parts = []
    if m.max_ratio is not None:
        parts.append(f"<= {format_number(m.max_ratio)}x")
    if m.min_ratio is not None:
        parts.append(f">= {format_number(m.min_ratio)}x")
    if m.max_value is not None:
        parts.append(f"<= {format_quantity(m.max_value, m.unit)}")
    if m.min_value is not None:
        parts.append(f">= {format_quantity(m.min_value, m.unit)}")
    return " and ".join(parts) or "-"


TABLE_HEADER = ("measurement", "baseline", "value", "ratio", "target", "result")


def table_rows(measurements):
    """Rows of strings (header first) for :func:`format_table`."""
    rows = [TABLE_HEADER]
    for m in measurements:
        rows.append((
            m.name,
            format_quantity(m.baseline, m.unit),
            format_quantity(m.value, m.unit),
            format_ratio(m.ratio),
            format_target(m),
            m.verdict,
        ))
    return rows


def format_table(measurements, title=None):
    """Plain-text table: name, baseline, value, ratio, target, PASS/FAIL."""
    rows = table_rows(measurements)
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_HEADER))]
    # Text columns left-aligned, figures right-aligned.
    align = ("<", ">", ">", ">", "<", "<")

    def line(row):
        return "  ".join(f"{cell:{a}{w}}" for cell, a, w in zip(row, align, widths)).rstrip()

    out = []
    if title:
        out.append(title)
    out.append(line(rows[0]))
    out.append("  ".join("-" * w for w in widths))
    out.extend(line(row) for row in rows[1:])
    return "\n".join(out)


def overall_verdict(measurements):
    """FAIL if any measurement fails, PASS if any passes, ``-`` otherwise."""
    verdicts = {m.verdict for m in measurements}
    if FAIL in verdicts:
        return FAIL
    if PASS in verdicts:
        return PASS
    return NO_TARGET


def safe_filename(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "benchmark"


def environment_info():
    info = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "node": platform.node(),
        "cpu_count": os.cpu_count(),
    }
    try:
        # Optional: the report module itself works without Odoo.
        from odoo import release

        info["odoo"] = release.version
    except ImportError:
        pass
    return info


def write_json(benchmark, measurements, options=None, extra=None, started=None, directory=None):
    """Write the run's results to ``benchmarks/results/<name>-<time>.json``.

    Returns the path written.
    """
    directory = Path(directory or RESULTS_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    payload = {
        "benchmark": benchmark,
        "started_at": started and time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "options": options or {},
        "environment": environment_info(),
        "verdict": overall_verdict(measurements),
        "measurements": [m.as_dict() for m in measurements],
        "extra": extra or {},
    }
    path = directory / f"{safe_filename(benchmark)}-{stamp}.json"
    counter = 1
    while path.exists():
        counter += 1
        path = directory / f"{safe_filename(benchmark)}-{stamp}-{counter}.json"
    path.write_text(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n")
    return path


@dataclass
class BenchResult:
    """What a benchmark's ``run`` returns: measurements plus free-form facts."""

    measurements: list
    title: str = ""
    extra: dict = field(default_factory=dict)
