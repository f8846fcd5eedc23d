"""Optional client-side encryption of the stored sessions (AES-256-GCM; the ``encrypt`` extra, ``cryptography``).

The key: ``$AGENTWINTER_SESSION_KEY``, else the file ``session.key`` beside the config file, readable by its
owner only (mode 0600): 32 random bytes in base64 (``openssl rand -base64 32``). With a key, every document
the store writes is sealed: one line of JSON that ``redis-cli GET`` shows in clear — who, where and when,
``{"sealed":"<key id>","id":…,"name":…,"cwd":…,"owner":…,"message_count":…}`` — then a newline, a 12-byte
nonce and the ciphertext of the whole document with its tag (the line is authenticated with it). Binary
after the line, not base64: sealing stays a memory copy's cost and the value its document's size. The key id
(8 hex digits of a hash of the key) tells a wrong key from a damaged value: a value sealed with another key
(or read without one) is ``Locked`` — never set aside as corrupt, never saved over.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import importlib.util
import os
import stat
from pathlib import Path
from typing import Any

from agentwinter_core.api import config_path
from agentwinter_sessions.connect import ConfigError
from agentwinter_sessions.failures import Corrupt, Locked

KEY_ENV = "AGENTWINTER_SESSION_KEY"
MAGIC = b'{"sealed":"'  # how a sealed value starts; the key id follows
ID = 8  # hex digits of the key id
NONCE = 12
INSTALL_HINT = 'session encryption needs the encrypt extra: pip install "agentwinter-sessions[encrypt]"'
MAKE_ONE = "32 random bytes in base64, e.g. from: openssl rand -base64 32"


def key_path() -> Path:
    return config_path().parent / "session.key"


class Seal:
    """Seals and opens stored values with one key (which it never shows)."""

    def __init__(self, key: bytes, source: str) -> None:
        self._key = key
        self._aead: Any = None  # cryptography loads with the first save (or the warm-up), not at start-up
        self.source = source  # where the key came from, for messages
        self.key_id = hashlib.sha256(b"agentwinter session key id " + key).hexdigest()[:8]
        self.header = MAGIC + self.key_id.encode() + b":"

    def __repr__(self) -> str:
        return f"Seal(key id {self.key_id} from {self.source})"

    @property
    def aead(self) -> Any:  # AESGCM
        if self._aead is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._aead = AESGCM(self._key)
        return self._aead

    def seal(self, raw: bytes, readable: dict[str, Any]) -> bytes:
        """``raw`` encrypted, after a line of JSON that carries ``readable`` (metadata, never message text)."""
        import orjson

        line = MAGIC + self.key_id.encode() + b'"' + (b"," + orjson.dumps(readable)[1:] if readable else b"}")
        nonce = os.urandom(NONCE)
        return b"".join((line, b"\n", nonce, self.aead.encrypt(nonce, raw, line)))

    def open(self, line: bytes, sealed: bytes, what: str) -> bytes:
        from cryptography.exceptions import InvalidTag

        try:
            return self.aead.decrypt(sealed[:NONCE], sealed[NONCE:], line)
        except (InvalidTag, ValueError):
            raise Corrupt(f"{what} is encrypted with this key but damaged (it does not open)") from None


def opened(raw: bytes, seal: Seal | None, what: str) -> bytes:
    """The document a stored value holds (a value that is not sealed is returned as it is); ``Locked`` when
    it is sealed with another key or there is none, ``Corrupt`` when it is damaged."""
    if not raw.startswith(MAGIC):
        return raw
    end = raw.find(b"\n")
    if end < 0 or raw[len(MAGIC) + ID : len(MAGIC) + ID + 1] != b'"':
        raise Corrupt(f"{what} is a cut encrypted value")
    key_id = raw[len(MAGIC) : len(MAGIC) + ID].decode("ascii", "replace")
    if seal is None:
        raise Locked(f"{what} is encrypted (key {key_id}): set {KEY_ENV} or put its key in {key_path()}")
    if key_id != seal.key_id:
        raise Locked(f"{what} is encrypted with another key ({key_id}; {seal.source} is {seal.key_id}): left as it is")
    return seal.open(raw[:end], raw[end + 1 :], what)


def load() -> Seal | None:
    """The configured key, or None; ``ConfigError`` (one line, never the key) when it cannot be used."""
    if text := os.environ.get(KEY_ENV, "").strip():
        return _seal(_key_of(text, KEY_ENV), KEY_ENV)
    path = key_path()
    try:
        info = path.stat()
        if stat.S_IMODE(info.st_mode) & 0o077:
            raise ConfigError(
                f"key file {path} is open to others (mode {stat.S_IMODE(info.st_mode):04o}): "
                f"not used; make it 0600 (chmod 600 {path})"
            )
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"key file {path} cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    return _seal(_key_of(text, f"key file {path}"), f"key file {path}")


def _key_of(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise ConfigError(f"{source} is not a session key ({MAKE_ONE})")
    return key


def _seal(key: bytes, source: str) -> Seal:
    if importlib.util.find_spec("cryptography") is None:
        raise ConfigError(f"{source} is set but {INSTALL_HINT}")
    return Seal(key, source)
