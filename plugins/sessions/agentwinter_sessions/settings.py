"""Where sessions live and for how long: config file ``[sessions]`` < environment."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentwinter_core.api import Config, Setting, boolean, data_dir, positive_int, read_settings, whole_number
from agentwinter_sessions import sealing
from agentwinter_sessions.connect import DEFAULT_URL, ConfigError, Target, target
from agentwinter_sessions.sealing import Seal

if TYPE_CHECKING:  # redis-py loads with the first query, not with the settings
    from agentwinter_sessions.redis_store import RedisStore

# A key prefix an ACL key pattern (~PREFIX:*) can name, that keeps Cluster hash tags intact: no braces,
# no glob characters, no spaces.
KEY_PREFIX = re.compile(r"[A-Za-z0-9_.@-]+(:[A-Za-z0-9_.@-]+)*")


@dataclass(frozen=True)
class Settings:
    target: Target = field(default_factory=lambda: target(DEFAULT_URL, {}))
    ttl_seconds: int = 45 * 60
    warn_messages: int = 30
    max_bytes: int = 16 * 1024 * 1024
    list_limit: int = 20
    archive: bool = True  # with the archive extra installed; off: nothing is archived, nothing searched
    archive_dir: Path = field(default_factory=lambda: data_dir() / "archive")
    spill_dir: Path = field(default_factory=lambda: data_dir() / "unsaved")
    archive_margin_seconds: int = 10 * 60  # sessions this close to expiry are archived by the sweep
    sweep_seconds: int = 5 * 60  # how often a running REPL sweeps
    seal: Seal | None = field(default=None, repr=False)  # the key that encrypts stored sessions, if any
    key_prefix: str = "agentwinter"  # every key is PREFIX:...; one per person lets an ACL user be limited to it

    @classmethod
    def load(cls, config: Config, warn: Any) -> Settings:
        """The settings; ``connect.ConfigError`` (one line) when the Redis settings cannot work."""
        table = config.section("sessions")
        url = os.environ.get("AGENTWINTER_REDIS_URL") or table.get("redis_url")
        values: dict[str, Any] = {"target": target(url if url is None else str(url), table)}
        values["seal"] = sealing.load()
        checked = read_settings(config, "sessions", KEYS, warn)
        if "ttl_minutes" in checked:
            values["ttl_seconds"] = checked.pop("ttl_minutes") * 60
        if env_ttl := os.environ.get("AGENTWINTER_SESSION_TTL"):  # in seconds, unlike the file's minutes
            values["ttl_seconds"] = positive_int(env_ttl, "AGENTWINTER_SESSION_TTL", 45 * 60, warn)
        values.update(checked)
        if "key_prefix" in table:
            values["key_prefix"] = key_prefix(table["key_prefix"])
        if (switch := os.environ.get("AGENTWINTER_ARCHIVE", "").strip().lower()) in ("off", "0", "false", "no"):
            values["archive"] = False  # the variable wins over the file, like every other one
        elif switch in ("on", "1", "true", "yes"):
            values["archive"] = True
        elif switch:
            warn(f"AGENTWINTER_ARCHIVE must be on or off, not {os.environ['AGENTWINTER_ARCHIVE']!r}; ignored")
        if archive := os.environ.get("AGENTWINTER_ARCHIVE_DIR") or table.get("archive_dir"):
            values["archive_dir"] = Path(str(archive)).expanduser()
        return cls(**values)

    @property
    def where(self) -> str:
        """The Redis, for messages (no password)."""
        return self.target.shown

    def store(self) -> RedisStore:
        """The Redis store these settings describe (redis-py is imported only now)."""
        from agentwinter_sessions.redis_store import RedisStore

        return RedisStore(self.target, self.ttl_seconds, self.key_prefix, seal=self.seal)

    def ttl_text(self) -> str:
        minutes, seconds = divmod(self.ttl_seconds, 60)
        return f"{minutes} min" if not seconds else f"{self.ttl_seconds} s"


KEYS = {
    "archive": Setting(boolean, "true or false (without quotes)", True),
    "ttl_minutes": Setting(whole_number, "a positive whole number", 45),
    **{
        name: Setting(whole_number, "a positive whole number", getattr(Settings, name))
        for name in ("warn_messages", "max_bytes", "list_limit", "archive_margin_seconds", "sweep_seconds")
    },
}


def key_prefix(value: Any) -> str:
    """A checked ``[sessions] key_prefix``; ConfigError (one line) when an ACL pattern could not name it."""
    if not isinstance(value, str) or not KEY_PREFIX.fullmatch(value):
        raise ConfigError(
            f"sessions: key_prefix {value!r} is not a key prefix: letters, digits and . _ - @, parts joined by ':' "
            "(e.g. agentwinter:alice)"
        )
    return value
