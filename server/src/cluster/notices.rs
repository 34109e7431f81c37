//! [`RedisNoticeLog`]: the cluster's [`NoticeLog`] in Redis. Every notice is stored once, as an
//! entry of the stream `<prefix>:notices` (capped near `--redis-notice-log` entries with
//! `XADD MAXLEN ~`), and published on the bus channel as `<entry id> <notice>` by the same script,
//! so that storing and telling are one step and every shard hears a notice with its position.
//! A node that lost its connection reads what it missed with `XRANGE`; a legacy GET stream
//! resumes from the same entries, read through its session's subscriptions.
//!
//! This file knows the key, the script and the replies; hearing the bus (and the catching up
//! after a reconnect) is `bus.rs`'s, the wire is the link's.

use super::link::RedisLink;
use super::resp::{Cmd, Reply};
use crate::store::{LogPos, LoggedNotice, Lookup, Notice, NoticeLog, StoreError};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::rc::Rc;

/// Store the notice (ARGV[2]) in the log (KEYS[1], about ARGV[1] entries kept) and publish it
/// with its id on the bus (ARGV[3]). The channel is an argument, not a key: channels have no
/// slot.
const PUBLISH: &str = "\
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'n', ARGV[2])
redis.call('PUBLISH', ARGV[3], id .. ' ' .. ARGV[2])
return id";

/// Hears notices the log could not take after all (the connection died with the command sent).
type Unlogged = Box<dyn Fn(Notice)>;

/// One shard's end of the log.
pub(crate) struct RedisNoticeLog {
    link: Rc<RedisLink>,
    /// `<prefix>:notices`.
    key: String,
    /// The bus channel every shard hears.
    channel: String,
    /// About how many notices are kept.
    len: usize,
    unlogged: Rc<RefCell<Option<Unlogged>>>,
}

impl RedisNoticeLog {
    /// The log under `prefix`, keeping about `len` notices, published on `channel`.
    pub(crate) fn new(link: Rc<RedisLink>, prefix: &str, channel: &str, len: usize) -> Rc<Self> {
        Rc::new(RedisNoticeLog {
            link,
            key: format!("{prefix}:notices"),
            channel: channel.to_owned(),
            len,
            unlogged: Rc::new(RefCell::new(None)),
        })
    }

    /// Hear the notices that were sent to the log but not stored (delivered on this node only).
    pub(crate) fn on_unlogged(&self, f: impl Fn(Notice) + 'static) {
        *self.unlogged.borrow_mut() = Some(Box::new(f));
    }

    /// The newest position in the log (`None` when it is empty): where a shard that has heard
    /// nothing yet starts.
    pub(crate) fn newest(&self) -> Lookup<Result<Option<LogPos>, StoreError>> {
        let cmd = Cmd::new("XREVRANGE")
            .arg(&self.key)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .num(1);
        map(self.link.call(&[cmd]), |replies| {
            Ok(entries(replies)?.into_iter().next().map(|(pos, _)| pos))
        })
    }
}

impl NoticeLog for RedisNoticeLog {
    fn publish(&self, notice: &Notice) -> bool {
        if self.link.unavailable().is_some() {
            return false;
        }
        let cmd = Cmd::new("EVAL")
            .arg(PUBLISH)
            .num(1)
            .arg(&self.key)
            .num(self.len as u64)
            .arg(encode(notice))
            .arg(&self.channel);
        let sent = match self.link.call(&[cmd]) {
            Lookup::Ready(Err(_)) => return false,
            Lookup::Ready(Ok(replies)) => Box::pin(std::future::ready(Ok(replies))),
            Lookup::Later(sent) => sent,
        };
        let notice = notice.clone();
        let unlogged = self.unlogged.clone();
        glommio::spawn_local(async move {
            let failed = match sent.await {
                Ok(replies) => replies.first().and_then(Reply::error).map(str::to_owned),
                Err(e) => Some(e.to_string()),
            };
            if let Some(why) = failed {
                tracing::warn!(error = %why, "notice not logged; delivered on this node only");
                if let Some(f) = &*unlogged.borrow() {
                    f(notice);
                }
            }
        })
        .detach();
        true
    }

    fn after(&self, last: LogPos, max: usize) -> Lookup<Result<Vec<LoggedNotice>, StoreError>> {
        let cmd = Cmd::new("XRANGE")
            .arg(&self.key)
            .arg(format!("({last}"))
            .arg("+")
            .arg("COUNT")
            // Redis takes a signed count; the log's own cap bounds the reply anyway.
            .num(max.min(i64::MAX as usize) as u64);
        map(self.link.call(&[cmd]), entries)
    }
}

