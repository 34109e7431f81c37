"""The official Python SDK client (`mcp` 2.3.0) against ringmcp nodes in cluster mode behind a
round-robin load balancer without stickiness (driven by tests/cluster_sdk.rs).

    python cluster_flows.py [--omit TAG]... URL MODE [MODE...]      MODE: legacy | 2026-07-28

URL is the load balancer's MCP endpoint; the nodes serve the demo set with a small --page-size, so
every list takes several pages. For each mode the script runs the flows of test_http_sdk.py and
test_input_sdk.py that a user of a cluster meets:
  * tools, resources, resource templates and prompts listed page by page (the cursor of one page
    is opened by whichever node serves the next);
  * tool calls (text and structured output), resource reads (plain and templated), a prompt;
  * a subscription to demo://counter from one client, bumped from another client's requests
    (legacy: resources/subscribe + notifications/resources/updated on the session's GET stream;
    2026-07-28: a subscriptions/listen stream);
  * elicitation and roots (legacy: elicitation/create and roots/list sent during the tools/call,
    answered by POSTs of their own; 2026-07-28: input_required + requestState, the retry a request
    of its own);
  * legacy only: a log level set through one node holds on the others.
`--omit cross-node-delivery` leaves out (and names) the flows in which one node must hand a
message to a stream or a waiting request on another: the subscriptions, and legacy elicitation and
roots. It is not a pytest module: pytest's collection in tests/python must not pick it up, since it needs
a cluster that only the Rust test starts.

Every request's response is recorded with the node that served it (HAProxy's `X-Served-By`), and
the script fails unless every node served some of each mode's requests and consecutive requests
of one client went to different nodes; it prints the spread. Exits 0 only when every check passed.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.session import ClientRequestContext, IncomingMessage
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.shared.subscriptions import ResourceUpdated
from mcp_types import ElicitRequestParams, ElicitResult, Implementation, ListRootsResult, Root

MODES = {"legacy": "2025-11-25", "2026-07-28": "2026-07-28"}
TIMEOUT_S = 10
# Bound on one mode's whole flow, whatever hangs.
FLOW_LIMIT_S = 60
NODES = {"n1", "n2", "n3"}
TOOLS = {"echo", "add", "sleep", "progress", "log", "bump", "confirm", "approve", "roots", "crash"}
CLIENT_INFO = Implementation(name="ringmcp-cluster-flows", version="0.0.1")

# resources/subscribe, logging and roots are deprecated as of 2026-07-28; the legacy flows use them.
warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", category=MCPDeprecationWarning)
CROSS_NODE = "cross-node-delivery"


@dataclass
class Traffic:
    """Every HTTP exchange of one client: what was asked, and which node answered."""

    name: str
    lines: list[str] = field(default_factory=list)
    served_by: list[str] = field(default_factory=list)

    async def on_request(self, request: httpx2.Request) -> None:
        body = request.content.decode(errors="replace") if request.content else ""
        self.lines.append(f">> [{self.name}] {request.method} {dict(request.headers)} {body[:300]}")

    async def on_response(self, response: httpx2.Response) -> None:
        node = response.headers.get("x-served-by", "?")
        self.served_by.append(node)
        hdrs = {k: v for k, v in response.headers.items() if k.lower().startswith(("mcp", "x-served", "content-type"))}
        self.lines.append(f"<< [{self.name}] {response.status_code} {response.request.method} {hdrs}")

    def switches(self) -> int:
        """How many of this client's consecutive responses came from different nodes."""
        return sum(a != b for a, b in zip(self.served_by, self.served_by[1:]))


@dataclass
class Flow:
    mode: str
    omit: set[str]
    clients: list[Traffic] = field(default_factory=list)

    def traffic(self, name: str) -> Traffic:
        t = Traffic(name)
        self.clients.append(t)
        return t

    def runs(self, what: str, tag: str) -> bool:
        """Whether the flow `what` (tagged `tag`) runs; an omitted one is named in the output."""
        if tag in self.omit:
            print(f"cluster_flows: OMIT [{self.mode}] {what} ({tag})", flush=True)
            return False
        return True

    def dump(self) -> str:
        return "\n".join(line for t in self.clients for line in t.lines[-40:])


