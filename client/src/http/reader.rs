//! One SSE stream read on its own thread: events become JSON-RPC messages sent down the
//! transport's channel, and the end of the stream is reported with what resuming it needs (the
//! answer still owed, the last event id, the `retry:` delay). A POST's stream is left as soon as
//! its answer is in. This file owns the reading only; the transport decides about resumption.

use crate::transport::parse_frame;
use reqwest::blocking::Response;
use ringmcp_proto::framing::sse::SseDecoder;
use ringmcp_proto::{Message, RequestId};
use std::io::Read;
use std::sync::mpsc::Sender;

/// Longest SSE line kept (a message is one `data:` line).
const MAX_SSE_LINE: usize = 16 << 20;

/// What a stream reader reports.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A message from the server.
    Message(Message),
    /// The stream ended (or failed).
    Ended(Ended),
}

/// How a stream ended.
#[derive(Debug)]
pub(crate) struct Ended {
    /// Whether the stream owed an answer when it started.
    pub(crate) owed: bool,
    /// The request whose answer the stream still owes.
    pub(crate) awaiting: Option<RequestId>,
    /// The last event id seen, to resume from.
    pub(crate) last_event_id: Option<String>,
    /// The server's `retry:` delay in milliseconds.
    pub(crate) retry_ms: Option<u64>,
}

/// Read `body` on a new thread. `resume_from` seeds the position of a resumed stream.
pub(crate) fn spawn(
    body: Response,
    awaiting: Option<RequestId>,
    resume_from: Option<(&str, Option<u64>)>,
    tx: Sender<Incoming>,
) {
    let mut decoder = SseDecoder::new(MAX_SSE_LINE);
    if let Some((id, retry)) = resume_from {
        // A resumed stream keeps the old position until it sends ids of its own.
        decoder.decode(format!("id: {id}\n\n").as_bytes(), |_| {});
        if let Some(ms) = retry {
            decoder.decode(format!("retry: {ms}\n\n").as_bytes(), |_| {});
        }
    }
    std::thread::spawn(move || pump(body, decoder, awaiting, &tx));
}

fn pump(
    mut body: Response,
    mut decoder: SseDecoder,
    mut awaiting: Option<RequestId>,
    tx: &Sender<Incoming>,
) {
    let owed_at_start = awaiting.is_some();
    let mut buf = vec![0u8; 16 << 10];
    loop {
        let n = match body.read(&mut buf) {
            Ok(n) => n,
            Err(e) => {
                tracing::debug!(error = %e, "SSE stream failed");
                0
            }
        };
        if n == 0 {
            break;
        }
        let mut events = Vec::new();
        decoder.decode(&buf[..n], |e| events.push(e));
        for event in events {
            // Priming events carry no data; other event types are not JSON-RPC.
            if event.data.trim().is_empty()
                || event.event.as_deref().is_some_and(|e| e != "message")
            {
                continue;
            }
            for message in parse_frame(event.data.as_bytes()) {
                if let (Message::Response(r), Some(owed)) = (&message, &awaiting) {
                    if r.id.as_ref() == Some(owed) {
                        awaiting = None;
                    }
                }
                if tx.send(Incoming::Message(message)).is_err() {
                    return;
                }
            }
        }
        if owed_at_start && awaiting.is_none() {
            break;
        }
    }
    let _ = tx.send(Incoming::Ended(Ended {
        owed: owed_at_start,
        awaiting,
        last_event_id: decoder.last_event_id().map(str::to_owned),
        retry_ms: decoder.retry_ms(),
    }));
}
