"""The serialization plugin against the real anthropic SDK: replies parsed from API JSON, requests built by it.

No network: the SDK runs over an in-process httpx2 transport that answers with canned API JSON and records
what the SDK would have sent.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from enum import StrEnum
from importlib.metadata import entry_points
from typing import Any

import agentwinter_serialization
import anthropic
import httpx2
import orjson
import pytest
from agentwinter_serialization import dump_json, serialize_content, to_json_safe
from anthropic.types import TextBlock, ThinkingBlock, ToolUseBlock

from agentwinter_core import hookimpl
from agentwinter_core.default_plugins import core_defaults
from agentwinter_core.host import PluginManager, build_plugin_manager

# One reply with every block type agentwinter must keep verbatim, as the API sends it.
API_CONTENT: list[dict[str, Any]] = [
    {"type": "thinking", "thinking": "Look at the loader first.", "signature": "EqQBCkgIARABGAIiQL2+/sig=="},
    {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"},
    {"type": "text", "text": "Searching the docs."},
    {"type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search", "input": {"query": "pluggy firstresult"}},
    {
        "type": "web_search_tool_result",
        "tool_use_id": "srvtoolu_01",
        "content": [
            {
                "type": "web_search_result",
                "url": "https://pluggy.readthedocs.io/",
                "title": "pluggy",
                "encrypted_content": "EqgfCioIARgBIiQ3YTAw",
                "page_age": None,  # sent as null by the API: kept, since the API sent it
            }
        ],
    },
    {
        "type": "text",
        "text": "Per the docs, the first non-None result wins.",
        "citations": [
            {
                "type": "web_search_result_location",
                "url": "https://pluggy.readthedocs.io/",
                "title": "pluggy",
                "encrypted_index": "Eo8BCioIAhgBIiQ",
                "cited_text": "firstresult: stop at first non-None result",
            }
        ],
    },
    {"type": "tool_use", "id": "toolu_01", "name": "read_file", "input": {"path": "src/app.py", "lines": [1, 40]}},
    {"type": "tool_use", "id": "toolu_02", "name": "search", "input": {"pattern": "hookimpl", "glob": None}},
    # Newer than this SDK: an unknown block type and a known one with an extra field.
    {"type": "compaction", "content": "Summary of the earlier turns.", "signature": "c2lnCg=="},
    {"type": "text", "text": "Done.", "future_field": {"nested": [1, 2.5, True]}},
]


def api_message(content: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-5-5",
        "content": content,
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 34},
    }


class Recorder:
    """An httpx2 transport: records every request body and answers with one canned API reply."""

    def __init__(self, reply: dict[str, Any]) -> None:
        self.reply, self.bodies = reply, []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.bodies.append(orjson.loads(request.content))
        return httpx2.Response(200, json=self.reply)


def make_client(recorder: Recorder) -> anthropic.Anthropic:
    http = httpx2.Client(transport=httpx2.MockTransport(recorder))
    return anthropic.Anthropic(api_key="test-key", base_url="http://localhost:9", http_client=http, max_retries=0)


@pytest.fixture(scope="module")
def reply() -> anthropic.types.Message:
    """The SDK's own parse of API_CONTENT (the same path a real response takes)."""
    client = make_client(Recorder(api_message(API_CONTENT)))
    return client.messages.create(
        model="claude-sonnet-5-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    )


def round_trip(blocks: list[Any]) -> list[dict[str, Any]]:
    return orjson.loads(dump_json(serialize_content(blocks)))


def test_reply_blocks_are_sdk_objects(reply):
    assert not any(isinstance(block, dict) for block in reply.content)
    assert isinstance(reply.content[0], ThinkingBlock)


@pytest.mark.parametrize("index", range(len(API_CONTENT)), ids=lambda i: f"{i}-{API_CONTENT[i]['type']}")
def test_every_block_type_round_trips_to_the_api_json(reply, index):
    assert round_trip([reply.content[index]]) == [API_CONTENT[index]]


def test_whole_reply_round_trips(reply):
    assert round_trip(reply.content) == API_CONTENT


def test_thinking_signature_and_redacted_data_kept_verbatim(reply):
    thinking, redacted = serialize_content(reply.content[:2])
    assert thinking == {
        "type": "thinking",
        "thinking": API_CONTENT[0]["thinking"],
        "signature": API_CONTENT[0]["signature"],
    }
    assert redacted["data"] == API_CONTENT[1]["data"]


def test_no_fields_the_api_did_not_send(reply):
    # ToolUseBlock has optional `caller` / `toolset_name`, TextBlock `citations`: none may appear as null.
    for sent, block in zip(API_CONTENT, serialize_content(reply.content), strict=True):
        assert block.keys() == sent.keys()
    built = serialize_content(
        [TextBlock(type="text", text="x"), ToolUseBlock(type="tool_use", id="t", name="n", input={})]
    )
    assert built == [{"type": "text", "text": "x"}, {"type": "tool_use", "id": "t", "name": "n", "input": {}}]


def test_unknown_block_types_survive(reply):
    compaction, future_text = serialize_content(reply.content[-2:])
    assert compaction == API_CONTENT[-2]
    assert future_text["future_field"] == {"nested": [1, 2.5, True]}
    as_dict = {"type": "compaction_2027", "payload": {"opaque": "x"}}
    assert serialize_content([as_dict]) == [as_dict]


def test_tool_results_string_and_list_content():
    text_result = {"type": "tool_result", "tool_use_id": "toolu_01", "content": "def main():\n    pass\n"}
    error_result = {"type": "tool_result", "tool_use_id": "toolu_02", "content": "no such file", "is_error": True}
    list_result = {
        "type": "tool_result",
        "tool_use_id": "toolu_03",
        "content": (TextBlock(type="text", text="part 1"), {"type": "text", "text": "part 2"}),
    }
    out = round_trip([text_result, error_result, list_result])
    assert out[:2] == [text_result, error_result]
    assert out[2]["content"] == [{"type": "text", "text": "part 1"}, {"type": "text", "text": "part 2"}]


def test_dicts_are_normalised_into_fresh_copies():
    nested = {
        "type": "tool_use",
        "id": "t",
        "name": "git",
        "input": {"args": ("log", "-n", 5), "block": TextBlock(type="text", text="t")},
    }
    before = copy.deepcopy(nested)
    [out] = serialize_content([nested])
    assert out["input"] == {"args": ["log", "-n", 5], "block": {"type": "text", "text": "t"}}
    assert nested == before  # the caller's dict is untouched
    assert out["input"] is not nested["input"]


def test_enum_subclasses_become_plain_values():
    class Role(StrEnum):
        USER = "user"

    out = to_json_safe({"role": Role.USER, Role.USER: 1})
    assert out == {"role": "user", "user": 1}
    assert type(out["role"]) is str and all(type(key) is str for key in out)


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ([{"type": "text", "text": "x", "tags": {"a", "b"}}], "content[0].tags"),
        ([{"type": "tool_use", "id": "t", "name": "n", "input": {1: "x"}}], "content[0].input"),
        (
            [{"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text", "text": b"raw"}]}],
            "content[0].content[0].text",
        ),
        ([{"type": "text", "text": "x", "score": float("nan")}], "content[0].score"),
        ([TextBlock(type="text", text="x"), {"type": "text", "text": object()}], "content[1].text"),
    ],
)
def test_unconvertible_values_raise_a_clear_type_error(content, where):
    with pytest.raises(TypeError, match=f"cannot make {re.escape(where)} JSON-safe"):
        serialize_content(content)


