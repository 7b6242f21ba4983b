"""The requirement rows of docs/requirements.md and the tests that show them (docs/decisions/0038).

Every run checks the `requirement` marks (tests/conftest.py): a mark names at least one row, and only
rows the file has, or collection stops. Loaded as a plugin in a run that only collects
(`make requirements`: `-p tests.requirements_table --collect-only`), it also prints each row with the
tests that show it, and the run fails while a row has none. That run counts the fuzz tests too, which
the default run leaves out: CI runs them as well (`make fuzz`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROWS_FILE = Path("docs") / "requirements.md"
MARK = "requirement"
FUZZ = Path("tests") / "fuzz"
# Under each row, this many tests by name; past that, the rest are counted.
NAMED_PER_ROW = 3

ROW = re.compile(r"^\|\s*([A-Z][0-9]+)\s*\|")


@dataclass(frozen=True)
class Row:
    id: str
    title: str


def rows_read(path: Path) -> dict[str, Row]:
    """The rows of the requirements file by id, in the file's order: each a table line
    `| id | title | what the product does | source |`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise pytest.UsageError(f"{path} is missing: the requirement rows the tests name live there") from None
    rows: dict[str, Row] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        found = ROW.match(line)
        if not found:
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not all(cells[:2]):
            raise pytest.UsageError(f"{path}:{number}: a row is | id | title | what the product does | source |")
        if found[1] in rows:
            raise pytest.UsageError(f"{path}:{number}: row {found[1]} is there twice")
        rows[found[1]] = Row(found[1], cells[1])
    if not rows:
        raise pytest.UsageError(f"{path} has no requirement rows")
    return rows


def rows_named(item: pytest.Item) -> set[str]:
    """The rows a test's marks name: its own, its class's and its module's."""
    return {row for mark in item.iter_markers(MARK) for row in mark.args}


def marks_check(items: Iterable[pytest.Item], rows: dict[str, Row]) -> None:
    """Refuse a mark that names no row, or a row the file does not have, so a typo cannot count."""
    unknown: dict[str, list[str]] = {}
    empty: list[str] = []
    for item in items:
        for mark in item.iter_markers(MARK):
            if mark.kwargs or not mark.args:
                empty.append(item.nodeid)
            for row in mark.args:
                if not isinstance(row, str) or row not in rows:
                    unknown.setdefault(repr(row), []).append(item.nodeid)
    problems = [f"requirement {row}: no such row in {ROWS_FILE}, named by {_some(ids)}" for row, ids in unknown.items()]
    if empty:
        problems.append(f'requirement() names no row, e.g. requirement("C6"): {_some(empty)}')
    if problems:
        raise pytest.UsageError("\n".join(problems))


def _some(node_ids: Sequence[str]) -> str:
    return node_ids[0] + (f" and {len(node_ids) - 1} more" if len(node_ids) > 1 else "")


@dataclass
class Table:
    rows: dict[str, Row]
    tests: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: dict[str, Row], items: Iterable[pytest.Item]) -> Table:
        table = cls(rows, {row: [] for row in rows})
        for item in items:
            for row in rows_named(item):
                table.tests[row].append(item.nodeid)
        return table

    @property
    def without_tests(self) -> list[str]:
        return [row for row, node_ids in self.tests.items() if not node_ids]

    def lines(self) -> list[str]:
        """Each row with its count of tests and the first few by name (the cases of one parametrised
        test named once), then the verdict."""
        width = max(len(row.title) for row in self.rows.values())
        lines = []
        for row in self.rows.values():
            node_ids = sorted(self.tests[row.id])
            count = f"{len(node_ids)} test{'' if len(node_ids) == 1 else 's'}" if node_ids else "NO TEST"
            lines.append(f"{row.id:<4} {row.title:<{width}}  {count}")
            cases = Counter(node_id.split("[", 1)[0] for node_id in node_ids)
            for test, number in list(cases.items())[:NAMED_PER_ROW]:
                lines.append(f"       {test}" + (f" ({number} cases)" if number > 1 else ""))
            if len(cases) > NAMED_PER_ROW:
                lines.append(f"       and {len(cases) - NAMED_PER_ROW} more")
        missing = self.without_tests
        shown = len(self.rows) - len(missing)
        lines.append(f"{shown} of {len(self.rows)} rows of {ROWS_FILE} are shown by a test.")
        if missing:
            lines.append(f"No test shows {', '.join(missing)}.")
        return lines


TABLE = pytest.StashKey[Table]()


def pytest_configure(config: pytest.Config) -> None:
    if not config.option.collectonly:
        raise pytest.UsageError("tests.requirements_table reports on what is collected: add --collect-only")
    # The fuzz tests run in CI too: count them although addopts leaves them out of the default run.
    fuzz = (config.rootpath / FUZZ).resolve()
    config.option.ignore = [
        path for path in config.option.ignore or [] if (config.invocation_params.dir / path).resolve() != fuzz
    ]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rows = rows_read(config.rootpath / ROWS_FILE)
    marks_check(items, rows)
    config.stash[TABLE] = Table.of(rows, items)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    # The table names the tests; pytest's own list of every collected node id would bury it. The count
    # of tests collected stays as it was (it is taken from the collection, not from this list).
    session.items = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Runs before the terminal summary (pytest writes it as the session finishes, after this)."""
    table = session.config.stash.get(TABLE, None)
    if table is None:
        return
    if session.testsfailed or exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        del session.config.stash[TABLE]  # a failed collection's table would miss tests that show rows
    elif table.without_tests:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    table = config.stash.get(TABLE, None)
    if table is None:
        terminalreporter.write_line("requirements: no table, the collection failed")
        return
    terminalreporter.section("requirements")
    for line in table.lines():
        terminalreporter.write_line(line)
