//! Text from a container made safe to show on a terminal: colours stay, every other
//! control sequence and control character goes.
//!
//! A task can print anything, and a terminal obeys more than colours: OSC 52 writes the
//! user's clipboard, OSC 0 sets the window title, `ESC [ 2 J` clears the screen, cursor
//! moves and `\r` overwrite lines devboot printed, DCS strings talk to the terminal
//! itself. So what devboot shows from a container keeps only printable characters, `\t`,
//! `\n` and SGR sequences (`ESC [ params m`: colours, bold...), rebuilt from their parsed
//! numbers so nothing else can ride along. Everything else is dropped. The escape
//! sequences are parsed by `vte`, the parser alacritty uses, so a sequence split across
//! reads, a malformed one or invalid UTF-8 is handled the way a terminal would handle it.
//!
//! Whether colours reach the screen is still anstream's call (it strips SGR when stderr
//! is not a terminal or `NO_COLOR` is set). Bytes written into a pipe or a file for a
//! program to read (`logs > file`) need not go through here.

use std::fmt::Write as _;

/// A streaming sanitiser: feed it a container's output in chunks as they arrive; a
/// sequence or a character split between two chunks is understood whole.
///
/// ```
/// let mut s = devboot::terminal::Sanitizer::new();
/// let mut shown = s.push(b"\x1b[31mred\x1b]0;ti");
/// shown.extend(s.push(b"tle\x07 text"));
/// shown.extend(s.finish());
/// assert_eq!(shown, b"\x1b[31mred text\x1b[0m");
/// ```
#[derive(Default)]
pub struct Sanitizer {
    parser: vte::Parser,
    kept: Kept,
}

impl Sanitizer {
    pub fn new() -> Self {
        Self::default()
    }

    /// What of `bytes` may be shown: whole UTF-8 characters (`String::from_utf8` never
    /// fails on it). Bytes of an unfinished sequence or character are held until the next
    /// call; colours stay on from one call to the next, as in the stream.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.parser.advance(&mut self.kept, bytes);
        std::mem::take(&mut self.kept.out)
    }

    /// The end of the stream: an unfinished character shows as `�`, an unfinished
    /// sequence is dropped, and colours still on are turned off, so that what is printed
    /// next is not coloured by the stream. The sanitiser can then start a new stream.
    pub fn finish(&mut self) -> Vec<u8> {
        // CAN (0x18) cancels a sequence in every state, as on a terminal, and completes
        // a pending partial character as invalid; CAN itself is not kept.
        let mut out = self.push(b"\x18");
        if std::mem::take(&mut self.kept.styled) {
            out.extend_from_slice(RESET.as_bytes());
        }
        out
    }
}

/// `text` with only printable characters, `\t`, `\n` and colours left (see the module
/// comment); colours left on at its end are turned off.
pub fn sanitize(text: &str) -> std::borrow::Cow<'_, str> {
    // Most text (a task's output, line after line) has nothing to take out: one scan.
    if is_plain(text) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut sanitizer = Sanitizer::new();
    let mut out = sanitizer.push(text.as_bytes());
    out.extend(sanitizer.finish());
    std::borrow::Cow::Owned(
        String::from_utf8(out).expect("only whole characters and ASCII are kept"),
    )
}

/// Whether `text` holds nothing but printable characters, `\t` and `\n`: no C0 control
/// (ESC included), no DEL, no C1 control (U+0080 to U+009F, `0xC2 0x80..=0x9F` in UTF-8).
fn is_plain(text: &str) -> bool {
    let bytes = text.as_bytes();
    // Printable ASCII, tabs and newlines: the common case, checked a block at a time (no
    // early exit inside a block, so the compiler can check many bytes at once).
    let printable = |b: u8| (0x20..0x7f).contains(&b) || b == b'\t' || b == b'\n';
    if bytes
        .chunks(64)
        .all(|block| block.iter().fold(true, |ok, &b| ok & printable(b)))
    {
        return true;
    }
    bytes.iter().enumerate().all(|(i, &b)| match b {
        b'\t' | b'\n' => true,
        0x00..=0x1f | 0x7f => false,
        0xc2 => !matches!(bytes.get(i + 1), Some(0x80..=0x9f)),
        _ => true,
    })
}

