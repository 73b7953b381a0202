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

use crate::engine::{Engine, EngineError};
use crate::error::{Error, Result};

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
    !needs_image_first && !target.state.path.exists()
}

/// Runs `docker run` with `args` and the label lookup at the same time. The state folder is
/// ready (runner and plan written) when this is called.
pub(super) fn run_beside_lookup(
    engine: &Engine,
    target: &Target,
    args: &[String],
) -> Result<Overlap> {
    target.state.hold(true)?;
    let outcome = std::thread::scope(|scope| {
        let run = scope.spawn(|| engine.call(args).map(|out| out.trim().to_string()));
        let found = target.find_ids(engine);
        // A container listed that is not the new one (which the lookup may just see).
        let clear = match &found {
            Ok(ids) if ids.is_empty() => Some(true),
            Ok(_) => None,
            Err(_) => Some(false),
        };
        let release = |clear: bool| -> Result<()> {
            if !clear {
                target.state.drop_plan(BOOT_PLAN)?;
            }
            target.state.hold(false)
        };
        // The common case lets the container go on before `docker run` even returns.
        if let Some(clear) = clear {
            release(clear)?;
        }
        let ran = run.join().expect("docker run does not panic");
        let clear = match (clear, &found, &ran) {
            (Some(clear), _, _) => clear,
            (None, Ok(ids), Ok(id)) => {
                let clear = ids.iter().all(|i| i == id);
                release(clear)?;
                clear
            }
            (None, _, _) => {
                release(false)?;
                false
            }
        };
        Ok::<_, Error>((clear, ran))
    });
    let (clear, ran) = match outcome {
        Ok(done) => done,
        Err(err) => {
            // The hold could not be lifted: the new container must not linger.
            let _ = engine.remove(&target.name);
            return Err(err);
        }
    };
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
