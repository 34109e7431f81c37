//! Fuzz the JSON-RPC envelope parser and MCP request typing: any bytes must give a message or a
//! spec error, never a panic, and every rejection must serialise.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringmcp_proto::dispatch::{ClientRequest, Era};
use ringmcp_proto::jsonrpc::{self, Message, Parsed};

fn check(msg: Result<Message, jsonrpc::Rejected>) {
    let mut out = Vec::new();
    match msg {
        Ok(Message::Request(req)) => match ClientRequest::parse(&req.method, req.params.as_deref()) {
            Ok(mut typed) => {
                let _ = Era::of(&mut typed);
                jsonrpc::write_result(&mut out, &req.id, &());
            }
            Err(e) => jsonrpc::write_error(&mut out, Some(&req.id), &e),
        },
        Ok(_) => {}
        Err(r) => jsonrpc::write_error(&mut out, r.id.as_ref(), &r.error),
    }
}

fuzz_target!(|data: &[u8]| {
    match jsonrpc::parse(data) {
        Parsed::Single(m) => check(m),
        Parsed::Batch(items) => items.into_iter().for_each(check),
    }
});
