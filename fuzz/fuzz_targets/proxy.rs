//! Fuzz the PROXY protocol header parser: any bytes must give a header, a need for more, or an
//! error, never a panic, and a header never claims more bytes than it was given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringmcp_proto::proxy;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((_, len))) = proxy::parse(data) {
        assert!(len <= data.len());
    }
});
