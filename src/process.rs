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
                for line in BufReader::new(reader).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
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
