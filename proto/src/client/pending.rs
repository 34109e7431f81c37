//! Request ids and the pending-request table: ids are numbers counted up from 1 and never reused
//! within a session (a retry gets a new one), and each pending id maps to the call it belongs to,
//! so that answers to parallel calls never mix their state.

use crate::jsonrpc::RequestId;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Mints request ids: 1, 2, 3, ... never the same twice.
#[derive(Debug, Default)]
pub struct IdAllocator {
    last: u64,
}

impl IdAllocator {
    /// The next unused id.
    pub fn next_id(&mut self) -> RequestId {
        self.last += 1;
        RequestId::number(self.last)
    }
}

/// One call in flight: what to resend on a retry or an input round.
#[derive(Debug, Clone)]
pub struct Call {
    /// The method.
    pub(crate) method: String,
    /// The caller's params (its own `_meta` included, ours added at each send).
    pub(crate) params: Map<String, Value>,
    /// Whether the call was already retried after an unsupported-version error.
    pub(crate) version_retried: bool,
    /// Input rounds so far.
    pub(crate) rounds: u32,
    /// Whether each send declares the 2026-07-28 tasks extension.
    pub(crate) tasks: bool,
}

impl Call {
    /// The method of the call.
    pub fn method(&self) -> &str {
        &self.method
    }
}

/// The calls waiting for an answer, by the id of their latest request.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    calls: HashMap<RequestId, Call>,
}

impl Pending {
    pub(crate) fn insert(&mut self, id: RequestId, call: Call) {
        self.calls.insert(id, call);
    }

    pub(crate) fn take(&mut self, id: &RequestId) -> Option<Call> {
        self.calls.remove(id)
    }

    pub(crate) fn len(&self) -> usize {
        self.calls.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_never_reused() {
        let mut ids = IdAllocator::default();
        let a = ids.next_id();
        let b = ids.next_id();
        assert_ne!(a, b);
        assert_eq!(a.as_json(), "1");
        assert_eq!(b.as_json(), "2");
    }
}
