//! [`Session`]: per-connection protocol state: the legacy lifecycle, requests in flight (for
//! cancellation), legacy resource subscriptions and 2026-07-28 `subscriptions/listen` streams.

use super::outbox::Outbox;
use crate::sdk::CancelToken;
use ringmcp_proto::session::LegacySession;
use ringmcp_proto::types::SubscriptionFilter;
use ringmcp_proto::RequestId;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

/// One client's state on one connection.
pub struct Session {
    /// Where responses and notifications go.
    pub out: Outbox,
    pub(crate) legacy: RefCell<LegacySession>,
    pub(crate) inflight: RefCell<HashMap<RequestId, CancelToken>>,
    pub(crate) subscriptions: RefCell<HashSet<String>>,
    pub(crate) listens: RefCell<Vec<(RequestId, SubscriptionFilter)>>,
}

impl Session {
    /// A fresh session writing to `out`.
    pub fn new(out: Outbox) -> Self {
        Session {
            out,
            legacy: RefCell::new(LegacySession::new()),
            inflight: RefCell::new(HashMap::new()),
            subscriptions: RefCell::new(HashSet::new()),
            listens: RefCell::new(Vec::new()),
        }
    }

    /// Requests still running.
    pub fn inflight(&self) -> usize {
        self.inflight.borrow().len()
    }

    /// The connection closed: cancel everything still running and refuse further writes.
    pub fn close(&self) {
        self.out.close();
        let running: Vec<CancelToken> =
            self.inflight.borrow_mut().drain().map(|(_, t)| t).collect();
        for token in running {
            token.cancel();
        }
        self.listens.borrow_mut().clear();
        self.subscriptions.borrow_mut().clear();
    }
}
