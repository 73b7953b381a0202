//! "Did you mean": the known name closest to a misspelt one, for the `help:` of an unknown
//! key. The Gitpod lowering asks it about serde's unknown-field errors, the schema messages
//! about unknown properties.
//!
//! The border: this module measures and picks; how close is close enough, and the wording of
//! the help, are the caller's.

/// What a swap of two neighbouring characters (`imgae` for `image`) costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Swap {
    /// One typo, one edit (optimal string alignment distance).
    OneEdit,
    /// A delete and an insert (plain Levenshtein distance).
    TwoEdits,
}

/// The candidate closest to `unknown`, compared without regard to case, if its distance is at
/// most `limit(candidate)`. Of equally close candidates the first one wins.
pub(crate) fn closest<'a>(
    unknown: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    swap: Swap,
    limit: impl Fn(&str) -> usize,
) -> Option<&'a str> {
    let unknown = unknown.to_lowercase();
    candidates
        .into_iter()
        .map(|name| (edit_distance(&unknown, &name.to_lowercase(), swap), name))
        .filter(|(distance, name)| *distance <= limit(name))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

/// Edits (insert, delete, replace, and a swap of neighbours as `swap` says) that turn `a`
/// into `b`, counted in characters.
pub(crate) fn edit_distance(a: &str, b: &str, swap: Swap) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if swap == Swap::OneEdit
                && i > 1
                && j > 1
                && a[i - 1] == b[j - 2]
                && a[i - 2] == b[j - 1]
            {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        for swap in [Swap::OneEdit, Swap::TwoEdits] {
            assert_eq!(edit_distance("forwardport", "forwardports", swap), 1);
            assert_eq!(edit_distance("kitten", "sitting", swap), 3);
            assert_eq!(edit_distance("", "abc", swap), 3);
        }
    }

    #[test]
    fn a_swap_costs_what_the_caller_says() {
        assert_eq!(edit_distance("imgae", "image", Swap::OneEdit), 1);
        assert_eq!(edit_distance("imgae", "image", Swap::TwoEdits), 2);
    }

    #[test]
    fn the_closest_name_within_the_limit_wins() {
        let limit = |name: &str| (name.len() / 3).max(1);
        let closest = |unknown, names: &[&'static str]| {
            closest(unknown, names.iter().copied(), Swap::OneEdit, limit)
        };
        assert_eq!(
            closest("commnd", &["name", "command", "init"]),
            Some("command")
        );
        assert_eq!(closest("Ports", &["image", "ports"]), Some("ports"));
        assert_eq!(closest("zzz", &["name", "init"]), None);
    }
}
