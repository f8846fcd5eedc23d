"""The standard benchmark workload: a deterministic 40-turn coding conversation in Messages-API JSON.

Plain dicts, exactly the shape agentwinter stores: user queries as text blocks, assistant replies with an
optional signed ``thinking`` block, some text and 1–3 ``tool_use`` blocks, answered by one user message of
``tool_result`` blocks (string content mostly, a few lists of text blocks, an occasional ``is_error``).
Everything comes from one seeded ``random.Random``: same seed, same bytes. No network.

Per 40 turns: 220 messages, 111 tool results (outputs of 0.2–18 KB, errors short), ~0.5 MB of compact JSON.
The counts are spread exactly (then shuffled) rather than sampled, so every seed hits the same targets.

    python -m bench.workload        # prints describe()
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

Message = dict[str, Any]
Block = dict[str, Any]
T = TypeVar("T")

# Tool rounds per turn, as exact shares (per 40 turns: 20x1, 12x2, 6x3, 2x4 = 70 rounds -> 220 messages).
ROUNDS_PER_TURN = {1: 20, 2: 12, 3: 6, 4: 2}
# tool_use blocks per assistant message (several in one message = a parallel batch): ~1.6 on average.
USES_PER_ROUND = {1: 11, 2: 6, 3: 3}
TOOL_WEIGHTS = {"read_file": 45, "search": 30, "git": 15, "list_files": 10}
# tool_result sizes in characters: log-uniform, skewed a little further toward small outputs (a few large files).
RESULT_CHARS = (200, 18_000)
SIZE_SKEW = 1.2
# How tool results look, as exact shares: a plain string, a list of text blocks, or a short is_error message.
RESULT_KINDS = {"text": 88, "list": 8, "error": 4}
THINKING_SHARE = 0.3  # of assistant messages that start with a signed thinking block
ANSWER_CHARS = (200, 1500)

MODULES = ["config", "session", "plugins", "cache", "cli", "http", "store", "models", "history", "tools", "render"]
NOUNS = ["config", "session", "plugin", "cache", "message", "entry", "token", "stream", "request", "result",
         "loader", "store", "record", "block", "query", "path", "index", "handler", "payload", "snapshot"]  # fmt: skip
VERBS = ["load", "save", "parse", "build", "render", "resolve", "validate", "merge", "flush", "fetch", "apply"]
TYPES = ["str", "int", "bool", "Path", "dict[str, Any]", "list[str]", "Session", "Config", "bytes"]
AUTHORS = ["Ada Park <ada@example.org>", "Lin Ortiz <lin@example.org>", "Sam Okafor <sam@example.org>"]


def build_session(turns: int = 40, seed: int = 0) -> list[list[Message]]:
    """Per turn, the messages it appends: query, tool rounds (assistant tool_use -> user tool_result), answer."""
    writer = _Writer(random.Random(seed))
    rounds = _spread(writer.rng, turns, ROUNDS_PER_TURN)
    uses_list = _spread(writer.rng, sum(rounds), USES_PER_ROUND)
    writer.sizes = iter(_stratified_sizes(writer.rng, sum(uses_list)))
    writer.kinds = iter(_spread(writer.rng, sum(uses_list), RESULT_KINDS))
    uses = iter(uses_list)
    return [writer.turn(number, [next(uses) for _ in range(count)]) for number, count in enumerate(rounds)]


def all_messages(turns: list[list[Message]]) -> list[Message]:
    """The whole conversation, as sent to the API on the last turn."""
    return [message for turn in turns for message in turn]


def dump(messages: list[Message]) -> bytes:
    """Compact JSON with sorted keys (the way agentwinter stores it), stdlib only."""
    return json.dumps(messages, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def stats(messages: list[Message]) -> dict[str, Any]:
    """Counts and sizes of a conversation: what describe() prints and the benchmarks report."""
    results = [b for m in messages for b in m["content"] if b["type"] == "tool_result"]
    outputs = [result_chars(r) for r in results if not r.get("is_error")]
    return {
        "messages": len(messages),
        "bytes": len(dump(messages)),
        "tool_results": len(results),
        "output_chars": (min(outputs), max(outputs)) if outputs else (0, 0),  # successful results only
        "output_total": sum(outputs),
        "errors": len(results) - len(outputs),
        "list_results": sum(1 for r in results if isinstance(r["content"], list)),
        "thinking": sum(1 for m in messages for b in m["content"] if b["type"] == "thinking"),
    }


def result_chars(result: Block) -> int:
    """Characters of a tool_result's content, string or list of text blocks."""
    content = result["content"]
    return len(content) if isinstance(content, str) else sum(len(block.get("text", "")) for block in content)


