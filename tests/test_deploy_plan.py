"""docs/deploy.md's capacity plan rests on measurements: each measured figure names the benchmark that prints it
and the labels of the line it is read from, and those labels are in that benchmark, so a renamed or removed
line cannot leave the plan citing something no run prints."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "docs" / "deploy.md"


def measured_rows() -> list[tuple[str, str, str]]:
    """(label, figure, where from) of each row of the plan's table of measured figures."""
    rows = []
    for line in PLAN.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells and re.fullmatch(r"M\d+", cells[0]):
            rows.append((cells[0], cells[1], cells[-1]))
    return rows


def test_every_measured_figure_names_a_line_its_benchmark_prints():
    rows = measured_rows()
    assert [label for label, _, _ in rows] == [f"M{n}" for n in range(1, len(rows) + 1)]
    assert len(rows) >= 10
    bench = None
    for label, _, source in rows:
        named = re.findall(r"`(bench/[a-z_]+\.py)", source)
        bench = ROOT / named[0] if named else bench  # a row without a file reads the row above's benchmark
        assert bench is not None and bench.exists(), (label, source)
        code = bench.read_text()
        quoted = [token for token in re.findall(r"`([^`]+)`", source) if not token.startswith("bench/")]
        for token in quoted:
            if re.fullmatch(r"[\d,]+", token):  # a row of the printed table named by its size
                assert token.replace(",", "").isdigit()
                continue
            assert token in code, (label, token, bench.name)


def test_the_measured_figures_are_used_and_the_readme_points_to_the_plan():
    plan = PLAN.read_text()
    arithmetic = plan.split("### The arithmetic", 1)[1]
    for label, _, _ in measured_rows():
        if label not in ("M5", "M10", "M11"):  # the goal, the latency and the outage: shown, not used in sums
            assert f"({label}" in arithmetic or f"{label})" in arithmetic or f", {label}" in arithmetic, label
    assert "docs/deploy.md" in (ROOT / "README.md").read_text()
