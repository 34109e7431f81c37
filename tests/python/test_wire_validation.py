"""Raw-wire conformance: drive `ringmcp serve --stdio` with hand-written JSON-RPC lines and
validate everything it prints with `mcp-types` 2.3.0.

* every stdout line must parse as a JSON-RPC message (`mcp_types.jsonrpc_message_adapter`);
* every result is checked by the per-revision strict validator
  `mcp_types.methods.validate_server_result(method, version, result)`;
* every notification by `mcp_types.methods.parse_server_notification(method, version, params)`;
* every request this test sends is itself checked with `validate_client_request`, so a
  typo in the test cannot masquerade as a server bug.

The validators gate on (method, version): a pair absent from the revision raises KeyError.
The tests only send methods that exist in the revision, and `WireSession.request` asserts
the pair is known *before* sending, so a missing pair fails loudly instead of passing.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from typing import Any

import pytest
from mcp_types import jsonrpc_message_adapter
from mcp_types import methods as M
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS

from conftest import ringmcp_bin

LEGACY_VERSIONS = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]
MODERN = "2026-07-28"
READ_TIMEOUT_S = 10.0
CLIENT_INFO = {"name": "ringmcp-wire-test", "version": "0.0.1"}

PV_KEY = "io.modelcontextprotocol/protocolVersion"
CI_KEY = "io.modelcontextprotocol/clientInfo"
CC_KEY = "io.modelcontextprotocol/clientCapabilities"


def test_version_lists_match_sdk() -> None:
    assert tuple(LEGACY_VERSIONS) == tuple(HANDSHAKE_PROTOCOL_VERSIONS)
    assert (MODERN,) == tuple(MODERN_PROTOCOL_VERSIONS)


class WireSession:
    """One server process; newline-delimited JSON-RPC over its stdin/stdout.

    A reader thread feeds stdout lines into a queue, so every read has a timeout and a
    hung server fails the test instead of blocking it.
    """

    def __init__(self, version: str) -> None:
        self.version = version
        self.modern = version in MODERN_PROTOCOL_VERSIONS
        self.proc = subprocess.Popen(
            [ringmcp_bin(), "serve", "--stdio"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        self.stderr: list[str] = []
        self.notifications: list[dict[str, Any]] = []
        self.transcript: list[str] = []
        self.next_id = 1
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()

    def _pump_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in iter(self.proc.stdout.readline, b""):
            self.lines.put(line)
        self.lines.put(None)

    def _pump_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in iter(self.proc.stderr.readline, b""):
            self.stderr.append(line.decode("utf-8", "replace").rstrip())

    def context(self) -> str:
        tail = "\n".join(self.transcript[-12:])
        err = "\n".join(self.stderr[-20:])
        return f"\n--- wire (last lines) ---\n{tail}\n--- server stderr ---\n{err}"

    # -- sending --------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        line = json.dumps(message, separators=(",", ":"))
        assert "\n" not in line
        self.transcript.append(f"C->S {line}")
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        M.validate_client_notification(method, self.version, params)  # self-check of the test
        msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)

    def _roundtrip(self, method: str, params: dict[str, Any] | None, meta: dict[str, Any] | None) -> dict[str, Any]:
        params = dict(params or {})
        if self.modern or meta:
            m = dict(meta or {})
            if self.modern:
                m = {PV_KEY: self.version, CI_KEY: CLIENT_INFO, CC_KEY: {}, **m}
            params["_meta"] = m
        wire_params = params or None
        if (method, self.version) in M.CLIENT_REQUESTS:
            M.validate_client_request(method, self.version, wire_params)  # self-check of the test
        rid = self.next_id
        self.next_id += 1
        msg: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method}
        if wire_params is not None:
            msg["params"] = wire_params
        self.send(msg)
        return self._await_response(rid)

    def request_error(
        self, method: str, params: dict[str, Any] | None = None, *, meta: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send a request that must fail; return the JSON-RPC error object."""
        response = self._roundtrip(method, params, meta)
        assert "error" in response, f"{method} should have failed: {response}{self.context()}"
        return response["error"]

    def request(
        self, method: str, params: dict[str, Any] | None = None, *, meta: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send a request, wait for its response, validate it; return the result object."""
        # Fail (never skip) if the method does not exist in this revision.
        assert (method, self.version) in M.SERVER_RESULTS, f"{method} is not a {self.version} method"
        response = self._roundtrip(method, params, meta)
        assert "error" not in response, f"{method} failed: {response['error']}{self.context()}"
        result = response["result"]
        try:
            M.validate_server_result(method, self.version, result)
        except Exception as e:  # pydantic.ValidationError: report with the wire context
            pytest.fail(f"{method} result invalid at {self.version}: {e}{self.context()}")
        return result

    # -- receiving ------------------------------------------------------------------

    def _read_message(self) -> dict[str, Any]:
        try:
            raw = self.lines.get(timeout=READ_TIMEOUT_S)
        except queue.Empty:
            pytest.fail(f"no output from server within {READ_TIMEOUT_S}s{self.context()}")
        if raw is None:
            pytest.fail(f"server closed stdout (exit code {self.proc.poll()}){self.context()}")
        text = raw.decode("utf-8")
        self.transcript.append(f"S->C {text.rstrip()}")
        assert text.endswith("\n"), f"unterminated line {text!r}"
        body = text[:-1]
        assert body.strip() and "\n" not in body and "\r" not in body, f"bad framing: {text!r}"
        try:
            jsonrpc_message_adapter.validate_json(body)
        except Exception as e:
            pytest.fail(f"stdout line is not a JSON-RPC message: {e}{self.context()}")
        return json.loads(body)

    def _await_response(self, rid: int) -> dict[str, Any]:
        while True:
            msg = self._read_message()
            if "id" in msg and "method" not in msg:
                assert msg["id"] == rid, f"response for unexpected id {msg['id']} (want {rid}){self.context()}"
                return msg
            if "method" in msg and "id" not in msg:
                self._check_notification(msg)
                continue
            pytest.fail(f"unexpected server request during a stdio session: {msg}{self.context()}")

    def _check_notification(self, msg: dict[str, Any]) -> None:
        method = msg["method"]
        assert (method, self.version) in M.SERVER_NOTIFICATIONS, (
            f"server sent {method}, which does not exist at {self.version}{self.context()}"
        )
        try:
            M.parse_server_notification(method, self.version, msg.get("params"))
        except Exception as e:
            pytest.fail(f"{method} notification invalid at {self.version}: {e}{self.context()}")
        self.notifications.append(msg)

    def wait_notification(self, method: str, since: int = 0) -> dict[str, Any]:
        """Return the first `method` notification at index >= since, reading more lines if needed."""
        while True:
            for n in self.notifications[since:]:
                if n["method"] == method:
                    return n
            since = len(self.notifications)
            msg = self._read_message()
            assert "method" in msg and "id" not in msg, f"expected a notification, got {msg}{self.context()}"
            self._check_notification(msg)

    def close(self) -> None:
        """Close stdin (the stdio shutdown signal) and expect a prompt, clean exit with no stray output."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            rc = self.proc.wait(timeout=READ_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"server did not exit within {READ_TIMEOUT_S}s of stdin EOF{self.context()}")
        while True:
            try:
                rest = self.lines.get(timeout=READ_TIMEOUT_S)
            except queue.Empty:
                pytest.fail(f"stdout not closed after exit{self.context()}")
            if rest is None:
                break
            pytest.fail(f"unsolicited output after the last response: {rest!r}{self.context()}")
        assert rc == 0, f"server exited with {rc} on stdin EOF{self.context()}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def session_factory():
    sessions: list[WireSession] = []

    def make(version: str) -> WireSession:
        s = WireSession(version)
        sessions.append(s)
        return s

    yield make
    for s in sessions:
        s.kill()


def text_block(result: dict[str, Any]) -> str:
    content = result["content"]
    assert len(content) >= 1 and content[0]["type"] == "text", content
    return content[0]["text"]


def check_common_surface(s: WireSession) -> None:
    """The requests shared by both eras; results are validated inside `request`."""
    version = s.version
    at_least_0618 = version >= "2025-06-18"

    tools = s.request("tools/list")
    by_name = {t["name"]: t for t in tools["tools"]}
    assert {"echo", "add", "sleep", "progress", "log", "bump", "crash"} <= set(by_name), by_name
    if at_least_0618:
        assert "sum" in by_name["add"]["outputSchema"]["properties"], by_name["add"]

    echo = s.request("tools/call", {"name": "echo", "arguments": {"text": "wire \u2603 test"}})
    assert text_block(echo) == "wire \u2603 test"
    assert not echo.get("isError", False)

    add = s.request("tools/call", {"name": "add", "arguments": {"a": 2, "b": 3}})
    assert json.loads(text_block(add))["sum"] == 5
    if at_least_0618:  # structuredContent exists since 2025-06-18
        assert add["structuredContent"] == {"sum": 5}

    resources = s.request("resources/list")
    assert {"demo://readme", "demo://counter"} <= {r["uri"] for r in resources["resources"]}

    readme = s.request("resources/read", {"uri": "demo://readme"})
    (content,) = readme["contents"]
    assert content["uri"] == "demo://readme"
    assert content["mimeType"] == "text/markdown"
    assert "ringmcp demo" in content["text"]

    greeting = s.request("resources/read", {"uri": "demo://greeting/ada"})
    assert greeting["contents"][0]["text"] == "Hello, ada!"

    templates = s.request("resources/templates/list")
    assert "demo://greeting/{name}" in {t["uriTemplate"] for t in templates["resourceTemplates"]}

    prompts = s.request("prompts/list")
    assert {"greet", "haiku"} <= {p["name"] for p in prompts["prompts"]}

    greet = s.request("prompts/get", {"name": "greet", "arguments": {"name": "Bob"}})
    (message,) = greet["messages"]
    assert message["role"] == "user"
    assert message["content"] == {"type": "text", "text": "Hello, Bob!"}

    formal = s.request("prompts/get", {"name": "greet", "arguments": {"name": "Bob", "style": "formal"}})
    assert formal["messages"][0]["content"]["text"] == "Good day, Bob."

    comp = s.request(
        "completion/complete",
        {"ref": {"type": "ref/prompt", "name": "greet"}, "argument": {"name": "name", "value": "a"}},
    )
    assert {"ada", "alan"} <= set(comp["completion"]["values"]), comp

    comp_t = s.request(
        "completion/complete",
        {"ref": {"type": "ref/resource", "uri": "demo://greeting/{name}"}, "argument": {"name": "name", "value": "ed"}},
    )
    assert comp_t["completion"]["values"] == ["edsger"], comp_t

    # Progress notifications: each is validated as a notification at this revision.
    before = len(s.notifications)
    done = s.request(
        "tools/call",
        {"name": "progress", "arguments": {"steps": 3, "delay_ms": 1}},
        meta={"progressToken": "tok-1"},
    )
    assert not done.get("isError", False)
    progress = [n for n in s.notifications[before:] if n["method"] == "notifications/progress"]
    assert len(progress) == 3, progress
    assert all(n["params"]["progressToken"] == "tok-1" for n in progress)
    values = [n["params"]["progress"] for n in progress]
    assert values == sorted(values) and len(set(values)) == 3, values


@pytest.mark.parametrize("version", LEGACY_VERSIONS)
def test_legacy_session(session_factory, version: str) -> None:
    s = session_factory(version)
    init = s.request(
        "initialize",
        {"protocolVersion": version, "capabilities": {}, "clientInfo": CLIENT_INFO},
    )
    # Spec: a server that supports the requested version MUST answer with that same version.
    assert init["protocolVersion"] == version, init
    assert init["serverInfo"]["name"], init
    caps = init["capabilities"]
    assert {"tools", "resources", "prompts"} <= set(caps), caps
    if version >= "2025-03-26":  # the completions capability exists since 2025-03-26
        assert "completions" in caps, caps
    s.notify("notifications/initialized")

    assert s.request("ping") == {}
    check_common_surface(s)
    assert s.request("ping") == {}
    s.close()


def test_modern_session(session_factory) -> None:
    s = session_factory(MODERN)
    disc = s.request("server/discover")
    assert MODERN in disc["supportedVersions"], disc
    assert {"tools", "resources", "prompts"} <= set(disc["capabilities"]), disc
    for legacy_only in ("initialize", "ping", "logging/setLevel"):
        # Sanity: these do not exist at 2026-07-28, so validating them would KeyError.
        assert (legacy_only, MODERN) not in M.SERVER_RESULTS

    check_common_surface(s)
    s.close()


def test_modern_results_carry_2026_fields(session_factory) -> None:
    """2026-07-28 results need resultType; cacheable ones also ttlMs + cacheScope (checked by the
    validator too, but asserted here explicitly so a validator change cannot hide a regression)."""
    s = session_factory(MODERN)
    for method, params in [
        ("server/discover", None),
        ("tools/list", None),
        ("prompts/list", None),
        ("resources/list", None),
        ("resources/templates/list", None),
        ("resources/read", {"uri": "demo://readme"}),
    ]:
        r = s.request(method, params)
        assert r["resultType"] == "complete", (method, r)
        assert isinstance(r["ttlMs"], int) and r["ttlMs"] >= 0, (method, r)
        assert r["cacheScope"] in ("private", "public"), (method, r)
    for method, params in [
        ("tools/call", {"name": "echo", "arguments": {"text": "x"}}),
        ("prompts/get", {"name": "greet", "arguments": {"name": "x"}}),
        ("completion/complete", {"ref": {"type": "ref/prompt", "name": "haiku"}, "argument": {"name": "colour", "value": ""}}),
    ]:
        r = s.request(method, params)
        assert r["resultType"] == "complete", (method, r)
    s.close()


@pytest.mark.parametrize("version", LEGACY_VERSIONS)
def test_legacy_subscribe_and_logging(session_factory, version: str) -> None:
    s = session_factory(version)
    s.request("initialize", {"protocolVersion": version, "capabilities": {}, "clientInfo": CLIENT_INFO})
    s.notify("notifications/initialized")

    # resources/subscribe -> bump -> notifications/resources/updated for demo://counter.
    assert s.request("resources/subscribe", {"uri": "demo://counter"}) == {}
    start = int(s.request("resources/read", {"uri": "demo://counter"})["contents"][0]["text"])
    mark = len(s.notifications)
    s.request("tools/call", {"name": "bump", "arguments": {}})
    updated = s.wait_notification("notifications/resources/updated", mark)
    assert updated["params"]["uri"] == "demo://counter"
    assert int(s.request("resources/read", {"uri": "demo://counter"})["contents"][0]["text"]) == start + 1
    assert s.request("resources/unsubscribe", {"uri": "demo://counter"}) == {}

    # logging/setLevel filters notifications/message.
    assert s.request("logging/setLevel", {"level": "warning"}) == {}
    mark = len(s.notifications)
    s.request("tools/call", {"name": "log", "arguments": {"level": "error", "message": "loud"}})
    logged = s.wait_notification("notifications/message", mark)
    assert logged["params"]["level"] == "error" and logged["params"]["data"] == "loud", logged
    mark = len(s.notifications)
    s.request("tools/call", {"name": "log", "arguments": {"level": "info", "message": "quiet"}})
    assert s.request("ping") == {}
    assert not [n for n in s.notifications[mark:] if n["method"] == "notifications/message"], s.notifications[mark:]
    s.close()


def test_legacy_version_negotiation_fallback(session_factory) -> None:
    """Spec (lifecycle): if the server does not support the requested version it MUST answer
    with another version it supports (here: its latest handshake version)."""
    s = session_factory("2025-11-25")
    init = s.request(
        "initialize", {"protocolVersion": "2099-01-01", "capabilities": {}, "clientInfo": CLIENT_INFO}
    )
    assert init["protocolVersion"] in LEGACY_VERSIONS, init
    s.close()


@pytest.mark.parametrize("version", ["2025-11-25", MODERN])
def test_error_responses(session_factory, version: str) -> None:
    """Error envelopes are validated line by line as JSON-RPC errors (in `_read_message`)."""
    s = session_factory(version)
    if not s.modern:
        s.request("initialize", {"protocolVersion": version, "capabilities": {}, "clientInfo": CLIENT_INFO})
        s.notify("notifications/initialized")
    err = s.request_error("tools/call", {"name": "no_such_tool", "arguments": {}})
    assert err["code"] == -32602, err
    err = s.request_error("tools/call", {"name": "crash", "arguments": {}})
    assert err["code"] == -32603, err
    err = s.request_error("resources/read", {"uri": "demo://no-such-resource"})
    assert err["code"] in (-32002, -32602), err  # -32002 (2025) / -32602 (2026 wording)
    err = s.request_error("prompts/get", {"name": "greet", "arguments": {}})
    assert err["code"] == -32602, err
    err = s.request_error("no/such/method")
    assert err["code"] == -32601, err
    # Still serving after all of that.
    assert text_block(s.request("tools/call", {"name": "echo", "arguments": {"text": "ok"}})) == "ok"
    s.close()


def test_modern_envelope_errors(session_factory) -> None:
    s = session_factory(MODERN)
    # Unsupported revision in _meta -> -32022 listing what the server supports.
    err = s.request_error("tools/list", meta={PV_KEY: "2099-01-01"})
    assert err["code"] == -32022, err
    assert MODERN in err["data"]["supported"], err
    # Legacy-only methods do not exist at 2026-07-28.
    assert ("ping", MODERN) not in M.SERVER_RESULTS
    err = s.request_error("ping")
    assert err["code"] == -32601, err
    # The session (stateless per request) keeps working.
    assert text_block(s.request("tools/call", {"name": "echo", "arguments": {"text": "ok"}})) == "ok"
    s.close()
