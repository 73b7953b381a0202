//! The raw serde structs of `.gitpod.yml`: Gitpod's schema (`gitpod-schema.json`), one field
//! per key, `deny_unknown_fields` wherever the schema has `additionalProperties: false`.
//!
//! The border: these types say what a file may contain and nothing about what devboot does
//! with it; the lowering in `gitpod.rs` decides that. Some structs are read only to check
//! them against the schema (the IDE and prebuild settings), so their fields are never used.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawConfig {
    pub(super) image: Option<RawImage>,
    /// Each item is read as a [`RawTask`] on its own, so one bad task does not hide the rest.
    pub(super) tasks: Option<Vec<Value>>,
    /// Each item is read as a [`RawPort`] on its own.
    pub(super) ports: Option<Vec<Value>>,
    pub(super) env: Option<BTreeMap<String, String>>,
    vscode: Option<RawVscode>,
    jetbrains: Option<RawJetbrains>,
    github: Option<RawGithub>,
    git_config: Option<BTreeMap<String, String>>,
    pub(super) checkout_location: Option<String>,
    pub(super) workspace_location: Option<String>,
    additional_repositories: Option<Vec<RawRepository>>,
    main_configuration: Option<String>,
    core_dump: Option<RawCoreDump>,
    experimental_network: Option<bool>,
}

impl RawConfig {
    /// Takes the fields `other` sets; each part read by [`super::read_config`] sets one.
    pub(super) fn merge(&mut self, other: RawConfig) {
        macro_rules! take {
            ($($field:ident),*) => { $( if other.$field.is_some() { self.$field = other.$field; } )* };
        }
        take!(
            image,
            tasks,
            ports,
            env,
            vscode,
            jetbrains,
            github,
            git_config,
            checkout_location,
            workspace_location,
            additional_repositories,
            main_configuration,
            core_dump,
            experimental_network
        );
    }
}

