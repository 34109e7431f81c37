//! [`LiveRegistry`]: a server's set of tools, resources and prompts that may change while it
//! runs. The program (or a handler, through [`crate::RequestContext::live_registry`]) edits the
//! current set with [`LiveRegistry::update`]; the new set is built and checked off the request
//! path, then published with a new generation. Each shard notices the generation on its next
//! look (a few milliseconds), swaps its own copy and tells its clients the lists changed; a
//! request already running keeps the handler it started with.
//!
//! The lock here guards the writers' side only (two updates at once apply one after the other);
//! shards read the generation, an atomic, and take the lock once per change, never per request.

use super::builder::ServerBuilder;
use super::error::BuildError;
use super::registry::Registry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// A registry that changes while the server runs. Cheap to clone: clones share the set.
#[derive(Clone)]
pub struct LiveRegistry {
    inner: Arc<Inner>,
}

struct Inner {
    // A lock, though shards share no locked state: only writers (`update`) and a shard taking a
    // new set once per change (`current`) take it, never a request. What shards read per
    // request is `generation`, an atomic load.
    current: Mutex<Arc<Registry>>,
    generation: AtomicU64,
    /// Whether shards follow it: a registry served with [`crate::serve`] never changes.
    live: bool,
}

impl std::fmt::Debug for LiveRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveRegistry")
            .field("generation", &self.generation())
            .field("live", &self.inner.live)
            .finish()
    }
}

impl LiveRegistry {
    /// `registry`, ready to change while served ([`crate::serve_live`]).
    pub fn new(registry: Registry) -> Self {
        Self::with(registry, true)
    }

    /// `registry`, served as it is: shards do not watch it and `update` is refused.
    pub(crate) fn fixed(registry: Registry) -> Self {
        Self::with(registry, false)
    }

    fn with(registry: Registry, live: bool) -> Self {
        LiveRegistry {
            inner: Arc::new(Inner {
                current: Mutex::new(Arc::new(registry)),
                generation: AtomicU64::new(0),
                live,
            }),
        }
    }

    /// Whether the set may change (and clients are told it may: `listChanged`).
    pub fn is_live(&self) -> bool {
        self.inner.live
    }

    /// The set as it is now.
    pub fn current(&self) -> Arc<Registry> {
        self.lock().clone()
    }

    /// How many updates have been published.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// Change the set: `edit` gets a builder holding the current set (add with its usual
    /// methods, take away with `remove_tool` and the like) and the result is built and checked
    /// like the first set. On success every shard switches to it within milliseconds; on
    /// failure nothing changes.
    pub fn update(
        &self,
        edit: impl FnOnce(ServerBuilder) -> ServerBuilder,
    ) -> Result<(), BuildError> {
        if !self.inner.live {
            return Err(BuildError::NotLive);
        }
        let mut current = self.lock();
        let next = edit(current.to_builder()).build()?;
        *current = Arc::new(next);
        // Published under the lock: a shard that sees the new generation finds the new set.
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        tracing::info!(generation = self.generation(), "registry updated");
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Arc<Registry>> {
        // A panic in an `edit` leaves the old set in place: still a valid set to serve.
        self.inner
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
