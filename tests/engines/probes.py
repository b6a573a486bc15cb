"""Capability probes: the same few requests sent to every engine, each answered with a short verdict.

A verdict is what docs/engines.md's compatibility table shows in a cell: ``yes``, or ``no`` with
what the server did instead (``no (HTTP 422)``, ``no (ignored)``), or ``not observable`` when the
probe could not tell (a model that never stops early cannot show ``ignore_eos``).
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PROMPT = "What is the capital of France?"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city now.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@dataclass
class Target:
    """An engine under probe: its ``/v1`` base URL and the model name it answers to."""

    base_url: str
    model: str
    extra_body: dict[str, Any] = field(default_factory=dict)


@dataclass
class Reply:
    status: int
    body: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    done_line: bool = False
    text: str = ""


def _request(target: Target, method: str, path: str, body: dict[str, Any] | None = None,
             *, stream: bool = False, timeout_s: float = 180) -> Reply:
    url = urllib.parse.urlsplit(target.base_url.removesuffix("/v1") + path)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=timeout_s)
    try:
        payload = json.dumps({**target.extra_body, **body}).encode() if body is not None else None
        connection.request(method, url.path, payload, {"Content-Type": "application/json"})
        response = connection.getresponse()
        if response.status != 200 or not stream:
            raw = response.read().decode(errors="replace")
            try:
                parsed = json.loads(raw) if raw.strip().startswith("{") else None
            except json.JSONDecodeError:
                parsed = None
            return Reply(response.status, body=parsed, text=raw)
        reply = Reply(response.status)
        for line in response:  # SSE: one "data: ..." line per event
            text = line.decode(errors="replace").strip()
            if not text.startswith("data:"):
                continue
            data = text[5:].strip()
            if data == "[DONE]":
                reply.done_line = True
                break
            reply.events.append(json.loads(data))
        return reply
    finally:
        connection.close()


def _chat(target: Target, *, stream: bool, **body: Any) -> Reply:
    messages = body.pop("messages", [{"role": "user", "content": PROMPT}])
    return _request(target, "POST", "/v1/chat/completions",
                    {"model": target.model, "messages": messages, "stream": stream, **body}, stream=stream)


def _refused(reply: Reply) -> str | None:
    return None if reply.status == 200 else f"no (HTTP {reply.status})"


def _content_events(reply: Reply) -> list[dict[str, Any]]:
    return [e for e in reply.events if e.get("choices") and (e["choices"][0].get("delta") or {}).get("content")]


def _tokens(reply: Reply) -> int:
    return int(((reply.body or {}).get("usage") or {}).get("completion_tokens") or 0)


def usage_while_streaming(target: Target) -> str:
    reply = _chat(target, stream=True, max_tokens=8, stream_options={"include_usage": True})
    refused = _refused(reply)
    if refused:
        return refused
    usage = [e["usage"] for e in reply.events if e.get("usage")]
    return "yes" if usage and usage[-1].get("completion_tokens") else "no"


def done_line(target: Target) -> str:
    reply = _chat(target, stream=True, max_tokens=8)
    return _refused(reply) or ("yes" if reply.done_line else "no")


def continuous_usage(target: Target) -> str:
    reply = _chat(target, stream=True, max_tokens=8,
                  stream_options={"include_usage": True, "continuous_usage_stats": True})
    refused = _refused(reply)
    if refused:
        return refused
    content = _content_events(reply)
    with_usage = [e for e in content if e.get("usage")]
    if content and len(with_usage) == len(content):
        return "yes"
    return "no (usage at the end only)" if any(e.get("usage") for e in reply.events) else "no"


def _stops_early(target: Target, max_tokens: int) -> tuple[Reply, int]:
    plain = _chat(target, stream=False, max_tokens=max_tokens, temperature=0)
    return plain, _tokens(plain)


def ignore_eos(target: Target) -> str:
    max_tokens = 48
    plain, plain_tokens = _stops_early(target, max_tokens)
    if _refused(plain):
        return f"not observable ({_refused(plain)} without it)"
    if plain_tokens >= max_tokens:
        return "not observable (the model did not stop early)"
    asked = _chat(target, stream=False, max_tokens=max_tokens, temperature=0, ignore_eos=True)
    refused = _refused(asked)
    if refused:
        return refused
    return "yes" if _tokens(asked) == max_tokens else "no (ignored)"


def min_tokens(target: Target) -> str:
    max_tokens, at_least = 48, 32
    plain, plain_tokens = _stops_early(target, max_tokens)
    if _refused(plain):
        return f"not observable ({_refused(plain)} without it)"
    if plain_tokens >= at_least:
        return "not observable (the model did not stop early)"
    asked = _chat(target, stream=False, max_tokens=max_tokens, temperature=0, min_tokens=at_least)
    refused = _refused(asked)
    if refused:
        return refused
    return "yes" if _tokens(asked) >= at_least else "no (ignored)"


def prometheus_metrics(target: Target) -> str:
    reply = _request(target, "GET", "/metrics")
    refused = _refused(reply)
    if refused:
        return refused
    return "yes" if "# TYPE" in reply.text else "no (not Prometheus text)"


REASONING_FIELDS = ("reasoning_content", "reasoning")
REASONING_PROMPT = "What is 2 + 2?"
TOOL_PROMPT = "What is the weather in Paris?"


def _both_ways(verdict: Callable[[bool], str]) -> str:
    """One verdict when streamed and plain replies agree, else each said apart."""
    streamed, plain = verdict(True), verdict(False)
    return streamed if streamed == plain else f"{streamed} streamed, {plain} not streamed"


def _message_parts(reply: Reply) -> dict[str, Any]:
    """{field: text or tool calls} of the assistant's message, streamed deltas put together."""
    if reply.body is not None:
        message = ((reply.body.get("choices") or [{}])[0]).get("message") or {}
        return {k: v for k, v in message.items() if v}
    parts: dict[str, Any] = {}
    calls: dict[int, dict[str, Any]] = {}
    for event in reply.events:
        delta = (event.get("choices") or [{}])[0].get("delta") or {}
        for key, value in delta.items():
            if key == "tool_calls":
                for piece in value or []:
                    call = calls.setdefault(int(piece.get("index") or 0), {"name": "", "arguments": ""})
                    function = piece.get("function") or {}
                    call["name"] += function.get("name") or ""
                    call["arguments"] += function.get("arguments") or ""
            elif isinstance(value, str) and key != "role":
                parts[key] = parts.get(key, "") + value
    if calls:
        parts["tool_calls"] = [{"function": call} for _, call in sorted(calls.items())]
    return {k: v for k, v in parts.items() if v}