def test_content_must_be_a_list_of_blocks():
    with pytest.raises(TypeError, match="list of blocks"):
        serialize_content("hello")
    with pytest.raises(TypeError, match=r"content\[0\] is not a content block"):
        serialize_content(["hello"])


def test_dump_json_is_deterministic_and_compact():
    first = {"b": 1, "a": {"y": [1, {"d": 2, "c": 3}], "x": "é"}}
    second = {"a": {"x": "é", "y": [1, {"c": 3, "d": 2}]}, "b": 1}
    assert dump_json(first) == dump_json(second) == '{"a":{"x":"é","y":[1,{"c":3,"d":2}]},"b":1}'.encode()


def test_dump_json_converts_sdk_objects_and_rejects_the_rest(reply):
    assert orjson.loads(dump_json({"content": list(reply.content)})) == {"content": API_CONTENT}
    with pytest.raises(TypeError):
        dump_json({"a": {1, 2}})


def test_serialized_history_is_sent_back_unchanged_by_the_sdk(reply):
    """The SDK accepts the dicts as message params and sends exactly them (no re-validation, no loss)."""
    assistant = serialize_content(reply.content)
    results = [
        {"type": "tool_result", "tool_use_id": "toolu_01", "content": "x = 1\n"},
        {
            "type": "tool_result",
            "tool_use_id": "toolu_02",
            "content": [{"type": "text", "text": "no match"}],
            "is_error": True,
        },
    ]
    messages = [
        {"role": "user", "content": "What does the loader do?"},
        {"role": "assistant", "content": assistant},
        {"role": "user", "content": results},
    ]
    stored = orjson.loads(dump_json(messages))  # what a session store would reload
    recorder = Recorder(api_message([{"type": "text", "text": "It loads plugins."}]))
    make_client(recorder).messages.create(model="claude-sonnet-5-5", max_tokens=64, messages=stored)
    assert recorder.bodies[0]["messages"] == stored
    assert recorder.bodies[0]["messages"][1]["content"] == API_CONTENT


def test_plugin_is_found_via_its_entry_point():
    [ep] = [ep for ep in entry_points(group="agentwinter") if ep.name == "serialization"]
    assert ep.value == "agentwinter_serialization"
    assert ep.dist is not None and ep.dist.name == "agentwinter-serialization"
    assert ep.load() is agentwinter_serialization


def test_host_uses_the_plugin_over_the_core_defaults():
    pm = build_plugin_manager(disabled={"builtin_tools"})  # only the hooks under test
    assert pm.has_plugin("serialization")
    # The core default would keep the tuple and write spaces-free json via the stdlib; the plugin lists it.
    assert pm.hook.serialize_content(content=[{"type": "x", "v": (1, 2)}]) == [{"type": "x", "v": [1, 2]}]
    assert pm.hook.dump_json(value={"b": 1, "a": 2}) == b'{"a":2,"b":1}'


class ThirdPartyJson:
    @hookimpl
    def dump_json(self, value: Any) -> bytes:
        return b"third-party"


@pytest.mark.parametrize("first", ["third party", "serialization"])
def test_a_third_party_dump_json_wins_whatever_the_registration_order(first):
    """The plugin's hooks are trylast defaults: a plain implementation wins, registered before or after it."""
    pm = PluginManager()
    plugins = [(ThirdPartyJson(), "third_party"), (agentwinter_serialization, "serialization")]
    for plugin, name in plugins if first == "third party" else reversed(plugins):
        pm.register(plugin, name=name)
    pm.register(core_defaults, name="core_defaults")  # as build_plugin_manager does: the core's defaults last
    assert pm.hook.dump_json(value={}) == b"third-party"


def test_import_does_not_load_the_sdk():
    code = "import sys, agentwinter_serialization; print('anthropic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
