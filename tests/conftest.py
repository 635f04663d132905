"""Suite-wide isolation.

The Durable SDK keeps one process-wide aiohttp session (as the Functions worker, with its one
event loop, expects). Tests run on many event loops, so each test starts with a fresh session
instead of inheriting one bound to a loop that a previous test closed.
"""

import asyncio

import pytest
from azure.durable_functions.models.utils import http_utils


@pytest.fixture(autouse=True)
def fresh_durable_client_session():
    http_utils._client_session = None
    http_utils._session_lock = asyncio.Lock()
    yield
