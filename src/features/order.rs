//! The install order of a config's Features, as the reference CLI computes it
//! (`containerFeaturesOrder.ts`, and the spec's "Dependency installation order algorithm"):
//!
//! 1. *Graph.* The config's Features, then every `dependsOn` entry of each Feature met,
//!    recursively, with the options it gives; a Feature equal to one already met (same
//!    digest or folder or URL, same options) is met once. `installsAfter` ids are soft
//!    edges: they match installed Features but add none.
//! 2. *Override.* Entry `i` of `overrideFeatureInstallOrder` (of `n`) raises the round
//!    priority of each Feature it soft-matches to at least `n - i`.
//! 3. *Prune.* Soft edges that match no Feature of the graph are dropped.
//! 4. *Rounds.* Each round takes the Features whose hard edges are installed and whose soft
//!    edges match installed ones, keeps those of the highest priority, sorts them (the CLI's
//!    `compareTo`, see [`compare`](Graph::compare)) and installs them. An empty round is a
//!    cycle, reported with the Features in it.
//!
//! Metadata comes through [`Resolve`], once per source. One deliberate difference: an
//! `installsAfter` id is never fetched. The reference CLI fetches each one to read the
//! `legacyIds` it was published with (so `installsAfter: ["…/old-name"]` matches the renamed
//! Feature), which costs a download per id and fails offline, though no upstream Feature is
//! renamed in any `installsAfter`. devboot reads the same rename from the installed side: a
//! soft dependency matches a Feature whose own `currentId`/`legacyIds` hold its id, under
//! the same registry and namespace.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use super::metadata::Metadata;
use super::reference::{self, OciRef};
use super::{FeatureError, Fetched, Request, Resolve, Source};

/// One Feature to install, at its place in the install order.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// Its position in the install order, from 0: the staging folder is `<id>_<n>`
    /// ([`Planned::staging_name`]).
    pub n: usize,
    /// The id as written: the config's `features` key, or the `dependsOn` key of the Feature
    /// that added it. The lockfile is keyed by it.
    pub user_id: String,
    pub source: Source,
    /// The value as written (an options object, a version string, a boolean): see
    /// [`options::values`](super::options::values).
    pub value: Value,
    pub fetched: Fetched,
    /// The id as written of the Feature whose `dependsOn` added this one; `None` for the
    /// config's own.
    pub added_by: Option<String>,
}

impl Planned {
    /// `<id>_<n>`: the folder the reference CLI stages this Feature in.
    pub fn staging_name(&self) -> String {
        format!("{}_{}", self.source.id(), self.n)
    }
}

/// The ordered Features and what the user should hear about the ids they wrote (legacy
/// short ids, folded `gradle`/`maven`/`jupyterlab`), each said once.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub features: Vec<Planned>,
    pub warnings: Vec<String>,
}

/// Orders a config's `features` (as written, in order) with `overrideFeatureInstallOrder`;
/// ids are classified against `config_file` (`dependsOn` local paths too, as the reference
/// CLI does), and every Feature met is fetched through `resolve`.
pub fn plan(
    requests: &[Request],
    override_order: &[String],
    config_file: &Path,
    resolve: &mut dyn Resolve,
) -> Result<Plan, FeatureError> {
    let (requests, warnings) = reference::fold_deprecated(requests.to_vec());
    let mut graph = Graph {
        config_file,
        resolve,
        items: Vec::new(),
        item_node: Vec::new(),
        nodes: Vec::new(),
        fetched: HashMap::new(),
        warnings,
    };
    for request in requests {
        graph.push_item(request.id, request.value, None)?;
    }
    graph.build()?;
    graph.apply_override(override_order)?;
    graph.prune();
    let order = graph.rounds()?;
    Ok(graph.into_plan(&order))
}

/// A Feature met while walking the graph (a config entry or a `dependsOn` entry).
struct Item {
    user_id: String,
    value: Value,
    source: Source,
    added_by: Option<String>,
}

/// A distinct Feature of the graph.
struct Node {
    user_id: String,
    source: Source,
    value: Value,
    fetched: Fetched,
    added_by: Option<String>,
    /// `[currentId or id, ...legacyIds]`, from its metadata.
    aliases: Vec<String>,
    /// `dependsOn`, as indexes into `Graph::items`.
    hard: Vec<usize>,
    /// `installsAfter`, classified.
    soft: Vec<Source>,
    priority: usize,
}

struct Graph<'a> {
    config_file: &'a Path,
    resolve: &'a mut dyn Resolve,
    items: Vec<Item>,
    /// The node each processed item is (a new one, or the equal one met before).
    item_node: Vec<usize>,
    nodes: Vec<Node>,
    fetched: HashMap<Source, Fetched>,
    warnings: Vec<String>,
}

