"""Project-wide pytest hooks.

A skipped test proves nothing: Odoo silently skips browser tests when Chromium
or websocket-client is missing, so every skip is turned into a failure here.
"""

import logging

import pytest


class _TestFrameworkImportFilter(logging.Filter):
    """pytest-odoo imports Odoo's test framework before enabling test mode."""

    def filter(self, record):
        return not record.getMessage().startswith("Importing test framework")


logging.getLogger("odoo.tests.common").addFilter(_TestFrameworkImportFilter())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped tests are not allowed: {reason}"


# Seconds Chromium gets to start and open its debugging port. Odoo waits 10 s,
# and a loaded 2-core machine once took longer: the tour was skipped (so failed
# here) though nothing was wrong with it. A browser that never starts still fails.
CHROMIUM_START_SECONDS = 30


@pytest.fixture(autouse=True, scope="session")
def _chromium_start_time():
    from odoo.tests import common

    common.CHECK_BROWSER_ITERATIONS = round(CHROMIUM_START_SECONDS / common.CHECK_BROWSER_SLEEP)
    common.BROWSER_WAIT = CHROMIUM_START_SECONDS
    yield
