//! Which address is the client's when requests come through proxies: [`TrustedProxies`], the
//! configured proxy networks, and the `X-Forwarded-For` rule. A header is believed only as far as
//! the hops that wrote it are trusted: walking it from the right (the entry the nearest proxy
//! appended), the client is the first address that is not itself a trusted proxy. Anything to its
//! left was written by the client and may be a lie. Sans-IO: addresses in, an address out.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// One network: an address and how many leading bits of it count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// A network that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an address or a CIDR network (e.g. 10.0.0.0/8, 127.0.0.1, fd00::/8)")]
pub struct CidrError(String);

impl FromStr for Cidr {
    type Err = CidrError;

    /// `10.0.0.0/8`, `2001:db8::/32`, or a single address (`127.0.0.1`, `::1`).
    fn from_str(s: &str) -> Result<Self, CidrError> {
        let bad = || CidrError(s.to_owned());
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|&p| p <= max).ok_or_else(bad)?
            }
            Some(_) => return Err(bad()),
        };
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Cidr {
    /// Whether `ip` is in this network. An IPv4 address seen as IPv4-mapped IPv6 (`::ffff:a.b.c.d`,
    /// as a dual-stack listener reports it) is the IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr.to_canonical(), ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let bits = u32::from(self.prefix.min(32));
                let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let bits = u32::from(self.prefix.min(128));
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The proxies whose word about the client is taken (empty: nobody's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// Trust the proxies in `networks`.
    pub fn new(networks: Vec<Cidr>) -> Self {
        TrustedProxies(networks)
    }

    /// No proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is a trusted proxy.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The networks, as configured.
    pub fn networks(&self) -> &[Cidr] {
        &self.0
    }

    /// The client of a request that arrived from `hop` (the connection's peer, or the source a
    /// PROXY header named) carrying `forwarded_for`, the values of its `X-Forwarded-For` headers in
    /// arrival order. Unless `hop` is trusted the header is ignored. Otherwise the entries are
    /// walked from the right past trusted proxies; the first other address is the client. An
    /// entry that is not an address (`unknown`, garbage) stops the walk at the last address
    /// known good; if every entry is a trusted proxy the leftmost is the client.
    pub fn client<'a>(
        &self,
        hop: IpAddr,
        forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    ) -> IpAddr {
        if !self.contains(hop) {
            return hop;
        }
        let mut client = hop;
        for value in forwarded_for.rev() {
            for entry in value.rsplit(',') {
                let entry = entry.trim();
                if entry.is_empty() {
                    continue;
                }
                let Some(ip) = entry_ip(entry) else {
                    return client;
                };
                if !self.contains(ip) {
                    return ip;
                }
                client = ip;
            }
        }
        client
    }
}

/// The address of one `X-Forwarded-For` entry: `a.b.c.d`, `a.b.c.d:port`, `v6`, or `[v6]:port`
/// (some proxies add the port).
fn entry_ip(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse() {
        return Some(ip);
    }
    if let Some(rest) = entry.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let (host, port) = entry.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn trusted(nets: &[&str]) -> TrustedProxies {
        TrustedProxies::new(nets.iter().map(|n| n.parse().unwrap()).collect())
    }

    #[test]
    fn networks_parse_and_match() {
        let n: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(n.contains(ip("10.1.255.3")));
        assert!(!n.contains(ip("10.2.0.1")));
        assert!(n.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped is IPv4");
        assert!(!n.contains(ip("2001:db8::1")));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert_eq!(one.to_string(), "127.0.0.1/32");
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::9")));
        assert!(!v6.contains(ip("2001:db9::1")));
        assert!("::1".parse::<Cidr>().unwrap().contains(ip("::1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        assert!("::/0".parse::<Cidr>().unwrap().contains(ip("2001:db8::1")));
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "host",
            "10.0.0/8",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_hop() {
        let t = trusted(&["10.0.0.0/8"]);
        let xff = ["203.0.113.9"];
        assert_eq!(
            t.client(ip("198.51.100.1"), xff.into_iter()),
            ip("198.51.100.1")
        );
        assert_eq!(t.client(ip("10.0.0.2"), xff.into_iter()), ip("203.0.113.9"));
        // Nobody trusted: never believed.
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.2"), xff.into_iter()),
            ip("10.0.0.2")
        );
        // Trusted hop, no header: the hop.
        assert_eq!(t.client(ip("10.0.0.2"), std::iter::empty()), ip("10.0.0.2"));
    }

    #[test]
    fn rightmost_untrusted_entry_wins_over_what_the_client_wrote() {
        let t = trusted(&["10.0.0.0/8", "2001:db8::/32"]);
        let hop = ip("10.0.0.2");
        // The client claimed 1.1.1.1; the proxy appended the address it saw.
        let c = |values: &[&str]| t.client(hop, values.iter().copied());
        assert_eq!(c(&["1.1.1.1, 203.0.113.9"]), ip("203.0.113.9"));
        // Past a chain of trusted proxies, across several header lines.
        assert_eq!(
            c(&["1.1.1.1, 203.0.113.9", "10.9.9.9", "2001:db8::7, 10.0.0.3"]),
            ip("203.0.113.9")
        );
        // Every entry trusted: the leftmost.
        assert_eq!(c(&["10.1.1.1, 10.2.2.2"]), ip("10.1.1.1"));
        // Garbage stops the walk at the last good address.
        assert_eq!(c(&["203.0.113.9, unknown"]), hop);
        assert_eq!(c(&["203.0.113.9, garbage, 10.3.3.3"]), ip("10.3.3.3"));
        // Ports and brackets some proxies add.
        assert_eq!(c(&["203.0.113.9:4711"]), ip("203.0.113.9"));
        assert_eq!(c(&["[2001:db9::1]:4711"]), ip("2001:db9::1"));
        assert_eq!(c(&["2001:db9::1"]), ip("2001:db9::1"));
        // Empty entries are skipped.
        assert_eq!(c(&[" , 203.0.113.9 ,"]), ip("203.0.113.9"));
    }
}
