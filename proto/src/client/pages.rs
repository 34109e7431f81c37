//! [`Pages`]: following a paginated list (`tools/list`, `resources/list`, ...) to its end, sans-IO.
//! The driver asks for the next request's params, sends them however it sends, and hands each
//! answer back; this file owns the cursor rules and the bound on pages, and must not send
//! anything itself.

use serde_json::{Map, Value};

/// Pages a client follows at most before it stops (a server whose cursors never end).
pub const MAX_PAGES: usize = 1000;

/// The items of one paginated list, gathered page by page.
#[derive(Debug)]
pub struct Pages<'k> {
    key: &'k str,
    cursor: Option<String>,
    pages: usize,
    done: bool,
    items: Vec<Value>,
}

impl<'k> Pages<'k> {
    /// A list whose pages carry their items in the array named `key` (`"tools"`, say).
    pub fn new(key: &'k str) -> Self {
        Pages {
            key,
            cursor: None,
            pages: 0,
            done: false,
            items: Vec::new(),
        }
    }

    /// The params of the next page's request (with the cursor after the first), or `None` when
    /// the list is complete or [`MAX_PAGES`] pages have been read.
    pub fn next_params(&mut self) -> Option<Map<String, Value>> {
        if self.done || self.pages >= MAX_PAGES {
            return None;
        }
        let mut params = Map::new();
        if let Some(c) = self.cursor.take() {
            params.insert("cursor".into(), c.into());
        }
        Some(params)
    }

    /// One page's result: its items are kept, and its `nextCursor` (if not empty) asks for more.
    pub fn take(&mut self, page: &Value) {
        self.pages += 1;
        if let Some(list) = page.get(self.key).and_then(Value::as_array) {
            self.items.extend(list.iter().cloned());
        }
        match page.get("nextCursor").and_then(Value::as_str) {
            Some(next) if !next.is_empty() => self.cursor = Some(next.to_owned()),
            _ => self.done = true,
        }
    }

    /// Whether the list ended by itself (false: cut at [`MAX_PAGES`]).
    pub fn complete(&self) -> bool {
        self.done
    }

    /// The items gathered.
    pub fn into_items(self) -> Vec<Value> {
        self.items
    }
}

#[cfg(test)]
mod unit {
    use super::*;
    use serde_json::json;

    #[test]
    fn follows_cursors_to_the_end_and_keeps_every_item() {
        let mut pages = Pages::new("tools");
        assert_eq!(
            pages.next_params(),
            Some(Map::new()),
            "the first page has no cursor"
        );
        pages.take(&json!({"tools": [{"name": "a"}], "nextCursor": "c1"}));
        let params = pages.next_params().expect("a second page");
        assert_eq!(params.get("cursor"), Some(&json!("c1")));
        pages.take(&json!({"tools": [{"name": "b"}], "nextCursor": ""}));
        assert_eq!(pages.next_params(), None, "an empty cursor ends the list");
        assert!(pages.complete());
        let names: Vec<_> = pages
            .into_items()
            .iter()
            .map(|t| t["name"].clone())
            .collect();
        assert_eq!(names, [json!("a"), json!("b")]);
    }

    #[test]
    fn a_server_whose_cursors_never_end_is_cut_off() {
        let mut pages = Pages::new("tools");
        let mut n = 0;
        while pages.next_params().is_some() {
            pages.take(&json!({"tools": [], "nextCursor": "again"}));
            n += 1;
        }
        assert_eq!(n, MAX_PAGES);
        assert!(!pages.complete());
    }
}
