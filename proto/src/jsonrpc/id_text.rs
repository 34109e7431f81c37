//! [`IdText`]: the JSON text of a request id, held inline when it is short. Servers clone a
//! request's id for their table of requests in flight; the ids clients send (numbers, short
//! strings) then cost no allocation.

/// Up to this many bytes are held inline.
const INLINE: usize = 30;

/// A short string inline, a long one on the heap. Which one depends on the length alone, so the
/// derived equality and hash agree for equal texts.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) enum IdText {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl IdText {
    pub(crate) fn new(text: &str) -> Self {
        match u8::try_from(text.len()) {
            Ok(len) if text.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..text.len()].copy_from_slice(text.as_bytes());
                IdText::Inline { len, bytes }
            }
            _ => IdText::Heap(text.into()),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            // Copied from a `&str` whole: always UTF-8 (the fallback is never taken).
            IdText::Inline { len, bytes } => {
                std::str::from_utf8(bytes.get(..usize::from(*len)).unwrap_or_default())
                    .unwrap_or_default()
            }
            IdText::Heap(text) => text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_texts_round_trip() {
        for text in ["1", "\"abc\"", &"9".repeat(30), &"9".repeat(31), "\"é\""] {
            let id = IdText::new(text);
            assert_eq!(id.as_str(), text);
            assert_eq!(matches!(id, IdText::Inline { .. }), text.len() <= INLINE);
            assert!(id == IdText::new(text));
        }
    }
}
