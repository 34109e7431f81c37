//! Unit tests of `proxy`.

use super::*;

/// A version 2 header: `ver_cmd`, `family`, then `block` as the address block (and TLVs).
fn v2(ver_cmd: u8, family: u8, block: &[u8]) -> Vec<u8> {
    let mut out = V2_SIGNATURE.to_vec();
    out.push(ver_cmd);
    out.push(family);
    out.extend_from_slice(&(block.len() as u16).to_be_bytes());
    out.extend_from_slice(block);
    out
}

fn v4_block() -> Vec<u8> {
    let mut b = vec![192, 0, 2, 7, 10, 0, 0, 1];
    b.extend_from_slice(&51234u16.to_be_bytes());
    b.extend_from_slice(&8080u16.to_be_bytes());
    b
}

fn source(bytes: &[u8]) -> Option<SocketAddr> {
    parse(bytes).unwrap().unwrap().0.source()
}

#[test]
fn v2_ipv4_proxy_then_the_connections_own_bytes() {
    let mut bytes = v2(0x21, 0x11, &v4_block());
    let header_len = bytes.len();
    bytes.extend_from_slice(b"GET / HTTP/1.1\r\n");
    let (header, len) = parse(&bytes).unwrap().unwrap();
    assert_eq!(len, header_len);
    assert_eq!(len, 16 + 12);
    assert_eq!(
        header.addresses,
        Some(ProxiedAddrs {
            source: "192.0.2.7:51234".parse().unwrap(),
            destination: "10.0.0.1:8080".parse().unwrap(),
        })
    );
    assert_eq!(&bytes[len..], b"GET / HTTP/1.1\r\n");
}

#[test]
fn v2_ipv6_and_tlvs_skipped() {
    let mut block = Vec::new();
    block.extend_from_slice(&"2001:db8::5".parse::<Ipv6Addr>().unwrap().octets());
    block.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
    block.extend_from_slice(&443u16.to_be_bytes());
    block.extend_from_slice(&8443u16.to_be_bytes());
    // PP2_TYPE_UNIQUE_ID and PP2_TYPE_NOOP: skipped with the block.
    block.extend_from_slice(&[0x05, 0x00, 0x03, b'a', b'b', b'c', 0x04, 0x00, 0x00]);
    let bytes = v2(0x21, 0x21, &block);
    let (header, len) = parse(&bytes).unwrap().unwrap();
    assert_eq!(len, bytes.len());
    assert_eq!(header.source(), Some("[2001:db8::5]:443".parse().unwrap()));
}

#[test]
fn v2_local_and_unspecified_name_no_client() {
    // LOCAL (a health check from the proxy itself): whatever block follows is ignored.
    assert_eq!(source(&v2(0x20, 0x11, &v4_block())), None);
    assert_eq!(source(&v2(0x20, 0x00, &[])), None);
    // PROXY over AF_UNSPEC or AF_UNIX: no IP to use.
    assert_eq!(source(&v2(0x21, 0x00, &[])), None);
    assert_eq!(source(&v2(0x21, 0x31, &[0u8; 216])), None);
}

#[test]
fn v2_needs_every_byte_before_it_answers() {
    let mut bytes = v2(0x21, 0x11, &v4_block());
    bytes.extend_from_slice(b"rest");
    let whole = 16 + 12;
    for n in 0..whole {
        assert_eq!(parse(&bytes[..n]), Ok(None), "{n} bytes");
    }
    assert!(parse(&bytes[..whole]).unwrap().is_some());
}

#[test]
fn v2_refusals() {
    assert_eq!(
        parse(&v2(0x11, 0x11, &v4_block())),
        Err(ProxyError::Version(1))
    );
    assert_eq!(
        parse(&v2(0x22, 0x11, &v4_block())),
        Err(ProxyError::Command(2))
    );
    // The version is refused as soon as its byte is in.
    assert_eq!(
        parse(&v2(0x31, 0x11, &v4_block())[..13]),
        Err(ProxyError::Version(3))
    );
    assert_eq!(
        parse(&v2(0x21, 0x41, &v4_block())),
        Err(ProxyError::Family(0x41))
    );
    assert_eq!(
        parse(&v2(0x21, 0x13, &v4_block())),
        Err(ProxyError::Family(0x13))
    );
    assert_eq!(
        parse(&v2(0x21, 0x11, &v4_block()[..11])),
        Err(ProxyError::ShortAddresses)
    );
    assert_eq!(
        parse(&v2(0x21, 0x21, &v4_block())),
        Err(ProxyError::ShortAddresses)
    );
}

