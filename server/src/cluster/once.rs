//! [`RedisOnceStore`]: spent single-use nonces kept in Redis, so that a single-use
//! `requestState` used through one node is refused by every other. A claim is one
//! `SET <prefix>:once:{<nonce>} 1 NX PX <ttl>`: Redis answers `OK` to the first and nil to
//! every later one until the key expires with the state it guards. This file knows the key and
//! the reply; the wire is the link's.

use super::link::RedisLink;
use super::resp::{Cmd, Reply};
use crate::store::{Lookup, OnceStore, StoreError};
use std::rc::Rc;
use std::time::Duration;

/// Single-use claims in Redis, for one shard.
pub(crate) struct RedisOnceStore {
    link: Rc<RedisLink>,
    prefix: String,
}

impl RedisOnceStore {
    /// Claims under `prefix`, sent on `link`.
    pub(crate) fn new(link: Rc<RedisLink>, prefix: &str) -> Rc<Self> {
        Rc::new(RedisOnceStore {
            link,
            prefix: prefix.to_owned(),
        })
    }

    fn key(&self, nonce: &str) -> String {
        // The braces are a hash tag: the key's slot in a Redis Cluster is the nonce's.
        format!("{}:once:{{{nonce}}}", self.prefix)
    }
}

/// Whether a `SET .. NX` reply says the claim was the first.
fn first_claim(replies: &[Reply]) -> Result<bool, StoreError> {
    match replies.first() {
        Some(Reply::Nil) => Ok(false),
        Some(Reply::Error(e)) => Err(StoreError::Unavailable(format!("Redis: {e}"))),
        Some(r) if r.text() == Some("OK") => Ok(true),
        other => Err(StoreError::Unavailable(format!(
            "Redis: unexpected answer to SET NX: {other:?}"
        ))),
    }
}

impl OnceStore for RedisOnceStore {
    fn claim(&self, nonce: &str, ttl: Duration) -> Lookup<Result<bool, StoreError>> {
        // PX 0 is an error to Redis: a claim lives at least a millisecond.
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let cmd = Cmd::new("SET")
            .arg(self.key(nonce))
            .arg("1")
            .arg("NX")
            .arg("PX")
            .num(ttl_ms);
        match self.link.call(&[cmd]) {
            Lookup::Ready(result) => Lookup::Ready(result.and_then(|r| first_claim(&r))),
            Lookup::Later(replies) => Lookup::Later(Box::pin(async move {
                replies.await.and_then(|r| first_claim(&r))
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_nx_replies_read_as_claims() {
        assert_eq!(first_claim(&[Reply::Status("OK".into())]), Ok(true));
        assert_eq!(first_claim(&[Reply::Nil]), Ok(false));
        assert!(matches!(
            first_claim(&[Reply::Error("READONLY".into())]),
            Err(StoreError::Unavailable(_))
        ));
        assert!(first_claim(&[]).is_err());
        assert!(first_claim(&[Reply::Int(1)]).is_err());
    }
}