/// `f` applied to a call's replies, at once or when they come.
fn map<T: 'static>(
    call: Lookup<Result<Vec<Reply>, StoreError>>,
    f: impl FnOnce(Vec<Reply>) -> Result<T, StoreError> + 'static,
) -> Lookup<Result<T, StoreError>> {
    match call {
        Lookup::Ready(r) => Lookup::Ready(r.and_then(f)),
        Lookup::Later(replies) => Lookup::Later(Box::pin(async move { replies.await.and_then(f) })),
    }
}

/// A notice as the log keeps it.
pub(crate) fn encode(notice: &Notice) -> String {
    let Notice::ResourceUpdated(uri) = notice;
    json!({ "resource": uri }).to_string()
}

/// A kept notice; `None` for one this build does not know (a newer node's).
pub(crate) fn decode(text: &str) -> Option<Notice> {
    let v: Value = serde_json::from_str(text).ok()?;
    v["resource"]
        .as_str()
        .map(|uri| Notice::ResourceUpdated(uri.to_owned()))
}

/// A bus message `<entry id> <notice>`, as the script publishes it.
pub(crate) fn published(payload: &str) -> Option<LoggedNotice> {
    let (pos, notice) = payload.split_once(' ')?;
    Some((pos.parse().ok()?, decode(notice)?))
}

/// The entries of an `XRANGE`/`XREVRANGE` reply: `[[id, [field, value, ..]], ..]`.
fn entries(replies: Vec<Reply>) -> Result<Vec<LoggedNotice>, StoreError> {
    let bad =
        |what: &str| StoreError::Unavailable(format!("Redis: unexpected stream reply: {what}"));
    let items = match replies.into_iter().next() {
        Some(Reply::Array(items)) => items,
        Some(Reply::Error(e)) => return Err(StoreError::Unavailable(format!("Redis: {e}"))),
        other => return Err(bad(&format!("{other:?}"))),
    };
    let mut found = Vec::with_capacity(items.len());
    for item in items {
        let Reply::Array(parts) = item else {
            return Err(bad("an entry is not an array"));
        };
        let (Some(id), Some(Reply::Array(fields))) = (parts.first(), parts.get(1)) else {
            return Err(bad("an entry lacks its id or fields"));
        };
        let pos: LogPos = id
            .text()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| bad("an entry id"))?;
        let notice = fields
            .chunks(2)
            .find(|kv| kv.first().and_then(Reply::text) == Some("n"))
            .and_then(|kv| kv.get(1).and_then(Reply::text))
            .and_then(decode);
        // An entry this build cannot read is skipped, as the bus skips its message.
        if let Some(notice) = notice {
            found.push((pos, notice));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Reply {
        Reply::Bulk(s.as_bytes().to_vec())
    }

    #[test]
    fn notices_read_back_as_published_and_stored() {
        let n = Notice::ResourceUpdated("demo://counter".into());
        assert_eq!(decode(&encode(&n)), Some(n.clone()));
        let (pos, heard) = published(&format!("17-3 {}", encode(&n))).unwrap_or_else(|| {
            panic!("a published notice did not read back");
        });
        assert_eq!((pos, heard), (LogPos { ms: 17, seq: 3 }, n.clone()));
        assert_eq!(published("17-3"), None);
        assert_eq!(published("x {\"resource\":\"a\"}"), None);
        assert_eq!(published("1-0 {\"future\":1}"), None);

        let reply = Reply::Array(vec![
            Reply::Array(vec![
                bulk("5-0"),
                Reply::Array(vec![bulk("n"), bulk(&encode(&n))]),
            ]),
            Reply::Array(vec![
                bulk("5-1"),
                Reply::Array(vec![bulk("n"), bulk("{\"future\":1}")]),
            ]),
        ]);
        let got = entries(vec![reply]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got, vec![(LogPos { ms: 5, seq: 0 }, n)]);
        assert!(entries(vec![Reply::Error("WRONGTYPE".into())]).is_err());
        assert!(entries(vec![Reply::Array(vec![bulk("5-0")])]).is_err());
        assert_eq!(entries(vec![Reply::Array(vec![])]), Ok(vec![]));
    }
}
