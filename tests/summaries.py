"""What the suite states at the end of a run: the permission matrix's cases and leaks, the
property tests' examples, server errors and partial writes, the formula payloads opened in
every export, the figures of the fault tests. Under pytest-xdist only the hooks of the root
conftest (tests/conftest.py imports these) run in the controller, which prints the output;
each worker hands its counts over when it finishes."""

import pytest


def _parts():
    """Imported when a hook runs, not with the root conftest they import from (IN_CI)."""
    from tests.exports import conftest as exports
    from tests.faults import conftest as faults
    from tests.permissions import tally
    from tests.properties import conftest as properties

    return tally, properties, exports, faults


def pytest_sessionfinish(session):
    tally, properties, exports, _ = _parts()
    tally.pytest_sessionfinish(session)
    properties.worker_finish(session)
    exports.worker_finish(session)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    tally, properties, exports, _ = _parts()
    tally.pytest_testnodedown(node, error)
    properties.node_down(node, error)
    exports.node_down(node, error)


def pytest_terminal_summary(terminalreporter):
    tally, properties, exports, faults = _parts()
    tally.pytest_terminal_summary(terminalreporter)
    properties.summary(terminalreporter)
    exports.summary(terminalreporter)
    faults.summary(terminalreporter)
