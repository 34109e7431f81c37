"""End-to-end tests: the official Python SDK client (`mcp` 2.3.0) drives `ringmcp serve --stdio`.

Every test runs in each connection mode of `mcp.Client`:
  * "legacy"     - initialize handshake at 2025-11-25, no per-request _meta;
  * "2026-07-28" - pinned modern revision, no handshake, per-request _meta;
  * "auto"       - server/discover probe, expected to settle on 2026-07-28.

The client validates every result against the negotiated revision's strict schema,
so a malformed result surfaces here as a pydantic.ValidationError.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp_types import Implementation, PromptReference, ResourceTemplateReference

from conftest import ringmcp_bin

MODES = ["legacy", "2026-07-28", "auto"]
EXPECTED_VERSION = {"legacy": "2025-11-25", "2026-07-28": "2026-07-28", "auto": "2026-07-28"}
TIMEOUT_S = 10

pytestmark = pytest.mark.parametrize("mode", MODES)


def run_client(mode: str, body: Callable[[Client], Awaitable[Any]]) -> Any:
    """Spawn the server, connect in `mode`, run `body(client)`, close; fail instead of hanging."""

    async def main() -> Any:
        params = StdioServerParameters(command=ringmcp_bin(), args=["serve", "--stdio"])
        with anyio.fail_after(TIMEOUT_S * 2):
            async with Client(
                params,
                mode=mode,
                client_info=Implementation(name="ringmcp-pytest", version="0.0.1"),
                read_timeout_seconds=TIMEOUT_S,
                cache=None,  # never answer from the client-side response cache
            ) as client:
                assert client.protocol_version == EXPECTED_VERSION[mode]
                return await body(client)

    return anyio.run(main)


def text_of(content: list[Any]) -> str:
    assert len(content) >= 1, content
    first = content[0]
    assert first.type == "text", first
    return first.text


def test_protocol_version_and_server_info(mode: str) -> None:
    async def body(client: Client) -> None:
        assert client.protocol_version == EXPECTED_VERSION[mode]
        if mode != "2026-07-28":
            # legacy: from the initialize result; auto: from server/discover's _meta serverInfo.
            # (Pinned modern mode does no handshake, so the SDK knows no server info yet.)
            caps = client.server_capabilities
            assert caps.tools is not None
            assert caps.resources is not None
            assert caps.prompts is not None
        if mode == "legacy":
            assert client.server_info is not None
            assert client.server_info.name

    run_client(mode, body)


def test_list_tools(mode: str) -> None:
    async def body(client: Client) -> None:
        tools = await client.list_tools()
        names = {t.name for t in tools.tools}
        assert {"echo", "add", "sleep", "progress"} <= names, names
        for tool in tools.tools:
            assert tool.input_schema.get("type") == "object", tool

    run_client(mode, body)


def test_call_echo(mode: str) -> None:
    async def body(client: Client) -> None:
        r = await client.call_tool("echo", {"text": "hello ringmcp"})
        assert not r.is_error
        assert text_of(r.content) == "hello ringmcp"

    run_client(mode, body)


def test_call_add_structured(mode: str) -> None:
    async def body(client: Client) -> None:
        r = await client.call_tool("add", {"a": 2, "b": 3})
        assert not r.is_error
        # The SDK exposes structuredContent in every era (it's in 2025-06-18+ schemas).
        assert r.structured_content is not None
        assert r.structured_content["sum"] == 5
        # Backwards-compatible text block carries the same JSON.
        assert json.loads(text_of(r.content))["sum"] == 5

    run_client(mode, body)


def test_resources(mode: str) -> None:
    async def body(client: Client) -> None:
        listed = await client.list_resources()
        uris = {str(r.uri) for r in listed.resources}
        assert {"demo://readme", "demo://counter"} <= uris, uris

        templates = await client.list_resource_templates()
        tmpl = {t.uri_template for t in templates.resource_templates}
        assert "demo://greeting/{name}" in tmpl, tmpl

        readme = await client.read_resource("demo://readme")
        assert len(readme.contents) == 1
        assert str(readme.contents[0].uri) == "demo://readme"
        assert readme.contents[0].mime_type == "text/markdown"
        assert "ringmcp demo" in readme.contents[0].text

        greeting = await client.read_resource("demo://greeting/ada")
        assert greeting.contents[0].text == "Hello, ada!"

    run_client(mode, body)


def test_prompts(mode: str) -> None:
    async def body(client: Client) -> None:
        listed = await client.list_prompts()
        by_name = {p.name: p for p in listed.prompts}
        assert {"greet", "haiku"} <= set(by_name), by_name
        greet_args = {a.name: a for a in by_name["greet"].arguments or []}
        assert greet_args["name"].required is True
        assert not greet_args["style"].required

        got = await client.get_prompt("greet", {"name": "Bob"})
        assert len(got.messages) == 1
        assert got.messages[0].role == "user"
        assert got.messages[0].content.text == "Hello, Bob!"

        formal = await client.get_prompt("greet", {"name": "Bob", "style": "formal"})
        assert formal.messages[0].content.text == "Good day, Bob."

    run_client(mode, body)


def test_completion(mode: str) -> None:
    async def body(client: Client) -> None:
        r = await client.complete(PromptReference(name="greet"), {"name": "name", "value": "a"})
        assert {"ada", "alan"} <= set(r.completion.values), r.completion
        assert all(v.startswith("a") for v in r.completion.values), r.completion

        style = await client.complete(PromptReference(name="greet"), {"name": "style", "value": "f"})
        assert style.completion.values == ["formal"]

        tmpl = await client.complete(
            ResourceTemplateReference(uri="demo://greeting/{name}"), {"name": "name", "value": "gr"}
        )
        assert tmpl.completion.values == ["grace"]

    run_client(mode, body)


def test_progress_notifications(mode: str) -> None:
    async def body(client: Client) -> None:
        seen: list[tuple[float, float | None, str | None]] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            seen.append((progress, total, message))

        r = await client.call_tool("progress", {"steps": 3, "delay_ms": 5}, progress_callback=on_progress)
        assert not r.is_error
        # Notifications precede the response on the same pipe, but give the
        # receive loop a moment in case delivery is dispatched asynchronously.
        with anyio.move_on_after(2):
            while len(seen) < 3:
                await anyio.sleep(0.01)
        assert len(seen) == 3, seen
        values = [p for p, _, _ in seen]
        assert values == sorted(values) and len(set(values)) == 3, values
        assert values[-1] == 3

    run_client(mode, body)


def test_unknown_tool(mode: str) -> None:
    async def body(client: Client) -> None:
        # The server answers JSON-RPC -32602 for an unknown tool; the SDK raises MCPError.
        # (A CallToolResult with isError=true would also be spec-conformant.)
        try:
            r = await client.call_tool("no_such_tool", {})
        except MCPError as e:
            assert e.code == -32602, e
        else:
            assert r.is_error, r
        # The session is still usable.
        r = await client.call_tool("echo", {"text": "still here"})
        assert text_of(r.content) == "still here"

    run_client(mode, body)


def test_crash_is_isolated(mode: str) -> None:
    async def body(client: Client) -> None:
        with pytest.raises(MCPError) as exc:
            await client.call_tool("crash", {})
        assert exc.value.code == -32603, exc.value
        r = await client.call_tool("echo", {"text": "after crash"})
        assert text_of(r.content) == "after crash"
        tools = await client.list_tools()
        assert "echo" in {t.name for t in tools.tools}

    run_client(mode, body)
