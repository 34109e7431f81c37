//! Newline-delimited JSON framing (stdio and raw TCP): one message per line, with a size limit.
//!
//! A line longer than the limit is reported once as [`Frame::Oversize`], then discarded up to its
//! newline, so that one bad message costs the connection nothing else. Memory held is bounded by the
//! limit: a partial line is buffered only while it is shorter than the limit.

/// One decoded frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete line, without its `\n` (and `\r`).
    Line(&'a [u8]),
    /// A line exceeded the limit; it is being discarded up to its newline.
    Oversize,
}

/// Incremental decoder for newline-delimited messages.
#[derive(Debug)]
pub struct NdjsonCodec {
    partial: Vec<u8>,
    discarding: bool,
    max_line: usize,
}

impl NdjsonCodec {
    /// A codec that accepts lines of at most `max_line` bytes (newline excluded).
    pub fn new(max_line: usize) -> Self {
        NdjsonCodec {
            partial: Vec::new(),
            discarding: false,
            max_line,
        }
    }

    /// Bytes of an incomplete line held between calls.
    pub fn buffered(&self) -> usize {
        self.partial.len()
    }

    /// Give back the buffer kept for the next partial line, unless one is arriving (an idle
    /// connection then holds no buffer of its own).
    pub fn release(&mut self) {
        if self.partial.is_empty() {
            self.partial = Vec::new();
        }
    }

    /// Feed bytes; `on_frame` is called for every complete line (blank lines are skipped) and once
    /// for every oversize line.
    pub fn decode(&mut self, mut input: &[u8], mut on_frame: impl FnMut(Frame<'_>)) {
        while !input.is_empty() {
            let newline = input.iter().position(|&b| b == b'\n');
            let (chunk, rest, complete) = match newline {
                Some(i) => (&input[..i], &input[i + 1..], true),
                None => (input, &input[input.len()..], false),
            };
            input = rest;
            if self.discarding {
                if complete {
                    self.discarding = false;
                }
                continue;
            }
            // A trailing CR may belong to a CRLF line ending (possibly split before its LF): it
            // does not count against the limit.
            let last = chunk.last().or(self.partial.last());
            let allowance = usize::from(last == Some(&b'\r'));
            if self.partial.len() + chunk.len() > self.max_line + allowance {
                self.partial = Vec::new();
                self.discarding = !complete;
                on_frame(Frame::Oversize);
                continue;
            }
            if !complete {
                self.partial.extend_from_slice(chunk);
                continue;
            }
            if self.partial.is_empty() {
                emit(chunk, &mut on_frame);
            } else {
                self.partial.extend_from_slice(chunk);
                let line = std::mem::take(&mut self.partial);
                emit(&line, &mut on_frame);
                // Keep the allocation for the next partial line only if it is small.
                if line.capacity() <= 4096 {
                    self.partial = line;
                    self.partial.clear();
                }
            }
        }
    }
}

fn emit(line: &[u8], on_frame: &mut impl FnMut(Frame<'_>)) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(|b| b.is_ascii_whitespace()) {
        return;
    }
    on_frame(Frame::Line(line));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(codec: &mut NdjsonCodec, chunks: &[&[u8]]) -> Vec<Option<Vec<u8>>> {
        let mut out = Vec::new();
        for c in chunks {
            codec.decode(c, |f| match f {
                Frame::Line(l) => out.push(Some(l.to_vec())),
                Frame::Oversize => out.push(None),
            });
        }
        out
    }

    #[test]
    fn splits_and_joins() {
        let mut c = NdjsonCodec::new(100);
        let got = run(&mut c, &[b"ab", b"c\nde\r\n\n  \nf", b"g\n"]);
        assert_eq!(
            got,
            vec![
                Some(b"abc".to_vec()),
                Some(b"de".to_vec()),
                Some(b"fg".to_vec())
            ]
        );
        assert_eq!(c.buffered(), 0);
    }

    #[test]
    fn oversize_is_reported_once_and_skipped() {
        let mut c = NdjsonCodec::new(4);
        let got = run(&mut c, &[b"12345", b"678", b"9\nok\n", b"abcde\nxy\n"]);
        assert_eq!(
            got,
            vec![None, Some(b"ok".to_vec()), None, Some(b"xy".to_vec())]
        );
        assert_eq!(c.buffered(), 0);
    }

    #[test]
    fn crlf_split_between_cr_and_lf() {
        let mut c = NdjsonCodec::new(1);
        assert_eq!(run(&mut c, &[b"a\r", b"\n"]), vec![Some(b"a".to_vec())]);
        assert_eq!(run(&mut c, &[b"a\r", b"b\n"]), vec![None]);
    }

    #[test]
    fn exact_limit_is_accepted() {
        let mut c = NdjsonCodec::new(4);
        assert_eq!(
            run(&mut c, &[b"1234\n", b"12", b"34\r\n"]),
            vec![Some(b"1234".to_vec()), Some(b"1234".to_vec())]
        );
    }

    #[test]
    fn release_keeps_a_line_that_is_arriving() {
        let mut codec = NdjsonCodec::new(1024);
        let mut lines = Vec::new();
        codec.decode(b"{\"a\":1}\n{\"b\"", |f| {
            if let Frame::Line(l) = f {
                lines.push(l.to_vec())
            }
        });
        codec.release();
        codec.decode(b":2}\n", |f| {
            if let Frame::Line(l) = f {
                lines.push(l.to_vec())
            }
        });
        assert_eq!(lines, [b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()]);
        codec.release();
        assert_eq!(codec.buffered(), 0);
    }
}