def reasoning_fields(target: Target) -> str:
    """Does reasoning arrive in a field of its own, streamed and not?

    Sent to a model that writes reasoning (the scripted model: ``<think>…</think>`` then the answer; the
    simulator: its reasoning tokens). "yes (FIELD)" needs that field filled and no ``<think>`` left in
    ``content``.
    """
    def verdict(stream: bool) -> str:
        reply = _chat(target, stream=stream, max_tokens=64, temperature=0,
                      messages=[{"role": "user", "content": REASONING_PROMPT}])
        refused = _refused(reply)
        if refused:
            return refused
        parts = _message_parts(reply)
        content = str(parts.get("content") or "")
        fields = [name for name in REASONING_FIELDS if parts.get(name)]
        if fields and "<think>" not in content and "</think>" not in content:
            # Not judged: a tag left inside the reasoning field (vLLM's, when the tag and the next
            # token arrive in one delta, which depends on timing; docs/engines.md says more).
            return f"yes ({fields[0]})"
        if "<think>" in content or "</think>" in content:
            return "no (in content, with the tags)"
        return "no (no reasoning field)"

    return _both_ways(verdict)


def tool_calls(target: Target) -> str:
    """Does a tool call the model writes come back as ``tool_calls`` (``tool_choice: "auto"``), streamed and not?

    "yes" needs a call of ``get_weather`` whose arguments are a JSON object.
    """
    def verdict(stream: bool) -> str:
        reply = _chat(target, stream=stream, max_tokens=64, temperature=0, tools=[WEATHER_TOOL],
                      tool_choice="auto", messages=[{"role": "user", "content": TOOL_PROMPT}])
        refused = _refused(reply)
        if refused:
            return refused
        parts = _message_parts(reply)
        for call in parts.get("tool_calls") or []:
            function = call.get("function") or {}
            try:
                arguments = json.loads(function.get("arguments") or "null")
            except json.JSONDecodeError:
                arguments = None
            if function.get("name") == "get_weather" and isinstance(arguments, dict):
                return "yes"
        if "<tool_call>" in str(parts.get("content") or ""):
            return "no (in content, as text)"
        return "no (answered with text)" if parts.get("content") else "no"

    return _both_ways(verdict)


PROBES: dict[str, Callable[[Target], str]] = {
    "usage while streaming": usage_while_streaming,
    "continuous usage": continuous_usage,
    "`ignore_eos`": ignore_eos,
    "`min_tokens`": min_tokens,
    "`/metrics`": prometheus_metrics,
    "reasoning fields": reasoning_fields,
    "tool calls": tool_calls,
    "`[DONE]` line": done_line,
}
