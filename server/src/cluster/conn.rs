//! [`RedisConn`]: the protocol state of a shard's dialed Redis connection, as the net ring sees
//! it. It gathers received bytes until a whole reply has arrived, decodes it and hands it to its
//! [`RedisLink`]; it tells the driver to close the connection once the link has given it up.
//! Replies only: sending is the link's, through the connection's outbox.

use super::link::RedisLink;
use super::resp;
use std::rc::Rc;

/// Received bytes not yet a whole reply, at most: past it the connection is dropped (no reply the
/// stores ask for comes near it).
const MAX_PARTIAL: usize = 16 << 20;

/// One dialed Redis connection.
pub(crate) struct RedisConn {
    link: Rc<RedisLink>,
    epoch: u64,
    buf: Vec<u8>,
}

impl RedisConn {
    /// The connection the link knows as `epoch`.
    pub(crate) fn new(link: Rc<RedisLink>, epoch: u64) -> Self {
        RedisConn {
            link,
            epoch,
            buf: Vec::new(),
        }
    }

    /// Bytes from Redis.
    pub(crate) fn on_bytes(&mut self, data: &[u8]) {
        if !self.link.current(self.epoch) {
            return;
        }
        let owned;
        let input: &[u8] = if self.buf.is_empty() {
            data
        } else {
            self.buf.extend_from_slice(data);
            owned = std::mem::take(&mut self.buf);
            &owned
        };
        let mut at = 0;
        loop {
            match resp::decode(&input[at..]) {
                Ok(Some((reply, used))) => {
                    at += used;
                    self.link.on_reply(self.epoch, reply);
                    if !self.link.current(self.epoch) {
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    self.link.fail(self.epoch, e.to_string());
                    return;
                }
            }
        }
        let rest = &input[at..];
        if rest.len() > MAX_PARTIAL {
            self.link
                .fail(self.epoch, "Redis sent an oversized reply".into());
            return;
        }
        self.buf.clear();
        self.buf.extend_from_slice(rest);
    }

    /// Whether commands still await replies (a draining shard keeps the connection for them).
    pub(crate) fn busy(&self) -> bool {
        self.link.current(self.epoch) && self.link.busy()
    }

    /// The driver closed the connection (Redis closed it, or the shard stops).
    pub(crate) fn close(&mut self) {
        self.link
            .fail(self.epoch, "connection to Redis closed".into());
    }

    /// The link gave this connection up: close it.
    pub(crate) fn close_after_send(&self) -> bool {
        !self.link.current(self.epoch)
    }
}
