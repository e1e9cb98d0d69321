"""The HA tests run only against the topology that ``make test-ha`` builds.

They are kept out of ``make test``'s collection by ``norecursedirs`` in
pytest.ini (not by a skip); run on their own without the topology, they fail
with a message saying how to run them.
"""

import json
import os

import pytest


@pytest.fixture(scope="session")
def topology():
    """The topology built by tools/ha.py (servers, primary, standby, database)."""
    path = os.environ.get("SALES_DOCUMENTS_HA")
    if not path or not os.path.isfile(path):
        pytest.fail("the HA tests need the topology of `make test-ha` (SALES_DOCUMENTS_HA is not set)")
    with open(path) as handle:
        return json.load(handle)
