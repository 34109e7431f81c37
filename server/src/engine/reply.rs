//! Reply plumbing: where the answer to a request goes ([`Sink`]: the outlet it came from, or one
//! part of a [`BatchReply`]), and the per-request [`Meter`] that counts it in the shard's metrics
//! once answered. It only writes bytes; it must not decide what a request means.

use crate::service::{MsgKind, Outlet, Session, ShardCtx};
use ringmcp_proto::jsonrpc::{self, ErrorObject, RequestId};
use serde::Serialize;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Where the answer to a request goes: the outlet the request came from, or into a batch reply.
#[derive(Clone)]
pub(super) struct Sink {
    pub(super) session: Rc<Session>,
    pub(super) outlet: Rc<dyn Outlet>,
    pub(super) batch: Option<Rc<BatchReply>>,
    pub(super) meter: Option<Meter>,
}

/// Counts one request in the shard's metrics when it is answered. Held by value, not shared: a
/// request is answered through exactly one of its sink's clones (the call's task, or its task
/// announcement), so each clone may carry its own copy without counting twice, and a request
/// costs no allocation for it.
#[derive(Clone)]
pub(super) struct Meter {
    pub(super) shard: Rc<ShardCtx>,
    pub(super) method: &'static str,
    pub(super) started: std::time::Instant,
    pub(super) done: Cell<bool>,
}

impl Meter {
    fn finish(&self, ok: bool) {
        if !self.done.replace(true) {
            self.shard
                .metrics
                .request(self.method, ok, self.started.elapsed());
        }
    }
}

pub(super) struct BatchReply {
    pub(super) outlet: Rc<dyn Outlet>,
    pub(super) parts: RefCell<Vec<Vec<u8>>>,
    pub(super) pending: Cell<usize>,
}

/// Send through an outlet with a one-shot writer.
pub(super) fn send_once(outlet: &dyn Outlet, kind: MsgKind, f: impl FnOnce(&mut Vec<u8>)) {
    let mut f = Some(f);
    outlet.send(kind, &mut |out| {
        if let Some(f) = f.take() {
            f(out)
        }
    });
}

impl BatchReply {
    pub(super) fn finish_one(&self) {
        self.pending.set(self.pending.get().saturating_sub(1));
        if self.pending.get() == 0 {
            let parts = std::mem::take(&mut *self.parts.borrow_mut());
            if parts.is_empty() {
                return;
            }
            send_once(&*self.outlet, MsgKind::Response, |out| {
                out.push(b'[');
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(p);
                }
                out.push(b']');
            });
        }
    }
}

impl Sink {
    pub(super) fn session(&self) -> &Rc<Session> {
        &self.session
    }

    pub(super) fn write(&self, f: impl FnOnce(&mut Vec<u8>)) {
        self.write_kind(MsgKind::Response, f)
    }

    fn write_kind(&self, kind: MsgKind, f: impl FnOnce(&mut Vec<u8>)) {
        if let Some(m) = &self.meter {
            m.finish(!matches!(kind, MsgKind::Error(_)));
        }
        match &self.batch {
            None => send_once(&*self.outlet, kind, f),
            Some(b) => {
                let mut part = Vec::new();
                f(&mut part);
                b.parts.borrow_mut().push(part);
                b.finish_one();
            }
        }
    }

    /// The request produced no answer (cancelled): a batch still has to count it.
    /// The request ends without an answer (cancelled).
    pub(super) fn skip(&self) {
        if let Some(m) = &self.meter {
            m.finish(false);
        }
        match &self.batch {
            Some(b) => b.finish_one(),
            None => self.outlet.unanswered(),
        }
    }

    pub(super) fn error(&self, id: Option<&RequestId>, e: &ErrorObject) {
        self.write_kind(MsgKind::Error(e.code), |out| {
            jsonrpc::write_error(out, id, e)
        });
    }

    pub(super) fn result<T: Serialize + ?Sized>(&self, id: &RequestId, result: &T) {
        self.write(|out| jsonrpc::write_result(out, id, result));
    }
}

/// A result serialised for [`Sink::write`]; a value that cannot be serialised is logged and
/// answered as `{}` rather than failing the request.
pub(super) fn to_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|e| {
        tracing::error!(error = %e, "result could not be serialised");
        b"{}".to_vec()
    })
}

/// JSON already serialised (by [`to_bytes`]), written as it is wherever it is serialised.
pub(super) struct Serialised(pub(super) Vec<u8>);

impl Serialize for Serialised {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Borrowed, not copied: the bytes are only checked to be one JSON value.
        let raw: &serde_json::value::RawValue =
            serde_json::from_slice(&self.0).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}
