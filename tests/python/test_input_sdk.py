"""End-to-end tests for server-to-client input (elicitation, roots) with the Python SDK client (`mcp` 2.3.0).

The demo server's `confirm {question}` tool asks the user a yes/no question via form-mode
elicitation (requestedSchema {confirmed: boolean}); its `roots {}` tool lists the client's roots.
How the server obtains that input depends on the negotiated revision:
  * "legacy" (2025-11-25): the server sends a real `elicitation/create` / `roots/list` JSON-RPC
    request to the client while the `tools/call` is in flight; the SDK answers it through the
    client's `elicitation_callback` / `list_roots_callback`.
  * "2026-07-28" and "auto" (which settles on 2026-07-28): the server answers the `tools/call`
    with `resultType: "input_required"` + `inputRequests`; `Client.call_tool` runs the same
    callbacks and retries the call with `inputResponses` (SEP-2322), transparently.
Either way the test only sees the final CallToolResult, so each test runs in every mode.

Callback signatures (mcp/client/session.py):
  ElicitationFnT: async (ClientRequestContext, ElicitRequestParams) -> ElicitResult | ErrorData
  ListRootsFnT:   async (ClientRequestContext) -> ListRootsResult | ErrorData
The client advertises the elicitation / roots capability only when the matching callback is given.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.session import ClientRequestContext
from mcp_types import (
    MISSING_REQUIRED_CLIENT_CAPABILITY,
    ElicitRequestFormParams,
    ElicitRequestParams,
    ElicitResult,
    Implementation,
    ListRootsResult,
    MissingRequiredClientCapabilityErrorData,
    Root,
)

from conftest import ringmcp_bin

MODES = ["legacy", "2026-07-28", "auto"]
EXPECTED_VERSION = {"legacy": "2025-11-25", "2026-07-28": "2026-07-28", "auto": "2026-07-28"}
TIMEOUT_S = 10
QUESTION = "Deploy ringmcp to production?"

pytestmark = [
    pytest.mark.parametrize("mode", MODES),
    # Roots are deprecated as of 2026-07-28 (SEP-2577); the SDK may warn about it. Not our concern here.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


def run_client(mode: str, body: Callable[[Client], Awaitable[Any]], **client_kwargs: Any) -> Any:
    """Spawn the server, connect in `mode` with extra Client kwargs (callbacks), run `body(client)`."""

    async def main() -> Any:
        params = StdioServerParameters(command=ringmcp_bin(), args=["serve", "--stdio"])
        with anyio.fail_after(TIMEOUT_S * 2):
            async with Client(
                params,
                mode=mode,
                client_info=Implementation(name="ringmcp-pytest", version="0.0.1"),
                read_timeout_seconds=TIMEOUT_S,
                cache=None,
                **client_kwargs,
            ) as client:
                assert client.protocol_version == EXPECTED_VERSION[mode]
                return await body(client)

    return anyio.run(main)


def text_of(content: list[Any]) -> str:
    assert len(content) >= 1, content
    first = content[0]
    assert first.type == "text", first
    return first.text


def make_elicitation_callback(
    result: ElicitResult, seen: list[ElicitRequestParams]
) -> Callable[[ClientRequestContext, ElicitRequestParams], Awaitable[ElicitResult]]:
    async def on_elicit(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        seen.append(params)
        return result

    return on_elicit


def check_confirm_request(seen: list[ElicitRequestParams]) -> None:
    """The server asked exactly once, in form mode, with the question and a {confirmed: boolean} schema."""
    assert len(seen) == 1, seen
    params = seen[0]
    assert isinstance(params, ElicitRequestFormParams), params
    assert params.mode == "form"
    assert params.message == QUESTION
    schema = params.requested_schema
    schema = schema if isinstance(schema, dict) else schema.model_dump(by_alias=True, exclude_none=True)
    assert schema.get("type") == "object", schema
    assert schema["properties"]["confirmed"]["type"] == "boolean", schema


def test_tools_listed(mode: str) -> None:
    async def body(client: Client) -> None:
        tools = await client.list_tools()
        by_name = {t.name: t for t in tools.tools}
        assert {"confirm", "roots"} <= set(by_name), set(by_name)
        assert "question" in by_name["confirm"].input_schema.get("properties", {}), by_name["confirm"]

    run_client(mode, body)


def test_confirm_accept_yes(mode: str) -> None:
    seen: list[ElicitRequestParams] = []
    on_elicit = make_elicitation_callback(ElicitResult(action="accept", content={"confirmed": True}), seen)

    async def body(client: Client) -> None:
        r = await client.call_tool("confirm", {"question": QUESTION})
        assert not r.is_error, r
        assert text_of(r.content) == "confirmed: yes"

    run_client(mode, body, elicitation_callback=on_elicit)
    check_confirm_request(seen)


def test_confirm_accept_no(mode: str) -> None:
    seen: list[ElicitRequestParams] = []
    on_elicit = make_elicitation_callback(ElicitResult(action="accept", content={"confirmed": False}), seen)

    async def body(client: Client) -> None:
        r = await client.call_tool("confirm", {"question": QUESTION})
        assert not r.is_error, r
        assert text_of(r.content) == "confirmed: no"

    run_client(mode, body, elicitation_callback=on_elicit)
    check_confirm_request(seen)


def test_confirm_decline(mode: str) -> None:
    seen: list[ElicitRequestParams] = []
    on_elicit = make_elicitation_callback(ElicitResult(action="decline"), seen)

    async def body(client: Client) -> None:
        r = await client.call_tool("confirm", {"question": QUESTION})
        assert not r.is_error, r
        assert text_of(r.content) == "declined"

    run_client(mode, body, elicitation_callback=on_elicit)
    check_confirm_request(seen)


def test_confirm_cancel(mode: str) -> None:
    seen: list[ElicitRequestParams] = []
    on_elicit = make_elicitation_callback(ElicitResult(action="cancel"), seen)

    async def body(client: Client) -> None:
        r = await client.call_tool("confirm", {"question": QUESTION})
        assert not r.is_error, r
        assert text_of(r.content) == "cancelled"

    run_client(mode, body, elicitation_callback=on_elicit)
    check_confirm_request(seen)


def test_confirm_twice_in_one_session(mode: str) -> None:
    # Each call is its own elicitation round; answers must not leak between calls.
    answers = iter([True, False])
    seen: list[ElicitRequestParams] = []

    async def on_elicit(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        seen.append(params)
        return ElicitResult(action="accept", content={"confirmed": next(answers)})

    async def body(client: Client) -> None:
        first = await client.call_tool("confirm", {"question": QUESTION})
        second = await client.call_tool("confirm", {"question": QUESTION})
        assert text_of(first.content) == "confirmed: yes"
        assert text_of(second.content) == "confirmed: no"
        # The session is still usable for plain calls.
        r = await client.call_tool("echo", {"text": "after elicitation"})
        assert text_of(r.content) == "after elicitation"

    run_client(mode, body, elicitation_callback=on_elicit)
    assert len(seen) == 2, seen


def test_confirm_without_elicitation_capability(mode: str) -> None:
    # No elicitation_callback => the client does not declare the elicitation capability
    # (legacy: absent from initialize's capabilities; modern: absent from the per-request
    # io.modelcontextprotocol/clientCapabilities _meta). The SDK does not refuse to send the
    # tools/call itself: it cannot know the tool needs elicitation. So the server must answer
    # JSON-RPC -32021 (MissingRequiredClientCapability), which the SDK raises as MCPError.
    async def body(client: Client) -> None:
        with pytest.raises(MCPError) as exc:
            await client.call_tool("confirm", {"question": QUESTION})
        assert exc.value.code == MISSING_REQUIRED_CLIENT_CAPABILITY == -32021, exc.value
        data = MissingRequiredClientCapabilityErrorData.model_validate(exc.value.error.data)
        assert data.required_capabilities.elicitation is not None, data
        # The session survives the error.
        r = await client.call_tool("echo", {"text": "still here"})
        assert text_of(r.content) == "still here"

    run_client(mode, body)


def test_roots(mode: str) -> None:
    calls: list[ClientRequestContext] = []

    async def on_list_roots(context: ClientRequestContext) -> ListRootsResult:
        calls.append(context)
        return ListRootsResult(roots=[Root(uri="file:///tmp/x", name="x")])

    async def body(client: Client) -> None:
        r = await client.call_tool("roots", {})
        assert not r.is_error, r
        assert text_of(r.content) == "file:///tmp/x"

    run_client(mode, body, list_roots_callback=on_list_roots)
    assert len(calls) == 1, calls


def test_roots_empty(mode: str) -> None:
    async def on_list_roots(context: ClientRequestContext) -> ListRootsResult:
        return ListRootsResult(roots=[])

    async def body(client: Client) -> None:
        r = await client.call_tool("roots", {})
        assert not r.is_error, r
        assert text_of(r.content) == "no roots"

    run_client(mode, body, list_roots_callback=on_list_roots)


def test_roots_several(mode: str) -> None:
    async def on_list_roots(context: ClientRequestContext) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri="file:///tmp/a"), Root(uri="file:///srv/b")])

    async def body(client: Client) -> None:
        r = await client.call_tool("roots", {})
        assert text_of(r.content) == "file:///tmp/a\nfile:///srv/b"

    run_client(mode, body, list_roots_callback=on_list_roots)


def test_roots_without_roots_capability(mode: str) -> None:
    # Same as the elicitation case: no list_roots_callback => no roots capability => -32021.
    async def body(client: Client) -> None:
        with pytest.raises(MCPError) as exc:
            await client.call_tool("roots", {})
        assert exc.value.code == MISSING_REQUIRED_CLIENT_CAPABILITY, exc.value
        data = MissingRequiredClientCapabilityErrorData.model_validate(exc.value.error.data)
        assert data.required_capabilities.roots is not None, data

    run_client(mode, body)
