//! [`OnceStore`]: which single-use tokens have been spent. A 2026-07-28 `requestState` a tool
//! sealed as single-use carries a random nonce; the retry that brings it back claims the nonce
//! here before the handler runs, and a second claim of the same nonce is refused. Each claim is
//! kept only as long as the state it guards could still be opened (its time to live), so what a
//! store holds is bounded by the rate of single-use answers times that lifetime.

use super::{Lookup, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Claims a [`MemoryOnceStore`] holds by default (about 100 bytes each).
pub const DEFAULT_MAX_CLAIMS: usize = 100_000;

/// How often a full [`MemoryOnceStore`] looks for expired claims to drop: a store full of live
/// claims must not pay a sweep on every refused claim.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Where spent single-use tokens are remembered.
pub trait OnceStore {
    /// Spend `nonce`: `true` the first time, `false` when it was claimed before (within `ttl` of
    /// that first claim, after which the store may forget it), an error when the store cannot
    /// tell (the caller must then refuse the request, never run it).
    fn claim(&self, nonce: &str, ttl: Duration) -> Lookup<Result<bool, StoreError>>;
}

struct Claims {
    /// Nonce -> when its claim may be forgotten.
    until: HashMap<String, Instant>,
    last_sweep: Option<Instant>,
}

/// Claims in this process's memory, shared by every shard of a node (a retry may reach another
/// shard than the first attempt did). At most a fixed number of live claims are held; past it a
/// claim fails with [`StoreError::Full`].
///
/// The one lock shards share, and why it stays for now: a claim must be seen by every shard, and
/// the design's alternative, routing each claim over the mesh to the shard that minted the nonce
/// (as `/metrics` scrapes travel), costs a cross-core round trip per claim where this costs one
/// uncontended lock. Only a retry that brings back a state its tool sealed as single-use takes
/// it, for one map operation, never across an await; no other request touches it. Every other
/// request path stays lock-free.
#[derive(Clone)]
pub struct MemoryOnceStore {
    // Locked only by a single-use claim, for one map operation: see the type's comment.
    claims: Arc<Mutex<Claims>>,
    max: usize,
}

impl MemoryOnceStore {
    /// A store holding at most `max` live claims.
    pub fn new(max: usize) -> Self {
        MemoryOnceStore {
            claims: Arc::new(Mutex::new(Claims {
                until: HashMap::new(),
                last_sweep: None,
            })),
            max,
        }
    }

    /// Claims held now, expired ones not yet dropped included.
    pub fn len(&self) -> usize {
        self.lock().until.len()
    }

    /// Whether no claim is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Claims> {
        // A panic while the map was held cannot leave it half-changed (one insert or retain):
        // the data is still good.
        self.claims.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn claim_at(&self, nonce: &str, ttl: Duration, now: Instant) -> Result<bool, StoreError> {
        let mut claims = self.lock();
        if let Some(&until) = claims.until.get(nonce) {
            if until > now {
                return Ok(false);
            }
        } else if claims.until.len() >= self.max {
            let due = claims
                .last_sweep
                .is_none_or(|at| now.duration_since(at) >= SWEEP_EVERY);
            if due {
                claims.last_sweep = Some(now);
                claims.until.retain(|_, until| *until > now);
            }
            if claims.until.len() >= self.max {
                return Err(StoreError::Full(format!(
                    "{} single-use request states are in use; retry later",
                    self.max
                )));
            }
        }
        claims.until.insert(nonce.to_owned(), now + ttl);
        Ok(true)
    }
}

impl OnceStore for MemoryOnceStore {
    fn claim(&self, nonce: &str, ttl: Duration) -> Lookup<Result<bool, StoreError>> {
        Lookup::Ready(self.claim_at(nonce, ttl, Instant::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn first_claim_wins_until_its_ttl() {
        let store = MemoryOnceStore::new(10);
        let t0 = Instant::now();
        assert_eq!(store.claim_at("a", MIN, t0), Ok(true));
        assert_eq!(store.claim_at("a", MIN, t0 + MIN / 2), Ok(false));
        assert_eq!(store.claim_at("b", MIN, t0), Ok(true));
        // Past its time to live the state it guards no longer opens; the claim may go.
        assert_eq!(store.claim_at("a", MIN, t0 + MIN * 2), Ok(true));
        let shard2 = store.clone();
        assert_eq!(shard2.claim_at("b", MIN, t0), Ok(false), "shared by clones");
    }

    #[test]
    fn full_store_refuses_until_claims_expire() {
        let store = MemoryOnceStore::new(2);
        let t0 = Instant::now();
        assert_eq!(store.claim_at("a", MIN, t0), Ok(true));
        assert_eq!(store.claim_at("b", MIN * 2, t0), Ok(true));
        assert!(matches!(
            store.claim_at("c", MIN, t0),
            Err(StoreError::Full(_))
        ));
        // A spent nonce is still refused as spent, not as full.
        assert_eq!(store.claim_at("a", MIN, t0), Ok(false));
        // Once "a" expired, the next sweep makes room.
        let later = t0 + MIN + SWEEP_EVERY;
        assert_eq!(store.claim_at("c", MIN, later), Ok(true));
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn claims_answer_at_once() {
        let store = MemoryOnceStore::new(1);
        assert!(matches!(store.claim("x", MIN), Lookup::Ready(Ok(true))));
        assert!(matches!(store.claim("x", MIN), Lookup::Ready(Ok(false))));
    }
}
