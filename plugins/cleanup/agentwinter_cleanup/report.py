"""What cleanup removed, kept in the conversation's metadata (so sessions persist it) and shown by !context."""

from __future__ import annotations

from typing import Any

from agentwinter_cleanup.policies import CLEARED, SUMMARIZED, Outcome, content_text, estimate_tokens, result_positions
from agentwinter_cleanup.settings import Settings
from agentwinter_core.api import App

RECENT = 20  # cleared results remembered by name for !context


def record(app: App, outcome: Outcome) -> None:
    if not outcome.cleared:
        return
    stats = totals(app)
    stats["results_cleared"] += len(outcome.cleared)
    stats["tokens_removed"] += outcome.tokens_removed
    stats["clears"] += 1
    stats["recent"] = ([item.to_dict() for item in outcome.cleared] + stats["recent"])[:RECENT]
    app.conversation.metadata["cleanup"] = stats
    app.ui.info(
        f"🧹 Cleared {plural(len(outcome.cleared), 'old tool result')} (~{outcome.tokens_removed:,} tokens) "
        "to keep the context small; !context shows what"
    )


def totals(app: App) -> dict[str, Any]:
    stored = app.conversation.metadata.get("cleanup")
    stats: dict[str, Any] = {"results_cleared": 0, "tokens_removed": 0, "clears": 0, "recent": []}
    if isinstance(stored, dict):  # metadata comes back from storage: take only what has the right shape
        stats.update({k: v for k, v in stored.items() if k in stats and isinstance(v, type(stats[k]))})
    return stats


def context(app: App, settings: Settings) -> str:
    messages = app.conversation.messages
    stats = totals(app)
    results = [messages[i]["content"][j] for i, j in result_positions(messages)]
    shrunk = sum(1 for r in results if content_text(r.get("content")).startswith((CLEARED, SUMMARIZED)))
    lines = [
        f"**Context cleanup** — {settings.describe()}",
        "",
        f"- context now: ~{estimate_tokens(messages):,} tokens in {len(messages)} messages "
        f"({plural(len(results), 'tool result')}, {shrunk} of them cleared)",
        f"- removed so far: {plural(stats['results_cleared'], 'tool result')}, ~{stats['tokens_removed']:,} tokens, "
        f"in {plural(stats['clears'], 'clear')}",
    ]
    if stats["recent"]:
        lines += ["", "Most recently cleared (run the tool again to see one):"]
        lines += [
            f"- {item.get('tool')} `{item.get('input')}` — {item.get('chars', 0):,} characters"
            for item in stats["recent"]
            if isinstance(item, dict)
        ]
    return "\n".join(lines)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
