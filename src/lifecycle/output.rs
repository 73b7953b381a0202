//! Lane output on stderr as it comes, each line prefixed with the lane's name (coloured
//! per lane on a terminal), so parallel lanes stay readable. A line keeps the task's
//! colours and loses every other escape sequence (`ui::line` sees to it); colours a line
//! leaves on are turned off at its end, so they never spill into the next lane's line.

use std::sync::Mutex;

use crate::workspace::Workspace;

pub struct Output {
    color: bool,
    width: usize,
    lock: Mutex<()>,
}

const PALETTE: [anstyle::AnsiColor; 6] = [
    anstyle::AnsiColor::Cyan,
    anstyle::AnsiColor::Magenta,
    anstyle::AnsiColor::Green,
    anstyle::AnsiColor::Yellow,
    anstyle::AnsiColor::Blue,
    anstyle::AnsiColor::Red,
];

impl Output {
    pub fn new(ws: &Workspace) -> Self {
        let width = ws
            .stages
            .iter()
            .flat_map(|s| &s.lanes)
            .map(|l| l.name.len())
            .max()
            .unwrap_or(0);
        Output {
            color: crate::ui::stderr_is_terminal(),
            width: width.min(24),
            lock: Mutex::new(()),
        }
    }

    /// Prints one line of lane `index` (its colour) named `name`.
    pub fn line(&self, name: &str, index: usize, text: &str) {
        self.lines(name, index, &[text.to_string()]);
    }

    /// Prints lines of one lane at once: one lock and one write however many there are
    /// (a task printing a million lines must not cost a million writes).
    pub fn lines(&self, name: &str, index: usize, lines: &[String]) {
        use std::fmt::Write as _;
        if lines.is_empty() {
            return;
        }
        let style = anstyle::Style::new().fg_color(Some(PALETTE[index % PALETTE.len()].into()));
        let prefix = format!("{name:>width$} |", width = self.width);
        let mut text =
            String::with_capacity(lines.iter().map(|l| l.len() + prefix.len() + 2).sum());
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            if self.color {
                let _ = write!(text, "{style}{prefix}{style:#} {line}");
            } else {
                let _ = write!(text, "{prefix} {line}");
            }
        }
        let _guard = self.lock.lock();
        crate::ui::line(&text);
    }

    /// A line devboot itself says about a lane (restarting it, retrying it).
    pub fn say(&self, name: &str, index: usize, text: &str) {
        self.line(name, index, &format!("devboot: {text}"));
    }
}
