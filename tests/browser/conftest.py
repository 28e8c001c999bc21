"""Browser tests: real Chromium (Debian's, /usr/bin/chromium) driven by Playwright against
Django's live server. Screenshots go to test-artifacts/ for people to look at."""

import os
from pathlib import Path

import pytest

# Sync Playwright runs an event loop in this thread; Django's ORM must still be usable here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def pytest_collection_modifyitems(config, items):
    """Without Chromium the browser tests cannot run: skip them locally, fail them in CI."""
    if Path(CHROMIUM).exists():
        return
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    browser_items = [i for i in items if "tests/browser/" in str(i.fspath)]
    if browser_items and in_ci:
        raise pytest.UsageError(f"browser tests need Chromium at {CHROMIUM}")
    for item in browser_items:
        item.add_marker(pytest.mark.skip(reason=f"no Chromium at {CHROMIUM}"))
