"""``agentwinter --help`` from a cache: building it takes typer, pluggy and every plugin (~0.3 s), while
the text only changes with what is installed, the terminal and a few environment variables.

The cache is written by a real ``--help`` run (what it printed, as printed) and used while nothing it
depends on changed: the same version, interpreter, terminal width and colour, the environment variables
below, and the modification times of every non-standard-library module that run loaded and of each
``sys.path`` directory (a package installed or removed changes its directory).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import sysconfig
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from agentwinter_core import __version__

HELP_ARGS = (["--help"], ["-h"])
ENVIRONMENT = (
    "AGENTWINTER_DISABLE_PLUGINS", "AGENTWINTER_CONFIG", "COLUMNS", "LINES", "TERM", "COLORTERM", "NO_COLOR",
    "FORCE_COLOR", "TERMINAL_WIDTH", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "_TYPER_FORCE_DISABLE_TERMINAL",
)  # fmt: skip


def wanted(args: list[str]) -> bool:
    return args in HELP_ARGS


def show() -> bool:
    """Print the cached help and say True, or False when there is none still valid."""
    try:
        cached = json.loads(_path().read_text(encoding="utf-8"))
        if cached["stamps"] != _stamps(cached["stamps"]):
            return False
        sys.stdout.write(cached["text"])
        sys.stdout.flush()
        return True
    except (OSError, ValueError, KeyError, TypeError):
        return False


@contextmanager
def recording(args: list[str]) -> Iterator[None]:
    """Around a real run: when it printed the help and ended well, keep what it printed."""
    if not wanted(args):
        yield
        return
    real, tee = sys.stdout, _Tee(sys.stdout)
    sys.stdout = tee
    try:
        yield
    except SystemExit as exc:
        if exc.code in (0, None):
            _save("".join(tee.parts))
        raise
    else:
        _save("".join(tee.parts))
    finally:
        sys.stdout = real


class _Tee:
    """stdout, remembering what was written; anything else (isatty, fileno, encoding) is stdout's."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        if isinstance(text, str):  # click probes for a binary stream by writing b""
            self.parts.append(text)
        return self.stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _save(text: str) -> None:
    stdlib = {sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib")}
    files = {
        path
        for module in list(sys.modules.values())
        if (path := getattr(module, "__file__", None)) and not path.startswith(tuple(stdlib))
    }
    folders = {entry for entry in sys.path if entry and os.path.isdir(entry)}
    try:
        path = _path()
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps({"stamps": _stamps(files | folders), "text": text}), encoding="utf-8")
        temporary.replace(path)
    except OSError:
        pass  # no cache this time: the next --help builds the text again


def _stamps(paths: Any) -> dict[str, int]:
    found = {}
    for path in paths:
        try:
            found[path] = os.stat(path).st_mtime_ns
        except OSError:
            found[path] = -1
    return found


def _path() -> Path:
    width, isatty = os.get_terminal_size(1).columns if sys.stdout.isatty() else 0, sys.stdout.isatty()
    key = "\0".join([__version__, sys.executable, str(width), str(isatty), *map(_env, ENVIRONMENT)])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "agentwinter" / f"help-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"


def _env(name: str) -> str:
    return f"{name}={os.environ.get(name, '')}"
