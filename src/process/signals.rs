//! SIGINT, SIGTERM and SIGHUP: every child devboot started is stopped with its process group,
//! and the command ends with 128 + the signal's number and one line on what was stopped,
//! what is left, and that the next `up` finishes the work.
//!
//! The three signals are caught by `signal-hook`, whose handler only wakes one watcher
//! thread through a pipe, so no code of devboot's runs at an arbitrary point of the
//! program. (They used to be blocked in every thread and taken with `sigwait`; but a
//! blocked mask is inherited by every child, so the engine CLI and the SSH forward never
//! saw a TERM, only the KILL after the grace.) The watcher stops
//! the children (SIGTERM, then SIGKILL after [`GRACE`]); the command, whose child just ended,
//! returns through its usual error path, and [`finish`] words the outcome. Waits without a
//! child in them look at [`received`]. Should the command still not end, the watcher ends
//! the process itself, as the signal would have, [`LAST_CALL`] after the children are gone;
//! so does a second signal.

use std::sync::Mutex;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};

/// The signals that stop devboot.
const SIGNALS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];
/// How long a child has to end after SIGTERM before it is killed.
const GRACE: Duration = Duration::from_secs(3);
/// How long the command has to end by itself once its children are gone.
const LAST_CALL: Duration = Duration::from_secs(1);

/// The signal received, as its number; 0 while none was.
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// What the watcher stopped (`docker build`).
static STOPPED: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Set by whoever says that devboot was interrupted, so it is said once.
static REPORTED: AtomicBool = AtomicBool::new(false);
/// The subcommand running (`up`), for the closing line.
static COMMAND: OnceLock<&'static str> = OnceLock::new();

/// The signal devboot got, if any: nothing new starts after it, and waits end.
pub fn received() -> Option<Signal> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        n => Signal::try_from(n).ok(),
    }
}

/// Takes SIGINT, SIGTERM and SIGHUP away from their default action, for `command`.
/// Children start with the default action of each (an exec resets a caught signal) and
/// nothing blocked.
pub fn catch(command: &'static str) {
    let raw = SIGNALS.map(|s| s as i32);
    let Ok(mut signals) = signal_hook::iterator::Signals::new(raw) else {
        return;
    };
    let _ = COMMAND.set(command);
    std::thread::spawn(move || watch(&mut signals));
}

fn watch(signals: &mut signal_hook::iterator::Signals) {
    let mut incoming = signals
        .forever()
        .filter_map(|raw| Signal::try_from(raw).ok());
    let Some(signal) = incoming.next() else {
        return;
    };
    RECEIVED.store(signal as i32, Ordering::SeqCst);
    *STOPPED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = super::signal_all(Signal::SIGTERM);
    std::thread::spawn(move || {
        let deadline = Instant::now() + GRACE;
        while super::any_running() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        super::signal_all(Signal::SIGKILL);
        std::thread::sleep(LAST_CALL);
        end_process(signal);
    });
    // A second signal: whoever sent it does not want to wait.
    let _ = incoming.next();
    end_process(signal);
}

/// Ends the process the way `signal` would have, after saying so (unless the command
/// already does).
fn end_process(signal: Signal) {
    if REPORTED.swap(true, Ordering::SeqCst) {
        return;
    }
    crate::ui::diagnostic(&Diagnostic::error(format!(
        "interrupted by {signal}: {}",
        what_is_left(None)
    )));
    // The signal's default action is to end the process.
    let _ = signal_hook::low_level::emulate_default_handler(signal as i32);
}

/// The command's outcome, once it returned: after a signal, the interruption (whatever the
/// stopped child made the command fail with).
pub fn finish(result: Result<u8>) -> Result<u8> {
    let Some(signal) = received() else {
        return result;
    };
    if REPORTED.swap(true, Ordering::SeqCst) {
        // The watcher has said it and is ending the process.
        return Ok(exit_code(signal));
    }
    let container = match &result {
        Err(Error::TasksFailed { container, .. }) if !container.starts_with('(') => {
            Some(container.as_str())
        }
        _ => None,
    };
    Err(Error::Signalled {
        signal,
        left: what_is_left(container),
    })
}

/// 128 + the signal's number, as a shell reports a command a signal ended.
pub fn exit_code(signal: Signal) -> u8 {
    u8::try_from(128 + signal as i32).unwrap_or(u8::MAX)
}

/// `stopped `docker build`; the next `devboot up` finishes the work`.
fn what_is_left(container: Option<&str>) -> String {
    let stopped = STOPPED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .map(|what| format!("`{what}`"))
        .collect::<Vec<_>>();
    let mut parts = Vec::new();
    if !stopped.is_empty() {
        parts.push(format!("stopped {}", stopped.join(", ")));
    }
    parts.push(match container {
        Some(name) => format!("container {name} keeps running what it started"),
        None => "no command of devboot's runs on this machine any more".to_string(),
    });
    let command = COMMAND.get().copied().unwrap_or("up");
    if command == "up" {
        parts.push("the next `devboot up` finishes the work".to_string());
    }
    parts.join("; ")
}
