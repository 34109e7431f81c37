//! A live set of tools, resources and prompts on one shard: the shard looks at the
//! [`LiveRegistry`]'s generation before each request and every few milliseconds when idle, and
//! when it moved, swaps its own copy of the set and tells its clients which lists changed
//! (legacy sessions, and `subscriptions/listen` streams that asked). Requests already running
//! keep the entries they started with.
//!
//! [`LiveRegistry`]: crate::LiveRegistry

use super::McpService;
use crate::sdk::Registry;
use crate::service::{ListChanges, Session};
use std::rc::Rc;
use std::time::Duration;

/// How often an idle shard looks for a new set: how late its clients may hear of a change.
const LOOK_EVERY: Duration = Duration::from_millis(10);

impl McpService {
    /// Serve each new set of a live registry from now on (nothing for a fixed one).
    pub fn follow_registry(self: &Rc<Self>) {
        if !self.live.is_live() {
            return;
        }
        let engine = Rc::downgrade(self);
        glommio::spawn_local(async move {
            loop {
                glommio::timer::sleep(LOOK_EVERY).await;
                let Some(engine) = engine.upgrade() else {
                    return;
                };
                engine.look_for_new_set();
            }
        })
        .detach();
    }

    /// Swap in the newest set if there is one, and tell the clients what changed.
    pub(super) fn look_for_new_set(&self) {
        let generation = self.live.generation();
        if generation == self.generation.get() {
            return;
        }
        let next = Registry::clone(&self.live.current());
        let changes = changes_between(&self.registry.borrow(), &next);
        *self.registry.borrow_mut() = Rc::new(next);
        self.generation.set(generation);
        tracing::debug!(
            shard = self.shard.id,
            generation,
            ?changes,
            "new set served"
        );
        self.shard.lists_changed(changes);
    }

    /// `session` hears of list changes from now on (a legacy session: it has no way to ask, so
    /// each one that a live server serves hears of every change).
    pub fn watch_lists(&self, session: &Rc<Session>) {
        if self.live.is_live() {
            self.shard.add_watcher(session);
        }
    }

    /// Whether clients are told the lists may change (`listChanged` in the capabilities).
    pub(super) fn lists_may_change(&self) -> bool {
        self.live.is_live()
    }
}

/// Which lists differ between two sets (each list compared as its clients see it).
fn changes_between(old: &Registry, new: &Registry) -> ListChanges {
    ListChanges {
        tools: !same(&old.tools, &new.tools),
        prompts: !same(&old.prompts, &new.prompts),
        resources: !same(&old.resources, &new.resources) || !same(&old.templates, &new.templates),
    }
}

fn same<T: serde::Serialize>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len() && serde_json::to_value(a).ok() == serde_json::to_value(b).ok()
}
