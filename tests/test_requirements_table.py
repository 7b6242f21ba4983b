"""`make requirements` on a small project of its own: the table, a row no test shows, and marks that
name no row or a row the file does not have (docs/decisions/0038-requirement-rows.md)."""

from pathlib import Path

import pytest

from tests import requirements_table

pytest_plugins = ["pytester"]

ROWS = """\
# Rows

| id | title | what the product does | source |
|---|---|---|---|
| A1 | First row | Does one thing. | a law |
| A2 | Second row | Does another. | — |
"""


@pytest.fixture
def project(pytester, monkeypatch):
    """A project with two rows, run in this process without this suite's plugins (Django and the others)."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makeini(
        """
        [pytest]
        addopts = --strict-markers -p no:cacheprovider
        markers =
            requirement(*ids): rows of docs/requirements.md
        """
    )
    (pytester.path / "docs").mkdir()
    (pytester.path / "docs" / "requirements.md").write_text(ROWS)

    def run(tests: str, *args: str) -> pytest.RunResult:
        pytester.makepyfile(test_rows=tests)
        return pytester.runpytest_inprocess("-q", *args, plugins=[requirements_table])

    return run


def one_test(mark: str) -> str:
    return f"import pytest\n\n@pytest.mark.{mark}\ndef test_one():\n    pass\n"


BOTH_SHOWN = """
import pytest

pytestmark = pytest.mark.requirement("A1")

@pytest.mark.requirement("A2")
def test_both():
    pass

@pytest.mark.parametrize("case", range(5))
def test_many(case):
    pass

def test_a(): pass
def test_b(): pass
def test_c(): pass
"""


def test_the_table_names_each_rows_tests_and_counts_the_rest(project):
    result = project(BOTH_SHOWN, "--collect-only")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "A1   First row   9 tests",
            "       test_rows.py::test_a",
            "       test_rows.py::test_b",
            "       test_rows.py::test_both",
            "       and 2 more",
            "A2   Second row  1 test",
            "       test_rows.py::test_both",
            "2 of 2 rows of docs/requirements.md are shown by a test.",
            "9 tests collected*",
        ]
    )
    result.stdout.no_fnmatch_line("test_rows.py::test_many[[]0[]]")  # pytest's own list gives way to the table


def test_cases_of_one_parametrised_test_are_named_once():
    table = requirements_table.Table(
        {"A1": requirements_table.Row("A1", "First row")},
        {"A1": ["t.py::test_x[1]", "t.py::test_x[2]", "t.py::test_y"]},
    )
    assert table.lines()[:3] == ["A1   First row  3 tests", "       t.py::test_x (2 cases)", "       t.py::test_y"]


def test_a_row_without_a_test_fails_the_run_and_is_named(project):
    result = project(one_test('requirement("A1")'), "--collect-only")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "A2   Second row  NO TEST",
            "1 of 2 rows of docs/requirements.md are shown by a test.",
            "No test shows A2.",
        ]
    )


def test_an_unknown_row_stops_the_collection(project):
    result = project(one_test('requirement("A1", "A3")'), "--collect-only")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: requirement 'A3': no such row in docs/requirements.md, named by test_rows.py::test_one"]
    )
    result.stdout.fnmatch_lines(["requirements: no table, the collection failed"])


@pytest.mark.parametrize("mark", ["requirement()", 'requirement(row="A1")', "requirement(1)"])
def test_a_mark_must_name_rows_by_their_ids(project, mark):
    result = project(one_test(mark), "--collect-only")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: requirement*test_rows.py::test_one"])


def test_the_table_only_collects(project):
    result = project("def test_one():\n    pass\n")  # without --collect-only the tests would run
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: tests.requirements_table reports on what is collected: add --collect-only"])


def test_the_rows_file_is_read_strictly(tmp_path):
    path = tmp_path / "requirements.md"
    path.write_text(ROWS)
    assert [(row.id, row.title) for row in requirements_table.rows_read(path).values()] == [
        ("A1", "First row"),
        ("A2", "Second row"),
    ]
    for text, message in [
        (ROWS + "| A1 | Again | Twice. | — |\n", "row A1 is there twice"),
        (ROWS + "| A3 | Short row |\n", "a row is | id | title | what the product does | source |"),
        ("# No table\n", "has no requirement rows"),
    ]:
        path.write_text(text)
        with pytest.raises(pytest.UsageError, match=message.replace("|", r"\|")):
            requirements_table.rows_read(path)
    with pytest.raises(pytest.UsageError, match="is missing"):
        requirements_table.rows_read(tmp_path / "nowhere.md")


def test_the_repos_rows_are_the_products_rows():
    rows = requirements_table.rows_read(Path(__file__).parents[1] / requirements_table.ROWS_FILE)
    product = {
        f"{letter}{number}"
        for letter, count in (("C", 11), ("E", 4), ("M", 6), ("F", 7), ("S", 5))
        for number in range(1, count + 1)
    }
    assert set(rows) == product
