//! Framing: cutting byte streams into messages. Each codec is a pure state machine fed with bytes;
//! none of them touches a socket.

pub mod ndjson;

pub use ndjson::{Frame, NdjsonCodec};
