"""The SDK client built in the background is the one the first query uses, for the settings in force."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import os, sys, threading
from agentwinter_core import preload
preload.start()
thread = next(t for t in threading.enumerate() if t.name == "anthropic-preload")
if sys.argv[1] == "change":  # the settings change once the background client is built
    thread.join()
    os.environ["ANTHROPIC_BASE_URL"] = sys.argv[2]
client = preload.client()
print("anthropic" in sys.modules, type(client).__name__, str(client.base_url).rstrip("/"))
"""


def probe(env: dict[str, str], *args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.slow
def test_the_client_is_built_in_a_background_thread_and_handed_to_the_first_query(fake_api):
    assert probe({"PATH": "", **fake_api.env()}, "keep") == ["True", "Anthropic", fake_api.base_url]


@pytest.mark.slow
def test_a_client_built_for_other_settings_is_not_used(fake_api):
    env = {"PATH": "", **fake_api.env(), "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}
    assert probe(env, "change", fake_api.base_url) == ["True", "Anthropic", fake_api.base_url]
