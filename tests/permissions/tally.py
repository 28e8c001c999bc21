"""The permission matrix's count, printed at the end of the run: "permission matrix: N cases
over P URL patterns, 0 leaks". Counted in each test process; with pytest-xdist each worker
hands its count to the controller, which prints the sum. tests/summaries.py calls these
from the root conftest's hooks, the ones the controller runs."""

import pytest

TALLY = {"cases": 0, "leaks": 0, "patterns": 0}
KEY = "permission_matrix"


def pytest_sessionfinish(session):
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker
        workeroutput[KEY] = dict(TALLY)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    for key, value in getattr(node, "workeroutput", {}).get(KEY, {}).items():
        TALLY[key] += value


def pytest_terminal_summary(terminalreporter):
    if TALLY["cases"]:
        terminalreporter.write_line(
            f"permission matrix: {TALLY['cases']} cases over {TALLY['patterns']} URL patterns, "
            f"{TALLY['leaks']} leaks"
        )
