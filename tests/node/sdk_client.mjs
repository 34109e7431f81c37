// Drives a running ringmcp server (demo set) with the official MCP TypeScript SDK (1.x):
// `Client` over `StreamableHTTPClientTransport`, i.e. legacy sessions at the SDK's latest
// protocol revision (2025-11-25).
//
//   node sdk_client.mjs http://127.0.0.1:PORT/mcp
//
// Every check is bounded by a timeout; the first failure prints what was expected, what the
// server sent, and exits 1. Exits 0 only when every check passed.
//
// Against a cluster (tests/cluster_sdk.rs: nodes behind a round-robin load balancer that names
// the node in `X-Served-By`), the environment says so:
//   SDK_CLIENT_NODES="n1 n2 n3"   the nodes: every one must serve some of the requests, and
//                                 consecutive requests must move between them; demo://counter is
//                                 then a counter per node, so bumps are checked for growth only
//   SDK_CLIENT_OMIT="TAG ..."     checks tagged so are left out, each named in the output (tag
//                                 cross-node-delivery: a message that one node must hand to a
//                                 stream or a waiting request on another)

import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  ElicitRequestSchema,
  ErrorCode,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  McpError,
  ResourceUpdatedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";

const url = process.argv[2];
if (!url) {
  console.error("usage: node sdk_client.mjs <server url, e.g. http://127.0.0.1:PORT/mcp>");
  process.exit(2);
}

const STEP_MS = 10_000; // bound on every single await
const NOTIFY_MS = 5_000; // how long a subscriber may wait for notifications/resources/updated
const TOTAL_MS = 45_000; // bound on the whole run, whatever hangs

const watchdog = setTimeout(() => {
  console.error(`sdk_client: FAIL: the whole run took longer than ${TOTAL_MS} ms`);
  process.exit(1);
}, TOTAL_MS);
watchdog.unref();

/** Races `promise` against a timer; rejects with a message naming `what` on timeout. */
function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const show = (v) => JSON.stringify(v);
const clusterNodes = (process.env.SDK_CLIENT_NODES ?? "").split(/\s+/).filter(Boolean);
const omitted = new Set((process.env.SDK_CLIENT_OMIT ?? "").split(/\s+/).filter(Boolean));

// The node that served each response, in order (`X-Served-By`, set by the load balancer).
const servedBy = [];
const recordingFetch = async (input, init) => {
  const response = await fetch(input, init);
  const node = response.headers.get("x-served-by");
  if (node) servedBy.push(node);
  return response;
};
let closing = false;
const opts = { timeout: STEP_MS }; // SDK-side request timeout, on top of within()

let current = "(setup)";
let passed = 0;
async function check(name, fn, tag) {
  if (tag && omitted.has(tag)) {
    console.log(`sdk_client: OMIT ${name} (${tag})`);
    return;
  }
  current = name;
  const t0 = Date.now();
  await within(STEP_MS * 2, name, fn());
  passed += 1;
  console.log(`sdk_client: ok   ${name} (${Date.now() - t0} ms)`);
}

/** Text of the single text content block of a tool result; asserts that shape. */
function onlyText(result, what) {
  assert.ok(Array.isArray(result?.content), `${what}: result has no content array: ${show(result)}`);
  const texts = result.content.filter((c) => c.type === "text");
  assert.equal(texts.length, 1, `${what}: expected exactly one text block, got ${show(result.content)}`);
  return texts[0].text;
}

function newClient(name, capabilities = {}) {
  const client = new Client({ name, version: "0.0.0" }, { capabilities });
  client.onerror = (e) => {
    // Closing aborts the client's own GET stream; the SDK reports that as an error. Not news.
    if (closing && /AbortError|aborted/.test(String(e?.message ?? e))) return;
    console.error(`sdk_client: [${name}] transport error: ${e?.message ?? e}`);
  };
  return client;
}

async function connect(client) {
  const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: recordingFetch });
  await within(STEP_MS, `${client._clientInfo?.name ?? "client"}: connect/initialize`, client.connect(transport, opts));
  return transport;
}

