// A peer for ringmcp's client tests: the `echo` tool on the official TypeScript MCP SDK's 2.x line
// (@modelcontextprotocol/server), which speaks 2026-07-28. Served on /mcp with node's http module
// through the SDK's own entry, `createMcpHandler`, adapted by `toNodeHandler`:
//
//   node server.mjs --port 7421                  # 2026-07-28, and 2025-era requests statelessly
//   node server.mjs --port 7421 --legacy reject  # 2026-07-28 only
//
// 2025-era requests (an `initialize`, no per-request `_meta` envelope) are served by the SDK's
// stateless fallback, a fresh server per request: no Mcp-Session-Id. `echo` takes
// {"text": string} and answers {"content":[{"type":"text","text": text}]}. Binds 127.0.0.1 only.

import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { McpServer, createMcpHandler } from '@modelcontextprotocol/server';
import { localhostHostValidation, toNodeHandler } from '@modelcontextprotocol/node';
import { z } from 'zod';

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string', default: '7421' },
    host: { type: 'string', default: '127.0.0.1' },
    legacy: { type: 'string', default: 'stateless' },
  },
});
if (opts.legacy !== 'stateless' && opts.legacy !== 'reject') {
  console.error(`ts2-server: --legacy must be stateless or reject, not ${opts.legacy}`);
  process.exit(2);
}

function newMcpServer() {
  const server = new McpServer({ name: 'ts2-echo-peer', version: '0.1.0' });
  server.registerTool(
    'echo',
    {
      description: 'Returns its text argument unchanged.',
      inputSchema: z.object({ text: z.string().describe('The text to send back.') }),
    },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
  return server;
}

const mcp = toNodeHandler(
  createMcpHandler(newMcpServer, {
    legacy: opts.legacy,
    onerror: (e) => console.error(`ts2-server: ${e?.message ?? e}`),
  }),
);
const validateHost = localhostHostValidation();

const http = createServer(async (req, res) => {
  try {
    if (req.url.split('?', 1)[0] !== '/mcp') {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      return res.end('Not Found');
    }
    if (!validateHost(req, res)) return;
    await mcp(req, res);
  } catch (e) {
    console.error(`ts2-server: ${e?.stack ?? e}`);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  }
});
http.on('connection', (socket) => socket.setNoDelay(true));
http.listen(Number(opts.port), opts.host, () => {
  console.error(`ts2-server: Streamable HTTP (2026-07-28, legacy ${opts.legacy}) on http://${opts.host}:${opts.port}/mcp`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