impl Graph<'_> {
    fn push_item(
        &mut self,
        user_id: String,
        value: Value,
        added_by: Option<&str>,
    ) -> Result<usize, FeatureError> {
        let classified = reference::classify(&user_id, self.config_file).map_err(|e| match e {
            FeatureError::BadId { id, reason, help } if added_by.is_some() => {
                let parent = added_by.unwrap_or_default();
                let reason = format!("{reason} (in the `dependsOn` of `{parent}`)");
                FeatureError::BadId { id, reason, help }
            }
            other => other,
        })?;
        // Only the config's own ids are the user's to fix.
        if added_by.is_none() {
            self.warn(classified.warning);
        }
        self.items.push(Item {
            user_id,
            value,
            source: classified.source,
            added_by: added_by.map(String::from),
        });
        Ok(self.items.len() - 1)
    }

    fn warn(&mut self, warning: Option<String>) {
        if let Some(w) = warning
            && !self.warnings.contains(&w)
        {
            self.warnings.push(w);
        }
    }

    fn fetch(&mut self, source: &Source) -> Result<Fetched, FeatureError> {
        if let Some(fetched) = self.fetched.get(source) {
            return Ok(fetched.clone());
        }
        let fetched = self.resolve.resolve(source)?;
        self.fetched.insert(source.clone(), fetched.clone());
        Ok(fetched)
    }

    /// Step 1: walks the items first to last; `dependsOn` entries are appended as met.
    fn build(&mut self) -> Result<(), FeatureError> {
        let mut next = 0;
        while next < self.items.len() {
            let item = &self.items[next];
            let (source, user_id) = (item.source.clone(), item.user_id.clone());
            let fetched = self.fetch(&source)?;
            let item = &self.items[next];
            let metadata = fetched.metadata.clone();
            let node = Node {
                user_id: user_id.clone(),
                source,
                value: item.value.clone(),
                fetched,
                added_by: item.added_by.clone(),
                aliases: aliases(&metadata),
                hard: Vec::new(),
                soft: Vec::new(),
                priority: 0,
            };
            next += 1;
            if let Some(same) = self.nodes.iter().position(|n| equals(n, &node)) {
                self.item_node.push(same);
                continue;
            }
            self.item_node.push(self.nodes.len());
            self.nodes.push(node);
            let this = self.nodes.len() - 1;
            for (id, value) in metadata.depends_on {
                let item = self.push_item(id, value, Some(&user_id))?;
                self.nodes[this].hard.push(item);
            }
            for id in metadata.installs_after {
                let classified = reference::classify(&id, self.config_file)?;
                self.nodes[this].soft.push(classified.source);
            }
        }
        Ok(())
    }

    /// Step 2: `overrideFeatureInstallOrder`, matched without aliases (as the CLI does).
    fn apply_override(&mut self, order: &[String]) -> Result<(), FeatureError> {
        for (i, id) in order.iter().enumerate() {
            let classified = reference::classify(id, self.config_file)?;
            self.warn(classified.warning);
            let priority = order.len() - i;
            for node in &mut self.nodes {
                if soft_match(&node.source, &[], &classified.source) {
                    node.priority = node.priority.max(priority);
                }
            }
        }
        Ok(())
    }

    /// Whether node `node` satisfies the soft dependency `soft`.
    fn satisfies(&self, node: usize, soft: &Source) -> bool {
        let node = &self.nodes[node];
        soft_match(&node.source, &node.aliases, soft)
    }

    /// Step 3: drops soft edges no node of the graph matches.
    fn prune(&mut self) {
        for i in 0..self.nodes.len() {
            let soft = std::mem::take(&mut self.nodes[i].soft);
            let kept = soft
                .into_iter()
                .filter(|s| (0..self.nodes.len()).any(|j| self.satisfies(j, s)))
                .collect();
            self.nodes[i].soft = kept;
        }
    }

    /// Whether node `i` can be installed after `installed` (node indexes, in order).
    fn ready(&self, i: usize, installed: &[usize]) -> bool {
        let node = &self.nodes[i];
        node.hard
            .iter()
            .all(|item| installed.contains(&self.item_node[*item]))
            && node
                .soft
                .iter()
                .all(|s| installed.iter().any(|j| self.satisfies(*j, s)))
    }

    /// Step 4: the rounds; returns node indexes in install order.
    fn rounds(&self) -> Result<Vec<usize>, FeatureError> {
        let mut remaining: Vec<usize> = (0..self.nodes.len()).collect();
        let mut installed = Vec::new();
        while !remaining.is_empty() {
            let mut round: Vec<usize> = Vec::new();
            for &i in &remaining {
                if self.ready(i, &installed) {
                    round.push(i);
                }
            }
            let Some(top) = round.iter().map(|i| self.nodes[*i].priority).max() else {
                return Err(self.cycle(&remaining, &installed));
            };
            round.retain(|i| self.nodes[*i].priority == top);
            remaining.retain(|i| !round.contains(i));
            round.sort_by(|a, b| compare(&self.nodes[*a], &self.nodes[*b]));
            installed.extend(round);
        }
        Ok(installed)
    }

    /// The cycle that blocks the remaining nodes: from the first, follow what each waits for
    /// until a node comes back. Every remaining node waits for another remaining one (a
    /// hard edge is a node of the graph; a kept soft edge matches one).
    fn cycle(&self, remaining: &[usize], installed: &[usize]) -> FeatureError {
        let mut path = vec![remaining[0]];
        loop {
            let current = path[path.len() - 1];
            let Some(next) = self.waits_for(current, remaining, installed) else {
                path = remaining.to_vec();
                break;
            };
            if let Some(start) = path.iter().position(|p| *p == next) {
                path.drain(..start);
                path.push(next);
                break;
            }
            path.push(next);
        }
        FeatureError::Cycle {
            cycle: path
                .iter()
                .map(|i| self.nodes[*i].user_id.clone())
                .collect(),
        }
    }

    fn waits_for(&self, i: usize, remaining: &[usize], installed: &[usize]) -> Option<usize> {
        let blocked = self.nodes[i]
            .hard
            .iter()
            .map(|item| self.item_node[*item])
            .find(|n| !installed.contains(n));
        if blocked.is_some() {
            return blocked;
        }
        let unmet = self.nodes[i]
            .soft
            .iter()
            .find(|s| !installed.iter().any(|j| self.satisfies(*j, s)))?;
        remaining
            .iter()
            .copied()
            .find(|j| self.satisfies(*j, unmet))
    }

    fn into_plan(self, order: &[usize]) -> Plan {
        let mut nodes: Vec<Option<Node>> = self.nodes.into_iter().map(Some).collect();
        let features = order
            .iter()
            .enumerate()
            .filter_map(|(n, i)| nodes[*i].take().map(|node| (n, node)))
            .map(|(n, node)| Planned {
                n,
                user_id: node.user_id,
                source: node.source,
                value: node.value,
                fetched: node.fetched,
                added_by: node.added_by,
            })
            .collect();
        Plan {
            features,
            warnings: self.warnings,
        }
    }
}

