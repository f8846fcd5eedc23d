"""A plugin object that keeps the conversation between queries, as the sessions plugin does without Redis."""

from __future__ import annotations

from agentwinter_core import hookimpl


class Memory:
    """The core forgets the conversation after every query; this puts it back before the next one."""

    def __init__(self) -> None:
        self.kept = None

    @hookimpl
    def before_query(self, app):
        if self.kept is not None:
            app.conversation = self.kept

    @hookimpl
    def after_response(self, app):
        self.kept = app.conversation
