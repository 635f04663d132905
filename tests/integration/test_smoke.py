"""The post-deploy smoke test (`python -m localdev smoke`, run by azd after every deploy) against
the local stack, so it cannot rot.

The stack plays Easy Auth as the template configures it (`sign_in_token`: sign-in required,
Return401, client X-MS-* headers dropped), so the two sign-in checks are as real here as in Azure;
the plan runs through the real Web PubSub emulator socket. The script runs as a user runs it, in
its own process, and its exit status and verdict lines are what is asserted. Against a stack that
trusts principal headers (the default developer mode), the same script fails.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from localdev.cli.smoke import Target, negotiate_on_service_host
from localdev.webpubsub.auth import ConnectionString
from tests.support.live_stack import live_stack

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def smoke(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PLANNER_TOKEN", "WEBPUBSUB_ENDPOINT")}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    return subprocess.run(
        [sys.executable, "-m", "localdev", "smoke", *args],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=PROJECT_ROOT,
        env=env,
    )


def verdicts(output: str) -> dict[str, str]:
    """check name -> PASS/FAIL/SKIP, from the script's verdict lines."""
    found = {}
    for line in output.splitlines():
        outcome, _, rest = line.partition("  ")
        if outcome in ("PASS", "FAIL", "SKIP"):
            found[rest.split("  ")[0].strip()] = outcome
    return found


CHECKS = {
    "sign-in required",
    "forged principal refused",
    "docs and OpenAPI",
    "negotiate",
    "plan end to end",
}


@pytest.fixture(scope="module")
def signed_in_stack(tmp_path_factory):
    token = secrets.token_urlsafe(32)
    with live_stack(tmp_path_factory.mktemp("smoke"), sign_in_token=token) as stack:
        endpoint = ConnectionString.parse(stack.pubsub_connection_string).endpoint
        yield stack, token, endpoint


def test_every_check_passes_against_the_stack_playing_easy_auth(signed_in_stack):
    stack, token, endpoint = signed_in_stack
    result = smoke(stack.base_url, "--token", token, "--webpubsub-endpoint", endpoint)
    assert result.returncode == 0, result.stdout + result.stderr
    assert verdicts(result.stdout) == dict.fromkeys(CHECKS, "PASS")
    assert "27 of 27 messages arrived over the Web PubSub socket" in result.stdout
    assert token not in result.stdout + result.stderr
    assert "access_token" not in result.stdout  # the negotiate URL is shown without its token


def test_without_a_token_the_checks_behind_sign_in_are_skipped_not_passed(signed_in_stack):
    stack, _, endpoint = signed_in_stack
    result = smoke(stack.base_url, "--webpubsub-endpoint", endpoint)
    assert result.returncode == 0, result.stdout + result.stderr
    assert verdicts(result.stdout) == {
        "sign-in required": "PASS",
        "forged principal refused": "PASS",
        "docs and OpenAPI": "SKIP",
        "negotiate": "SKIP",
        "plan end to end": "SKIP",
    }
    assert "2 passed, 0 failed, 3 skipped" in result.stdout


def test_forged_headers_with_a_valid_sign_in_are_still_dropped(signed_in_stack):
    """Easy Auth replaces client principal headers with the signed-in caller's."""
    stack, token, _ = signed_in_stack
    answer = httpx.get(
        f"{stack.base_url}/api/me",
        headers={
            "Authorization": f"Bearer {token}",
            "X-MS-CLIENT-PRINCIPAL-ID": "mallory",
            "X-MS-CLIENT-PRINCIPAL-NAME": "mallory@example.com",
        },
    )
    assert answer.status_code == 200
    assert answer.json()["user_id"] == "local-developer"
    assert (
        httpx.get(f"{stack.base_url}/api/me", headers={"Authorization": "Bearer x"}).status_code
        == 401
    )


def test_negotiate_pointing_at_another_host_fails(signed_in_stack):
    stack, token, _ = signed_in_stack
    target = Target(
        stack.base_url, token, webpubsub_endpoint="https://wps-other.webpubsub.azure.com"
    )

    async def check():
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as client:
            return await negotiate_on_service_host(client, target)

    verdict = stack.run(check())
    assert verdict.outcome == "FAIL"
    assert "expected the service's wps-other.webpubsub.azure.com" in verdict.detail
    assert "WebPubSubEndpoint" in verdict.fix


def test_a_host_that_trusts_principal_headers_fails_the_sign_in_checks(tmp_path):
    """The default local developer mode (no sign-in required, client principal headers passed
    through) is what an app without Easy Auth looks like: the script must say so and exit 1."""
    with live_stack(tmp_path) as stack:
        result = smoke(stack.base_url)
    assert result.returncode == 1, result.stdout
    found = verdicts(result.stdout)
    assert found["sign-in required"] == found["forged principal refused"] == "FAIL"
    assert "-> 200 as the forged user" in result.stdout
    assert "what to do: Anyone can act as anyone" in result.stdout
