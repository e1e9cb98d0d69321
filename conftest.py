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