/// `[currentId or id, ...legacyIds]`: the ids a Feature was published under.
fn aliases(metadata: &Metadata) -> Vec<String> {
    let current = metadata.current_id.as_ref().filter(|c| !c.is_empty());
    std::iter::once(current.unwrap_or(&metadata.id))
        .chain(&metadata.legacy_ids)
        .cloned()
        .collect()
}

/// The reference CLI's soft match: the same registry resource (or, see the module's
/// comment, one the installed Feature was published under: `aliases` are its own), the same
/// folder, the same URL.
fn soft_match(node: &Source, aliases: &[String], soft: &Source) -> bool {
    match (node, soft) {
        (Source::Oci(n), Source::Oci(s)) => {
            n.resource() == s.resource()
                || (n.registry == s.registry
                    && n.namespace == s.namespace
                    && aliases.contains(&s.id))
        }
        (Source::Local { path: n, .. }, Source::Local { path: s, .. }) => n == s,
        (Source::Tarball { url: n, .. }, Source::Tarball { url: s, .. }) => n == s,
        _ => false,
    }
}

/// Two Features are the same install: same kind and [`compare`] says equal (for registry
/// Features: the same digest and options).
fn equals(a: &Node, b: &Node) -> bool {
    std::mem::discriminant(&a.source) == std::mem::discriminant(&b.source)
        && compare(a, b) == Ordering::Equal
}

/// The reference CLI's `compareTo`, the order within a round: by id as written across
/// kinds; registry Features by `registry/namespace`, id (equal when their aliases share
/// one), tag, options, digest; folders by path then options; tarballs by URL then options.
fn compare(a: &Node, b: &Node) -> Ordering {
    let options = || options_cmp(&a.value, &b.value);
    match (&a.source, &b.source) {
        (Source::Oci(ra), Source::Oci(rb)) => {
            let (da, db) = (&a.fetched.digest, &b.fetched.digest);
            if da == db && options() == Ordering::Equal {
                return Ordering::Equal;
            }
            let tags = match (ra.tag(), rb.tag()) {
                (Some(ta), Some(tb)) if ta != tb => locale_cmp(ta, tb),
                _ => Ordering::Equal,
            };
            resource_cmp(ra, &a.aliases, rb, &b.aliases)
                .then(tags)
                .then_with(options)
                .then_with(|| {
                    if da == db {
                        Ordering::Equal
                    } else {
                        locale_cmp(da, db)
                    }
                })
        }
        (Source::Local { path: pa, .. }, Source::Local { path: pb, .. }) => {
            locale_cmp(&pa.to_string_lossy(), &pb.to_string_lossy()).then_with(options)
        }
        (Source::Tarball { url: ua, .. }, Source::Tarball { url: ub, .. }) => {
            locale_cmp(ua, ub).then_with(options)
        }
        _ => locale_cmp(&a.user_id, &b.user_id),
    }
}

