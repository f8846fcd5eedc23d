"""Secrets never shown nor handed to tools; config values type-checked; broken config and data paths
give one line and agentwinter goes on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentwinter_core.config import load_config
from agentwinter_core.redact import redact, redact_url, scrubbed_env, secret_values
from tests.helpers import fake_api as fake

AGENTWINTER = str(Path(sys.executable).parent / "agentwinter")
API_KEY = "sk-ant-PLANTED-api-key-3f9d"
PROXY_PASSWORD = "PLANTED-proxy-pw-81c2"
REDIS_PASSWORD = "PLANTED-redis-pw-0a4e"
REDIS_QUERY_PASSWORD = "PLANTED-redis-query-pw-d7b1"
TOKEN = "PLANTED-token-value-55e0"
SECRETS = [API_KEY, PROXY_PASSWORD, REDIS_PASSWORD, REDIS_QUERY_PASSWORD, TOKEN]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw-secret@host:6379/1", "redis://:***@host:6379/1"),
        ("redis://alice:pw-secret@host/0?password=other&db=2", "redis://alice:***@host/0?password=***&db=2"),
        ("http://proxy-user:pw-secret@127.0.0.1:8080/v1", "http://proxy-user:***@127.0.0.1:8080/v1"),
        ("rediss://host:6380/?ssl_cert_reqs=none&token=abc", "rediss://host:6380/?ssl_cert_reqs=none&token=***"),
        ("unix:///run/redis.sock?db=1&password=pw", "unix:///run/redis.sock?db=1&password=***"),
        ("https://api.anthropic.com", "https://api.anthropic.com"),
        ("redis://user@host:6379", "redis://user@host:6379"),
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_redact_masks_urls_in_text_and_every_secret_of_the_environment():
    env = {
        "ANTHROPIC_API_KEY": API_KEY,
        "AGENTWINTER_REDIS_URL": f"redis://:{REDIS_PASSWORD}@h:1/?password={REDIS_QUERY_PASSWORD}",
        "GITHUB_TOKEN": TOKEN,
        "HOME": "/home/someone",
    }
    assert secret_values(env) == {API_KEY, REDIS_PASSWORD, REDIS_QUERY_PASSWORD, TOKEN}
    text = f"Redis at redis://:{REDIS_PASSWORD}@h:1 failed; the key {API_KEY} and {TOKEN}, in /home/someone"
    assert redact(text, env) == "Redis at redis://:***@h:1 failed; the key *** and ***, in /home/someone"


def test_scrubbed_env_drops_keys_tokens_passwords_and_redis_urls():
    env = {
        "ANTHROPIC_API_KEY": "x",
        "MY_SECRET": "x",
        "DB_PASSWORD": "x",
        "GH_TOKEN": "x",
        "AGENTWINTER_REDIS_URL": "redis://localhost:6379",
        "HTTPS_PROXY": "http://u:pw-long@proxy:3128",
        "HTTP_PROXY": "http://proxy:3128",
        "PATH": "/usr/bin",
        "HOME": "/root",
    }
    assert scrubbed_env(env) == {"HTTP_PROXY": "http://proxy:3128", "PATH": "/usr/bin", "HOME": "/root"}


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('allow_shell = "false"', "allow_shell"),
        ("allow_shell = 0", "allow_shell"),
        ('max_tokens = "4000"', "max_tokens"),
        ("max_tokens = true", "max_tokens"),
        ("max_tokens = 1.5", "max_tokens"),
        ("stream_idle_timeout = true", "stream_idle_timeout"),
        ('stream_idle_timeout = "30"', "stream_idle_timeout"),
        ("stream_idle_timeout = -1", "stream_idle_timeout"),
        ("model = 3", "model"),
        ("allow_shel = true", "allow_shel"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_never_coerced(tmp_path, line, key):
    path = tmp_path / "config.toml"
    path.write_text(f"[agentwinter]\n{line}\n")
    config = load_config(path)
    assert config.allow_shell is False and config.max_tokens == 32000 and config.stream_idle_timeout == 60
    assert len(config.problems) == 1
    assert key in config.problems[0] and str(path) in config.problems[0] and "\n" not in config.problems[0]


def test_right_types_are_taken(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[agentwinter]\nallow_shell = true\nmax_tokens = 4000\nstream_idle_timeout = 2.5\n")
    config = load_config(path)
    assert (config.allow_shell, config.max_tokens, config.stream_idle_timeout, config.problems) == (
        True,
        4000,
        2.5,
        [],
    )


@pytest.mark.parametrize("kind", ["not_utf8", "directory", "not_a_table"])
def test_a_broken_config_file_is_one_line(tmp_path, kind):
    path = tmp_path / "config.toml"
    if kind == "not_utf8":
        path.write_bytes(b'[agentwinter]\nmodel = "caf\xe9"\n')
    elif kind == "directory":
        path.mkdir()
    else:
        path.write_text('agentwinter = "oops"\n')
    config = load_config(path)
    assert len(config.problems) == 1 and str(path) in config.problems[0]
    assert config.model and config.allow_shell is False


@pytest.fixture
def run_cli(fake_api, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "notes.md").write_text("notes\n")
    fake_api.api_key = API_KEY

    def run(*args: str, stdin: str = "", config: str | bytes = "", **extra: str) -> subprocess.CompletedProcess:
        (tmp_path / "config.toml").write_bytes(config if isinstance(config, bytes) else config.encode())
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTWINTER_", "ANTHROPIC_"))}
        env.update(
            ANTHROPIC_API_KEY=API_KEY,
            ANTHROPIC_BASE_URL=fake_api.base_url,  # with userinfo the SDK sends Basic auth instead of the key
            AGENTWINTER_REDIS_URL=f"redis://:{REDIS_PASSWORD}@127.0.0.1:9/0?password={REDIS_QUERY_PASSWORD}",
            GITHUB_TOKEN=TOKEN,
            AGENTWINTER_CONFIG=str(tmp_path / "config.toml"),
            XDG_DATA_HOME=str(tmp_path / "data"),
        )
        env.update(extra)
        return subprocess.run(
            [AGENTWINTER, *args], input=stdin, capture_output=True, text=True, env=env, cwd=project, timeout=120
        )

    return run


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


@pytest.mark.slow
def test_secrets_appear_in_no_output_and_no_request(fake_api, run_cli):
    fake_api.add(
        fake.tool_use("shell", {"command": "env; echo key=$ANTHROPIC_API_KEY"}),
        fake.text("done"),
        fake.error(401, "authentication_error", "invalid x-api-key"),
    )
    done = run_cli(stdin="show the environment\nagain\n", config="[agentwinter]\nallow_shell = true\n")
    assert "done" in done.stdout
    assert "error: the API key was rejected" in done.stderr and done.returncode == 1
    assert_no_secret(done.stdout, done.stderr, json.dumps(fake_api.message_requests()))
    shell_output = fake_api.message_requests()[1]["messages"][-1]["content"][0]["content"]
    assert "key=\n" in shell_output and "PATH=" in shell_output  # the shell ran, without the secrets
    down = run_cli("-p", "hello", ANTHROPIC_BASE_URL=f"http://proxy-user:{PROXY_PASSWORD}@127.0.0.1:9")
    assert "cannot reach the API at http://proxy-user:***@127.0.0.1:9" in down.stderr and down.returncode == 1
    assert_no_secret(down.stdout, down.stderr)


@pytest.mark.slow
def test_allow_shell_as_a_string_does_not_offer_the_shell(fake_api, run_cli):
    fake_api.add(fake.text("ok"))
    config = '[agentwinter]\nallow_shell = "false"\n'
    done = run_cli("-p", "hello", config=config, AGENTWINTER_DISABLE_PLUGINS="sessions")
    assert done.returncode == 0, done.stderr
    assert "allow_shell must be true or false" in done.stderr and "config.toml" in done.stderr
    assert "shell" not in {tool["name"] for tool in fake_api.message_requests()[0]["tools"]}


@pytest.mark.slow
def test_a_non_utf8_config_file_is_one_line_and_the_query_is_answered(fake_api, run_cli):
    fake_api.add(fake.text("answered"))
    config = b'[agentwinter]\nmodel = "caf\xe9"\n'
    done = run_cli(stdin="hello\n", config=config, AGENTWINTER_DISABLE_PLUGINS="sessions")
    assert done.stdout == "answered\n" and done.returncode == 0
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "not UTF-8" in warnings[0] and "config.toml" in warnings[0]
    assert "Traceback" not in done.stderr
