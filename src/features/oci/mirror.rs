//! The registry mirror setting (`DEVBOOT_REGISTRY_MIRROR`): which registry, or which part of
//! one, is fetched from another place. Air-gapped teams (and the tests here) run configs that
//! name `ghcr.io` unchanged.
//!
//! The setting is comma-separated `from=to` pairs. Each side is a registry, optionally
//! followed by a path prefix: `ghcr.io=127.0.0.1:5000` sends every `ghcr.io/...` request to
//! `127.0.0.1:5000/...`; `ghcr.io/devcontainers=localhost:5000/mirror` sends
//! `ghcr.io/devcontainers/features/node` to `localhost:5000/mirror/features/node`. The longest
//! matching `from` wins; prefixes match whole path segments only.

use super::super::reference::OciRef;

/// The parsed setting: `(from, to)` pairs, longest `from` first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mirrors {
    pairs: Vec<(String, String)>,
}

/// Where a reference's requests go after the mirror setting is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `127.0.0.1:5000`: the host (and port) the requests go to.
    pub registry: String,
    /// `mirror/features/node`: the repository path there.
    pub path: String,
    /// The original registry when a mirror was applied.
    pub mirror_of: Option<String>,
}

impl Mirrors {
    /// Parses the setting; the error says which entry is wrong and why.
    pub fn parse(setting: &str) -> Result<Mirrors, String> {
        let mut pairs = Vec::new();
        for entry in setting.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((from, to)) = entry.split_once('=') else {
                return Err(format!("entry `{entry}` is not `from=to`"));
            };
            let side = |s: &str| -> Result<String, String> {
                let s = s.trim().trim_end_matches('/').to_ascii_lowercase();
                if s.is_empty() || s.starts_with('/') {
                    return Err(format!("entry `{entry}` has an empty registry"));
                }
                if s.contains("://") {
                    return Err(format!(
                        "entry `{entry}` has a scheme: write the registry alone (`127.0.0.1:5000`)"
                    ));
                }
                if s.chars().any(|c| c.is_whitespace() || c == '=' || c == '@') {
                    return Err(format!(
                        "entry `{entry}` has a character a registry cannot have"
                    ));
                }
                Ok(s)
            };
            pairs.push((side(from)?, side(to)?));
        }
        // Longest first, so a path prefix wins over its registry's plain entry.
        pairs.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
        Ok(Mirrors { pairs })
    }

    /// Where the requests for `r` go: the mirror's registry and path when an entry matches,
    /// else the reference's own.
    pub fn route(&self, r: &OciRef) -> Route {
        let full = r.resource();
        for (from, to) in &self.pairs {
            let rest = match full.strip_prefix(from.as_str()) {
                Some("") => "",
                Some(rest) if rest.starts_with('/') => rest,
                _ => continue,
            };
            let moved = format!("{to}{rest}");
            let (registry, path) = moved.split_once('/').unwrap_or((moved.as_str(), ""));
            return Route {
                registry: registry.to_string(),
                path: path.to_string(),
                mirror_of: Some(r.registry.clone()),
            };
        }
        Route {
            registry: r.registry.clone(),
            path: r.path(),
            mirror_of: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::reference::Version;

    fn node() -> OciRef {
        OciRef {
            registry: "ghcr.io".into(),
            namespace: "devcontainers/features".into(),
            id: "node".into(),
            version: Version::Tag("1".into()),
        }
    }

    #[test]
    fn a_registry_entry_moves_every_repository_of_that_registry() {
        let m = Mirrors::parse("ghcr.io=127.0.0.1:5000").unwrap();
        let route = m.route(&node());
        assert_eq!(route.registry, "127.0.0.1:5000");
        assert_eq!(route.path, "devcontainers/features/node");
        assert_eq!(route.mirror_of.as_deref(), Some("ghcr.io"));
    }

    #[test]
    fn the_longest_path_prefix_wins_and_matches_whole_segments() {
        let m = Mirrors::parse(
            " ghcr.io=a.example:1 , ghcr.io/devcontainers=localhost:5000/mirror/ ,ghcr.io/dev=b:2",
        )
        .unwrap();
        let route = m.route(&node());
        assert_eq!(route.registry, "localhost:5000");
        assert_eq!(route.path, "mirror/features/node");
        let mut other = node();
        other.namespace = "devcontainers-extra/features".into();
        // `ghcr.io/dev` is not a segment prefix of `ghcr.io/devcontainers-extra`.
        assert_eq!(m.route(&other).registry, "a.example:1");
    }

    #[test]
    fn an_unmatched_reference_keeps_its_registry() {
        let m = Mirrors::parse("docker.io=127.0.0.1:5000").unwrap();
        let route = m.route(&node());
        assert_eq!(route.registry, "ghcr.io");
        assert_eq!(route.path, "devcontainers/features/node");
        assert_eq!(route.mirror_of, None);
        assert_eq!(Mirrors::parse("").unwrap(), Mirrors::default());
    }

    #[test]
    fn a_bad_entry_is_named() {
        for (setting, says) in [
            ("ghcr.io", "`ghcr.io` is not `from=to`"),
            ("ghcr.io=", "empty registry"),
            ("ghcr.io=http://127.0.0.1:5000", "has a scheme"),
            ("=x", "empty registry"),
            ("a b=c", "cannot have"),
        ] {
            let err = Mirrors::parse(setting).unwrap_err();
            assert!(err.contains(says), "{setting}: {err}");
        }
    }
}
