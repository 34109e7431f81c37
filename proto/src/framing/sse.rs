//! Server-sent events (text/event-stream) encoding: events with optional id and type, comments
//! for keep-alive. Bytes only; the HTTP layer wraps them in chunks.

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
}
