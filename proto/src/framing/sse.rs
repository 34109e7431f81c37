//! Server-sent events (text/event-stream): the encoder the server writes with (events with an
//! optional id and type, comments for keep-alive) and a decoder for clients and tests, which also
//! keeps the stream's last event id and `retry:` delay (what a client needs to resume a stream).
//! Bytes only; the HTTP layer wraps them in chunks, and the caller owns the reconnection clock.

/// Append one event. `data` may contain newlines: each line becomes a `data:` field.
pub fn write_event(out: &mut Vec<u8>, id: Option<&str>, event: Option<&str>, data: &[u8]) {
    if let Some(id) = id {
        out.extend_from_slice(b"id: ");
        out.extend_from_slice(id.as_bytes());
        out.push(b'\n');
    }
    if let Some(event) = event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(event.as_bytes());
        out.push(b'\n');
    }
    for line in data.split(|&b| b == b'\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
        out.push(b'\n');
    }
    out.push(b'\n');
}

/// Append a comment line (ignored by clients; keeps idle streams alive through proxies).
pub fn write_comment(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(b": ");
    out.extend_from_slice(text.replace('\n', " ").as_bytes());
    out.extend_from_slice(b"\n\n");
}

/// Append a `retry:` field telling clients how long to wait before reconnecting.
pub fn write_retry(out: &mut Vec<u8>, millis: u64) {
    out.extend_from_slice(format!("retry: {millis}\n\n").as_bytes());
}

/// One decoded event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// `id:` field.
    pub id: Option<String>,
    /// `event:` field.
    pub event: Option<String>,
    /// `data:` lines joined with `\n`.
    pub data: String,
}

/// Incremental `text/event-stream` decoder (lines end with LF, CRLF or CR; `:` lines are
/// comments; an empty line dispatches the event when it has data). A line longer than `max_line`
/// bytes is dropped, so memory stays bounded.
#[derive(Debug)]
pub struct SseDecoder {
    line: Vec<u8>,
    pending: SseEvent,
    has_data: bool,
    after_cr: bool,
    overflow: bool,
    max_line: usize,
    last_event_id: Option<String>,
    retry_ms: Option<u64>,
}

impl SseDecoder {
    /// A decoder keeping lines of at most `max_line` bytes.
    pub fn new(max_line: usize) -> Self {
        SseDecoder {
            line: Vec::new(),
            pending: SseEvent::default(),
            has_data: false,
            after_cr: false,
            overflow: false,
            max_line,
            last_event_id: None,
            retry_ms: None,
        }
    }

    /// The id of the last event dispatched (or ended with an empty line): what a client sends as
    /// `Last-Event-ID` to resume the stream. An `id:` line with a NUL is ignored, as the event
    /// stream rules say.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    /// The reconnection delay in milliseconds from the last valid `retry:` field (ASCII digits
    /// only), if the stream sent one.
    pub fn retry_ms(&self) -> Option<u64> {
        self.retry_ms
    }

    /// Feed bytes; `on_event` gets every complete event.
    pub fn decode(&mut self, input: &[u8], mut on_event: impl FnMut(SseEvent)) {
        for &b in input {
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    if !std::mem::take(&mut self.overflow) {
                        self.line_done(&line, &mut on_event);
                    }
                }
                _ if self.line.len() >= self.max_line => self.overflow = true,
                _ => self.line.push(b),
            }
        }
    }

    fn line_done(&mut self, line: &[u8], on_event: &mut impl FnMut(SseEvent)) {
        if line.is_empty() {
            // The id counts once its event ends, whether or not the event had data (a priming
            // event is just `id:` and an empty `data:`).
            if let Some(id) = &self.pending.id {
                self.last_event_id = Some(id.clone());
            }
            if std::mem::take(&mut self.has_data) {
                on_event(std::mem::take(&mut self.pending));
            } else {
                self.pending = SseEvent::default();
            }
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (field, value) = match line.iter().position(|&c| c == b':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &line[line.len()..]),
        };
        let value = String::from_utf8_lossy(value).into_owned();
        match field {
            b"data" => {
                if self.has_data {
                    self.pending.data.push('\n');
                }
                self.pending.data.push_str(&value);
                self.has_data = true;
            }
            b"id" if !value.contains('\0') => self.pending.id = Some(value),
            b"retry" if !value.is_empty() && value.bytes().all(|c| c.is_ascii_digit()) => {
                self.retry_ms = value.parse().ok().or(self.retry_ms);
            }
            b"event" => self.pending.event = Some(value),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events() {
        let mut out = Vec::new();
        write_event(&mut out, Some("7"), Some("message"), b"{\"a\":1}");
        write_event(&mut out, None, None, b"one\ntwo");
        write_comment(&mut out, "keep-alive");
        assert_eq!(
            String::from_utf8(out).unwrap_or_default(),
            "id: 7\nevent: message\ndata: {\"a\":1}\n\ndata: one\ndata: two\n\n: keep-alive\n\n"
        );
    }

    #[test]
    fn decodes_what_it_encodes_in_any_split() {
        let mut out = Vec::new();
        write_event(&mut out, Some("3"), Some("message"), b"line1\nline2");
        write_comment(&mut out, "ping");
        write_event(&mut out, None, None, b"x");
        for cut in 0..out.len() {
            let mut d = SseDecoder::new(1024);
            let mut got = Vec::new();
            d.decode(&out[..cut], |e| got.push(e));
            d.decode(&out[cut..], |e| got.push(e));
            assert_eq!(got.len(), 2, "cut {cut}");
            assert_eq!(
                got[0],
                SseEvent {
                    id: Some("3".into()),
                    event: Some("message".into()),
                    data: "line1\nline2".into()
                }
            );
            assert_eq!(got[1].data, "x");
        }
        let mut d = SseDecoder::new(1024);
        let mut got = Vec::new();
        d.decode(b"data: a\r\ndata: b\r\rdata:c\n\n", |e| got.push(e));
        assert_eq!(
            got.iter().map(|e| e.data.as_str()).collect::<Vec<_>>(),
            ["a\nb", "c"]
        );
    }

    #[test]
    fn keeps_retry_and_last_event_id_for_resumption() {
        let mut d = SseDecoder::new(1024);
        let mut got = Vec::new();
        d.decode(b"id: event-1\nretry: 500\ndata: \n\n", |e| got.push(e));
        assert_eq!(d.last_event_id(), Some("event-1"));
        assert_eq!(d.retry_ms(), Some(500));
        assert_eq!(got.len(), 1);
        assert!(got[0].data.is_empty());
        // A bad retry keeps the old delay; an id without data still moves the last id on.
        d.decode(b"retry: 12x\nid: event-2\n\n", |e| got.push(e));
        assert_eq!(d.retry_ms(), Some(500));
        assert_eq!(d.last_event_id(), Some("event-2"));
        assert_eq!(got.len(), 1);
        let mut out = Vec::new();
        write_retry(&mut out, 750);
        d.decode(&out, |e| got.push(e));
        assert_eq!(d.retry_ms(), Some(750));
    }
}
