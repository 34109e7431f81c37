//! Fuzz the line codec: bytes cut at arbitrary points must yield the same frames as the whole
//! input, no frame may exceed the limit, and the buffered partial line stays bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringmcp_proto::framing::{Frame, NdjsonCodec};

fn frames(chunks: &[&[u8]], limit: usize) -> Vec<Option<Vec<u8>>> {
    let mut codec = NdjsonCodec::new(limit);
    let mut out = Vec::new();
    for chunk in chunks {
        codec.decode(chunk, |f| match f {
            Frame::Line(l) => {
                assert!(l.len() <= limit, "frame over the limit");
                out.push(Some(l.to_vec()))
            }
            Frame::Oversize => out.push(None),
        });
        assert!(codec.buffered() <= limit + 1, "partial line over the limit");
    }
    out
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let limit = usize::from(data[0]) + 1;
    let cut = usize::from(data[1]) % data.len().max(1);
    let body = &data[2..];
    let cut = cut.min(body.len());
    let whole = frames(&[body], limit);
    let split = frames(&[&body[..cut], &body[cut..]], limit);
    assert_eq!(whole, split, "framing depends on how the bytes were cut");
});