const RESET: &str = "\x1b[0m";

/// What the parser found that may be shown.
#[derive(Default)]
struct Kept {
    out: Vec<u8>,
    /// An SGR other than a reset was kept since the last reset.
    styled: bool,
}

impl vte::Perform for Kept {
    fn print(&mut self, c: char) {
        // vte hands C1 controls to `execute`; DEL and others of category Cc end here.
        if !c.is_control() {
            let mut buf = [0; 4];
            self.out
                .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }

    fn execute(&mut self, byte: u8) {
        if matches!(byte, b'\t' | b'\n') {
            self.out.push(byte);
        }
    }

    fn csi_dispatch(
        &mut self,
        params: &vte::Params,
        intermediates: &[u8],
        ignore: bool,
        action: char,
    ) {
        // A private marker (`ESC [ ? … m`, `ESC [ > … m`) arrives as an intermediate:
        // such sequences are not colours.
        if action != 'm' || !intermediates.is_empty() || ignore {
            return;
        }
        let mut sgr = String::from("\x1b[");
        let mut reset = true;
        for (i, param) in params.iter().enumerate() {
            if i > 0 {
                sgr.push(';');
            }
            for (j, sub) in param.iter().enumerate() {
                if j > 0 {
                    sgr.push(':');
                }
                let _ = write!(sgr, "{sub}");
                reset &= *sub == 0;
            }
        }
        sgr.push('m');
        self.out.extend_from_slice(sgr.as_bytes());
        self.styled = !reset;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(bytes: &[u8]) -> Vec<u8> {
        let mut s = Sanitizer::new();
        let mut out = s.push(bytes);
        out.extend(s.finish());
        out
    }

    fn shown(bytes: &[u8]) -> String {
        String::from_utf8(clean(bytes)).unwrap()
    }

    #[test]
    fn colours_stay() {
        assert_eq!(
            shown(b"a \x1b[1;31mred\x1b[0m b"),
            "a \x1b[1;31mred\x1b[0m b"
        );
        // 256 colours and true colour, with `;` and with `:` sub-parameters.
        assert_eq!(
            shown(b"\x1b[38;5;208mo\x1b[38:2::255:0:0mr\x1b[m"),
            "\x1b[38;5;208mo\x1b[38:2:0:255:0:0mr\x1b[0m"
        );
    }

    #[test]
    fn colours_left_on_are_turned_off_at_the_end() {
        assert_eq!(shown(b"\x1b[32mgreen"), "\x1b[32mgreen\x1b[0m");
        assert_eq!(shown(b"\x1b[32mgreen\x1b[0m"), "\x1b[32mgreen\x1b[0m");
        assert_eq!(shown(b"plain"), "plain");
    }

    #[test]
    fn osc_strings_go() {
        // OSC 52 (clipboard), with BEL and with ST (ESC \) as terminator; OSC 0 (title);
        // OSC 8 (hyperlink).
        assert_eq!(shown(b"a\x1b]52;c;ZXZpbA==\x07b"), "ab");
        assert_eq!(shown(b"a\x1b]52;c;ZXZpbA==\x1b\\b"), "ab");
        assert_eq!(shown(b"a\x1b]0;pwned\x07b"), "ab");
        assert_eq!(
            shown(b"\x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\"),
            "link"
        );
    }

    #[test]
    fn other_csi_sequences_go() {
        for seq in [
            &b"\x1b[2J"[..],   // clear the screen
            b"\x1b[H",         // cursor home
            b"\x1b[10;20H",    // cursor to
            b"\x1b[3A",        // cursor up
            b"\x1b[2K",        // erase the line
            b"\x1b[?1049h",    // alternate screen
            b"\x1b[?25l",      // hide the cursor
            b"\x1b[6n",        // ask for the cursor position (the answer is typed input)
            b"\x1b[>4;2m",     // modifyOtherKeys: an `m` with a private marker
            b"\x1b[21t",       // report the window title
            b"\x1b[1;31;42$m", // an `m` with an intermediate
        ] {
            let mut input = b"a".to_vec();
            input.extend_from_slice(seq);
            input.push(b'b');
            assert_eq!(shown(&input), "ab", "{seq:?}");
        }
    }

    #[test]
    fn dcs_and_other_strings_go() {
        assert_eq!(shown(b"a\x1bP1$tx\x1b\\b"), "ab"); // DCS
        assert_eq!(shown(b"a\x1bPq#0;2;0;0;0#0~~@@\x1b\\b"), "ab"); // sixel
        assert_eq!(
            shown(b"a\x1b_apc\x1b\\b\x1b^pm\x1b\\c\x1bXsos\x1b\\d"),
            "abcd"
        );
        assert_eq!(shown(b"a\x1bcb\x1b7c\x1b8d\x1b(0e"), "abcde"); // ESC sequences
    }

    #[test]
    fn control_characters_go_but_tab_and_newline() {
        assert_eq!(shown(b"a\x07b\x08c\rd\x0be\x0cf\x00g\x7fh"), "abcdefgh");
        assert_eq!(shown(b"a\tb\nc\r\n"), "a\tb\nc\n");
        // C1 controls, raw (not UTF-8) and encoded as UTF-8 characters: CSI, OSC, NEL.
        assert_eq!(shown(b"a\x9b2Jb\x9d0;t\x9cc"), "a2Jb0;tc");
        assert_eq!(shown("a\u{9b}2Jb\u{85}c".as_bytes()), "a2Jbc");
    }

    #[test]
    fn text_stays_as_it_is() {
        let text = "grüße, 東京, 🚀 tab\there $HOME `x` 'q' \"q\" \\ end\n";
        assert_eq!(shown(text.as_bytes()), text);
        assert_eq!(sanitize(text), text);
    }

    #[test]
    fn invalid_utf8_shows_as_replacement_characters() {
        assert_eq!(shown(b"a\xffb\xc3(c"), "a\u{fffd}b\u{fffd}(c");
        // A character cut off by the end of the stream.
        assert_eq!(shown(b"ab\xe6\x9d"), "ab\u{fffd}");
    }

    #[test]
    fn a_split_anywhere_gives_the_same_text() {
        let input: &[u8] =
            "x\x1b[1;38;5;208mé\x1b]52;c;ZXZpbA==\x07\x1b[2J東\x1bP1$tx\x1b\\\r\n\x1b[0m"
                .as_bytes();
        let whole = clean(input);
        assert_eq!(
            String::from_utf8(whole.clone()).unwrap(),
            "x\x1b[1;38;5;208mé東\n\x1b[0m"
        );
        for cut in 0..=input.len() {
            let mut s = Sanitizer::new();
            let mut out = s.push(&input[..cut]);
            out.extend(s.push(&input[cut..]));
            out.extend(s.finish());
            assert_eq!(out, whole, "cut at {cut}");
        }
        // Byte by byte.
        let mut s = Sanitizer::new();
        let mut out: Vec<u8> = input.iter().flat_map(|b| s.push(&[*b])).collect();
        out.extend(s.finish());
        assert_eq!(out, whole);
    }

    #[test]
    fn an_unfinished_sequence_is_dropped_and_the_next_stream_starts_clean() {
        let mut s = Sanitizer::new();
        assert_eq!(s.push(b"a\x1b]52;c;ZXZp"), b"a");
        assert_eq!(s.finish(), b"");
        assert_eq!(s.push(b"b"), b"b");
    }

    /// Long input costs linear time and bounded memory: an endless OSC string, a huge
    /// CSI parameter list, many short sequences (each would take forever if the work grew
    /// with the input's square).
    #[test]
    fn long_input() {
        let mut s = Sanitizer::new();
        let mut out = s.push(b"\x1b]52;c;");
        let chunk = vec![b'A'; 1 << 16];
        for _ in 0..64 {
            out.extend(s.push(&chunk));
        }
        out.extend(s.push(b"\x07after"));
        assert_eq!(out, b"after");

        let mut csi = b"\x1b[".to_vec();
        csi.extend(b"1;".repeat(1 << 20));
        csi.extend(b"mtext");
        assert_eq!(shown(&csi), "text");

        let many = b"\x1b[31mx\x1b[2J\x07".repeat(1 << 18);
        let out = shown(&many);
        assert_eq!(out.matches('x').count(), 1 << 18);
        assert!(!out.contains("\x1b[2J") && !out.contains('\x07'));
    }
}