// Client A: elicitation + roots capabilities, the subscriber.
const a = newClient("ringmcp-e2e-a", { elicitation: { form: {} }, roots: { listChanged: false } });
// Further sessions (at least one on another shard than A's) that bump the counter.
const others = [];
let ta;

const updates = []; // notifications/resources/updated seen by A
const updateWaiters = [];
a.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
  updates.push(n.params);
  for (const w of updateWaiters.splice(0)) w();
});
const logs = [];
a.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
  logs.push(n.params);
});
const elicitations = [];
a.setRequestHandler(ElicitRequestSchema, async (req) => {
  elicitations.push(req.params);
  return { action: "accept", content: { confirmed: true } };
});
a.setRequestHandler(ListRootsRequestSchema, async () => ({
  roots: [{ uri: "file:///tmp/ringmcp-e2e", name: "e2e" }],
}));

/** Every item of a paginated list: follows `nextCursor` (small pages: several requests). */
async function listAll(list, key) {
  const items = [];
  let cursor;
  for (let page = 1; page <= 100; page++) {
    const result = await list(cursor === undefined ? {} : { cursor });
    items.push(...result[key]);
    cursor = result.nextCursor;
    if (cursor === undefined) return items;
  }
  throw new Error(`${key}: no end after 100 pages`);
}

/** Waits until the subscriber has seen at least `n` notifications/resources/updated for `uri`. */
function waitForUpdates(uri, n, ms) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const poll = () => {
      const hits = updates.filter((p) => p?.uri === uri);
      if (hits.length >= n) return resolve(hits);
      const left = ms - (Date.now() - t0);
      if (left <= 0) {
        return reject(
          new Error(
            `expected notification #${n} (notifications/resources/updated for ${uri}) within ${ms} ms; ` +
              `the subscriber saw ${hits.length}: ${show(updates)}`,
          ),
        );
      }
      const timer = setTimeout(poll, Math.min(left, 100));
      updateWaiters.push(() => {
        clearTimeout(timer);
        poll();
      });
    };
    poll();
  });
}

