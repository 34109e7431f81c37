//! The PROXY protocol header a load balancer puts in front of a connection's first bytes to name
//! the client it accepted: version 2 (binary, HAProxy's `send-proxy-v2`) and version 1 (one text
//! line, `send-proxy`), as specified in HAProxy's `proxy-protocol.txt`. Sans-IO: [`parse`] takes
//! the bytes received so far and says whether they hold a whole header, need more, or are not one.
//! Whether the sender may be believed is not decided here (see [`crate::forwarded`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The 12 bytes every version 2 header starts with.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// The text every version 1 header starts with.
const V1_PREFIX: &[u8] = b"PROXY ";

/// A version 1 line is at most this long, CRLF included (the specification's bound).
pub const V1_MAX_LEN: usize = 107;

/// Fixed part of a version 2 header: signature, version/command, family, length.
const V2_FIXED: usize = 16;

/// What a PROXY header says about the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyHeader {
    /// The client the proxy accepted, and the address it reached. `None` for a `LOCAL` header
    /// (the proxy's own connection, a health check say) and for unknown or unspecified families:
    /// the connection's own peer is then the client.
    pub addresses: Option<ProxiedAddrs>,
}

/// The two ends of the proxied connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxiedAddrs {
    /// The client.
    pub source: SocketAddr,
    /// The address the client connected to.
    pub destination: SocketAddr,
}

impl ProxyHeader {
    /// The client's address, when the header names one.
    pub fn source(&self) -> Option<SocketAddr> {
        self.addresses.map(|a| a.source)
    }
}

/// Why the bytes are not a PROXY header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    /// Neither signature: the connection did not start with a PROXY header.
    #[error("no PROXY protocol header")]
    Missing,
    /// A version 2 header of another version than 2.
    #[error("PROXY protocol version {0} not supported")]
    Version(u8),
    /// A version 2 command other than LOCAL and PROXY.
    #[error("PROXY protocol command {0} unknown")]
    Command(u8),
    /// A version 2 address family or transport the specification does not define.
    #[error("PROXY protocol family byte {0:#04x} unknown")]
    Family(u8),
    /// The address block is shorter than its family needs.
    #[error("PROXY protocol address block too short for its family")]
    ShortAddresses,
    /// A version 1 line longer than the specification allows.
    #[error("PROXY protocol v1 line longer than {V1_MAX_LEN} bytes")]
    LineTooLong,
    /// A version 1 line that does not follow the grammar.
    #[error("PROXY protocol v1 line malformed: {0}")]
    Malformed(&'static str),
}

/// Parse the header at the start of `buf`: `Ok(Some((header, len)))` when `buf` holds a whole one
/// of `len` bytes (what follows is the connection's own data), `Ok(None)` when the bytes so far
/// could still become one, and an error when they cannot. Never panics, on any input.
pub fn parse(buf: &[u8]) -> Result<Option<(ProxyHeader, usize)>, ProxyError> {
    if starts_like(buf, &V2_SIGNATURE) {
        if buf.len() < V2_SIGNATURE.len() {
            return Ok(None);
        }
        return parse_v2(buf);
    }
    if starts_like(buf, V1_PREFIX) {
        if buf.len() < V1_PREFIX.len() {
            return Ok(None);
        }
        return parse_v1(buf);
    }
    Err(ProxyError::Missing)
}

/// `buf` and `prefix` agree on their common length (an empty `buf` could still be anything).
fn starts_like(buf: &[u8], prefix: &[u8]) -> bool {
    let n = buf.len().min(prefix.len());
    buf[..n] == prefix[..n]
}

