//! A first `up` looks for an existing container *beside* the `docker run` that will almost
//! surely follow, instead of before it: the lookup (one `docker ps`, ~15 ms) then costs no
//! time, and a cold `up` gets closer to a raw `docker run`.
//!
//! Only when devboot has no state folder for the workspace (it never made a container for
//! it, or `down --remove` removed the last one) — and only the image's own command is not
//! needed first. A container another tool made with the same labels can still exist, so the
//! new container is told to *hold* its plan: its entrypoint waits while `plans/hold` exists.
//! The lookup ends long before the container starts, so nothing waits in practice. When the
//! lookup finds a container, devboot takes the plan away, lets the new container go on
//! (with nothing to run), removes it, and looks again the usual way.

use crate::engine::{ChildEnv, Engine, EngineError};
use crate::error::Result;

use super::{BOOT_PLAN, Target};

/// What running beside the lookup gave.
pub(super) enum Overlap {
    /// No other container: the new one runs its plan. Its id, or why `docker run` failed.
    Clear(std::result::Result<String, EngineError>),
    /// Another container has the workspace's labels (or the lookup failed): the new one, if
    /// any, is removed; `up` must look first.
    Found,
}

/// Whether this `up` may run `docker run` beside the lookup.
pub(super) fn applies(target: &Target, needs_image_first: bool) -> bool {
    !needs_image_first
        && target.compose.is_none()
        && target.backend.shares_state()
        && !target.state.path.exists()
}

/// Runs `docker run` with `args` (its process given `env`) and the label lookup at the same
/// time. The state folder is ready (runner and plan written) when this is called.
pub(super) fn run_beside_lookup(
    engine: &Engine,
    target: &Target,
    args: &[String],
    env: &ChildEnv,
) -> Result<Overlap> {
    target.state.hold(true)?;
    let release = |clear: bool| -> Result<()> {
        if !clear {
            target.state.drop_plan(BOOT_PLAN)?;
        }
        target.state.hold(false)
    };
    let (clear, ran, released) = std::thread::scope(|scope| {
        let run = scope.spawn(|| {
            engine
                .call_with_env(args, env)
                .map(|out| out.trim().to_string())
        });
        let found = target.find_ids(engine);
        // Listed containers may include the new one (the lookup may just see it): then
        // only its id, known once `docker run` returns, tells.
        let early = match &found {
            Ok(ids) if ids.is_empty() => Some(true),
            Ok(_) => None,
            Err(_) => Some(false),
        };
        // The common case lets the container go on before `docker run` even returns.
        let mut released = early.map(release);
        let ran = run.join().expect("docker run does not panic");
        let clear = early.unwrap_or_else(|| match (&found, &ran) {
            (Ok(ids), Ok(id)) => ids.iter().all(|i| i == id),
            _ => false,
        });
        if released.is_none() {
            released = Some(release(clear));
        }
        (clear, ran, released.expect("released above"))
    });
    if let Err(err) = released {
        // The plan's hold could not be lifted: the new container must not linger. By id:
        // a failed run may mean another container has the name.
        if let Ok(id) = &ran {
            let _ = engine.remove(id);
        }
        return Err(err);
    }
    if clear {
        if ran.is_err() {
            // Nothing else has this name: whatever the failed run left is devboot's.
            let _ = engine.remove(&target.name);
        }
        return Ok(Overlap::Clear(ran));
    }
    // Ours is removed by id: a name conflict means the container found has the name.
    if let Ok(id) = &ran {
        engine.remove(id)?;
    }
    Ok(Overlap::Found)
}
