//! Micro-benchmarks of the sans-IO hot path (`cargo bench -p ringmcp-bench --bench proto`):
//! parse + type + serialise one `tools/call`, the line codec, the HTTP request codec, the SSE
//! encoder. Results go in docs/BENCHMARKS.md with the machine and date they came from.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ringmcp_proto::dispatch::{ClientRequest, Era};
use ringmcp_proto::framing::http::{HttpCodec, HttpEvent, HttpLimits};
use ringmcp_proto::framing::{sse, Frame, NdjsonCodec};
use ringmcp_proto::jsonrpc::{self, Message, Parsed};
use ringmcp_proto::types::{CallToolResult, Content};
use std::hint::black_box;

const CALL: &[u8] = br#"{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"echo","arguments":{"text":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}}"#;
const MODERN_CALL: &[u8] = br#"{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"echo","arguments":{"text":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"bench","version":"1"}}}}"#;

fn call_round_trip(bytes: &[u8]) -> usize {
    let Parsed::Single(Ok(Message::Request(req))) = jsonrpc::parse(bytes) else {
        return 0;
    };
    let Ok(mut typed) = ClientRequest::parse(&req.method, req.params.as_deref()) else {
        return 0;
    };
    let _ = Era::of(&mut typed);
    let text = match &typed {
        ClientRequest::CallTool(p) => p
            .arguments
            .as_ref()
            .and_then(|a| a.get("text"))
            .and_then(|t| t.as_str())
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    };
    let result = CallToolResult {
        content: vec![Content::text(text)],
        ..Default::default()
    };
    let mut out = Vec::with_capacity(256);
    jsonrpc::write_result(&mut out, &req.id, &result);
    out.len()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("tools_call");
    g.throughput(Throughput::Elements(1));
    g.bench_function("legacy: parse + type + serialise", |b| {
        b.iter(|| call_round_trip(black_box(CALL)))
    });
    g.bench_function("2026-07-28 _meta: parse + type + serialise", |b| {
        b.iter(|| call_round_trip(black_box(MODERN_CALL)))
    });
    g.finish();

    let mut lines = Vec::new();
    for _ in 0..64 {
        lines.extend_from_slice(CALL);
        lines.push(b'\n');
    }
    let mut g = c.benchmark_group("ndjson");
    g.throughput(Throughput::Bytes(lines.len() as u64));
    g.bench_function("64 lines in one read", |b| {
        b.iter_batched(
            || NdjsonCodec::new(4 << 20),
            |mut codec| {
                let mut n = 0;
                codec.decode(black_box(&lines), |f| {
                    if let Frame::Line(l) = f {
                        n += l.len();
                    }
                });
                n
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();

    let mut req = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: echo\r\nContent-Length: {}\r\n\r\n",
        MODERN_CALL.len()
    )
    .into_bytes();
    req.extend_from_slice(MODERN_CALL);
    let mut g = c.benchmark_group("http");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse one request", |b| {
        b.iter_batched(
            || HttpCodec::new(HttpLimits::default()),
            |mut codec| {
                let mut n = 0;
                codec.decode(black_box(&req), |e| {
                    if let HttpEvent::Request(r) = e {
                        n += r.body.len();
                    }
                });
                n
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();

    let data = br#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1,"total":10}}"#;
    let mut g = c.benchmark_group("sse");
    g.throughput(Throughput::Elements(1));
    g.bench_function("encode one event", |b| {
        let mut out = Vec::with_capacity(256);
        b.iter(|| {
            out.clear();
            sse::write_event(&mut out, Some("17"), Some("message"), black_box(data));
            out.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