fn parse_v2(buf: &[u8]) -> Result<Option<(ProxyHeader, usize)>, ProxyError> {
    let Some(fixed) = buf.get(..V2_FIXED) else {
        // The version and command can be refused before the rest arrives.
        if let Some(&ver_cmd) = buf.get(12) {
            check_ver_cmd(ver_cmd)?;
        }
        return Ok(None);
    };
    let local = check_ver_cmd(fixed[12])?;
    let family = fixed[13];
    let len = usize::from(u16::from_be_bytes([fixed[14], fixed[15]]));
    let Some(block) = buf.get(V2_FIXED..V2_FIXED + len) else {
        return Ok(None);
    };
    let total = V2_FIXED + len;
    // A LOCAL header's address block, if any, is to be ignored whatever its family says.
    if local {
        return Ok(Some((ProxyHeader { addresses: None }, total)));
    }
    let (af, transport) = (family >> 4, family & 0x0f);
    if af > 3 || transport > 2 {
        return Err(ProxyError::Family(family));
    }
    let addresses = match af {
        // AF_INET: 4 + 4 address bytes, then the two ports.
        1 => {
            let a = block.get(..12).ok_or(ProxyError::ShortAddresses)?;
            let src = Ipv4Addr::new(a[0], a[1], a[2], a[3]);
            let dst = Ipv4Addr::new(a[4], a[5], a[6], a[7]);
            Some(addrs(src.into(), dst.into(), &a[8..12]))
        }
        // AF_INET6: 16 + 16 address bytes, then the two ports.
        2 => {
            let a = block.get(..36).ok_or(ProxyError::ShortAddresses)?;
            let mut src = [0u8; 16];
            let mut dst = [0u8; 16];
            src.copy_from_slice(&a[..16]);
            dst.copy_from_slice(&a[16..32]);
            Some(addrs(
                Ipv6Addr::from(src).into(),
                Ipv6Addr::from(dst).into(),
                &a[32..36],
            ))
        }
        // AF_UNSPEC and AF_UNIX name no IP client: the connection's peer stands for it. The rest
        // of the block (and any TLVs after the addresses) is skipped.
        _ => None,
    };
    Ok(Some((ProxyHeader { addresses }, total)))
}

/// `true` for LOCAL, `false` for PROXY.
fn check_ver_cmd(ver_cmd: u8) -> Result<bool, ProxyError> {
    if ver_cmd >> 4 != 2 {
        return Err(ProxyError::Version(ver_cmd >> 4));
    }
    match ver_cmd & 0x0f {
        0 => Ok(true),
        1 => Ok(false),
        other => Err(ProxyError::Command(other)),
    }
}

/// `ports` is the source port then the destination port, big-endian.
fn addrs(src: IpAddr, dst: IpAddr, ports: &[u8]) -> ProxiedAddrs {
    let port = |i: usize| u16::from_be_bytes([ports[i], ports[i + 1]]);
    ProxiedAddrs {
        source: SocketAddr::new(src, port(0)),
        destination: SocketAddr::new(dst, port(2)),
    }
}

fn parse_v1(buf: &[u8]) -> Result<Option<(ProxyHeader, usize)>, ProxyError> {
    let window = &buf[..buf.len().min(V1_MAX_LEN)];
    let Some(cr) = window.iter().position(|&b| b == b'\r') else {
        if buf.len() >= V1_MAX_LEN {
            return Err(ProxyError::LineTooLong);
        }
        return Ok(None);
    };
    match window.get(cr + 1) {
        None if buf.len() > cr + 1 => return Err(ProxyError::LineTooLong),
        None => return Ok(None),
        Some(b'\n') => {}
        Some(_) => return Err(ProxyError::Malformed("CR not followed by LF")),
    }
    let total = cr + 2;
    let line = std::str::from_utf8(&buf[V1_PREFIX.len()..cr])
        .map_err(|_| ProxyError::Malformed("not ASCII"))?;
    let mut fields = line.split(' ');
    let family = fields.next().unwrap_or("");
    if family == "UNKNOWN" {
        // The rest of an UNKNOWN line is to be ignored.
        return Ok(Some((ProxyHeader { addresses: None }, total)));
    }
    let v6 = match family {
        "TCP4" => false,
        "TCP6" => true,
        _ => return Err(ProxyError::Malformed("family is not TCP4, TCP6 or UNKNOWN")),
    };
    let ip = |s: Option<&str>| -> Result<IpAddr, ProxyError> {
        let ip: IpAddr = s
            .and_then(|s| s.parse().ok())
            .ok_or(ProxyError::Malformed("bad address"))?;
        if ip.is_ipv6() != v6 {
            return Err(ProxyError::Malformed("address of the other family"));
        }
        Ok(ip)
    };
    let port = |s: Option<&str>| -> Result<u16, ProxyError> {
        s.filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse().ok())
            .ok_or(ProxyError::Malformed("bad port"))
    };
    let (src, dst) = (ip(fields.next())?, ip(fields.next())?);
    let (sport, dport) = (port(fields.next())?, port(fields.next())?);
    if fields.next().is_some() {
        return Err(ProxyError::Malformed("trailing fields"));
    }
    let addresses = Some(ProxiedAddrs {
        source: SocketAddr::new(src, sport),
        destination: SocketAddr::new(dst, dport),
    });
    Ok(Some((ProxyHeader { addresses }, total)))
}

#[cfg(test)]
mod tests;
