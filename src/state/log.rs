//! Reading a lane's log, which the container writes: in time linear in its size and in
//! bounded memory, whatever it holds. It is read in chunks at the offset reached (never
//! whole), split into lines without moving what is left, and a line longer than
//! [`LINE_CAP`] is cut with a note and the rest of it skipped.

use std::fs::File;
use std::os::unix::fs::FileExt;

/// Text from bytes a container wrote: validated at once (the fast path), replacement
/// characters only where they are not UTF-8.
fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// The longest line kept; the rest of a longer one is skipped.
const LINE_CAP: usize = 16 * 1024;
/// Bytes read at once.
const CHUNK: usize = 256 * 1024;
/// Bytes read by one call of [`LogReader::read_new`], so one busy lane cannot keep the
/// others (and the check that the container still runs) waiting.
const PER_CALL: u64 = 8 * 1024 * 1024;

/// Where reading a log has got to.
#[derive(Debug, Default)]
pub struct LogReader {
    offset: u64,
    /// The start of a line whose end has not been written yet (at most [`LINE_CAP`]).
    partial: Vec<u8>,
    /// Skipping the rest of a line that was cut.
    skipping: bool,
    buf: Vec<u8>,
}

impl LogReader {
    /// A reader that starts at `offset` (after a tail was shown).
    pub fn starting_at(offset: u64) -> LogReader {
        LogReader {
            offset,
            ..LogReader::default()
        }
    }

    /// How far it has read.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads what was added since the last call (up to a limit per call) and hands the
    /// complete lines, in order, to `sink`. True when anything was read.
    pub fn read_new(&mut self, file: &File, sink: &mut dyn FnMut(&[String])) -> bool {
        let start = self.offset;
        let mut buf = std::mem::take(&mut self.buf);
        buf.resize(CHUNK, 0);
        while self.offset - start < PER_CALL {
            let n = match file.read_at(&mut buf, self.offset) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            self.offset += n as u64;
            let lines = self.split(&buf[..n]);
            if !lines.is_empty() {
                sink(&lines);
            }
        }
        self.buf = buf;
        self.offset > start
    }

    /// What is left without a final newline, as a last line.
    pub fn finish(&mut self) -> Option<String> {
        let skipping = std::mem::take(&mut self.skipping);
        (!self.partial.is_empty() && !skipping).then(|| text(&std::mem::take(&mut self.partial)))
    }

    fn split(&mut self, mut bytes: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        while !bytes.is_empty() {
            let newline = bytes.iter().position(|b| *b == b'\n');
            let (piece, rest) = match newline {
                Some(end) => (&bytes[..end], &bytes[end + 1..]),
                None => (bytes, &[][..]),
            };
            bytes = rest;
            if !self.skipping {
                let room = LINE_CAP - self.partial.len();
                if piece.len() > room {
                    self.partial.extend_from_slice(&piece[..room]);
                    let mut line = text(&self.partial);
                    line.push_str(&cut_note());
                    lines.push(line);
                    self.partial.clear();
                    self.skipping = true;
                } else if newline.is_some() && self.partial.is_empty() {
                    lines.push(text(piece));
                } else {
                    self.partial.extend_from_slice(piece);
                    if newline.is_some() {
                        lines.push(text(&self.partial));
                        self.partial.clear();
                    }
                }
            }
            if newline.is_some() {
                self.skipping = false;
            }
        }
        lines
    }
}

fn cut_note() -> String {
    format!(" … (line cut: longer than {} KiB)", LINE_CAP / 1024)
}

/// The last `n` lines of a log of `size` bytes, reading backwards from its end (at most
/// a few MiB, whatever its size): a failure report or `logs --tail` of a huge log costs
/// no more than of a small one.
pub fn tail_lines(file: &File, size: u64, n: usize) -> Vec<String> {
    const MAX_SCAN: u64 = 4 * 1024 * 1024;
    let mut start = size;
    let mut newlines = 0;
    let mut buf = vec![0; 64 * 1024];
    // Find where the last `n` lines begin (the newline ending the file does not count).
    'scan: while start > 0 && size - start < MAX_SCAN {
        let len = usize::try_from(start.min(buf.len() as u64)).unwrap_or(buf.len());
        let from = start - len as u64;
        if file.read_exact_at(&mut buf[..len], from).is_err() {
            break;
        }
        for (i, byte) in buf[..len].iter().enumerate().rev() {
            let at = from + i as u64;
            if *byte == b'\n' && at + 1 != size {
                newlines += 1;
                if newlines == n {
                    start = at + 1;
                    break 'scan;
                }
            }
        }
        start = from;
    }
    let mut reader = LogReader::starting_at(start);
    let mut lines = Vec::new();
    reader.read_new(file, &mut |batch| lines.extend_from_slice(batch));
    lines.extend(reader.finish());
    let skip = lines.len().saturating_sub(n);
    lines.drain(..skip);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;
    use std::io::Write;

    fn file(bytes: &[u8]) -> (tempfile::NamedTempFile, File) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        let file = File::open(f.path()).unwrap();
        (f, file)
    }

    fn read_all(reader: &mut LogReader, file: &File) -> Vec<String> {
        let mut lines = Vec::new();
        while reader.read_new(file, &mut |b| lines.extend_from_slice(b)) {}
        lines
    }

    #[test]
    fn lines_come_whole_across_reads() {
        let (mut f, file) = file(b"one\ntw");
        let mut reader = LogReader::default();
        assert_eq!(read_all(&mut reader, &file), ["one"]);
        f.write_all(b"o\nthree").unwrap();
        assert_eq!(read_all(&mut reader, &file), ["two"]);
        assert_eq!(reader.finish().as_deref(), Some("three"));
    }

    #[test]
    fn a_long_line_is_cut_and_the_rest_skipped() {
        let mut text = vec![b'x'; LINE_CAP * 3];
        text.extend_from_slice(b"\nnext\n");
        let (_f, file) = file(&text);
        let lines = read_all(&mut LogReader::default(), &file);
        assert_eq!(
            lines.len(),
            2,
            "{:?}",
            lines.iter().map(String::len).collect::<Vec<_>>()
        );
        assert!(lines[0].starts_with("xxx") && lines[0].ends_with("KiB)"));
        assert_eq!(lines[1], "next");
    }

    #[test]
    fn many_lines_are_read_in_linear_time_and_bounded_calls() {
        let mut text = String::new();
        for i in 0..200_000 {
            let _ = writeln!(text, "line {i}");
        }
        let (_f, file) = file(text.as_bytes());
        let mut reader = LogReader::default();
        let lines = read_all(&mut reader, &file);
        assert_eq!(lines.len(), 200_000);
        assert_eq!(lines[199_999], "line 199999");
        assert_eq!(reader.offset(), text.len() as u64);
    }

    #[test]
    fn tails_read_from_the_end() {
        let mut text = String::new();
        for i in 0..1000 {
            let _ = writeln!(text, "l{i}");
        }
        let (_f, file) = file(text.as_bytes());
        assert_eq!(
            tail_lines(&file, text.len() as u64, 3),
            ["l997", "l998", "l999"]
        );
        let (_g, short) = file_pair(b"a\nb");
        assert_eq!(tail_lines(&short, 3, 5), ["a", "b"]);
    }

    fn file_pair(bytes: &[u8]) -> (tempfile::NamedTempFile, File) {
        file(bytes)
    }
}