def describe(turns: int = 40, seed: int = 0) -> dict[str, Any]:
    """Print (and return) the workload's shape."""
    info = stats(all_messages(build_session(turns, seed)))
    low, high = info["output_chars"]
    print(
        f"workload: {turns} turns, seed {seed}: {info['messages']} messages, {info['bytes']:,} bytes "
        f"({info['bytes'] / 1e6:.2f} MB) of compact JSON\n"
        f"  tool results: {info['tool_results']} ({info['list_results']} as block lists, {info['errors']} errors), "
        f"outputs {low:,}–{high:,} characters each, {info['output_total']:,} in all\n"
        f"  thinking blocks: {info['thinking']}"
    )
    return info


def _spread(rng: random.Random, count: int, weights: dict[T, int]) -> list[T]:
    """``count`` values in the exact proportions of ``weights`` (largest remainder), shuffled."""
    total = sum(weights.values())
    exact = {value: count * weight / total for value, weight in weights.items()}
    shares = {value: int(share) for value, share in exact.items()}
    by_remainder = sorted(exact, key=lambda value: exact[value] - shares[value], reverse=True)
    for value in by_remainder[: count - sum(shares.values())]:
        shares[value] += 1
    values = [value for value, share in shares.items() for _ in range(share)]
    rng.shuffle(values)
    return values


def _stratified_sizes(rng: random.Random, count: int) -> list[int]:
    """Log-uniform sizes, one per quantile stratum: random each, yet the total barely varies by seed."""
    low, high = RESULT_CHARS
    sizes = [round(low * (high / low) ** (((i + rng.random()) / count) ** SIZE_SKEW)) for i in range(count)]
    rng.shuffle(sizes)
    return sizes


