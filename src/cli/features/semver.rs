//! Tags as node's `semver` reads them, which is how the devcontainer CLI tells versions from
//! other tags and matches a tag against them (`getVersionsStrictSorted`, `semver.satisfies`):
//! the tags that are whole versions, in version order, and whether a tag taken as a range
//! allows a version.

use std::cmp::Ordering;

/// The tags that are semantic versions, lowest first (equal ones in the registry's order).
pub(super) fn sorted_versions(tags: &[String]) -> Vec<(SemVer, &str)> {
    let mut versions: Vec<(SemVer, &str)> = tags
        .iter()
        .filter_map(|t| SemVer::parse(t).map(|v| (v, t.as_str())))
        .collect();
    versions.sort_by(|a, b| a.0.cmp(&b.0));
    versions
}

/// A semantic version as node's `semver` reads a tag (what the devcontainer CLI uses):
/// `MAJOR.MINOR.PATCH`, an optional `v` before, an optional `-prerelease` and `+build`
/// after; numbers without leading zeros. The build part does not count in comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SemVer {
    pub(super) major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<Ident>,
}

/// A prerelease identifier: numbers sort before words.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Ident {
    Number(u64),
    Word(String),
}

/// JavaScript's largest exact integer: node's `semver` refuses larger numbers.
const MAX_SAFE: u64 = (1 << 53) - 1;

fn number(text: &str) -> Option<u64> {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let leading_zero = text.len() > 1 && text.starts_with('0');
    (digits && !leading_zero)
        .then(|| text.parse().ok())
        .flatten()
        .filter(|n| *n <= MAX_SAFE)
}

fn identifiers(text: &str, prerelease: bool) -> Option<Vec<Ident>> {
    text.split('.')
        .map(|part| {
            let allowed =
                !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !allowed {
                return None;
            }
            if part.bytes().all(|b| b.is_ascii_digit()) {
                // A numeric prerelease identifier has no leading zero; a build's may.
                return if prerelease {
                    number(part).map(Ident::Number)
                } else {
                    Some(Ident::Word(part.into()))
                };
            }
            Some(Ident::Word(part.into()))
        })
        .collect()
}

impl SemVer {
    pub(super) fn parse(tag: &str) -> Option<SemVer> {
        let text = tag.strip_prefix('v').unwrap_or(tag);
        let (text, build) = match text.split_once('+') {
            Some((text, build)) => (text, Some(build)),
            None => (text, None),
        };
        if let Some(build) = build {
            identifiers(build, false)?;
        }
        let (main, pre) = match text.split_once('-') {
            Some((main, pre)) => (main, identifiers(pre, true)?),
            None => (text, Vec::new()),
        };
        let mut parts = main.split('.');
        let mut next = || parts.next().and_then(number);
        let (major, minor, patch) = (next()?, next()?, next()?);
        if parts.next().is_some() {
            return None;
        }
        Some(SemVer {
            major,
            minor,
            patch,
            pre,
        })
    }

    /// Whether a tag, read as node's `semver` reads a range, allows this version: `1` and
    /// `1.x` mean `1.*.*`, `1.2` means `1.2.*`, a whole version means itself, `x` or `*`
    /// anything. A prerelease matches only a range naming it exactly. Tags of any other
    /// form allow nothing.
    pub(super) fn satisfies(&self, tag: &str) -> bool {
        let text = tag.strip_prefix('v').unwrap_or(tag);
        if let Some(exact) = SemVer::parse(text) {
            return *self == exact;
        }
        if !self.pre.is_empty() {
            return false;
        }
        let parts: Vec<&str> = text.split('.').collect();
        if parts.len() > 3 {
            return false;
        }
        let mine = [self.major, self.minor, self.patch];
        let mut wild = false;
        for (i, part) in parts.iter().enumerate() {
            if matches!(*part, "x" | "X" | "*") {
                wild = true;
                continue;
            }
            // After a wildcard, numbers are ignored (`1.x.3` is `1.x`).
            match number(part) {
                Some(n) if !wild && n != mine[i] => return false,
                Some(_) => {}
                None => return false,
            }
        }
        true
    }
}

impl Ord for SemVer {
    fn cmp(&self, other: &Self) -> Ordering {
        let main = |v: &SemVer| (v.major, v.minor, v.patch);
        main(self).cmp(&main(other)).then_with(|| {
            match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                // A prerelease comes before its release.
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            }
        })
    }
}

impl PartialOrd for SemVer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| (*t).to_string()).collect()
    }

    fn wanted(list: &[&str], tag: &str) -> Option<String> {
        let tags = tags(list);
        sorted_versions(&tags)
            .iter()
            .rev()
            .find(|(v, _)| v.satisfies(tag))
            .map(|(_, t)| (*t).to_string())
    }

    #[test]
    fn only_whole_versions_count_and_they_sort_as_versions() {
        let list = tags(&[
            "latest",
            "1",
            "1.2",
            "1.10.0",
            "1.9.3",
            "2.0.0-rc.1",
            "2.0.0",
            "01.0.0",
            "1.2.3.4",
            "v1.0.0",
            "2.0.0-rc.10",
            "2.0.0-beta",
        ]);
        let sorted: Vec<&str> = sorted_versions(&list).iter().map(|(_, t)| *t).collect();
        assert_eq!(
            sorted,
            [
                "v1.0.0",
                "1.9.3",
                "1.10.0",
                "2.0.0-beta",
                "2.0.0-rc.1",
                "2.0.0-rc.10",
                "2.0.0"
            ]
        );
    }

    #[test]
    fn a_tag_wants_the_highest_version_in_its_range() {
        let list = [
            "1",
            "1.2",
            "1.2.0",
            "1.2.7",
            "1.10.1",
            "2",
            "2.0.0",
            "2.1.0-rc.1",
            "latest",
        ];
        assert_eq!(wanted(&list, "1").as_deref(), Some("1.10.1"));
        assert_eq!(wanted(&list, "1.2").as_deref(), Some("1.2.7"));
        assert_eq!(wanted(&list, "1.x").as_deref(), Some("1.10.1"));
        assert_eq!(wanted(&list, "1.2.0").as_deref(), Some("1.2.0"));
        assert_eq!(
            wanted(&list, "2").as_deref(),
            Some("2.0.0"),
            "no prerelease"
        );
        assert_eq!(wanted(&list, "2.1.0-rc.1").as_deref(), Some("2.1.0-rc.1"));
        assert_eq!(wanted(&list, "3"), None);
        assert_eq!(wanted(&list, "dev"), None);
        assert_eq!(wanted(&list, "01"), None);
    }
}