@asynccontextmanager
async def connect(url: str, mode: str, traffic: Traffic, **kwargs: Any) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(
        follow_redirects=True,
        timeout=httpx2.Timeout(30.0, read=300.0),
        event_hooks={"request": [traffic.on_request], "response": [traffic.on_response]},
    ) as http:
        async with Client(
            streamable_http_client(url, http_client=http),
            mode=mode,
            client_info=CLIENT_INFO,
            read_timeout_seconds=TIMEOUT_S,
            cache=None,  # every list page, every call goes over the wire
            **kwargs,
        ) as client:
            assert client.protocol_version == MODES[mode], client.protocol_version
            yield client


def text_of(content: list[Any]) -> str:
    assert len(content) >= 1, content
    first = content[0]
    assert first.type == "text", first
    return first.text


async def all_pages(fetch: Callable[[str | None], Awaitable[Any]], items: str) -> tuple[list[Any], int]:
    """Every item of a paginated list, and how many pages it took."""
    got: list[Any] = []
    cursor: str | None = None
    for page in range(1, 101):
        result = await fetch(cursor)
        got.extend(getattr(result, items))
        cursor = result.next_cursor
        if cursor is None:
            return got, page
    raise AssertionError(f"{items}: no end after 100 pages")


class Recorder:
    """A `message_handler`: notifications/resources/updated URIs and notifications/message data."""

    def __init__(self) -> None:
        self.updated: list[str] = []
        self.logs: list[Any] = []

    async def __call__(self, message: IncomingMessage) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            self.updated.append(str(message.params.uri))
        elif isinstance(message, types.LoggingMessageNotification):
            self.logs.append(message.params.data)

    async def wait_updates(self, n: int, seconds: float = 5) -> None:
        with anyio.move_on_after(seconds):
            while len(self.updated) < n:
                await anyio.sleep(0.01)


