//! The ports of a `devcontainer.json`: `forwardPorts` (ports a tool forwards), `appPort`
//! (ports `docker run -p` publishes) and `portsAttributes` (what to do with them), merged into
//! one list of [`Port`]s by port number, first seen first.
//!
//! An `appPort` number N is published on 127.0.0.1 only, as the reference CLI does
//! (`-p 127.0.0.1:N:N`). An `appPort` string is read as `docker run -p` reads it, but without
//! an address it gets none (the model then binds by visibility, loopback by default) where
//! Docker would bind every address. A `portsAttributes` key that is a port or a range adds it;
//! a key that is a pattern (matched by VS Code against process command lines) is reported and
//! not acted on. `visibility` is devboot's own attribute (Codespaces has it in its UI).
//!
//! Here: `forwardPorts`, `appPort` (with the `docker run -p` syntax) and the merged list;
//! `portsAttributes` is `ports/attributes.rs`'s. The border: publishing the ports and
//! waiting for them is the crate's `ports.rs`'s.

use serde::Deserialize;
use serde_json::Value;

use super::{Fields, Kind, read};
use crate::config::source::Document;
use crate::config::typed::display_pointer;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::workspace::{Port, Visibility};

mod attributes;

/// An entry of `forwardPorts` or `appPort`.
#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "a port number or a string")]
enum RawPort {
    Number(serde_json::Number),
    Text(String),
}

/// `forwardPorts`, `appPort` and the port keys of `portsAttributes`, merged by port (first
/// seen first).
pub(super) fn lower(fields: &Fields<'_>, kind: Kind, diagnostics: &mut Diagnostics) -> Vec<Port> {
    let doc = fields.doc;
    let mut ports = Ports(Vec::new());

    if let Some(items) = fields.get::<Vec<Value>>("forwardPorts", diagnostics) {
        for (i, item) in items.iter().enumerate() {
            let pointer = format!("/forwardPorts/{i}");
            if let Some(port) = forward_port(doc, &pointer, item, diagnostics) {
                ports.add(doc, &pointer, new_port(port, port), diagnostics);
            }
        }
    }

    if kind != Kind::Compose
        && let Some(value) = fields.root.get("appPort")
    {
        let items: Vec<(String, &Value)> = match value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| (format!("/appPort/{i}"), item))
                .collect(),
            item => vec![("/appPort".to_string(), item)],
        };
        for (pointer, item) in items {
            if let Some(port) = app_port(doc, &pointer, item, diagnostics) {
                ports.add(doc, &pointer, port, diagnostics);
            }
        }
    }

    attributes::apply_all(fields, &mut ports, diagnostics);
    ports.0
}

/// The ports found so far. No two entries share a port: Docker cannot publish a port twice.
struct Ports(Vec<Port>);

impl Ports {
    /// Adds a port, or fills in what the entry for the same port does not say yet. A port
    /// that overlaps another entry (a port inside a range) is skipped with a warning.
    fn add(&mut self, doc: &Document, pointer: &str, port: Port, diagnostics: &mut Diagnostics) {
        if let Some(existing) = self.0.iter_mut().find(|p| same(p, port.port, port.end)) {
            if existing.host_port.is_none() {
                existing.host_port = port.host_port;
            }
            if existing.host_ip.is_none() {
                existing.host_ip = port.host_ip;
                existing.visibility = port.visibility;
            }
        } else if let Some(other) = self.0.iter().find(|p| overlaps(p, port.port, port.end)) {
            diagnostics.push(
                Diagnostic::warning(format!(
                    "{}: port {port} is skipped: it overlaps port {other}, listed before",
                    display_pointer(pointer)
                ))
                .at(doc.value_location(pointer))
                .help("list each port once, either alone or in one range"),
            );
        } else {
            self.0.push(port);
        }
    }
}

fn same(p: &Port, port: u16, end: u16) -> bool {
    p.port == port && p.end == end
}

fn overlaps(p: &Port, port: u16, end: u16) -> bool {
    p.port <= end && port <= p.end
}

fn new_port(port: u16, end: u16) -> Port {
    Port {
        end,
        ..Port::plain(port)
    }
}

fn port_error(doc: &Document, pointer: &str, message: String, help: &str) -> Diagnostic {
    Diagnostic::error(message)
        .at(doc.value_location(pointer))
        .help(help.to_string())
}

fn out_of_range(doc: &Document, pointer: &str, written: &str) -> Diagnostic {
    port_error(
        doc,
        pointer,
        format!(
            "{}: port {written} is out of range",
            display_pointer(pointer)
        ),
        "a port is a number from 1 to 65535",
    )
}

