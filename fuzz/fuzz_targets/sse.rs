//! Fuzz the SSE encoder and decoder together: whatever data and id an event carries, decoding
//! what the encoder wrote gives it back (line endings normalised), however the bytes are cut.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringmcp_proto::framing::sse::{write_event, SseDecoder};

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let cut_at = usize::from(data[0]);
    let payload = &data[1..];
    // The encoder splits data on LF; a lone CR inside a line would start a new line for a decoder,
    // so the server never writes one (JSON has none). Model that here.
    let text: Vec<u8> = payload.iter().copied().filter(|&b| b != b'\r').collect();
    let mut wire = Vec::new();
    write_event(&mut wire, Some("7"), Some("message"), &text);
    let cut = cut_at % (wire.len() + 1);
    let mut d = SseDecoder::new(1 << 20);
    let mut got = Vec::new();
    d.decode(&wire[..cut], |e| got.push(e));
    d.decode(&wire[cut..], |e| got.push(e));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].data.as_bytes(), String::from_utf8_lossy(&text).as_bytes());
    assert_eq!(got[0].id.as_deref(), Some("7"));
    // Arbitrary bytes never panic the decoder.
    let mut d = SseDecoder::new(64);
    d.decode(payload, |_| {});
});