fn resource_cmp(a: &OciRef, a_aliases: &[String], b: &OciRef, b_aliases: &[String]) -> Ordering {
    let (pa, pb) = (
        format!("{}/{}", a.registry, a.namespace),
        format!("{}/{}", b.registry, b.namespace),
    );
    if pa != pb {
        return locale_cmp(&pa, &pb);
    }
    let ids = |aliases: &[String], id: &str| -> Vec<String> {
        if aliases.is_empty() {
            vec![id.to_string()]
        } else {
            aliases.to_vec()
        }
    };
    let (ia, ib) = (ids(a_aliases, &a.id), ids(b_aliases, &b.id));
    if ia.iter().any(|x| ib.contains(x)) {
        Ordering::Equal
    } else {
        locale_cmp(&a.id, &b.id)
    }
}

/// The reference CLI's `optionsCompareTo` on values as written: strings by locale, `false`
/// before `true`, objects by key count, then sorted keys, then string or boolean values
/// (values of other or mixed types count as equal); values of different kinds by the name
/// of their JavaScript type.
fn options_cmp(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::String(x), Value::String(y)) => locale_cmp(x, y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ if js_type(a) == "object" && js_type(b) == "object" => {
            let (mut ka, mut kb) = (js_keys(a), js_keys(b));
            if ka.len() != kb.len() {
                return ka.len().cmp(&kb.len());
            }
            ka.sort();
            kb.sort();
            for (x, y) in ka.iter().zip(&kb) {
                if x != y {
                    return locale_cmp(x, y);
                }
                let values = match (js_get(a, x), js_get(b, y)) {
                    (Some(Value::String(p)), Some(Value::String(q))) => locale_cmp(p, q),
                    (Some(Value::Bool(p)), Some(Value::Bool(q))) => p.cmp(q),
                    _ => Ordering::Equal,
                };
                if values != Ordering::Equal {
                    return values;
                }
            }
            Ordering::Equal
        }
        _ => locale_cmp(js_type(a), js_type(b)),
    }
}

fn js_type(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "string",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::Null | Value::Array(_) | Value::Object(_) => "object",
    }
}

/// `Object.keys`: an object's keys, an array's indexes (`null` has none here; JavaScript
/// would throw).
fn js_keys(value: &Value) -> Vec<String> {
    match value {
        Value::Object(map) => map.keys().cloned().collect(),
        Value::Array(items) => (0..items.len()).map(|i| i.to_string()).collect(),
        _ => Vec::new(),
    }
}

fn js_get<'v>(value: &'v Value, key: &str) -> Option<&'v Value> {
    match value {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    }
}

/// JavaScript's `a.localeCompare(b)` (ICU's root collation) for the text ids, paths, tags
/// and option values hold: first by character, ignoring case (control characters are
/// ignored; whitespace, then punctuation and symbols in ICU's order, then digits, then
/// letters), then lowercase before uppercase. Other characters sort after ASCII by code
/// point, an approximation (ICU would put `é` next to `e`).
pub(crate) fn locale_cmp(a: &str, b: &str) -> Ordering {
    let primary = |s: &str| s.chars().filter_map(primary_weight).collect::<Vec<u32>>();
    let tertiary = |s: &str| {
        s.chars()
            .filter(|c| primary_weight(*c).is_some())
            .map(|c| c.is_ascii_uppercase())
            .collect::<Vec<bool>>()
    };
    primary(a)
        .cmp(&primary(b))
        .then_with(|| tertiary(a).cmp(&tertiary(b)))
}

fn primary_weight(c: char) -> Option<u32> {
    const SPACE: &str = "\t\n\x0b\x0c\r ";
    const PUNCTUATION: &str = "_-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$";
    let index = |set: &str| {
        set.chars()
            .position(|x| x == c)
            .and_then(|i| u32::try_from(i).ok())
    };
    if let Some(i) = index(SPACE) {
        return Some(i);
    }
    if let Some(i) = index(PUNCTUATION) {
        return Some(10 + i);
    }
    match c {
        '0'..='9' => Some(100 + (c as u32 - '0' as u32)),
        'a'..='z' => Some(200 + (c as u32 - 'a' as u32)),
        'A'..='Z' => Some(200 + (c as u32 - 'A' as u32)),
        c if c.is_ascii_control() => None,
        c => Some(1000 + c as u32),
    }
}

#[cfg(test)]
mod tests;
