"""Suite-wide isolation.

The Durable SDK keeps one process-wide aiohttp session (as the Functions worker, with its one
event loop, expects). Tests run on many event loops, so a test never inherits a session bound to
a loop that an earlier test already closed.

HTTP functions called in-process run as under Core Tools with `local.settings.json` copied from
the example: no Easy Auth in front, and a request without principal headers is the developer
LOCAL_DEVELOPER_ID names. (The live stack plays Easy Auth instead; see tests/live_stack.py.)
"""

import asyncio
import os

import pytest
from azure.durable_functions.models.utils import http_utils

os.environ.setdefault("LOCAL_DEVELOPER_ID", "local-developer")


@pytest.fixture(autouse=True)
def fresh_durable_client_session():
    session = http_utils._client_session
    if session is not None and (session.closed or session._loop.is_closed()):
        session.detach()
        http_utils._client_session = None
        http_utils._session_lock = asyncio.Lock()
    yield


@pytest.fixture
async def runtime(tmp_path):
    """The local Durable runtime over the test app (real orchestrator, scripted activities)."""
    from localdev.durable import DurableRuntime
    from tests.durable_app import SCRIPT, app

    SCRIPT.reset()
    rt = DurableRuntime(app, f"sqlite:///{tmp_path}/hub.db")
    await rt.start()
    yield rt
    await rt.stop()
    SCRIPT.reset()