/// `image: gitpod/workspace-full` or `image: {file: .gitpod.Dockerfile, context: .}`.
pub(super) enum RawImage {
    Reference(String),
    Dockerfile(RawImageFile),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawImageFile {
    pub(super) file: String,
    pub(super) context: Option<String>,
}

impl<'de> Deserialize<'de> for RawImage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ImageVisitor;
        impl<'de> Visitor<'de> for ImageVisitor {
            type Value = RawImage;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an image name, or a mapping with `file` (and `context`)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawImage, E> {
                Ok(RawImage::Reference(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawImage, A::Error> {
                RawImageFile::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawImage::Dockerfile)
            }
        }
        deserializer.deserialize_any(ImageVisitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawTask {
    pub(super) name: Option<String>,
    pub(super) before: Option<String>,
    pub(super) init: Option<String>,
    pub(super) command: Option<String>,
    pub(super) prebuild: Option<String>,
    /// Any JSON values: Gitpod passes strings as they are and JSON-encodes the rest.
    pub(super) env: Option<Map<String, Value>>,
    pub(super) open_in: Option<OpenIn>,
    pub(super) open_mode: Option<OpenMode>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum OpenIn {
    Bottom,
    Main,
    Left,
    Right,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum OpenMode {
    SplitLeft,
    SplitRight,
    TabBefore,
    TabAfter,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawPort {
    pub(super) port: PortSpec,
    pub(super) on_open: Option<RawOnOpen>,
    pub(super) visibility: Option<RawVisibility>,
    pub(super) protocol: Option<RawProtocol>,
    pub(super) name: Option<String>,
    pub(super) description: Option<String>,
}

/// `port:` as written: a number, or a string holding a range (`3000-3010`, `3000:3010`).
pub(super) enum PortSpec {
    Number(serde_json::Number),
    Text(String),
}

impl<'de> Deserialize<'de> for PortSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PortVisitor;
        impl Visitor<'_> for PortVisitor {
            type Value = PortSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port number like 3000, or a range like 3000-3010")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PortSpec, E> {
                Ok(PortSpec::Number(v.into()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PortSpec, E> {
                Ok(PortSpec::Number(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<PortSpec, E> {
                serde_json::Number::from_f64(v)
                    .map(PortSpec::Number)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Float(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PortSpec, E> {
                Ok(PortSpec::Text(v.to_string()))
            }
        }
        deserializer.deserialize_any(PortVisitor)
    }
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortSpec::Number(n) => write!(f, "{n}"),
            PortSpec::Text(s) => write!(f, "{}", Value::String(s.clone())),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RawOnOpen {
    OpenBrowser,
    OpenPreview,
    Notify,
    Ignore,
    IgnoreCompletely,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawVisibility {
    Private,
    Public,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawProtocol {
    Http,
    Https,
}

// The structs below are read only to check them against the schema: devboot does not act on
// what they say, and lowering turns their presence into a warning.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(
    dead_code,
    reason = "checked against the schema only; devboot does not act on it"
)]
struct RawVscode {
    extensions: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(
    dead_code,
    reason = "checked against the schema only; devboot does not act on it"
)]
struct RawJetbrains {
    plugins: Option<Vec<String>>,
    intellij: Option<RawJetbrainsProduct>,
    goland: Option<RawJetbrainsProduct>,
    pycharm: Option<RawJetbrainsProduct>,
    phpstorm: Option<RawJetbrainsProduct>,
    rubymine: Option<RawJetbrainsProduct>,
    webstorm: Option<RawJetbrainsProduct>,
    rider: Option<RawJetbrainsProduct>,
    clion: Option<RawJetbrainsProduct>,
    rustrover: Option<RawJetbrainsProduct>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(
    dead_code,
    reason = "checked against the schema only; devboot does not act on it"
)]
struct RawJetbrainsProduct {
    plugins: Option<Vec<String>>,
    prebuilds: Option<RawJetbrainsPrebuilds>,
    vmoptions: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(
    dead_code,
    reason = "checked against the schema only; devboot does not act on it"
)]
struct RawJetbrainsPrebuilds {
    version: Option<RawJetbrainsVersion>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawJetbrainsVersion {
    Stable,
    Latest,
    Both,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(
    dead_code,
    reason = "checked against the schema only; devboot does not act on it"
)]
struct RawGithub {
    prebuilds: Option<RawPrebuilds>,
}

/// `github.prebuilds`: a boolean, or a mapping of settings.
#[expect(
    dead_code,
    reason = "checked against the schema only; devboot does not act on it"
)]
enum RawPrebuilds {
    Enabled(bool),
    Settings(RawGithubPrebuilds),
}

impl<'de> Deserialize<'de> for RawPrebuilds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PrebuildsVisitor;
        impl<'de> Visitor<'de> for PrebuildsVisitor {
            type Value = RawPrebuilds;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a boolean, or a mapping of prebuild settings")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawPrebuilds, E> {
                Ok(RawPrebuilds::Enabled(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawPrebuilds, A::Error> {
                RawGithubPrebuilds::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawPrebuilds::Settings)
            }
        }
        deserializer.deserialize_any(PrebuildsVisitor)
    }
}

/// `github.prebuilds` settings. Unknown keys are allowed: the schema does not forbid them,
/// and many files carry the old `addComment`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[expect(
    dead_code,
    reason = "checked against the schema only; devboot does not act on it"
)]
struct RawGithubPrebuilds {
    master: Option<bool>,
    branches: Option<bool>,
    pull_requests: Option<bool>,
    pull_requests_from_forks: Option<bool>,
    add_badge: Option<bool>,
    add_check: Option<BoolOrText>,
    add_label: Option<BoolOrText>,
}

/// `addCheck` (`true`, `false` or `"prevent-merge-on-error"`) and `addLabel` (a boolean or
/// a label name).
#[expect(
    dead_code,
    reason = "checked against the schema only; devboot does not act on it"
)]
enum BoolOrText {
    Bool(bool),
    Text(String),
}

impl<'de> Deserialize<'de> for BoolOrText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BoolOrTextVisitor;
        impl Visitor<'_> for BoolOrTextVisitor {
            type Value = BoolOrText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a boolean or a string")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<BoolOrText, E> {
                Ok(BoolOrText::Bool(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<BoolOrText, E> {
                Ok(BoolOrText::Text(v.to_string()))
            }
        }
        deserializer.deserialize_any(BoolOrTextVisitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[expect(
    dead_code,
    reason = "checked against the schema only; devboot does not act on it"
)]
struct RawRepository {
    url: String,
    checkout_location: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[expect(
    dead_code,
    reason = "checked against the schema only; devboot does not act on it"
)]
struct RawCoreDump {
    enabled: Option<bool>,
    soft_limit: Option<f64>,
    hard_limit: Option<f64>,
}