/// A `forwardPorts` entry: `3000`, `"3000"`, `"localhost:3000"`, or `"service:3000"`.
fn forward_port(
    doc: &Document,
    pointer: &str,
    value: &Value,
    diagnostics: &mut Diagnostics,
) -> Option<u16> {
    let raw: RawPort = read(doc, pointer, value, diagnostics)?;
    let text = match raw {
        RawPort::Number(n) => n.to_string(),
        RawPort::Text(text) => text,
    };
    if let Some(port) = crate::workspace::Port::number(&text) {
        return Some(port);
    }
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'-') && !text.is_empty() {
        diagnostics.push(out_of_range(doc, pointer, &text));
        return None;
    }
    // `^([a-z0-9-]+):(\d{1,5})$` in the schema.
    let parsed = text.rsplit_once(':').and_then(|(host, port)| {
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        (host_ok && (1..=5).contains(&port.len())).then_some((host, port))
    });
    if text.is_empty() {
        diagnostics.push(port_error(
            doc,
            pointer,
            format!("{}: the port is empty", display_pointer(pointer)),
            "when it comes from a variable, set the variable or give it a default: \
             `${localEnv:PORT:3000}`",
        ));
        return None;
    }
    let Some((host, port_text)) = parsed else {
        diagnostics.push(port_error(
            doc,
            pointer,
            format!("{}: `{text}` is not a port", display_pointer(pointer)),
            "write a port number such as `3000`, or `\"localhost:3000\"`",
        ));
        return None;
    };
    let Some(port) = crate::workspace::Port::number(port_text) else {
        diagnostics.push(out_of_range(doc, pointer, port_text));
        return None;
    };
    if host != "localhost" {
        diagnostics.push(
            Diagnostic::warning(format!(
                "`{text}`: forwarding to another compose service is not supported; port {port} of the dev container is used"
            ))
            .at(doc.value_location(pointer))
            .help("publish the service's port in the compose file instead"),
        );
    }
    Some(port)
}

/// An `appPort` entry: a number N is published on 127.0.0.1 only, as the reference CLI does
/// (`-p 127.0.0.1:N:N`); a string is a `docker run -p` value, `[ip:][host:]container`.
fn app_port(
    doc: &Document,
    pointer: &str,
    value: &Value,
    diagnostics: &mut Diagnostics,
) -> Option<Port> {
    let raw: RawPort = read(doc, pointer, value, diagnostics)?;
    match raw {
        RawPort::Number(n) => {
            let written = n.to_string();
            let Some(number) = crate::workspace::Port::number(&written) else {
                diagnostics.push(out_of_range(doc, pointer, &written));
                return None;
            };
            let mut port = new_port(number, number);
            port.host_ip = Some("127.0.0.1".into());
            Some(port)
        }
        RawPort::Text(text) => match parse_publish(&text) {
            Ok((port, random_host_port)) => {
                if random_host_port {
                    diagnostics.push(
                        Diagnostic::warning(format!(
                            "`{text}`: a random host port is not supported; host port {} is used",
                            port.port
                        ))
                        .at(doc.value_location(pointer))
                        .help("name the host port: `\"8080:80\"`"),
                    );
                }
                Some(port)
            }
            Err(Unsupported::Protocol(protocol)) => {
                diagnostics.push(
                    Diagnostic::warning(format!(
                        "`{text}` is ignored: devboot publishes TCP ports only, not {protocol}"
                    ))
                    .at(doc.value_location(pointer))
                    .help("publish it with `runArgs`: `[\"-p\", \"...\"]`"),
                );
                None
            }
            Err(Unsupported::Invalid(why)) => {
                diagnostics.push(port_error(
                    doc,
                    pointer,
                    format!("{}: `{text}` {why}", display_pointer(pointer)),
                    "write a port such as `3000`, `\"8080:80\"` or `\"0.0.0.0:3000:3000\"`",
                ));
                None
            }
        },
    }
}

