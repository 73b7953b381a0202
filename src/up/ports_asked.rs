//! What `gp ports expose` and `gp ports visibility` asked for inside the container, applied
//! at the next `up` (a published port changes only with a new container). Untrusted: the
//! container may publish a port on the host's loopback (`expose`, `private`), never open
//! one to the network: `public` comes from the config alone.

use crate::gp::port_requests;
use crate::ui;
use crate::workspace::{OnOpen, Port, Visibility, Workspace};

/// The workspace with the asked ports applied; `None` when nothing changes.
pub(super) fn apply(ws: &Workspace, asked: &str) -> Option<Workspace> {
    let (requests, rejected) = port_requests(asked);
    for line in rejected {
        ui::warning(&format!(
            "left out a line `gp ports` recorded that asks for nothing devboot knows: {line}"
        ));
    }
    let mut with = ws.clone();
    for (number, asked) in requests {
        let configured = with
            .ports
            .iter_mut()
            .find(|p| (p.port..=p.end).contains(&number));
        let public_in_config = configured
            .as_ref()
            .is_some_and(|p| p.visibility == Visibility::Public && p.publish);
        if asked.visibility == Some(Visibility::Public) && !public_in_config {
            ui::note(&format!(
                "`gp ports visibility {number}:public` was asked inside the container; a container cannot open a port to the network, so it is published on the host's loopback: set `visibility: public` (or portsAttributes) for {number} in the config"
            ));
        }
        match configured {
            Some(port) => {
                if asked.visibility == Some(Visibility::Private) {
                    port.visibility = Visibility::Private;
                    port.host_ip = None;
                }
                port.publish = true;
            }
            None => with.ports.push(Port {
                on_open: OnOpen::Silent,
                awaited: false,
                ..Port::plain(number)
            }),
        }
    }
    (with.ports != ws.ports).then_some(with)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expose_and_private_apply_and_public_never_does() {
        let ws = crate::config::gitpod::tests::workspace(
            "image: x\nports:\n  - port: 4567\n    visibility: public\n  - port: 3000\n",
        );
        let with = apply(
            &ws,
            "expose 5000\nvisibility 4567:private\nvisibility 3000:public\nvisibility 5000:public\n",
        )
        .unwrap();
        let find = |n: u16| with.ports.iter().find(|p| p.port == n).unwrap();
        assert_eq!(find(4567).visibility, Visibility::Private);
        assert_eq!(find(3000).visibility, Visibility::Private);
        assert!(find(5000).publish && !find(5000).awaited);
        assert_eq!(find(5000).visibility, Visibility::Private);
        // Asking for what the config says changes nothing.
        assert!(apply(&ws, "visibility 4567:public\nexpose 3000\n").is_none());
    }
}
