"""Keeping secrets out of what agentwinter prints and what its tools' programs inherit.

Shared by the core and plugins: ``redact_url`` for a URL about to be shown, ``redact`` for any message
(every URL in it, and every secret value the environment holds), ``scrubbed_env`` for subprocesses.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

MASK = "***"
# Variables whose names say they hold a secret; their values are masked and never passed to tools.
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
# Variables holding URLs that may carry a password (the API endpoint through a proxy, Redis).
SECRET_URL_VARS = ("ANTHROPIC_BASE_URL", "AGENTWINTER_REDIS_URL", "REDIS_URL", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
REDIS_VARS = {"AGENTWINTER_REDIS_URL", "REDIS_URL"}  # never passed to tools, password or not
# Query parameters that carry a secret in a URL (redis-py reads ?password=).
SECRET_PARAMS = {"password", "pass", "passwd", "pwd", "token", "secret", "key", "api_key", "apikey", "auth"}
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#@]*)@")
_PARAM = re.compile(r"([?&;])([^=&;#]+)=([^&;#]*)")


def redact_url(url: str) -> str:
    """``url`` with the password of its userinfo and every secret query parameter replaced by ***."""

    def userinfo(match: re.Match[str]) -> str:
        user, sep, _password = match.group(2).partition(":")
        return f"{match.group(1)}{user}{':' + MASK if sep else ''}@"

    def param(match: re.Match[str]) -> str:
        secret = match.group(2).lower() in SECRET_PARAMS and match.group(3)
        return f"{match.group(1)}{match.group(2)}={MASK if secret else match.group(3)}"

    return _PARAM.sub(param, _USERINFO.sub(userinfo, url, count=1))


def secret_values(env: Mapping[str, str] | None = None) -> set[str]:
    """The secrets the environment holds: values of secret-named variables, passwords inside URL variables."""
    env = os.environ if env is None else env
    found = {value for name, value in env.items() if SECRET_NAME.search(name) and len(value) >= 4}
    for name in SECRET_URL_VARS:
        found |= url_secrets(env.get(name) or env.get(name.lower()) or "")
    return found


def url_secrets(url: str) -> set[str]:
    """The password and secret query values of ``url`` (empty when it has none or does not parse)."""
    try:
        parts = urlsplit(url)
        found = {parts.password} if parts.password else set()
        found |= {value for key, value in parse_qsl(parts.query) if key.lower() in SECRET_PARAMS and value}
    except ValueError:
        return set()
    return {value for value in found if len(value) >= 4}  # a short value would mask ordinary words


def redact(text: str, env: Mapping[str, str] | None = None) -> str:
    """``text`` with every URL redacted and every secret value of the environment replaced by ***."""
    text = _URL.sub(lambda match: redact_url(match.group(0)), text)
    for value in sorted(secret_values(env), key=len, reverse=True):  # longest first: one may contain another
        text = text.replace(value, MASK)
    return text


def scrubbed_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of the environment for programs the model runs: no secret-named variable, no Redis URL, no
    value that is a URL with a password."""
    env = os.environ if env is None else env
    return {
        name: value
        for name, value in env.items()
        if not SECRET_NAME.search(name) and name.upper() not in REDIS_VARS and not url_secrets(value)
    }
