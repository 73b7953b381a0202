//! `portsAttributes`: what to do with a port (`label`, `protocol`, `onAutoForward`, and
//! devboot's own `visibility`), keyed by a port or a range.
//!
//! An entry goes to the listed port or range it names; else to the listed ports inside its
//! range; else it adds its port or range. A key that is a pattern (VS Code matches those
//! against process command lines) is reported and not acted on. The border: which ports are
//! listed is `forwardPorts` and `appPort`, in `ports.rs`.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Ports, new_port, overlaps, port_range, same};
use crate::config::devcontainer::properties::ignored;
use crate::config::devcontainer::{Fields, read_object};
use crate::config::source::{Document, pointer_push};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::workspace::{OnOpen, Port, Protocol, Visibility};

/// A value of `portsAttributes` (plus devboot's `visibility`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPortAttributes {
    label: Option<String>,
    protocol: Option<RawProtocol>,
    on_auto_forward: Option<RawOnAutoForward>,
    visibility: Option<RawVisibility>,
}

const PORT_ATTRIBUTE_KEYS: [&str; 4] = ["label", "protocol", "onAutoForward", "visibility"];

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawProtocol {
    Http,
    Https,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
enum RawOnAutoForward {
    Notify,
    OpenBrowser,
    OpenBrowserOnce,
    OpenPreview,
    Silent,
    Ignore,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawVisibility {
    Public,
    Private,
}

/// Applies every entry of `portsAttributes` to `ports`.
pub(super) fn apply_all(fields: &Fields<'_>, ports: &mut Ports, diagnostics: &mut Diagnostics) {
    let doc = fields.doc;
    let Some(attributes) = fields.get::<Map<String, Value>>("portsAttributes", diagnostics) else {
        return;
    };
    for (key, value) in &attributes {
        let pointer = pointer_push("/portsAttributes", key);
        let Some((port, end)) = port_key(doc, &pointer, key, diagnostics) else {
            continue;
        };
        if let Some(attributes) = port_attributes(doc, &pointer, key, value, diagnostics) {
            ports.set_attributes(doc, &pointer, (port, end), &attributes, diagnostics);
        }
    }
}

impl Ports {
    /// Applies a `portsAttributes` entry: to the entry of the same port or range; else to the
    /// listed ports inside the range (adding the range too would publish them twice); else it
    /// adds the port or range.
    fn set_attributes(
        &mut self,
        doc: &Document,
        pointer: &str,
        (port, end): (u16, u16),
        attributes: &RawPortAttributes,
        diagnostics: &mut Diagnostics,
    ) {
        if let Some(existing) = self.0.iter_mut().find(|p| same(p, port, end)) {
            apply(existing, attributes);
            return;
        }
        let mut inside = 0;
        for existing in &mut self.0 {
            if existing.port >= port && existing.end <= end {
                apply(existing, attributes);
                inside += 1;
            } else if overlaps(existing, port, end) {
                diagnostics.push(
                    Diagnostic::warning(format!(
                        "`portsAttributes` key `{}` is not applied to port {existing}, which it only partly covers",
                        key_of(pointer)
                    ))
                    .at(doc.key_location(pointer))
                    .help("use the same port or range as in `forwardPorts` or `appPort`"),
                );
                inside += 1;
            }
        }
        if inside == 0 {
            let mut new = new_port(port, end);
            apply(&mut new, attributes);
            self.0.push(new);
        }
    }
}

/// The `portsAttributes` key a pointer names, unescaped.
fn key_of(pointer: &str) -> String {
    let token = pointer.rsplit('/').next().unwrap_or_default();
    token.replace("~1", "/").replace("~0", "~")
}

/// A `portsAttributes` key: a port or a range. Any other key is a pattern matched against
/// process command lines, which devboot does not do.
fn port_key(
    doc: &Document,
    pointer: &str,
    key: &str,
    diagnostics: &mut Diagnostics,
) -> Option<(u16, u16)> {
    let digits_or_range = !key.is_empty()
        && key.bytes().all(|b| b.is_ascii_digit() || b == b'-')
        && key.bytes().filter(|b| *b == b'-').count() <= 1;
    if !digits_or_range {
        diagnostics.push(
            Diagnostic::warning(format!(
                "`portsAttributes` key `{key}` is ignored: devboot does not match ports by process command line"
            ))
            .at(doc.key_location(pointer))
            .help("use a port number (`\"3000\"`) or a range (`\"3000-3010\"`) as the key"),
        );
        return None;
    }
    let range = port_range(key);
    if range.is_none() {
        diagnostics.push(
            Diagnostic::error(format!(
                "`portsAttributes` key `{key}` is not a valid port or range"
            ))
            .at(doc.key_location(pointer))
            .help("a port is a number from 1 to 65535; a range is `low-high`"),
        );
    }
    range
}

fn port_attributes(
    doc: &Document,
    pointer: &str,
    port_key: &str,
    value: &Value,
    diagnostics: &mut Diagnostics,
) -> Option<RawPortAttributes> {
    if let Some(map) = value.as_object() {
        for key in map
            .keys()
            .filter(|k| !PORT_ATTRIBUTE_KEYS.contains(&k.as_str()))
        {
            let at = pointer_push(pointer, key);
            let why = match key.as_str() {
                "requireLocalPort" | "elevateIfNeeded" => {
                    "devboot publishes on the host port it is given, or fails"
                }
                _ => "it is not a port attribute devboot knows",
            };
            // Written out rather than with `display_pointer`, which reads `3000` as an index.
            let shown = format!("portsAttributes.{port_key}.{key}");
            diagnostics.push(ignored(doc, &at, &shown, why));
        }
    }
    read_object(doc, pointer, value, diagnostics)
}

fn apply(port: &mut Port, attributes: &RawPortAttributes) {
    if let Some(label) = &attributes.label {
        port.label = Some(label.clone());
    }
    if let Some(protocol) = attributes.protocol {
        port.protocol = Some(match protocol {
            RawProtocol::Http => Protocol::Http,
            RawProtocol::Https => Protocol::Https,
        });
    }
    if let Some(on) = attributes.on_auto_forward {
        port.on_open = match on {
            RawOnAutoForward::Notify => OnOpen::Notify,
            RawOnAutoForward::OpenBrowser => OnOpen::OpenBrowser,
            RawOnAutoForward::OpenBrowserOnce => OnOpen::OpenBrowserOnce,
            RawOnAutoForward::OpenPreview => OnOpen::OpenPreview,
            RawOnAutoForward::Silent => OnOpen::Silent,
            RawOnAutoForward::Ignore => OnOpen::Ignore,
        };
        port.publish = port.on_open != OnOpen::Ignore;
    }
    if let Some(visibility) = attributes.visibility {
        port.visibility = match visibility {
            RawVisibility::Public => Visibility::Public,
            RawVisibility::Private => Visibility::Private,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::tests::{lower_err, lower_ok};
    use super::*;

    #[test]
    fn attributes_merge_onto_listed_ports_and_add_others() {
        let (ws, warnings) = lower_ok(
            r#"{"image": "x", "forwardPorts": [3000, 3001, 9005], "portsAttributes": {
                "3000": {"label": "App", "protocol": "https", "onAutoForward": "openBrowser", "visibility": "public", "requireLocalPort": true, "elevateIfNeeded": false, "color": "red"},
                "3001": {"onAutoForward": "ignore"},
                "4000-4002": {"onAutoForward": "silent"},
                "9000-9010": {"label": "range"},
                ".+\\/server.js": {"label": "node", "onAutoForward": "bogus"}
            }}"#,
        );
        let app = &ws.ports[0];
        assert_eq!(app.label.as_deref(), Some("App"));
        assert_eq!(app.protocol, Some(Protocol::Https));
        assert_eq!(
            (app.on_open, app.visibility),
            (OnOpen::OpenBrowser, Visibility::Public)
        );
        assert_eq!(
            (ws.ports[1].on_open, ws.ports[1].publish),
            (OnOpen::Ignore, false)
        );
        // A range covering a listed port gives it its attributes instead of being added.
        assert_eq!(
            (ws.ports[2].port, ws.ports[2].label.as_deref()),
            (9005, Some("range"))
        );
        assert_eq!(
            (ws.ports[3].port, ws.ports[3].end, ws.ports[3].on_open),
            (4000, 4002, OnOpen::Silent)
        );
        assert_eq!(ws.ports.len(), 4);
        assert_eq!(
            warnings,
            [
                "warning: `portsAttributes.3000.requireLocalPort` is ignored: devboot publishes on the host port it is given, or fails",
                "warning: `portsAttributes.3000.elevateIfNeeded` is ignored: devboot publishes on the host port it is given, or fails",
                "warning: `portsAttributes.3000.color` is ignored: it is not a port attribute devboot knows",
                "warning: `portsAttributes` key `.+\\/server.js` is ignored: devboot does not match ports by process command line",
            ]
        );
    }

    #[test]
    fn attributes_of_a_port_inside_a_published_range_are_not_applied() {
        let (ws, warnings) = lower_ok(
            r#"{"image": "x", "appPort": ["9000-9010:9000-9010"], "portsAttributes": {"9005": {"label": "one"}}}"#,
        );
        assert_eq!(ws.ports.len(), 1);
        assert_eq!(ws.ports[0].label, None);
        assert_eq!(
            warnings,
            [
                "warning: `portsAttributes` key `9005` is not applied to port 9000-9010, which it only partly covers"
            ]
        );
    }

    #[test]
    fn attribute_errors_are_located() {
        assert_eq!(
            lower_err(
                r#"{"image": "x", "portsAttributes": {"70000": {}, "5-1": {}, "3000": {"onAutoForward": "bogus"}, "3001": []}}"#
            ),
            [
                "error: `portsAttributes` key `70000` is not a valid port or range",
                "error: `portsAttributes` key `5-1` is not a valid port or range",
                "error: portsAttributes[3000].onAutoForward: unknown variant `bogus`, expected one of `notify`, `openBrowser`, `openBrowserOnce`, `openPreview`, `silent`, `ignore`",
                "error: portsAttributes[3001]: invalid type: sequence, expected a map",
            ]
        );
    }
}
