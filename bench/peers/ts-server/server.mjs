// A peer for ringmcp's benchmarks: the `echo` tool on the official TypeScript MCP SDK, served over
// Streamable HTTP on /mcp with node's http module, JSON answers (enableJsonResponse) in both modes.
//
//   node server.mjs --port 7411 --mode stateful    # one McpServer + transport per session
//   node server.mjs --port 7412 --mode stateless   # a fresh McpServer + transport per request
//
// `echo` takes {"text": string} and answers {"content":[{"type":"text","text": text}]}.
// Binds 127.0.0.1 only. TCP_NODELAY on every accepted socket.

import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string', default: '7411' },
    host: { type: 'string', default: '127.0.0.1' },
    mode: { type: 'string', default: 'stateful' },
  },
});
if (opts.mode !== 'stateful' && opts.mode !== 'stateless') {
  console.error(`ts-server: --mode must be stateful or stateless, not ${opts.mode}`);
  process.exit(2);
}

function newMcpServer() {
  const server = new McpServer({ name: 'ts-echo-peer', version: '0.1.0' });
  server.registerTool(
    'echo',
    {
      description: 'Returns its text argument unchanged.',
      inputSchema: { text: z.string().describe('The text to send back.') },
    },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
  return server;
}

function sendError(res, status, message) {
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (chunks.length === 0) return resolve(undefined);
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (e) {
        reject(e);
      }
    });
    req.on('error', reject);
  });
}

// Stateful: the session id names the transport (and its McpServer) made by its initialize.
const sessions = new Map();

async function handleStateful(req, res, body) {
  const sid = req.headers['mcp-session-id'];
  let transport = typeof sid === 'string' ? sessions.get(sid) : undefined;
  if (!transport) {
    if (sid !== undefined) return sendError(res, 404, 'Session not found');
    if (req.method !== 'POST' || !isInitializeRequest(body)) {
      return sendError(res, 400, 'Bad Request: no session id and not an initialize request');
    }
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: (id) => sessions.set(id, transport),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await newMcpServer().connect(transport);
  }
  await transport.handleRequest(req, res, body);
}

// Stateless: the SDK's documented pattern, a server and a transport for each request.
async function handleStateless(req, res, body) {
  if (req.method !== 'POST') return sendError(res, 405, 'Method not allowed');
  const server = newMcpServer();
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  });
  res.on('close', () => {
    transport.close();
    server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, body);
}

const handle = opts.mode === 'stateful' ? handleStateful : handleStateless;

const http = createServer(async (req, res) => {
  try {
    const path = req.url.split('?', 1)[0];
    if (path !== '/mcp') return sendError(res, 404, 'Not found');
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    await handle(req, res, body);
  } catch (e) {
    if (!res.headersSent) sendError(res, 500, `Internal error: ${e?.message ?? e}`);
    else res.end();
  }
});
http.keepAliveTimeout = 60_000;
http.on('connection', (socket) => socket.setNoDelay(true));
http.listen(Number(opts.port), opts.host, () => {
  console.error(`ts-server: Streamable HTTP (${opts.mode}, JSON responses) on http://${opts.host}:${opts.port}/mcp`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
