//! The `ports` of a `.gitpod.yml`: each entry's `port` (a number, or a range written as a
//! string) and what Gitpod does with it (`onOpen`, `visibility`, `protocol`), lowered into
//! [`Port`]s.
//!
//! As in Gitpod, a single port configured twice keeps its first entry (the second is a
//! warning), and a range is `start-end` or `start:end` with `start < end`, as the supervisor
//! accepts it. The border: reading the entry is `raw.rs`'s; what a port then does at `up` is
//! `ports.rs`'s at the crate root.

use std::collections::BTreeMap;

use serde_json::Value;

use super::raw::{PortSpec, RawOnOpen, RawPort, RawProtocol, RawVisibility};
use super::read;
use crate::config::source::Document;
use crate::config::typed::display_pointer;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::workspace::{OnOpen, Port, Protocol, Visibility};

/// The `ports` list, each entry read on its own so one bad entry does not hide the next.
pub(super) fn lower(doc: &Document, ports: &[Value], diagnostics: &mut Diagnostics) -> Vec<Port> {
    let mut lowered: Vec<Port> = Vec::new();
    // Single port -> index of the entry that configured it first.
    let mut seen: BTreeMap<u16, usize> = BTreeMap::new();
    for (i, value) in ports.iter().enumerate() {
        let pointer = format!("/ports/{i}");
        let Some(raw) = read::<RawPort>(doc, &pointer, value, diagnostics) else {
            continue;
        };
        let port_pointer = format!("{pointer}/port");
        let (start, end) = match port_range(&raw.port) {
            Ok(range) => range,
            Err(problem) => {
                let (message, help) = problem.describe(&raw.port);
                diagnostics.push(
                    Diagnostic::error(format!("{}: {message}", display_pointer(&port_pointer)))
                        .at(doc.value_location(&port_pointer))
                        .help(help),
                );
                continue;
            }
        };
        if start == end {
            if let Some(first) = seen.get(&start) {
                diagnostics.push(
                    Diagnostic::warning(format!(
                        "{}: port {start} is already configured by ports[{first}]; this entry is ignored",
                        display_pointer(&port_pointer)
                    ))
                    .at(doc.value_location(&port_pointer))
                    .help("remove this entry or merge it into the first one; the first one wins, as in Gitpod"),
                );
                continue;
            }
            seen.insert(start, i);
        }
        let on_open = match raw.on_open {
            None | Some(RawOnOpen::Notify) => OnOpen::Notify,
            Some(RawOnOpen::OpenBrowser) => OnOpen::OpenBrowser,
            Some(RawOnOpen::OpenPreview) => OnOpen::OpenPreview,
            Some(RawOnOpen::Ignore) => OnOpen::Silent,
            Some(RawOnOpen::IgnoreCompletely) => OnOpen::Ignore,
        };
        lowered.push(Port {
            port: start,
            end,
            host_port: None,
            host_ip: None,
            label: raw.name,
            description: raw.description,
            visibility: match raw.visibility {
                None | Some(RawVisibility::Private) => Visibility::Private,
                Some(RawVisibility::Public) => Visibility::Public,
            },
            publish: on_open != OnOpen::Ignore,
            awaited: true,
            on_open,
            protocol: raw.protocol.map(|p| match p {
                RawProtocol::Http => Protocol::Http,
                RawProtocol::Https => Protocol::Https,
            }),
        });
    }
    lowered
}

/// Why a `port:` value is not a port or range.
#[derive(Debug, PartialEq)]
enum PortProblem {
    NotANumber,
    OutOfRange,
    Reversed { start: u64, end: u64 },
    SameEnds { port: u64 },
}

impl PortProblem {
    fn describe(&self, spec: &PortSpec) -> (String, String) {
        match self {
            PortProblem::NotANumber => (
                format!("{spec} is not a port number"),
                "write a number like 3000, or a range like 3000-3010".into(),
            ),
            PortProblem::OutOfRange => (
                "port must be between 1 and 65535".into(),
                "use a port number from 1 to 65535".into(),
            ),
            PortProblem::Reversed { start, end } => (
                "range end is below its start".into(),
                format!("write the lower port first: {end}-{start}"),
            ),
            PortProblem::SameEnds { port } => (
                "range start and end are the same port".into(),
                format!("write a single port as a number: {port}"),
            ),
        }
    }
}

