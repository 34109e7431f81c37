//! [`EventStore`]: numbered events per stream, so that a client that reconnects with
//! `Last-Event-ID` gets what it missed, from whichever node it reaches. Event ids are opaque
//! strings minted by the store (a network store assigns its own); clients echo them back as they
//! got them.

use super::{Lookup, StoreError};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

/// One stored event: its id and its bytes (a JSON-RPC message).
pub type StoredEvent = (String, Vec<u8>);

/// Where the events of resumable streams are kept, a bounded number per stream.
pub trait EventStore {
    /// Append `data` to `stream`, answering with the new event's id.
    /// (The store copies what it keeps: the caller still writes `data` to a live stream.)
    fn append(&self, stream: &str, data: &[u8]) -> Lookup<Result<String, StoreError>>;

    /// The kept events of `stream` that came after the event `last`, oldest first. An id this
    /// store never minted for the stream gives nothing (there is no telling what was missed).
    fn after(&self, stream: &str, last: &str) -> Lookup<Result<Vec<StoredEvent>, StoreError>>;

    /// Forget `stream` and its events (its session ended).
    fn remove(&self, stream: &str);
}

struct Stream {
    next: u64,
    events: VecDeque<(u64, Vec<u8>)>,
}

/// Each stream's last `capacity` events in memory, ids counting up from 1 per stream.
pub struct MemoryEventStore {
    streams: RefCell<HashMap<String, Stream>>,
    capacity: usize,
}

impl MemoryEventStore {
    /// A store keeping at most `capacity` events per stream.
    pub fn new(capacity: usize) -> Self {
        MemoryEventStore {
            streams: RefCell::new(HashMap::new()),
            capacity,
        }
    }
}

impl EventStore for MemoryEventStore {
    fn append(&self, stream: &str, data: &[u8]) -> Lookup<Result<String, StoreError>> {
        let mut streams = self.streams.borrow_mut();
        let s = match streams.get_mut(stream) {
            Some(s) => s,
            None => streams.entry(stream.to_owned()).or_insert(Stream {
                next: 1,
                events: VecDeque::new(),
            }),
        };
        let id = s.next;
        s.next += 1;
        if self.capacity > 0 {
            s.events.push_back((id, data.to_vec()));
            while s.events.len() > self.capacity {
                s.events.pop_front();
            }
        }
        Lookup::Ready(Ok(id.to_string()))
    }

    fn after(&self, stream: &str, last: &str) -> Lookup<Result<Vec<StoredEvent>, StoreError>> {
        let streams = self.streams.borrow();
        let found = match (streams.get(stream), last.parse::<u64>()) {
            (Some(s), Ok(last)) if last < s.next => s
                .events
                .iter()
                .filter(|(id, _)| *id > last)
                .map(|(id, data)| (id.to_string(), data.clone()))
                .collect(),
            _ => Vec::new(),
        };
        Lookup::Ready(Ok(found))
    }

    fn remove(&self, stream: &str) {
        self.streams.borrow_mut().remove(stream);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now<T>(l: Lookup<T>) -> T {
        match l.now() {
            Ok(v) => v,
            Err(_) => panic!("the in-memory store must answer at once"),
        }
    }

    fn append(store: &MemoryEventStore, stream: &str, data: &str) -> String {
        now(store.append(stream, data.as_bytes())).unwrap_or_else(|e| panic!("{e}"))
    }

    fn after(store: &MemoryEventStore, stream: &str, last: &str) -> Vec<String> {
        now(store.after(stream, last))
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|(id, data)| format!("{id}:{}", String::from_utf8_lossy(&data)))
            .collect()
    }

    #[test]
    fn replays_what_came_after_and_keeps_a_bounded_tail() {
        let store = MemoryEventStore::new(3);
        let first = append(&store, "s", "a");
        for data in ["b", "c", "d"] {
            append(&store, "s", data);
        }
        append(&store, "other", "x");
        assert_eq!(after(&store, "s", &first), ["2:b", "3:c", "4:d"]);
        assert_eq!(after(&store, "s", "3"), ["4:d"]);
        assert_eq!(after(&store, "s", "4"), Vec::<String>::new());
        // Only the last three are kept: from the start, the first is gone.
        assert_eq!(after(&store, "s", "0"), ["2:b", "3:c", "4:d"]);
        // Ids the store never minted for this stream replay nothing.
        assert!(after(&store, "s", "99").is_empty());
        assert!(after(&store, "s", "not-an-id").is_empty());
        assert!(after(&store, "nobody", "1").is_empty());
        assert_eq!(after(&store, "other", "0"), ["1:x"]);
        store.remove("s");
        assert!(after(&store, "s", "0").is_empty());
        assert_eq!(
            append(&store, "s", "e"),
            "1",
            "a removed stream starts over"
        );
    }
}