try {
  await check("connect (client A, 2025-11-25 session)", async () => {
    ta = await connect(a);
    assert.ok(ta.sessionId, "server sent no Mcp-Session-Id on initialize");
    assert.equal(ta.protocolVersion, "2025-11-25", `negotiated protocol version: ${ta.protocolVersion}`);
    const info = a.getServerVersion();
    assert.equal(info?.name, "ringmcp-demo", `serverInfo: ${show(info)}`);
    const caps = a.getServerCapabilities();
    assert.ok(caps?.tools, `server capabilities lack tools: ${show(caps)}`);
    assert.ok(caps?.resources?.subscribe, `server capabilities lack resources.subscribe: ${show(caps)}`);
    assert.ok(caps?.prompts, `server capabilities lack prompts: ${show(caps)}`);
  });

  await check("tools/list", async () => {
    const tools = await listAll((p) => a.listTools(p, opts), "tools");
    const names = tools.map((t) => t.name);
    for (const want of ["echo", "add", "sleep", "progress", "log", "bump", "confirm", "roots", "crash"]) {
      assert.ok(names.includes(want), `tool ${want} missing from tools/list: ${show(names)}`);
    }
    const add = tools.find((t) => t.name === "add");
    assert.ok(add.outputSchema, `add has no outputSchema: ${show(add)}`);
  });

  await check("tools/call echo", async () => {
    const r = await a.callTool({ name: "echo", arguments: { text: "hello from the TS SDK" } }, undefined, opts);
    assert.ok(!r.isError, `echo returned isError: ${show(r)}`);
    assert.equal(onlyText(r, "echo"), "hello from the TS SDK");
  });

  await check("tools/call add (structuredContent.sum)", async () => {
    // The SDK validates structuredContent against the tool's outputSchema (cached by listTools).
    const r = await a.callTool({ name: "add", arguments: { a: 2, b: 3.5 } }, undefined, opts);
    assert.ok(!r.isError, `add returned isError: ${show(r)}`);
    assert.deepEqual(r.structuredContent, { sum: 5.5 }, `add structuredContent: ${show(r)}`);
  });

  await check("resources/read demo://readme", async () => {
    const r = await a.readResource({ uri: "demo://readme" }, opts);
    assert.equal(r.contents.length, 1, `contents: ${show(r.contents)}`);
    const [c] = r.contents;
    assert.equal(c.uri, "demo://readme");
    assert.equal(c.mimeType, "text/markdown");
    assert.match(c.text, /ringmcp demo/, `readme text: ${show(c.text)}`);
  });

  await check("resources/read template demo://greeting/{name}", async () => {
    const resourceTemplates = await listAll((p) => a.listResourceTemplates(p, opts), "resourceTemplates");
    assert.ok(
      resourceTemplates.some((t) => t.uriTemplate === "demo://greeting/{name}"),
      `templates: ${show(resourceTemplates)}`,
    );
    const r = await a.readResource({ uri: "demo://greeting/ada" }, opts);
    assert.equal(r.contents[0]?.text, "Hello, ada!", `contents: ${show(r.contents)}`);
  });

  await check("resources/subscribe demo://counter + bump from another shard's session", async () => {
    await a.subscribeResource({ uri: "demo://counter" }, opts);
    // Session ids start with the owning shard's number in hex. Open sessions until one lands on
    // another shard than A's (each new session tends to get its own connection, and the kernel
    // spreads connections over the shards), so the update must cross shards to reach A.
    const shardOf = (t) => t.sessionId?.slice(0, 2);
    const tried = [];
    for (let i = 0; i < 16 && !others.some((o) => shardOf(o.transport) !== shardOf(ta)); i++) {
      const client = newClient(`ringmcp-e2e-b${i}`);
      const transport = await connect(client);
      assert.ok(transport.sessionId && transport.sessionId !== ta.sessionId, `new session id ${transport.sessionId}`);
      tried.push(shardOf(transport));
      others.push({ client, transport });
    }
    const far = others.find((o) => shardOf(o.transport) !== shardOf(ta));
    assert.ok(
      far,
      `could not open a session on a shard other than A's (shard ${shardOf(ta)}); shards of ${tried.length} ` +
        `further sessions: ${show(tried)}; is the server running with --cores 2?`,
    );
    const near = others.find((o) => shardOf(o.transport) === shardOf(ta));
    console.log(
      `sdk_client:      subscriber on shard ${shardOf(ta)}, bumping from shard ${shardOf(far.transport)}` +
        (near ? ` and from shard ${shardOf(near.transport)}` : ""),
    );
    let expected = 0;
    for (const { client } of near ? [far, near] : [far]) {
      const before = Number((await client.readResource({ uri: "demo://counter" }, opts)).contents[0].text);
      const r = await client.callTool({ name: "bump", arguments: {} }, undefined, opts);
      assert.ok(!r.isError, `bump returned isError: ${show(r)}`);
      const after = Number(onlyText(r, "bump"));
      if (clusterNodes.length) {
        // One counter per node: the read and the bump may each land on another node.
        assert.ok(after >= 1, `bump returned ${after}`);
      } else {
        assert.equal(after, before + 1, `bump returned ${after}, counter was ${before}`);
      }
      expected += 1;
      await waitForUpdates("demo://counter", expected, NOTIFY_MS);
      const seen = Number((await a.readResource({ uri: "demo://counter" }, opts)).contents[0].text);
      assert.ok(
        clusterNodes.length || seen >= after,
        `client A reads counter ${seen} after it was bumped to ${after}`,
      );
    }
  }, "cross-node-delivery");

  await check("prompts/get greet {name: Bob}", async () => {
    const r = await a.getPrompt({ name: "greet", arguments: { name: "Bob" } }, opts);
    assert.equal(r.messages.length, 1, `messages: ${show(r.messages)}`);
    assert.equal(r.messages[0].role, "user");
    assert.deepEqual(r.messages[0].content, { type: "text", text: "Hello, Bob!" }, `prompt: ${show(r)}`);
  });

  await check("tools/call progress (3 steps, onprogress)", async () => {
    const seen = [];
    const r = await a.callTool({ name: "progress", arguments: { steps: 3, delay_ms: 20 } }, undefined, {
      ...opts,
      onprogress: (p) => seen.push(p),
    });
    assert.ok(!r.isError, `progress returned isError: ${show(r)}`);
    assert.equal(onlyText(r, "progress"), "done 3 steps");
    assert.deepEqual(
      seen.map((p) => [p.progress, p.total]),
      [
        [1, 3],
        [2, 3],
        [3, 3],
      ],
      `progress notifications received: ${show(seen)}`,
    );
  });

  await check("tools/call log (notifications/message)", async () => {
    await a.setLoggingLevel("debug", opts);
    const r = await a.callTool({ name: "log", arguments: { level: "warning", message: "e2e log line" } }, undefined, opts);
    assert.equal(onlyText(r, "log"), "logged at warning");
    // The log notification travels on the POST's SSE stream, before the response.
    const hit = logs.find((l) => l.data === "e2e log line");
    assert.ok(hit, `no notifications/message with data "e2e log line"; got ${show(logs)}`);
    assert.equal(hit.level, "warning", `log level: ${show(hit)}`);
  });

  await check("tools/call confirm (elicitation/create -> accept)", async () => {
    const r = await a.callTool({ name: "confirm", arguments: { question: "Ship it?" } }, undefined, opts);
    assert.ok(!r.isError, `confirm returned isError: ${show(r)}`);
    assert.equal(onlyText(r, "confirm"), "confirmed: yes");
    assert.equal(elicitations.length, 1, `elicitation requests: ${show(elicitations)}`);
    assert.equal(elicitations[0].message, "Ship it?", `elicitation: ${show(elicitations[0])}`);
  }, "cross-node-delivery");

  await check("tools/call roots (roots/list)", async () => {
    const r = await a.callTool({ name: "roots", arguments: {} }, undefined, opts);
    assert.equal(onlyText(r, "roots"), "file:///tmp/ringmcp-e2e");
  }, "cross-node-delivery");

  await check("tools/call crash -> JSON-RPC error -32603, then echo still works", async () => {
    let err;
    try {
      const r = await a.callTool({ name: "crash", arguments: {} }, undefined, opts);
      assert.fail(`crash returned a result instead of a JSON-RPC error: ${show(r)}`);
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      err = e;
    }
    assert.ok(err instanceof McpError, `crash: expected McpError, got ${err?.constructor?.name}: ${err?.message}`);
    assert.equal(err.code, ErrorCode.InternalError, `crash error code ${err.code} (${err.message})`);
    const r = await a.callTool({ name: "echo", arguments: { text: "still alive" } }, undefined, opts);
    assert.equal(onlyText(r, "echo after crash"), "still alive");
  });

  await check("close (DELETE session) every client", async () => {
    closing = true;
    for (const { client, transport } of [...others, { client: a, transport: ta }]) {
      await within(STEP_MS, "terminateSession", transport.terminateSession());
      assert.equal(transport.sessionId, undefined, "session id still set after terminateSession");
      await within(STEP_MS, "client.close", client.close());
    }
  });

  if (clusterNodes.length) {
    await check(`requests spread over ${clusterNodes.join(", ")}`, async () => {
      const spread = Object.fromEntries(clusterNodes.map((n) => [n, servedBy.filter((s) => s === n).length]));
      const moves = servedBy.slice(1).filter((n, i) => n !== servedBy[i]).length;
      console.log(
        `sdk_client:      spread ${show(spread)}; ${moves} of ${servedBy.length - 1} consecutive responses ` +
          `from different nodes`,
      );
      for (const n of clusterNodes) assert.ok(spread[n] > 0, `${n} served none of ${show(servedBy)}`);
      assert.ok(moves * 2 >= servedBy.length - 1, `consecutive requests stay on one node: ${show(servedBy)}`);
    });
  }
} catch (e) {
  const detail = e instanceof assert.AssertionError ? e.message : e?.stack ?? String(e);
  console.error(`sdk_client: FAIL ${current}\n${detail}`);
  process.exit(1);
}

console.log(`sdk_client: all ${passed} checks passed`);
process.exit(0);
