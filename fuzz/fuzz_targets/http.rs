//! Fuzz the HTTP/1.1 request codec: any bytes, cut anywhere, give the same events as the whole
//! input, never a panic, and the buffered bytes stay within the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringmcp_proto::framing::http::{HttpCodec, HttpEvent, HttpLimits};

fn events(chunks: &[&[u8]], limits: HttpLimits) -> Vec<String> {
    let mut codec = HttpCodec::new(limits);
    let mut out = Vec::new();
    for chunk in chunks {
        codec.decode(chunk, |e| {
            out.push(match e {
                HttpEvent::Request(r) => format!(
                    "{:?} {} {:?} {}",
                    r.method,
                    r.path(),
                    r.headers().collect::<Vec<_>>(),
                    r.body.len()
                ),
                // Whether a 100-continue is sent depends on how much of the body came with the head.
                HttpEvent::Continue => return,
                HttpEvent::Error(e) => format!("error {}", e.status),
            })
        });
        assert!(
            codec.buffered() <= limits.max_head_bytes + limits.max_body_bytes + chunk.len() + 64
        );
    }
    out
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let limits = HttpLimits {
        max_headers: usize::from(data[0] % 16) + 1,
        max_head_bytes: 512,
        max_body_bytes: 256,
    };
    let body = &data[2..];
    let cut = usize::from(data[1]) % (body.len() + 1);
    let whole = events(&[body], limits);
    let split = events(&[&body[..cut], &body[cut..]], limits);
    // Errors may be reported at a different point of a split input (a head over the limit is only
    // known once enough arrived), but the requests before the first error must match.
    let before_error = |v: &[String]| {
        v.iter()
            .take_while(|e| !e.starts_with("error"))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(before_error(&whole), before_error(&split));
});