/// The first and last port of `port:`. A number is one port; a string is a range
/// `start-end` or `start:end` with `start < end` (what Gitpod's supervisor accepts), or,
/// as the supervisor also takes it, a single port written as a string.
fn port_range(spec: &PortSpec) -> Result<(u16, u16), PortProblem> {
    let (start, end) = match spec {
        PortSpec::Number(n) => {
            let port = match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(port), ..) => port,
                (None, Some(_), _) => return Err(PortProblem::OutOfRange),
                (None, None, Some(f)) if f.fract() == 0.0 => return Err(PortProblem::OutOfRange),
                _ => return Err(PortProblem::NotANumber),
            };
            (port, port)
        }
        PortSpec::Text(text) => {
            let number = |s: &str| -> Result<u64, PortProblem> {
                if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(PortProblem::NotANumber);
                }
                // All digits: too many of them is a port far out of range.
                Ok(s.parse().unwrap_or(u64::MAX))
            };
            if let Some((start, end)) = text.split_once(['-', ':']) {
                let (start, end) = (number(start)?, number(end)?);
                if end < start {
                    return Err(PortProblem::Reversed { start, end });
                }
                if end == start {
                    return Err(PortProblem::SameEnds { port: start });
                }
                (start, end)
            } else {
                let port = number(text)?;
                (port, port)
            }
        }
    };
    let valid = |p: u64| u16::try_from(p).ok().filter(|p| *p >= 1);
    match (valid(start), valid(end)) {
        (Some(start), Some(end)) => Ok((start, end)),
        _ => Err(PortProblem::OutOfRange),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{lower_text, problem, problems, workspace};
    use super::*;

    #[test]
    fn ports_map_every_on_open_value() {
        let ws = workspace(
            "ports:\n  - port: 1\n  - port: 2\n    onOpen: open-browser\n  - port: 3\n    onOpen: open-preview\n  - port: 4\n    onOpen: notify\n  - port: 5\n    onOpen: ignore\n  - port: 6\n    onOpen: ignore-completely\n",
        );
        let on_open: Vec<(OnOpen, bool)> =
            ws.ports.iter().map(|p| (p.on_open, p.publish)).collect();
        assert_eq!(
            on_open,
            [
                (OnOpen::Notify, true),
                (OnOpen::OpenBrowser, true),
                (OnOpen::OpenPreview, true),
                (OnOpen::Notify, true),
                (OnOpen::Silent, true),
                (OnOpen::Ignore, false),
            ]
        );
    }

    #[test]
    fn ports_keep_their_attributes_and_ranges() {
        let ws = workspace(
            "ports:\n  - port: 3000\n    name: Web\n    description: the app\n    visibility: public\n    protocol: https\n  - port: 6000-6010\n  - port: '7000:7001'\n  - port: \"8080\"\n",
        );
        let p = &ws.ports[0];
        assert_eq!((p.port, p.end), (3000, 3000));
        assert_eq!(p.label.as_deref(), Some("Web"));
        assert_eq!(p.description.as_deref(), Some("the app"));
        assert_eq!(p.visibility, Visibility::Public);
        assert_eq!(p.protocol, Some(Protocol::Https));
        assert_eq!((p.host_port, p.host_ip.as_deref()), (None, None));
        let q = &ws.ports[1];
        assert_eq!(
            (q.port, q.end, q.visibility, q.protocol),
            (6000, 6010, Visibility::Private, None)
        );
        assert_eq!((ws.ports[2].port, ws.ports[2].end), (7000, 7001));
        assert_eq!((ws.ports[3].port, ws.ports[3].end), (8080, 8080));
    }

    #[test]
    fn port_values_are_checked() {
        let spec = |s: &str| PortSpec::Text(s.into());
        let number = |n: f64| PortSpec::Number(serde_json::Number::from_f64(n).unwrap());
        assert_eq!(port_range(&spec("3000-3010")), Ok((3000, 3010)));
        assert_eq!(port_range(&spec("1:65535")), Ok((1, 65535)));
        assert_eq!(
            port_range(&PortSpec::Number(65535.into())),
            Ok((65535, 65535))
        );
        assert_eq!(port_range(&spec("abc")), Err(PortProblem::NotANumber));
        assert_eq!(port_range(&spec("3000-")), Err(PortProblem::NotANumber));
        assert_eq!(port_range(&spec(" 3000")), Err(PortProblem::NotANumber));
        assert_eq!(port_range(&spec("1-2-3")), Err(PortProblem::NotANumber));
        assert_eq!(
            port_range(&spec("5000-3000")),
            Err(PortProblem::Reversed {
                start: 5000,
                end: 3000
            })
        );
        assert_eq!(
            port_range(&spec("3000-3000")),
            Err(PortProblem::SameEnds { port: 3000 })
        );
        assert_eq!(
            port_range(&spec("3000-70000")),
            Err(PortProblem::OutOfRange)
        );
        assert_eq!(
            port_range(&spec("99999999999999999999999")),
            Err(PortProblem::OutOfRange)
        );
        assert_eq!(
            port_range(&PortSpec::Number(0.into())),
            Err(PortProblem::OutOfRange)
        );
        assert_eq!(
            port_range(&PortSpec::Number(70000.into())),
            Err(PortProblem::OutOfRange)
        );
        assert_eq!(
            port_range(&PortSpec::Number((-1).into())),
            Err(PortProblem::OutOfRange)
        );
        assert_eq!(port_range(&number(3000.5)), Err(PortProblem::NotANumber));
        assert_eq!(port_range(&number(1e20)), Err(PortProblem::OutOfRange));
    }

    #[test]
    fn bad_ports_are_errors_at_the_value_and_duplicates_warnings() {
        let (ws, d) = lower_text(
            "ports:\n  - port: abc\n  - port: 5000-3000\n  - port: 70000\n  - port: 3000\n  - port: 3000\n    onOpen: ignore\n  - port: true\n  - onOpen: notify\n",
        );
        assert!(ws.is_none());
        assert_eq!(
            problems(&d),
            [
                problem(
                    "error",
                    "ports[0].port: \"abc\" is not a port number",
                    "2:11"
                ),
                problem(
                    "error",
                    "ports[1].port: range end is below its start",
                    "3:11"
                ),
                problem(
                    "error",
                    "ports[2].port: port must be between 1 and 65535",
                    "4:11"
                ),
                problem(
                    "warning",
                    "ports[4].port: port 3000 is already configured by ports[3]; this entry is ignored",
                    "6:11"
                ),
                problem(
                    "error",
                    "ports[5].port: invalid type: boolean `true`, expected a port number like 3000, or a range like 3000-3010",
                    "8:11"
                ),
                problem("error", "ports[6]: missing field `port`", "9:5"),
            ]
        );
        assert_eq!(
            d.0[1].help.as_deref(),
            Some("write the lower port first: 3000-5000")
        );
    }
}