#[test]
fn v1_tcp4_tcp6_unknown() {
    let bytes = b"PROXY TCP4 192.0.2.7 10.0.0.1 51234 8080\r\nGET /";
    let (header, len) = parse(bytes).unwrap().unwrap();
    assert_eq!(&bytes[len..], b"GET /");
    assert_eq!(header.source(), Some("192.0.2.7:51234".parse().unwrap()));
    assert_eq!(
        source(b"PROXY TCP6 2001:db8::5 2001:db8::1 443 8443\r\n"),
        Some("[2001:db8::5]:443".parse().unwrap())
    );
    assert_eq!(source(b"PROXY UNKNOWN\r\n"), None);
    assert_eq!(source(b"PROXY UNKNOWN anything at all\r\n"), None);
}

#[test]
fn v1_needs_the_whole_line() {
    let bytes = b"PROXY TCP4 192.0.2.7 10.0.0.1 51234 8080\r\n";
    for n in 0..bytes.len() {
        assert_eq!(parse(&bytes[..n]), Ok(None), "{n} bytes");
    }
}

#[test]
fn v1_refusals() {
    let malformed = |b: &[u8]| matches!(parse(b), Err(ProxyError::Malformed(_)));
    assert!(malformed(b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"));
    assert!(malformed(b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"));
    assert!(malformed(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"));
    assert!(malformed(b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n"));
    assert!(malformed(b"PROXY TCP4 ::1 5.6.7.8 1 2\r\n"));
    assert!(malformed(b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n"));
    assert!(malformed(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n"));
    assert!(malformed(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 +2\r\n"));
    assert!(malformed(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX"));
    let long = [b"PROXY UNKNOWN ".as_slice(), &[b'x'; 200]].concat();
    assert_eq!(parse(&long), Err(ProxyError::LineTooLong));
    // A CR in the last byte the bound allows, its LF past it.
    let mut edge = [b"PROXY UNKNOWN ".as_slice(), &[b'x'; 92]].concat();
    edge.extend_from_slice(b"\r\n");
    assert_eq!(edge.len(), V1_MAX_LEN + 1);
    assert_eq!(parse(&edge), Err(ProxyError::LineTooLong));
    edge.remove(20);
    assert!(parse(&edge).unwrap().is_some());
}

#[test]
fn anything_else_is_no_header() {
    assert_eq!(parse(b""), Ok(None));
    assert_eq!(parse(b"\r\n\r\n"), Ok(None));
    assert_eq!(parse(b"PROX"), Ok(None));
    assert_eq!(parse(b"GET / HTTP/1.1\r\n"), Err(ProxyError::Missing));
    assert_eq!(parse(b"POST"), Err(ProxyError::Missing));
    assert_eq!(parse(b"\r\n\r\nX"), Err(ProxyError::Missing));
}

#[test]
fn no_input_panics() {
    // Every prefix and every one-byte change of valid headers, as a poor man's fuzzer.
    let seeds = [
        v2(0x21, 0x11, &v4_block()),
        v2(0x21, 0x21, &[7u8; 40]),
        b"PROXY TCP4 192.0.2.7 10.0.0.1 51234 8080\r\n".to_vec(),
    ];
    for seed in seeds {
        for n in 0..=seed.len() {
            let _ = parse(&seed[..n]);
        }
        for i in 0..seed.len() {
            for b in [0u8, 0x0f, 0x20, 0x7f, 0xff, b'\r', b' '] {
                let mut m = seed.clone();
                m[i] = b;
                if let Ok(Some((_, len))) = parse(&m) {
                    assert!(len <= m.len());
                }
            }
        }
    }
}
