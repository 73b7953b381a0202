//! Running a child process and handing its output over line by line as it comes, from
//! stdout and stderr alike (a task's output, a build's output).

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, ExitStatus, Stdio};

/// Runs `cmd` with stdin closed, calls `on_line` with each line it prints (stdout and
/// stderr interleaved as they arrive), and returns how it ended.
pub fn stream_lines(
    cmd: &mut Command,
    mut on_line: impl FnMut(String),
) -> std::io::Result<ExitStatus> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let readers: Vec<Box<dyn Read + Send>> = vec![
        Box::new(child.stdout.take().expect("stdout is piped")),
        Box::new(child.stderr.take().expect("stderr is piped")),
    ];
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::scope(|scope| {
        for reader in readers {
            let tx = tx.clone();
            scope.spawn(move || {
                // Bytes, not `lines()`: a line that is not UTF-8 (a task may print
                // anything) must not end the reading, which would leave the child
                // writing into a closed pipe.
                let mut reader = BufReader::new(reader);
                let mut line = Vec::new();
                while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                    let text = line.strip_suffix(b"\n").unwrap_or(&line);
                    let text = text.strip_suffix(b"\r").unwrap_or(text);
                    if tx.send(String::from_utf8_lossy(text).into_owned()).is_err() {
                        break;
                    }
                    line.clear();
                }
            });
        }
        drop(tx);
        for line in rx {
            on_line(line);
        }
    });
    child.wait()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_that_is_not_utf8_does_not_end_the_output() {
        let mut lines = Vec::new();
        let status = stream_lines(
            Command::new("sh").args(["-c", r"printf 'a\377b\r\nafter\nlast'"]),
            |line| lines.push(line),
        )
        .unwrap();
        assert!(status.success());
        assert_eq!(lines, ["a\u{fffd}b", "after", "last"]);
    }
}