class _Writer:
    """Writes the conversation's messages; holds the random source and the tool_use ids handed out."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.ids: set[str] = set()
        self.files = [f"src/tidewater/{name}.py" for name in MODULES] + [f"tests/test_{n}.py" for n in MODULES[:7]]
        self.sizes: Iterator[int] = iter(())  # per tool result, in order: set by build_session
        self.kinds: Iterator[str] = iter(())

    def turn(self, number: int, uses_per_round: list[int]) -> list[Message]:
        messages = [{"role": "user", "content": [_text(self.query(number))]}]
        for uses in uses_per_round:
            calls = [self.tool_use() for _ in range(uses)]
            messages.append({"role": "assistant", "content": [*self.thinking(), _text(self.prose(40, 300)), *calls]})
            messages.append({"role": "user", "content": [self.tool_result(call) for call in calls]})
        messages.append({"role": "assistant", "content": [*self.thinking(), _text(self.prose(*ANSWER_CHARS))]})
        return messages

    # --- assistant side -------------------------------------------------------------------------------
    def thinking(self) -> list[Block]:
        if self.rng.random() >= THINKING_SHARE:
            return []
        signature = base64.b64encode(self.rng.randbytes(self.rng.randint(180, 360))).decode()
        return [{"type": "thinking", "thinking": self.prose(200, 1200), "signature": signature}]

    def tool_use(self) -> Block:
        name = self.rng.choices(list(TOOL_WEIGHTS), weights=list(TOOL_WEIGHTS.values()))[0]
        return {"type": "tool_use", "id": self.new_id(), "name": name, "input": TOOL_INPUTS[name](self)}

    def new_id(self) -> str:
        alphabet = string.ascii_letters + string.digits
        while (tool_id := "toolu_01" + "".join(self.rng.choices(alphabet, k=22))) in self.ids:
            pass
        self.ids.add(tool_id)
        return tool_id

    def prose(self, low: int, high: int) -> str:
        """Sentences up to a length drawn in [low, high]: stops past the target minus one sentence."""
        target, text = self.rng.randint(low, high - 152), ""  # a sentence adds at most 152
        while len(text) < target:
            sentence = self.sentence()
            if text:  # bullets on their own line, and a paragraph break now and then
                text += "\n" if sentence.startswith("- ") else "\n\n" if self.rng.random() < 0.2 else " "
            text += sentence
        return text

    def sentence(self) -> str:
        r, noun, verb = self.rng, self.rng.choice(NOUNS), self.rng.choice(VERBS)
        templates = [
            f"`{r.choice(self.files)}` calls `{verb}_{noun}()` before the {r.choice(NOUNS)} is ready.",
            f"The {noun} is handled in `{r.choice(MODULES)}.{verb}_{noun}`, line {r.randint(10, 400)}.",
            f"- `{verb}_{noun}` returns early when the {r.choice(NOUNS)} is empty, so nothing is cached.",
            f"Let me check how `{r.choice(NOUNS).title()}{noun.title()}` is built in `{r.choice(self.files)}`.",
            f"I'll {verb} the {noun} path with a search for `{verb}_{noun}` and read the matches.",
            f"That explains the failure: `{verb}_{noun}` runs twice and the second call drops the {r.choice(NOUNS)}.",
        ]
        return r.choice(templates)[:150]

    # --- user side ------------------------------------------------------------------------------------
    def query(self, number: int) -> str:
        r, noun, verb = self.rng, self.rng.choice(NOUNS), self.rng.choice(VERBS)
        asks = [
            f"How does tidewater {verb} the {noun}? Walk me through the code path.",
            f"Why does `{verb}_{noun}` fail when the {r.choice(NOUNS)} is missing? Here is the traceback I get.",
            f"Where do we {verb} the {noun}, and which tests cover it?",
            f"Can you find every caller of `{verb}_{noun}` and tell me which ones ignore its return value?",
            f"What changed in the last commits around the {noun} {r.choice(NOUNS)}s?",
        ]
        return r.choice(asks) if number else f"I'm new to this repository. {r.choice(asks)}"

    def tool_result(self, call: Block) -> Block:
        result: Block = {"type": "tool_result", "tool_use_id": call["id"]}
        kind, size = next(self.kinds), next(self.sizes)
        if kind == "error":
            result["content"] = f"Error: {call['name']} failed: no such file or directory: {self.rng.choice(NOUNS)}.py"
            result["is_error"] = True
            return result
        output = _sized(OUTPUTS[call["name"]](self), size)
        if kind == "list":
            cut = output.rfind("\n", 0, len(output) // 2) + 1 or len(output) // 2
            result["content"] = [_text(output[:cut]), _text(output[cut:])]
        else:
            result["content"] = output
        return result


def _text(text: str) -> Block:
    return {"type": "text", "text": text}


def _sized(lines: Iterator[str], size: int) -> str:
    """Lines joined until ``size`` characters, cut there (tools truncate long output the same way)."""
    parts, length = [], 0
    for line in lines:
        parts.append(line)
        length += len(line) + 1
        if length >= size:
            break
    return "\n".join(parts)[:size]


# --- tool inputs ------------------------------------------------------------------------------------------
def _read_file_input(w: _Writer) -> dict[str, Any]:
    tool_input: dict[str, Any] = {"path": w.rng.choice(w.files)}
    if w.rng.random() < 0.3:
        start = w.rng.randint(1, 300)
        tool_input |= {"start_line": start, "end_line": start + w.rng.randint(20, 200)}
    return tool_input


def _search_input(w: _Writer) -> dict[str, Any]:
    pattern = rf"def {w.rng.choice(VERBS)}_\w+" if w.rng.random() < 0.3 else f"{w.rng.choice(NOUNS)}"
    return {"pattern": pattern, "path": w.rng.choice(["src", "tests", "."]), "glob": "*.py"}


def _list_files_input(w: _Writer) -> dict[str, Any]:
    return {"path": w.rng.choice([".", "src/tidewater", "tests", "docs"]), "depth": w.rng.randint(1, 3)}


def _git_input(w: _Writer) -> dict[str, Any]:
    options = [
        ["log", "--oneline", "-n", "30"],
        ["diff", "HEAD~3", "--", w.rng.choice(w.files)],
        ["blame", "-L", "40,120", w.rng.choice(w.files)],
        ["show", "--stat", "HEAD"],
        ["status", "--short"],
    ]
    return {"args": w.rng.choice(options)}


TOOL_INPUTS: dict[str, Callable[[_Writer], dict[str, Any]]] = {
    "read_file": _read_file_input,
    "search": _search_input,
    "list_files": _list_files_input,
    "git": _git_input,
}


# --- tool outputs: endless realistic lines, cut to size by _sized ------------------------------------------
def _code_lines(w: _Writer) -> Iterator[str]:
    number = 0
    yield from ('"""Tidewater: sessions, plugins and their cache."""', "", "from __future__ import annotations", "")
    while True:
        for line in _function(w):
            number += 1
            yield f"{number:>6}\t{line}"


def _function(w: _Writer) -> list[str]:
    r, noun, verb, other = w.rng, w.rng.choice(NOUNS), w.rng.choice(VERBS), w.rng.choice(NOUNS)
    return [
        f"def {verb}_{noun}({other}: {r.choice(TYPES)}, *, strict: bool = False) -> {r.choice(TYPES)}:",
        f'    """{verb.title()} the {noun} from a {other}; raises {noun.title()}Error when strict."""',
        f"    found = {other}.get({noun!r})",
        "    if found is None:",
        "        if strict:",
        f'            raise {noun.title()}Error(f"no {noun} in {{{other}!r}}")',
        "        return None",
        f"    for item in found.{r.choice(NOUNS)}s:",
        f"        {r.choice(NOUNS)}_cache[item.key] = item.{r.choice(VERBS)}()",
        f"    return {r.choice(VERBS)}_{r.choice(NOUNS)}(found, limit={r.randint(1, 512)})",
        "",
    ]


def _search_lines(w: _Writer) -> Iterator[str]:
    while True:
        r = w.rng
        code = r.choice(_function(w)[:10]).strip()
        yield f"{r.choice(w.files)}:{r.randint(1, 900)}:    {code}"


def _tree_lines(w: _Writer) -> Iterator[str]:
    while True:
        r = w.rng
        folder = r.choice(["src/tidewater", "src/tidewater/plugins", "tests", "docs", "tests/fixtures"])
        suffix = ".md" if folder == "docs" else ".json" if "fixtures" in folder else ".py"
        yield f"{folder}/{r.choice(VERBS)}_{r.choice(NOUNS)}{suffix}  {r.randint(80, 40_000)} bytes"


def _git_lines(w: _Writer) -> Iterator[str]:
    while True:
        r = w.rng
        yield f"commit {r.randbytes(20).hex()}"
        yield f"Author: {r.choice(AUTHORS)}"
        yield f"Date:   2026-{r.randint(1, 12):02}-{r.randint(1, 28):02} {r.randint(8, 19)}:{r.randint(0, 59):02}"
        yield f"    {r.choice(VERBS).title()} {r.choice(NOUNS)} before the {r.choice(NOUNS)} is flushed"
        path = r.choice(w.files)
        yield f"diff --git a/{path} b/{path}"
        yield f"@@ -{r.randint(1, 300)},7 +{r.randint(1, 300)},8 @@"
        yield from (f"{r.choice('+- ')}{line}" for line in _function(w)[:8])


OUTPUTS: dict[str, Callable[[_Writer], Iterator[str]]] = {
    "read_file": _code_lines,
    "search": _search_lines,
    "list_files": _tree_lines,
    "git": _git_lines,
}


if __name__ == "__main__":
    describe()