enum Unsupported {
    Protocol(String),
    Invalid(&'static str),
}

/// Parses a `docker run -p` value: `[ip:][hostPort:]containerPort[/tcp]`, where ports may be
/// ranges `a-b` and an IPv6 address is written in brackets. The flag is set when the host
/// port is empty (`ip::port`), which asks Docker for a random one; devboot uses the same port.
fn parse_publish(text: &str) -> Result<(Port, bool), Unsupported> {
    let (spec, protocol) = text.split_once('/').unwrap_or((text, "tcp"));
    if !protocol.eq_ignore_ascii_case("tcp") {
        return Err(Unsupported::Protocol(protocol.to_string()));
    }
    let (ip, rest) = match spec.strip_prefix('[') {
        Some(bracketed) => {
            let (ip, rest) = bracketed
                .split_once("]:")
                .ok_or(Unsupported::Invalid("has an unclosed `[`"))?;
            (Some(ip), rest)
        }
        None => (None, spec),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip, host, container) = match (ip, parts.as_slice()) {
        (None, [container]) => (None, None, *container),
        (None, [host, container]) => (None, Some(*host), *container),
        (None, [ip, host, container]) => (Some(*ip), Some(*host), *container),
        (Some(ip), [host, container]) => (Some(ip), Some(*host), *container),
        _ => return Err(Unsupported::Invalid("is not `[ip:][host:]port`")),
    };
    let (port, end) =
        port_range(container).ok_or(Unsupported::Invalid("has no valid container port"))?;
    let random_host_port = host.is_some_and(str::is_empty);
    let host_port = match host.filter(|h| !h.is_empty()) {
        None => None,
        Some(host) => {
            let (host_start, host_end) =
                port_range(host).ok_or(Unsupported::Invalid("has no valid host port"))?;
            if host_end - host_start != end - port {
                return Err(Unsupported::Invalid("maps ranges of different sizes"));
            }
            Some(host_start)
        }
    };
    let mut out = new_port(port, end);
    out.host_port = host_port;
    if let Some(ip) = ip.filter(|ip| !ip.is_empty()) {
        if ip == "0.0.0.0" || ip == "::" {
            out.visibility = Visibility::Public;
        }
        out.host_ip = Some(ip.to_string());
    }
    Ok((out, random_host_port))
}

/// `3000` or `3000-3010`.
pub(crate) fn port_range(text: &str) -> Option<(u16, u16)> {
    match text.split_once('-') {
        Some((start, end)) => {
            let (start, end) = (
                crate::workspace::Port::number(start)?,
                crate::workspace::Port::number(end)?,
            );
            (start <= end).then_some((start, end))
        }
        None => crate::workspace::Port::number(text).map(|p| (p, p)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{lower_err, lower_ok};
    use super::*;
    use crate::workspace::OnOpen;

    /// (port, end, host port, host ip, visibility, on open, publish) of each port.
    type Shape = (
        u16,
        u16,
        Option<u16>,
        Option<String>,
        Visibility,
        OnOpen,
        bool,
    );

    fn shape(ports: &[Port]) -> Vec<Shape> {
        ports
            .iter()
            .map(|p| {
                (
                    p.port,
                    p.end,
                    p.host_port,
                    p.host_ip.clone(),
                    p.visibility,
                    p.on_open,
                    p.publish,
                )
            })
            .collect()
    }

    fn plain(port: u16) -> Shape {
        (
            port,
            port,
            None,
            None,
            Visibility::Private,
            OnOpen::Notify,
            true,
        )
    }

    #[test]
    fn forward_ports_forms() {
        let (ws, warnings) = lower_ok(
            r#"{"image": "x", "forwardPorts": [3000, "3001", "localhost:3002", "db:5432", 3000]}"#,
        );
        assert_eq!(
            shape(&ws.ports),
            [plain(3000), plain(3001), plain(3002), plain(5432)]
        );
        assert_eq!(
            warnings,
            [
                "warning: `db:5432`: forwarding to another compose service is not supported; port 5432 of the dev container is used"
            ]
        );
    }

    #[test]
    fn forward_port_errors() {
        assert_eq!(
            lower_err(
                r#"{"image": "x", "forwardPorts": [0, 65536, -1, 1.5, "web", "Host:1", "db:999999", "", true]}"#
            ),
            [
                "error: forwardPorts[0]: port 0 is out of range",
                "error: forwardPorts[1]: port 65536 is out of range",
                "error: forwardPorts[2]: port -1 is out of range",
                "error: forwardPorts[3]: `1.5` is not a port",
                "error: forwardPorts[4]: `web` is not a port",
                "error: forwardPorts[5]: `Host:1` is not a port",
                "error: forwardPorts[6]: `db:999999` is not a port",
                "error: forwardPorts[7]: the port is empty",
                "error: forwardPorts[8]: a port number or a string",
            ]
        );
    }

    #[test]
    fn app_port_forms() {
        let (ws, warnings) = lower_ok(
            r#"{"image": "x", "appPort": [4000, "0.0.0.0:4567:4567", "8080:80", "4001", "127.0.0.1::4002", "[::1]:9000-9001:7000-7001/tcp", "[::]:5000:5000"]}"#,
        );
        let local = Some("127.0.0.1".to_string());
        assert_eq!(
            shape(&ws.ports),
            [
                (
                    4000,
                    4000,
                    None,
                    local.clone(),
                    Visibility::Private,
                    OnOpen::Notify,
                    true
                ),
                (
                    4567,
                    4567,
                    Some(4567),
                    Some("0.0.0.0".into()),
                    Visibility::Public,
                    OnOpen::Notify,
                    true
                ),
                (
                    80,
                    80,
                    Some(8080),
                    None,
                    Visibility::Private,
                    OnOpen::Notify,
                    true
                ),
                plain(4001),
                (
                    4002,
                    4002,
                    None,
                    local,
                    Visibility::Private,
                    OnOpen::Notify,
                    true
                ),
                (
                    7000,
                    7001,
                    Some(9000),
                    Some("::1".into()),
                    Visibility::Private,
                    OnOpen::Notify,
                    true
                ),
                (
                    5000,
                    5000,
                    Some(5000),
                    Some("::".into()),
                    Visibility::Public,
                    OnOpen::Notify,
                    true
                ),
            ]
        );
        assert_eq!(
            warnings,
            [
                "warning: `127.0.0.1::4002`: a random host port is not supported; host port 4002 is used"
            ]
        );
        let (ws, _) = lower_ok(r#"{"image": "x", "appPort": 3000}"#);
        assert_eq!(ws.ports[0].host_ip.as_deref(), Some("127.0.0.1"));
    }

    #[test]
    fn app_port_problems() {
        let (ws, warnings) = lower_ok(r#"{"image": "x", "appPort": ["5353:53/udp"]}"#);
        assert!(ws.ports.is_empty());
        assert_eq!(
            warnings,
            ["warning: `5353:53/udp` is ignored: devboot publishes TCP ports only, not udp"]
        );
        assert_eq!(
            lower_err(
                r#"{"image": "x", "appPort": ["a:b", "1-3:1-2", "[::1:80", "1:2:3:4", 0, {}]}"#
            ),
            [
                "error: appPort[0]: `a:b` has no valid container port",
                "error: appPort[1]: `1-3:1-2` maps ranges of different sizes",
                "error: appPort[2]: `[::1:80` has an unclosed `[`",
                "error: appPort[3]: `1:2:3:4` is not `[ip:][host:]port`",
                "error: appPort[4]: port 0 is out of range",
                "error: appPort[5]: a port number or a string",
            ]
        );
    }

    #[test]
    fn forward_and_app_port_of_the_same_port_merge() {
        let (ws, _) =
            lower_ok(r#"{"image": "x", "forwardPorts": [80], "appPort": ["0.0.0.0:8080:80"]}"#);
        assert_eq!(
            shape(&ws.ports),
            [(
                80,
                80,
                Some(8080),
                Some("0.0.0.0".into()),
                Visibility::Public,
                OnOpen::Notify,
                true
            )]
        );
    }

    #[test]
    fn overlapping_ports_are_skipped_with_a_warning() {
        // forwardPorts come first, so the range is the one skipped.
        let (ws, warnings) = lower_ok(
            r#"{"image": "x", "appPort": ["3000-3005:3000-3005"], "forwardPorts": [3001]}"#,
        );
        assert_eq!(shape(&ws.ports), [plain(3001)]);
        assert_eq!(
            warnings,
            [
                "warning: appPort[0]: port 3000-3005 is skipped: it overlaps port 3001, listed before"
            ]
        );
    }

    #[test]
    fn publish_values_parse() {
        let (port, random) = parse_publish("1.2.3.4:81:80").ok().unwrap();
        assert!(!random);
        assert!(parse_publish("1.2.3.4::80").ok().unwrap().1);
        assert_eq!(
            (port.port, port.host_port, port.host_ip.as_deref()),
            (80, Some(81), Some("1.2.3.4"))
        );
        assert!(matches!(parse_publish("80/sctp"), Err(Unsupported::Protocol(p)) if p == "sctp"));
        assert_eq!(port_range("1-65535"), Some((1, 65535)));
        assert_eq!(port_range("2-1"), None);
        assert_eq!(port_range("-1"), None);
        assert_eq!(crate::workspace::Port::number("00080"), Some(80));
        assert_eq!(crate::workspace::Port::number("99999999999999999999"), None);
    }
}
