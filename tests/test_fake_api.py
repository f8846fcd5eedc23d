"""The fake Messages API must behave like the real one, or every test built on it proves nothing."""

from __future__ import annotations

import anthropic
import pytest

from tests.helpers import fake_api as fake


@pytest.fixture
def client(fake_api):
    return anthropic.Anthropic(base_url=fake_api.base_url, api_key=fake.API_KEY, max_retries=0)


def stream(client, messages, **extra):
    with client.messages.stream(model="m", max_tokens=100, messages=messages, **extra) as s:
        texts = list(s.text_stream)
        return texts, s.get_final_message()


def test_streamed_and_plain_replies_parse_in_the_sdk(fake_api, client):
    fake_api.add(fake.text("hello there, a long enough answer to split"), fake.text("plain"))
    texts, message = stream(client, [{"role": "user", "content": "hi"}])
    assert len(texts) > 1 and "".join(texts) == "hello there, a long enough answer to split"
    assert message.stop_reason == "end_turn"
    plain = client.messages.create(model="m", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert plain.content[0].text == "plain"


def test_parallel_tool_uses_and_thinking_round_trip(fake_api, client):
    fake_api.add(fake.with_thinking(fake.tool_uses([("a", {"x": 1}), ("b", {"y": [1, 2]})]), "plan"))
    _, message = stream(client, [{"role": "user", "content": "go"}])
    blocks = [b.to_dict(mode="json") for b in message.content]
    assert [b["type"] for b in blocks] == ["thinking", "tool_use", "tool_use"]
    assert blocks[1]["input"] == {"x": 1} and blocks[2]["input"] == {"y": [1, 2]}
    results = [{"type": "tool_result", "tool_use_id": b["id"], "content": "ok"} for b in blocks[1:]]
    history = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": blocks},
        {"role": "user", "content": results},
    ]
    stream(client, history)
    assert fake_api.violations == []
    blocks[0] = {**blocks[0], "thinking": "edited"}
    with pytest.raises(anthropic.BadRequestError, match="signature"):
        stream(client, history)


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([{"role": "assistant", "content": "x"}], "first message"),
        ([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}], "alternate"),
        ([{"role": "user", "content": "  "}], "non-whitespace"),
        ([{"role": "user", "content": []}], "non-empty"),
        (
            [
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "a", "input": {}}]},
                {"role": "user", "content": "no result"},
            ],
            "without `tool_result`",
        ),
        (
            [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "zz", "content": "x"}]}],
            "unexpected `tool_use_id`",
        ),
        (
            [
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "a", "input": {}}]},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "first"},
                        {"type": "tool_result", "tool_use_id": "t1", "content": "x"},
                    ],
                },
            ],
            "first",
        ),
    ],
)
def test_invalid_histories_are_refused(fake_api, client, messages, expected):
    with pytest.raises(anthropic.BadRequestError, match=expected):
        stream(client, messages)
    assert len(fake_api.violations) == 1


@pytest.mark.parametrize(
    ("status", "kind", "exception"),
    [
        (401, "authentication_error", anthropic.AuthenticationError),
        (429, "rate_limit_error", anthropic.RateLimitError),
        (529, "overloaded_error", anthropic.APIStatusError),
        (500, "api_error", anthropic.InternalServerError),
    ],
)
def test_errors_map_to_sdk_exceptions(fake_api, client, status, kind, exception):
    fake_api.add(fake.error(status, kind))
    with pytest.raises(exception) as caught:
        stream(client, [{"role": "user", "content": "hi"}])
    assert caught.value.status_code == status


def test_wrong_key_and_stream_error_and_max_tokens(fake_api, client):
    bad = anthropic.Anthropic(base_url=fake_api.base_url, api_key="wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        stream(bad, [{"role": "user", "content": "hi"}])
    fake_api.add(fake.stream_error(), fake.max_tokens_cut("read_file"))
    with pytest.raises(anthropic.APIError):
        stream(client, [{"role": "user", "content": "hi"}])
    _, message = stream(client, [{"role": "user", "content": "hi"}])
    assert message.stop_reason == "max_tokens"


def test_cache_simulation_reads_a_repeated_prefix(fake_api, client):
    big = "x " * 6000
    first = [{"role": "user", "content": big}]
    _, one = stream(client, first, cache_control={"type": "ephemeral"})
    assert one.usage.cache_read_input_tokens == 0 and one.usage.cache_creation_input_tokens > 0
    second = [*first, {"role": "assistant", "content": "ok"}, {"role": "user", "content": "more"}]
    _, two = stream(client, second, cache_control={"type": "ephemeral"})
    assert two.usage.cache_read_input_tokens >= one.usage.cache_creation_input_tokens
    _, three = stream(client, first)  # no cache_control: nothing cached
    assert three.usage.cache_read_input_tokens == 0


def test_count_tokens_and_recording(fake_api, client):
    counted = client.messages.count_tokens(model="m", messages=[{"role": "user", "content": "12345678"}])
    assert counted.input_tokens > 0
    assert fake_api.requests[-1].path == "/v1/messages/count_tokens"
    assert fake_api.requests[-1].headers["anthropic-version"]


def test_thinking_is_bound_to_the_history_before_it(fake_api, client):
    """Like the real API: edit a message before a thinking block (e.g. summarize a tool result) and the
    block is refused; drop the thinking and the same history is accepted."""
    fake_api.add(fake.tool_use("read", {}), fake.with_thinking(fake.text("done"), "so the answer is"))
    _, first = stream(client, [{"role": "user", "content": "go"}])
    use = first.content[0].to_dict(mode="json")
    history = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [use]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use["id"], "content": "long output"}]},
    ]
    _, second = stream(client, history)
    history += [
        {"role": "assistant", "content": [b.to_dict(mode="json") for b in second.content]},
        {"role": "user", "content": "and now?"},
    ]
    stream(client, history)
    assert fake_api.violations == []
    history[2] = {**history[2], "content": [{**history[2]["content"][0], "content": "[Summarized: long]"}]}
    with pytest.raises(anthropic.BadRequestError, match="bound to a different conversation"):
        stream(client, history)
    history[3] = {**history[3], "content": [b for b in history[3]["content"] if b["type"] != "thinking"]}
    stream(client, history)
