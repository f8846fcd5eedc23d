"""The anthropic SDK, its client and the markdown renderer, loaded in a background thread: the first query
does not wait for them.

Importing the SDK takes about a second on a small machine. A one-shot or piped run starts the thread at
start-up (the import overlaps with the plugins' start-up); the REPL starts it once the prompt is shown, so
it runs while the person types. The first query joins the thread: it then waits only for what is left.
"""

from __future__ import annotations

import os
import threading
from typing import Any

_lock = threading.Lock()
_thread: threading.Thread | None = None
_built: list[tuple[dict[str, str], Any]] = []  # (the ANTHROPIC_* environment it read, the client)


def start() -> None:
    """Begin loading the SDK and building a client, once per process."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_build, name="anthropic-preload", daemon=True)
            _thread.start()


def _build() -> None:
    try:
        import anthropic
        import rich.live
        import rich.markdown
        import rich.spinner  # noqa: F401  (what the first answer draws with)

        _built.append((_settings(), anthropic.Anthropic()))
    except Exception:  # no key or a broken install: client() builds again in the open and says why
        pass


def client() -> Any:
    """An ``anthropic.Anthropic`` client: the preloaded one when it is there, else a new one."""
    start()
    assert _thread is not None
    _thread.join()
    if _built and _built[0][0] == _settings():
        return _built.pop()[1]
    _built.clear()  # made for other settings (tests change the environment between runs)
    import anthropic

    return anthropic.Anthropic()


def _settings() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name.startswith("ANTHROPIC_")}