async def on_elicit(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
    return ElicitResult(action="accept", content={"confirmed": params.message == "Ship it?"})


async def on_list_roots(context: ClientRequestContext) -> ListRootsResult:
    return ListRootsResult(roots=[Root(uri="file:///tmp/cluster", name="cluster")])


def ok(mode: str, what: str) -> None:
    print(f"cluster_flows: ok   [{mode}] {what}", flush=True)


async def lists_calls_reads_prompts(mode: str, client: Client) -> None:
    tools, pages = await all_pages(lambda c: client.list_tools(cursor=c), "tools")
    names = [t.name for t in tools]
    assert set(names) == TOOLS and len(names) == len(TOOLS), names
    assert pages >= 3, f"tools/list took {pages} page(s): is --page-size small?"
    resources, _ = await all_pages(lambda c: client.list_resources(cursor=c), "resources")
    assert {"demo://readme", "demo://counter"} <= {str(r.uri) for r in resources}, resources
    templates, _ = await all_pages(lambda c: client.list_resource_templates(cursor=c), "resource_templates")
    assert "demo://greeting/{name}" in {t.uri_template for t in templates}, templates
    prompts, _ = await all_pages(lambda c: client.list_prompts(cursor=c), "prompts")
    assert "greet" in {p.name for p in prompts}, prompts
    ok(mode, f"paginated lists ({pages} pages of tools)")

    r = await client.call_tool("echo", {"text": "hello, cluster"})
    assert not r.is_error and text_of(r.content) == "hello, cluster", r
    r = await client.call_tool("add", {"a": 40, "b": 2})
    assert not r.is_error and r.structured_content == {"sum": 42}, r
    readme = await client.read_resource("demo://readme")
    assert "ringmcp demo" in readme.contents[0].text, readme
    greeting = await client.read_resource("demo://greeting/ada")
    assert greeting.contents[0].text == "Hello, ada!", greeting
    got = await client.get_prompt("greet", {"name": "Bob"})
    assert got.messages[0].content.text == "Hello, Bob!", got
    ok(mode, "tools/call, resources/read, prompts/get")


async def input_flows(mode: str, client: Client) -> None:
    # Legacy: the server's elicitation/create and roots/list ride the call's SSE stream and the
    # client answers each with a POST of its own (another node, round robin). 2026-07-28: the
    # call ends with input_required and its requestState; the retry goes to another node.
    for question, want in [("Ship it?", "confirmed: yes"), ("Drop the table?", "confirmed: no")]:
        r = await client.call_tool("confirm", {"question": question})
        assert not r.is_error and text_of(r.content) == want, r
    r = await client.call_tool("roots", {})
    assert not r.is_error and text_of(r.content) == "file:///tmp/cluster", r
    ok(mode, "elicitation and roots (multi-round-trip input)")


async def legacy_subscription(flow: Flow, url: str, subscriber: Client, rec: Recorder) -> None:
    await subscriber.subscribe_resource("demo://counter")
    async with connect(url, "legacy", flow.traffic("bumper")) as bumper:
        for n in range(1, 4):
            r = await bumper.call_tool("bump", {})
            assert not r.is_error, r
            await rec.wait_updates(n)
            assert rec.updated == ["demo://counter"] * n, f"after bump {n}: {rec.updated}"
    ok("legacy", "resources/subscribe: 3 bumps from another session, 3 notifications")


async def legacy_log_level(subscriber: Client, rec: Recorder) -> None:
    # Set through one node; the calls that follow land on the others.
    await subscriber.set_logging_level("error")
    for i in range(3):
        r = await subscriber.call_tool("log", {"level": "warning", "message": f"quiet {i}"})
        assert text_of(r.content) == "logged at warning", r
        r = await subscriber.call_tool("log", {"level": "error", "message": f"loud {i}"})
        assert text_of(r.content) == "logged at error", r
    assert rec.logs == [f"loud {i}" for i in range(3)], rec.logs
    ok("legacy", "logging/setLevel through one node holds on the others")


async def modern_subscription(flow: Flow, url: str) -> None:
    async with connect(url, "2026-07-28", flow.traffic("listener")) as listener:
        async with listener.listen(resource_subscriptions=["demo://counter"]) as sub:
            assert sub.honored.resource_subscriptions == ["demo://counter"], sub.honored
            async with connect(url, "2026-07-28", flow.traffic("bumper")) as bumper:
                for n in range(1, 4):
                    r = await bumper.call_tool("bump", {})
                    assert not r.is_error, r
                    event = None
                    with anyio.move_on_after(5):
                        async for event in sub:
                            break
                    assert event == ResourceUpdated(uri="demo://counter"), f"bump {n}: {event!r}"
    ok("2026-07-28", "subscriptions/listen: 3 bumps from another client, 3 events")


async def run_flow(url: str, mode: str, flow: Flow) -> None:
    rec = Recorder()
    async with connect(
        url,
        mode,
        flow.traffic("main"),
        message_handler=rec,
        elicitation_callback=on_elicit,
        list_roots_callback=on_list_roots,
    ) as client:
        await lists_calls_reads_prompts(mode, client)
        # 2026-07-28 input is a retry that carries requestState: no node hands anything over.
        if mode != "legacy" or flow.runs("elicitation and roots", CROSS_NODE):
            await input_flows(mode, client)
        if mode == "legacy":
            if flow.runs("resources/subscribe", CROSS_NODE):
                await legacy_subscription(flow, url, client, rec)
            await legacy_log_level(client, rec)
    if mode == "2026-07-28" and flow.runs("subscriptions/listen", CROSS_NODE):
        await modern_subscription(flow, url)


def check_spread(flow: Flow) -> None:
    spread = Counter(node for t in flow.clients for node in t.served_by)
    switches = sum(t.switches() for t in flow.clients)
    pairs = sum(max(len(t.served_by) - 1, 0) for t in flow.clients)
    print(
        f"cluster_flows: spread [{flow.mode}] {dict(sorted(spread.items()))}; "
        f"{switches} of {pairs} consecutive responses of one client from different nodes",
        flush=True,
    )
    assert set(spread) == NODES, f"every node serves: {dict(spread)}"
    assert switches * 2 >= pairs, f"round robin moves consecutive requests: {switches} of {pairs}"


def main() -> int:
    parser = argparse.ArgumentParser(description="Python SDK flows against a cluster's load balancer")
    parser.add_argument("--omit", action="append", default=[], choices=[CROSS_NODE], help="leave these flows out")
    parser.add_argument("url")
    parser.add_argument("modes", nargs="+", choices=list(MODES))
    args = parser.parse_args()
    url = args.url
    for mode in args.modes:
        flow = Flow(mode, set(args.omit))

        async def body() -> None:
            with anyio.fail_after(FLOW_LIMIT_S):
                await run_flow(url, mode, flow)

        try:
            anyio.run(body)
            check_spread(flow)
        except BaseException as e:  # noqa: BLE001 - any failure, with the traffic that led to it
            print(f"cluster_flows: FAIL [{mode}] {e!r}\nHTTP traffic:\n{flow.dump()}", file=sys.stderr, flush=True)
            return 1
    print("cluster_flows: all passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
