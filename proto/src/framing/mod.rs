//! Framing: cutting byte streams into messages. Each codec is a pure state machine fed with bytes;
//! none of them touches a socket.

pub mod http;
pub mod ndjson;
pub mod sse;

pub use http::{HttpCodec, HttpError, HttpEvent, HttpLimits, HttpRequest, Method};
pub use ndjson::{Frame, NdjsonCodec};
