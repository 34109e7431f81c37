"""End-to-end tests: the official Python SDK client (`mcp` 2.3.0) drives `ringmcp serve --http`.

One server process (`--cores 2`, i.e. two shards) is started per module and reused by every
test; at teardown it gets SIGTERM by PID (SIGKILL as a fallback) and must exit 0. Transports:
  * Streamable HTTP at /mcp, through `Client(url, mode=...)`:
      - "legacy"     - initialize at 2025-11-25 -> Mcp-Session-Id, a GET /mcp SSE stream, DELETE on close;
      - "2026-07-28" - stateless: every request its own POST with MCP-Protocol-Version/Mcp-Method/Mcp-Name;
      - "auto"       - server/discover probe, expected to settle on 2026-07-28.
  * The deprecated 2024-11-05 HTTP+SSE transport at /sse (`sse_client`): GET /sse -> `endpoint`
    event -> POST /messages?sessionId=..., answers on the GET stream.

Cross-shard behaviour: ringmcp session ids start with the owning shard as two hex digits, so the
tests can tell which shard owns a legacy session (`HttpLog.shard`) and make sure subscribers,
bumpers and the 20-session run cover both shards.

Resource-change notifications:
  * legacy: `resources/subscribe` on one session, `bump` called from ANOTHER connection; the
    server must push `notifications/resources/updated` on the subscriber's GET /mcp stream.
    The 2.x client surfaces server notifications through `Client(message_handler=...)`, which
    receives every parsed `ServerNotification` (here a `mcp_types.ResourceUpdatedNotification`).
  * 2026-07-28: `Client.listen(resource_subscriptions=[...])` (`subscriptions/listen`), which
    yields typed `mcp.shared.subscriptions.ResourceUpdated` events.

Every session is held inside `anyio.fail_after` so a misbehaving server fails the test instead of
hanging it. An httpx2 event hook records every request/response line (`HttpLog`) so that a failure
can show what the server actually sent.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
import mcp_types as types
import pytest
from mcp import Client, MCPError
from mcp.client.session import ClientRequestContext, IncomingMessage
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.subscriptions import ResourceUpdated
from mcp_types import ElicitRequestParams, ElicitResult, Implementation

from conftest import ringmcp_bin

MODES = ["legacy", "2026-07-28", "auto"]
EXPECTED_VERSION = {"legacy": "2025-11-25", "2026-07-28": "2026-07-28", "auto": "2026-07-28"}
TIMEOUT_S = 10
SHARDS = 2
SHUTDOWN_GRACE_S = 5  # ringmcp's default --shutdown-grace-ms
LISTEN_RE = re.compile(r"ringmcp: listening on (http://127\.0\.0\.1:(\d+)/mcp) \((\d+) shards?\)")
CLIENT_INFO = Implementation(name="ringmcp-pytest-http", version="0.0.1")

pytestmark = [
    # subscribe_resource is deprecated (removed at 2026-07-28); roots too. Both are what we test.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


# --------------------------------------------------------------------------------------------
# Server fixture
# --------------------------------------------------------------------------------------------


@dataclass
class HttpServer:
    base: str  # http://127.0.0.1:PORT
    mcp_url: str  # .../mcp
    sse_url: str  # .../sse
    proc: subprocess.Popen[bytes]
    stderr_path: str

    def stderr(self) -> str:
        with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
            return f.read()


@pytest.fixture(scope="module")
def server() -> Any:
    stderr_file = tempfile.NamedTemporaryFile(prefix="ringmcp-http-", suffix=".stderr", delete=False)
    proc = subprocess.Popen(
        [ringmcp_bin(), "serve", "--http", "127.0.0.1:0", "--cores", str(SHARDS)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=stderr_file,
    )
    srv: HttpServer | None = None
    try:
        deadline = time.monotonic() + 10
        while srv is None:
            with open(stderr_file.name, encoding="utf-8", errors="replace") as f:
                m = LISTEN_RE.search(f.read())
            if m:
                assert int(m.group(3)) == SHARDS, m.group(0)
                url = m.group(1)
                base = url[: -len("/mcp")]
                srv = HttpServer(base=base, mcp_url=url, sse_url=base + "/sse", proc=proc, stderr_path=stderr_file.name)
                break
            if proc.poll() is not None:
                pytest.fail(f"ringmcp exited with {proc.returncode} before listening:\n{open(stderr_file.name).read()}")
            if time.monotonic() > deadline:
                pytest.fail(f"ringmcp did not print its listen line within 10 s:\n{open(stderr_file.name).read()}")
            time.sleep(0.02)
        yield srv
        assert proc.poll() is None, f"ringmcp died during the tests (rc={proc.returncode}):\n{srv.stderr()[-4000:]}"
        # Graceful stop: SIGTERM, then the server has --shutdown-grace-ms (default 5000) to finish.
        started = time.monotonic()
        os.kill(proc.pid, signal.SIGTERM)
        try:
            rc = proc.wait(timeout=SHUTDOWN_GRACE_S + 3)
        except subprocess.TimeoutExpired:
            pytest.fail(f"ringmcp ignored SIGTERM for {SHUTDOWN_GRACE_S + 3} s:\n{srv.stderr()[-4000:]}")
        took = time.monotonic() - started
        assert rc == 0, f"ringmcp exited with {rc} on SIGTERM:\n{srv.stderr()[-4000:]}"
        if took > 1.0:
            # Known server behaviour (see the module report): a connection whose peer has closed
            # (recv returned 0) is kept "draining" for the whole shutdown grace while it still
            # has an open SSE stream (subscriptions/listen POST, GET /sse), because such a stream
            # never finishes on its own; SIGTERM then waits for that grace to run out.
            warnings.warn(f"ringmcp took {took:.1f} s to exit after SIGTERM (no requests were in flight)")
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        stderr_file.close()
        os.unlink(stderr_file.name)


# --------------------------------------------------------------------------------------------
# HTTP traffic capture (httpx2 event hooks) and client helpers
# --------------------------------------------------------------------------------------------


@dataclass
class HttpLog:
    """Request/response lines for every HTTP exchange of one client, for failure messages."""

    lines: list[str] = field(default_factory=list)

    async def on_request(self, request: httpx2.Request) -> None:
        hdrs = {k: v for k, v in request.headers.items() if k.lower().startswith("mcp") or k.lower() == "accept"}
        body = request.content.decode(errors="replace") if request.content else ""
        self.lines.append(f">> {request.method} {request.url} {hdrs} {body[:400]}")

    async def on_response(self, response: httpx2.Response) -> None:
        hdrs = {
            k: v for k, v in response.headers.items() if k.lower().startswith("mcp") or k.lower() == "content-type"
        }
        self.lines.append(f"<< {response.status_code} {response.request.method} {response.request.url} {hdrs}")

    def dump(self) -> str:
        return "\n".join(self.lines[-60:])

    @property
    def session_id(self) -> str | None:
        """The Mcp-Session-Id the server assigned (legacy Streamable HTTP), if any."""
        for line in self.lines:
            m = re.search(r"'mcp-session-id': '([^']+)'", line)
            if m and line.startswith("<<"):
                return m.group(1)
        return None

    @property
    def shard(self) -> int | None:
        """The shard owning this client's legacy session.

        ringmcp-specific: a session id starts with its owning shard as two hex digits
        (HttpService::mint_session_id), which is how other shards forward requests to it.
        """
        sid = self.session_id
        return int(sid[:2], 16) if sid else None


def http_client(log: HttpLog) -> httpx2.AsyncClient:
    # Same defaults as the SDK's create_mcp_http_client, plus hooks.
    return httpx2.AsyncClient(
        follow_redirects=True,
        timeout=httpx2.Timeout(30.0, read=300.0),
        event_hooks={"request": [log.on_request], "response": [log.on_response]},
    )


@asynccontextmanager
async def connect(
    url: str, mode: str, log: HttpLog | None = None, *, sse: bool = False, **kwargs: Any
) -> AsyncIterator[Client]:
    """A connected `Client` over Streamable HTTP (or /sse when `sse`), with traffic logged to `log`."""
    log = log if log is not None else HttpLog()
    if sse:
        transport = sse_client(
            url,
            timeout=TIMEOUT_S,
            httpx_client_factory=lambda headers=None, timeout=None, auth=None: httpx2.AsyncClient(
                headers=headers,
                timeout=timeout,
                auth=auth,
                follow_redirects=True,
                event_hooks={"request": [log.on_request], "response": [log.on_response]},
            ),
        )
        async with Client(
            transport, mode=mode, client_info=CLIENT_INFO, read_timeout_seconds=TIMEOUT_S, cache=None, **kwargs
        ) as client:
            yield client
    else:
        async with http_client(log) as http:
            async with Client(
                streamable_http_client(url, http_client=http),
                mode=mode,
                client_info=CLIENT_INFO,
                read_timeout_seconds=TIMEOUT_S,
                cache=None,  # never answer from the client-side response cache
                **kwargs,
            ) as client:
                yield client


def run(body: Callable[[], Awaitable[Any]], limit: float = TIMEOUT_S * 2) -> Any:
    async def main() -> Any:
        with anyio.fail_after(limit):
            return await body()

    return anyio.run(main)


def text_of(content: list[Any]) -> str:
    assert len(content) >= 1, content
    first = content[0]
    assert first.type == "text", first
    return first.text


def counter_value(result: types.ReadResourceResult) -> int:
    return int(result.contents[0].text.strip())


# --------------------------------------------------------------------------------------------
# (1) Client(url, mode=...) over Streamable HTTP
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_plain_url_client(server: HttpServer, mode: str) -> None:
    # The plain `Client(url)` form (URL string => streamable_http_client(url) with SDK defaults).
    async def body() -> None:
        async with Client(server.mcp_url, mode=mode, client_info=CLIENT_INFO, read_timeout_seconds=TIMEOUT_S, cache=None) as client:
            assert client.protocol_version == EXPECTED_VERSION[mode]
            tools = await client.list_tools()
            assert "echo" in {t.name for t in tools.tools}
            r = await client.call_tool("echo", {"text": "plain url"})
            assert text_of(r.content) == "plain url"

    run(body)


@pytest.mark.parametrize("mode", MODES)
def test_tools_resources_prompts(server: HttpServer, mode: str) -> None:
    log = HttpLog()

    async def body() -> None:
        async with connect(server.mcp_url, mode, log) as client:
            assert client.protocol_version == EXPECTED_VERSION[mode]
            if mode == "legacy":
                assert client.server_info is not None and client.server_info.name
            if mode != "2026-07-28":
                caps = client.server_capabilities
                assert caps.tools is not None and caps.resources is not None and caps.prompts is not None

            tools = await client.list_tools()
            names = {t.name for t in tools.tools}
            assert {"echo", "add", "sleep", "progress", "log", "bump", "confirm", "roots", "crash"} <= names, names

            r = await client.call_tool("echo", {"text": "hello over http"})
            assert not r.is_error
            assert text_of(r.content) == "hello over http"

            r = await client.call_tool("add", {"a": 40, "b": 2})
            assert not r.is_error
            assert r.structured_content is not None and r.structured_content["sum"] == 42
            assert json.loads(text_of(r.content))["sum"] == 42

            readme = await client.read_resource("demo://readme")
            assert str(readme.contents[0].uri) == "demo://readme"
            assert "ringmcp demo" in readme.contents[0].text

            greeting = await client.read_resource("demo://greeting/ada")
            assert greeting.contents[0].text == "Hello, ada!"

            got = await client.get_prompt("greet", {"name": "Bob"})
            assert got.messages[0].role == "user"
            assert got.messages[0].content.text == "Hello, Bob!"

    try:
        run(body)
    except BaseException as e:
        raise AssertionError(f"{mode}: {e!r}\nHTTP traffic:\n{log.dump()}") from e

    if mode == "legacy":
        # Session-based: initialize yields Mcp-Session-Id; every later POST carries it; DELETE on close.
        assert any("'mcp-session-id'" in line for line in log.lines if line.startswith("<< 200 POST")), log.dump()
        assert any(line.startswith(">> DELETE") for line in log.lines), log.dump()
    else:
        # Stateless: no session id anywhere, every POST carries the 2026 routing headers.
        posts = [line for line in log.lines if line.startswith(">> POST")]
        assert posts and all("'mcp-protocol-version': '2026-07-28'" in p and "'mcp-method'" in p for p in posts), log.dump()
        assert not any("mcp-session-id" in line for line in log.lines), log.dump()
        assert any("'mcp-name': 'demo://greeting/ada'" in p for p in posts), log.dump()


@pytest.mark.parametrize("mode", MODES)
def test_progress_callbacks(server: HttpServer, mode: str) -> None:
    log = HttpLog()
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async def body() -> None:
        async with connect(server.mcp_url, mode, log) as client:
            r = await client.call_tool("progress", {"steps": 3, "delay_ms": 10}, progress_callback=on_progress)
            assert not r.is_error
            with anyio.move_on_after(2):
                while len(seen) < 3:
                    await anyio.sleep(0.01)

    run(body)
    assert len(seen) == 3, f"{seen}\n{log.dump()}"
    values = [p for p, _, _ in seen]
    assert values == sorted(values) and len(set(values)) == 3 and values[-1] == 3, values


@pytest.mark.parametrize("mode", MODES)
def test_confirm_elicitation(server: HttpServer, mode: str) -> None:
    log = HttpLog()
    seen: list[ElicitRequestParams] = []

    async def on_elicit(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        seen.append(params)
        return ElicitResult(action="accept", content={"confirmed": True})

    async def body() -> None:
        async with connect(server.mcp_url, mode, log, elicitation_callback=on_elicit) as client:
            r = await client.call_tool("confirm", {"question": "Ship it?"})
            assert not r.is_error, r
            assert text_of(r.content) == "confirmed: yes"

    try:
        run(body)
    except BaseException as e:
        raise AssertionError(f"{mode}: {e!r}\nHTTP traffic:\n{log.dump()}") from e
    assert len(seen) == 1, seen
    assert seen[0].message == "Ship it?"


@pytest.mark.parametrize("mode", MODES)
def test_crash_then_echo(server: HttpServer, mode: str) -> None:
    async def body() -> None:
        async with connect(server.mcp_url, mode) as client:
            with pytest.raises(MCPError) as exc:
                await client.call_tool("crash", {})
            assert exc.value.code == -32603, exc.value
            r = await client.call_tool("echo", {"text": "after crash"})
            assert text_of(r.content) == "after crash"

    run(body)


# --------------------------------------------------------------------------------------------
# (2) legacy: resources/subscribe + notifications/resources/updated across connections
# --------------------------------------------------------------------------------------------


class UpdateRecorder:
    """A `message_handler` that records `notifications/resources/updated` URIs.

    mcp 2.x surfaces server notifications through `Client(message_handler=...)`: it receives every
    parsed `ServerNotification` model (and transport exceptions). There is no per-method hook.
    """

    def __init__(self) -> None:
        self.uris: list[str] = []
        self.other: list[Any] = []

    async def __call__(self, message: IncomingMessage) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            self.uris.append(str(message.params.uri))
        else:
            self.other.append(message)

    async def wait_for(self, n: int, seconds: float = 5) -> None:
        with anyio.move_on_after(seconds):
            while len(self.uris) < n:
                await anyio.sleep(0.01)


async def subscribe_counter(client: Client) -> None:
    # Client.subscribe_resource is deprecated in 2.x (resources/subscribe is removed at 2026-07-28)
    # but is the legacy-era mechanism; it just forwards to ClientSession.subscribe_resource.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        await client.subscribe_resource("demo://counter")


async def bump(client: Client) -> int:
    r = await client.call_tool("bump", {})
    assert not r.is_error, r
    return int(text_of(r.content))


def test_legacy_subscribe_updated_from_other_connection(server: HttpServer) -> None:
    log = HttpLog()
    rec = UpdateRecorder()

    async def body() -> None:
        async with connect(server.mcp_url, "legacy", log, message_handler=rec) as subscriber:
            resources_cap = subscriber.server_capabilities.resources
            assert resources_cap is not None and resources_cap.subscribe, subscriber.server_capabilities
            await subscribe_counter(subscriber)
            before = counter_value(await subscriber.read_resource("demo://counter"))

            # bump from a DIFFERENT connection: its own session (and its own httpx2 pool)
            async with connect(server.mcp_url, "legacy") as other:
                value = await bump(other)
            assert value > before

            await rec.wait_for(1)
            assert rec.uris, f"no notifications/resources/updated within 5 s\nHTTP traffic:\n{log.dump()}"
            assert rec.uris == ["demo://counter"], rec.uris
            after = counter_value(await subscriber.read_resource("demo://counter"))
            assert after >= value, (before, value, after)

    run(body)
    # The notification can only have come on the session's standalone GET /mcp SSE stream.
    assert any(line.startswith("<< 200 GET") and "text/event-stream" in line for line in log.lines), log.dump()


async def open_on_each_shard(stack: AsyncExitStack, url: str, **kwargs: Any) -> dict[int, Client]:
    """Open legacy sessions until there is one owned by each shard (connections are spread by the
    kernel, SO_REUSEPORT); extra sessions stay open too (they are harmless)."""
    by_shard: dict[int, Client] = {}
    for _ in range(40):
        log = HttpLog()
        client = await stack.enter_async_context(connect(url, "legacy", log, **kwargs))
        assert log.shard is not None, log.dump()
        by_shard.setdefault(log.shard, client)
        if len(by_shard) == SHARDS:
            return by_shard
    pytest.fail(f"40 legacy sessions all landed on shards {sorted(by_shard)}")


def test_legacy_subscribers_on_every_shard(server: HttpServer) -> None:
    # A subscriber on each shard; bumps from a session on each shard: every bump reaches every
    # subscriber (the server fans notifications/resources/updated out over its shard mesh).
    recs = {shard: UpdateRecorder() for shard in range(SHARDS)}

    async def body() -> None:
        async with AsyncExitStack() as stack:
            subscribers: dict[int, Client] = {}
            for shard, rec in recs.items():
                # One recorder per subscriber; keep opening until this shard has a subscriber.
                for _ in range(40):
                    log = HttpLog()
                    client = await stack.enter_async_context(connect(server.mcp_url, "legacy", log, message_handler=rec))
                    if log.shard == shard:
                        subscribers[shard] = client
                        break
                else:
                    pytest.fail(f"could not get a legacy session on shard {shard}")
                await subscribe_counter(subscribers[shard])

            bumpers = await open_on_each_shard(stack, server.mcp_url)
            for shard in range(SHARDS):
                await bump(bumpers[shard])
            for rec in recs.values():
                await rec.wait_for(SHARDS)

    run(body, limit=40)
    for shard, rec in recs.items():
        assert rec.uris == ["demo://counter"] * SHARDS, f"subscriber on shard {shard} got {rec.uris}"


def test_legacy_unsubscribed_session_gets_nothing(server: HttpServer) -> None:
    # Control: a session that did not subscribe receives no resources/updated.
    rec = UpdateRecorder()

    async def body() -> None:
        async with connect(server.mcp_url, "legacy", message_handler=rec) as bystander:
            async with connect(server.mcp_url, "legacy") as other:
                await bump(other)
            await bystander.call_tool("echo", {"text": "sync"})
            await anyio.sleep(0.3)

    run(body)
    assert rec.uris == [], rec.uris


# --------------------------------------------------------------------------------------------
# (3) 2026-07-28: subscriptions/listen
# --------------------------------------------------------------------------------------------


async def next_event(sub: Any, seconds: float = 5) -> Any:
    with anyio.move_on_after(seconds):
        async for event in sub:
            return event
    return None


def test_modern_listen_updated_from_other_connection(server: HttpServer) -> None:
    log = HttpLog()

    async def body() -> Any:
        async with connect(server.mcp_url, "2026-07-28", log) as listener:
            async with listener.listen(resource_subscriptions=["demo://counter"]) as sub:
                assert sub.honored.resource_subscriptions == ["demo://counter"], sub.honored
                async with connect(server.mcp_url, "2026-07-28") as other:
                    await bump(other)
                return await next_event(sub)

    try:
        event = run(body)
    except BaseException as e:
        raise AssertionError(f"{e!r}\nHTTP traffic:\n{log.dump()}") from e
    assert event == ResourceUpdated(uri="demo://counter"), f"{event!r}\nHTTP traffic:\n{log.dump()}"
    listen_posts = [line for line in log.lines if line.startswith(">> POST") and "subscriptions/listen" in line]
    assert listen_posts and "'mcp-method': 'subscriptions/listen'" in listen_posts[0], log.dump()


def test_modern_listeners_and_bumpers_on_both_shards(server: HttpServer) -> None:
    # Several independent listeners (own connections => spread over the shards; "auto" settles on
    # 2026-07-28), bumped from legacy sessions owned by each shard: every listener sees the update.
    n_listeners = 4

    async def body() -> list[Any]:
        async with AsyncExitStack() as stack:
            subs = []
            for _ in range(n_listeners):
                listener = await stack.enter_async_context(connect(server.mcp_url, "auto"))
                assert listener.protocol_version == "2026-07-28"
                subs.append(await stack.enter_async_context(listener.listen(resource_subscriptions=["demo://counter"])))
            bumpers = await open_on_each_shard(stack, server.mcp_url)
            await bump(bumpers[0])
            first = [await next_event(sub) for sub in subs]
            await bump(bumpers[1])
            second = [await next_event(sub) for sub in subs]
            return first + second

    events = run(body, limit=40)
    assert events == [ResourceUpdated(uri="demo://counter")] * (2 * n_listeners), events


def test_modern_listen_not_subscribed_gets_nothing(server: HttpServer) -> None:
    # Control: a listen stream that asked only for tools list changes sees no counter update.
    async def body() -> Any:
        async with connect(server.mcp_url, "2026-07-28") as listener:
            async with listener.listen(tools_list_changed=True) as sub:
                async with connect(server.mcp_url, "2026-07-28") as other:
                    await bump(other)
                return await next_event(sub, seconds=0.5)

    assert run(body) is None


# --------------------------------------------------------------------------------------------
# (4) deprecated HTTP+SSE transport (2024-11-05 style) at /sse
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_sse_transport(server: HttpServer, mode: str) -> None:
    # The brief's case is mode="legacy" (the era this transport belongs to); "auto" is a bonus:
    # ringmcp answers server/discover over /sse too, so the client settles on 2026-07-28 there.
    log = HttpLog()

    async def body() -> None:
        async with connect(server.sse_url, mode, log, sse=True) as client:
            assert client.protocol_version == EXPECTED_VERSION[mode]
            tools = await client.list_tools()
            assert {"echo", "add"} <= {t.name for t in tools.tools}
            r = await client.call_tool("echo", {"text": "over sse"})
            assert text_of(r.content) == "over sse"
            r = await client.call_tool("add", {"a": 1, "b": 2})
            assert r.structured_content == {"sum": 3}
            readme = await client.read_resource("demo://readme")
            assert "ringmcp demo" in readme.contents[0].text
            greeting = await client.read_resource("demo://greeting/grace")
            assert greeting.contents[0].text == "Hello, grace!"
            got = await client.get_prompt("greet", {"name": "Ada"})
            assert got.messages[0].content.text == "Hello, Ada!"

    try:
        run(body)
    except BaseException as e:
        raise AssertionError(f"{e!r}\nHTTP traffic:\n{log.dump()}") from e
    # The endpoint event pointed the client at /messages?sessionId=...
    assert any(">> POST" in line and "/messages?sessionId=" in line for line in log.lines), log.dump()


def test_sse_transport_progress(server: HttpServer) -> None:
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async def body() -> None:
        async with connect(server.sse_url, "legacy", sse=True) as client:
            r = await client.call_tool("progress", {"steps": 3, "delay_ms": 5}, progress_callback=on_progress)
            assert not r.is_error
            with anyio.move_on_after(2):
                while len(seen) < 3:
                    await anyio.sleep(0.01)

    run(body)
    assert seen == sorted(seen) and len(seen) == 3, seen


# --------------------------------------------------------------------------------------------
# (5) many concurrent legacy sessions (spread over both shards)
# --------------------------------------------------------------------------------------------


def test_many_legacy_sessions(server: HttpServer) -> None:
    n = 20
    results: dict[int, str] = {}
    logs = [HttpLog() for _ in range(n)]

    async def one(i: int) -> None:
        async with connect(server.mcp_url, "legacy", logs[i]) as client:
            r = await client.call_tool("echo", {"text": f"client-{i}"})
            results[i] = text_of(r.content)
            r = await client.call_tool("add", {"a": i, "b": 1})
            assert r.structured_content == {"sum": i + 1}
            # Session state is per session: a templated read and a prompt, too.
            g = await client.read_resource(f"demo://greeting/c{i}")
            assert g.contents[0].text == f"Hello, c{i}!"

    async def body() -> None:
        async with anyio.create_task_group() as tg:
            for i in range(n):
                tg.start_soon(one, i)

    run(body, limit=40)
    assert results == {i: f"client-{i}" for i in range(n)}
    session_ids = {log.session_id for log in logs}
    assert None not in session_ids and len(session_ids) == n, session_ids
    shards = {log.shard for log in logs}
    # 20 sessions over 2 shards: all on one shard has probability ~2**-19 with SO_REUSEPORT hashing.
    assert shards == set(range(SHARDS)), f"all {n} sessions on shard(s) {shards}"
    # Every session ended with a DELETE that the server accepted.
    for log in logs:
        assert any(line.startswith("<< 200 DELETE") or line.startswith("<< 204 DELETE") for line in log.lines), log.dump()
