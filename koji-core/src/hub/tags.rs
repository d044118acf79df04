//! Tags, their configuration (`tag_config`), extra settings (`tag_extra`)
//! and inheritance (`tag_inheritance`).
//!
//! A tag's name lives in `tag`, which is not versioned: a tag "exists" while
//! it has a live `tag_config` row, and deleting it only revokes its versioned
//! rows, so the name (and id) can be reused by a later `createTag`. Every read
//! answers as of an event (`None`: now).
//!
//! Helpers other areas may reuse: [`name_or_id`] / [`name_or_id_clause`]
//! (upstream's id-or-name argument convention), [`lookup_name`],
//! [`parse_arches_strict`], [`py_eq`],
//! [`py_json_dumps`], [`event_arg`], and the connection-generic readers
//! [`get_tag_in`] and [`read_full_inheritance_in`] for use inside a
//! transaction.

use super::names::NameRules;
use super::query_opts::{Columns, QueryOpts};
use super::{Caller, Hub};
use crate::api::{py_type_of, truthy};
use crate::db::{self, fetch_all, fetch_opt, versioned, RowExt, Tx, Value};
use crate::error::{Error, Result};
use crate::params;
use crate::util::{py_int, py_repr, py_str};
use sea_orm::ConnectionTrait;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value as Json};
use std::collections::{HashMap, HashSet};

pub struct Tags<'a>(pub(super) &'a Hub);

/// Whether Maven support is enabled (upstream's `EnableMaven`, default off).
// TODO(config): read this from HubConfig once it has the option.
const MAVEN_ENABLED: bool = false;

/// One link of a tag's full inheritance, as upstream's
/// `readFullInheritance`/`getFullInheritance` returns it.
///
/// Serialized with upstream's keys: a forward link carries `child_id`; a
/// link of a reverse (descendants) query carries the child as `tag_id`
/// instead, and `name` is then the child's name.
#[derive(Debug, Clone, PartialEq)]
pub struct InheritanceLink {
    pub child_id: i64,
    pub parent_id: i64,
    /// The parent's name (the child's name for a reverse query).
    pub name: String,
    pub priority: i64,
    pub maxdepth: Option<i64>,
    pub intransitive: bool,
    pub noconfig: bool,
    pub pkg_filter: String,
    /// Depth of the parent from the starting tag (1 for direct parents).
    pub currdepth: i64,
    /// Remaining depth allowed below this link (None: unlimited).
    pub nextdepth: Option<i64>,
    /// The package filters (regexes) accumulated along the path.
    pub filter: Vec<String>,
    /// The link comes from a reverse (descendants) query.
    pub reverse: bool,
    /// The stored `pkg_filter` is NULL (serialized as `None`).
    pub pkg_filter_null: bool,
}

impl Serialize for InheritanceLink {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        // upstream's order: the link query's columns sorted by name (a
        // reverse query also selects the child as `tag_id`), then the keys
        // the walk adds
        let mut m = s.serialize_map(Some(11))?;
        m.serialize_entry("intransitive", &self.intransitive)?;
        m.serialize_entry("maxdepth", &self.maxdepth)?;
        m.serialize_entry("name", &self.name)?;
        m.serialize_entry("noconfig", &self.noconfig)?;
        m.serialize_entry("parent_id", &self.parent_id)?;
        if self.pkg_filter_null {
            m.serialize_entry("pkg_filter", &None::<String>)?;
        } else {
            m.serialize_entry("pkg_filter", &self.pkg_filter)?;
        }
        m.serialize_entry("priority", &self.priority)?;
        if self.reverse {
            m.serialize_entry("tag_id", &self.child_id)?;
        } else {
            m.serialize_entry("child_id", &self.child_id)?;
        }
        m.serialize_entry("nextdepth", &self.nextdepth)?;
        m.serialize_entry("currdepth", &self.currdepth)?;
        m.serialize_entry("filter", &self.filter)?;
        m.end()
    }
}

/// A tag's id and name.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct TagRef {
    pub id: i64,
    pub name: String,
}

/// A tag as upstream's `getTag` returns it. Fields are declared in the
/// order upstream sends them: its query's columns sorted by alias, then
/// `extra` and `query_event`, which it adds afterwards.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct TagInfo {
    pub arches: Option<String>,
    pub id: i64,
    pub locked: bool,
    pub maven_include_all: bool,
    pub maven_support: bool,
    pub name: String,
    pub perm: Option<String>,
    pub perm_id: Option<i64>,
    /// Only with `event="auto"` for a deleted tag: the event that deleted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke_event: Option<i64>,
    /// `{key: value}`, or with `blocked` `{key: [blocked, value]}`.
    pub extra: Map<String, Json>,
    /// The event the answer is as of, when one was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_event: Option<i64>,
}

/// Which tag configuration `getTag` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagEvent {
    /// Now, or as of the given event.
    At(Option<i64>),
    /// Now for a live tag; for a deleted tag, just before its deletion.
    Auto,
}

/// One row of a tag's direct inheritance (`getInheritanceData`): the
/// query's columns sorted by name, as upstream sends them, then `child_id`.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct InheritanceData {
    pub intransitive: bool,
    pub maxdepth: Option<i64>,
    pub name: String,
    pub noconfig: bool,
    pub parent_id: i64,
    pub pkg_filter: Option<String>,
    pub priority: i64,
    pub child_id: i64,
}

/// Which tag `getBuildConfig` took an inherited setting from.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct ConfigInheritance {
    pub extra: Map<String, Json>,
    pub arches: Option<TagRef>,
}

/// A tag with its arches and extra settings inherited (`getBuildConfig`).
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct BuildConfig {
    #[serde(flatten)]
    pub tag: TagInfo,
    pub config_inheritance: ConfigInheritance,
}

/// The parameters of `createTag`, as received (validated by the hub).
#[derive(Debug, Clone, Default)]
pub struct NewTag {
    pub name: Json,
    pub parent: Json,
    pub arches: Json,
    pub perm: Json,
    pub locked: bool,
    pub maven_support: bool,
    pub maven_include_all: bool,
    pub extra: Json,
}

/// The filters of `listTags`.
#[derive(Debug, Clone, Default)]
pub struct ListTags {
    pub build: Json,
    pub package: Json,
    pub perms: bool,
    pub pattern: Option<String>,
}

// ---------------------------------------------------------------------------
// Shared helpers (upstream conventions)
// ---------------------------------------------------------------------------

/// An argument naming a row by id or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameOrId {
    Id(i64),
    Name(String),
}

/// Upstream's reading of an id-or-name argument: an int is an id, a string a
/// name, a dict its `id` (cast to int) or else its `name`.
pub fn name_or_id(info: &Json) -> Result<NameOrId> {
    let bad = |v: &Json| Error::Parameter(format!("Invalid name or id value: {}", py_str(v)));
    let mut v = info;
    if let Json::Object(m) = info {
        if let Some(id) = m.get("id") {
            return py_int(id).map(NameOrId::Id).ok_or_else(|| bad(info));
        } else if let Some(name) = m.get("name") {
            v = name;
        } else {
            return Err(bad(info));
        }
    }
    match v {
        Json::Number(n) if n.is_i64() => Ok(NameOrId::Id(n.as_i64().unwrap_or_default())),
        Json::String(s) => Ok(NameOrId::Name(s.clone())),
        other => Err(bad(other)),
    }
}

/// `(table.id = ?)` or `(table.name = ?)` for an id-or-name argument.
pub fn name_or_id_clause(table: &str, info: &Json) -> Result<(String, Vec<Value>)> {
    Ok(match name_or_id(info)? {
        NameOrId::Id(id) => (format!("({table}.id = ?)"), params![id]),
        NameOrId::Name(n) => (format!("({table}.name = ?)"), params![n]),
    })
}

/// Upstream's `lookup_name`: the `{id, name}` row of `table` named by
/// `info`; with `strict` a missing row is `No such entry in table T: X`;
/// with `create` a missing name is inserted.
pub async fn lookup_name<C: ConnectionTrait>(
    c: &C,
    table: &str,
    info: &Json,
    strict: bool,
    create: bool,
) -> Result<Option<TagRef>> {
    let (clause, p) = name_or_id_clause(table, info)?;
    let row = fetch_opt(
        c,
        &format!("SELECT {table}.id, {table}.name FROM {table} WHERE {clause}"),
        p,
    )
    .await?;
    if let Some(r) = row {
        return Ok(Some(TagRef {
            id: r.int("id")?,
            name: r.string("name")?,
        }));
    }
    if strict {
        return Err(Error::Generic(format!(
            "No such entry in table {table}: {}",
            py_str(info)
        )));
    }
    if create {
        let Json::String(name) = info else {
            return Err(Error::generic("Name must be a string"));
        };
        let r = db::fetch_one(
            c,
            &format!("INSERT INTO {table} (name) VALUES (?) RETURNING id"),
            params![name.clone()],
        )
        .await?;
        return Ok(Some(TagRef {
            id: r.int("id")?,
            name: name.clone(),
        }));
    }
    Ok(None)
}

/// Upstream's `parse_arches(arches, strict=True, allow_none=True)`: a
/// whitespace-separated string or a list of arches, normalized to one
/// space-separated string (`None` gives `""`).
pub fn parse_arches_strict(arches: &Json) -> Result<String> {
    let list: Vec<String> = match arches {
        Json::Null => vec![],
        Json::String(s) => s.split_whitespace().map(str::to_owned).collect(),
        Json::Array(a) => a
            .iter()
            .map(|v| match v {
                Json::String(s) => Ok(s.clone()),
                other => Err(py_exception(
                    "TypeError",
                    &format!(
                        "expected string or bytes-like object, got '{}'",
                        py_type_of(other)
                    ),
                )),
            })
            .collect::<Result<_>>()?,
        other => {
            return Err(py_exception(
                "AttributeError",
                &format!("'{}' object has no attribute 'split'", py_type_of(other)),
            ))
        }
    };
    for arch in &list {
        let body = arch.strip_suffix('\n').unwrap_or(arch);
        if !body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(Error::generic("Architecture can be only [a-zA-Z0-9_-]"));
        }
    }
    Ok(list.join(" "))
}

/// A fault as upstream reports a Python exception outside koji's own
/// classes (fault code 1, `<class 'X'>: message`).
fn py_exception(class: &str, msg: &str) -> Error {
    Error::Fault {
        code: 1,
        message: format!("<class '{class}'>: {msg}"),
    }
}

/// Upstream's event argument: `None` (now) or an event id; anything else is
/// `Invalid event: ...`.
pub fn event_arg(v: &Json) -> Result<Option<i64>> {
    match v {
        Json::Null => Ok(None),
        Json::Bool(b) => Ok(Some(*b as i64)),
        Json::Number(n) if n.is_i64() => Ok(n.as_i64()),
        other => Err(Error::Generic(format!("Invalid event: {}", py_repr(other)))),
    }
}

/// Python's `==` between two decoded XML-RPC values (`1 == True`,
/// `1 == 1.0`, dicts regardless of key order).
pub fn py_eq(a: &Json, b: &Json) -> bool {
    fn num(v: &Json) -> Option<f64> {
        match v {
            Json::Bool(b) => Some(*b as i64 as f64),
            Json::Number(n) => n.as_f64(),
            _ => None,
        }
    }
    match (a, b) {
        (Json::Null, Json::Null) => true,
        (Json::String(x), Json::String(y)) => x == y,
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(p, q))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| py_eq(v, w)))
        }
        (Json::Number(x), Json::Number(y)) if x.is_i64() && y.is_i64() => x.as_i64() == y.as_i64(),
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    }
}

/// Python's `json.dumps(value)` with its default separators and
/// `ensure_ascii`, as upstream stores `tag_extra` values.
pub fn py_json_dumps(v: &Json) -> String {
    let mut out = String::new();
    dump_into(v, &mut out);
    out
}

pub(crate) fn dump_into(v: &Json, out: &mut String) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(&n.to_string()),
        Json::String(s) => dump_str(s, out),
        Json::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                dump_into(x, out);
            }
            out.push(']');
        }
        Json::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                dump_str(k, out);
                out.push_str(": ");
                dump_into(x, out);
            }
            out.push('}');
        }
    }
}

pub(crate) fn dump_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The elements Python would get iterating `v` (dict keys, list items,
/// characters), or the TypeError it would raise.
fn py_iter(v: &Json) -> Result<Vec<Json>> {
    match v {
        Json::Array(a) => Ok(a.clone()),
        Json::Object(m) => Ok(m.keys().map(|k| Json::from(k.as_str())).collect()),
        Json::String(s) => Ok(s.chars().map(|c| Json::from(c.to_string())).collect()),
        other => Err(py_exception(
            "TypeError",
            &format!("'{}' object is not iterable", py_type_of(other)),
        )),
    }
}

/// Like [`py_iter`] for building a set: elements must be hashable.
fn py_set(v: &Json) -> Result<Vec<Json>> {
    let items = py_iter(v)?;
    if let Some(bad) = items.iter().find(|x| x.is_array() || x.is_object()) {
        return Err(py_exception(
            "TypeError",
            &format!("unhashable type: '{}'", py_type_of(bad)),
        ));
    }
    Ok(items)
}

// ---------------------------------------------------------------------------
// Readers usable on the pool or inside a transaction
// ---------------------------------------------------------------------------

const TAG_COLUMNS: &str = "tag.id, tag.name, tag_config.perm_id, permissions.name AS perm, \
     tag_config.arches, tag_config.locked, tag_config.maven_support, tag_config.maven_include_all";

/// Upstream's `get_tag`, on any connection.
pub async fn get_tag_in<C: ConnectionTrait>(
    c: &C,
    info: &Json,
    strict: bool,
    event: TagEvent,
    blocked: bool,
) -> Result<Option<TagInfo>> {
    let (clause, p) = name_or_id_clause("tag", info)?;
    let mut event_id = match event {
        TagEvent::At(e) => e,
        TagEvent::Auto => None,
    };
    let mut with_revoke = false;
    if event == TagEvent::Auto {
        let last = fetch_opt(
            c,
            &format!(
                "SELECT tag_config.create_event, tag_config.revoke_event FROM tag_config \
                 JOIN tag ON tag.id = tag_config.tag_id WHERE {clause} \
                 ORDER BY tag_config.create_event DESC LIMIT 1"
            ),
            p.clone(),
        )
        .await?;
        if let Some(rev) = last
            .map(|r| r.opt_int("revoke_event"))
            .transpose()?
            .flatten()
        {
            event_id = Some(rev - 1);
            with_revoke = true;
        }
    }
    let (live, mut lp) = versioned::live("tag_config", event_id);
    let mut all = p;
    all.append(&mut lp);
    let revoke_col = if with_revoke {
        ", tag_config.revoke_event"
    } else {
        ""
    };
    let rows = fetch_all(
        c,
        &format!(
            "SELECT {TAG_COLUMNS}{revoke_col} FROM tag_config \
             JOIN tag ON tag.id = tag_config.tag_id \
             LEFT OUTER JOIN permissions ON tag_config.perm_id = permissions.id \
             WHERE {clause} AND {live}"
        ),
        all,
    )
    .await?;
    if rows.len() > 1 {
        return Err(Error::generic(
            "multiple rows returned for a single row query",
        ));
    }
    let Some(r) = rows.into_iter().next() else {
        if strict {
            return Err(Error::Generic(format!(
                "No such tagInfo: {}",
                py_repr(info)
            )));
        }
        return Ok(None);
    };
    let id = r.int("id")?;
    Ok(Some(TagInfo {
        id,
        name: r.string("name")?,
        perm_id: r.opt_int("perm_id")?,
        perm: r.opt_string("perm")?,
        arches: r.opt_string("arches")?,
        locked: r.boolean("locked")?,
        maven_support: r.boolean("maven_support")?,
        maven_include_all: r.boolean("maven_include_all")?,
        revoke_event: if with_revoke {
            r.opt_int("revoke_event")?
        } else {
            None
        },
        extra: tag_extra_in(c, id, event_id, blocked).await?,
        query_event: event_id,
    }))
}

/// Upstream's `get_tag_extra`: a tag's own extra settings (no inheritance).
/// With `blocked`, each value is `[blocked, value]` and blocks are included.
pub async fn tag_extra_in<C: ConnectionTrait>(
    c: &C,
    tag_id: i64,
    event: Option<i64>,
    blocked: bool,
) -> Result<Map<String, Json>> {
    let (live, mut p) = versioned::live("tag_extra", event);
    p.push(tag_id.into());
    let only_values = if blocked {
        ""
    } else {
        " AND tag_extra.value IS NOT NULL"
    };
    let rows = fetch_all(
        c,
        &format!(
            "SELECT tag_extra.key, tag_extra.value FROM tag_extra \
             WHERE {live} AND tag_extra.tag_id = ?{only_values} ORDER BY tag_extra.key"
        ),
        p,
    )
    .await?;
    let mut out = Map::new();
    for r in rows {
        let key = r.string("key")?;
        let value = match r.opt_string("value")? {
            None => None,
            Some(text) => Some(
                serde_json::from_str::<Json>(&text)
                    .map_err(|_| Error::Generic(format!("No such tag extra data: {key}")))?,
            ),
        };
        let v = if blocked {
            Json::Array(vec![
                Json::Bool(value.is_none()),
                value.unwrap_or(Json::Null),
            ])
        } else {
            value.unwrap_or(Json::Null)
        };
        out.insert(key, v);
    }
    Ok(out)
}

/// Upstream's `readInheritanceData`: a tag's direct parents by priority.
pub async fn read_inheritance_data_in<C: ConnectionTrait>(
    c: &C,
    tag_id: i64,
    event: Option<i64>,
) -> Result<Vec<InheritanceData>> {
    let links = load_links(c, &[tag_id], event, false).await?;
    Ok(links
        .into_iter()
        .map(|l| InheritanceData {
            parent_id: l.parent_id,
            name: l.name,
            priority: l.priority,
            maxdepth: l.maxdepth,
            intransitive: l.intransitive,
            noconfig: l.noconfig,
            pkg_filter: l.pkg_filter,
            child_id: l.tag_id,
        })
        .collect())
}

/// One stored inheritance row, with the name of the tag at its far end.
#[derive(Debug, Clone)]
struct RawLink {
    tag_id: i64,
    parent_id: i64,
    name: String,
    priority: i64,
    maxdepth: Option<i64>,
    intransitive: bool,
    noconfig: bool,
    pkg_filter: Option<String>,
}

/// The live inheritance rows of the tags `ids` (as children, or as parents
/// when `reverse`), ordered by tag then priority.
async fn load_links<C: ConnectionTrait>(
    c: &C,
    ids: &[i64],
    event: Option<i64>,
    reverse: bool,
) -> Result<Vec<RawLink>> {
    let (near, far) = if reverse {
        ("parent_id", "tag_id")
    } else {
        ("tag_id", "parent_id")
    };
    let mut out = vec![];
    for chunk in ids.chunks(500) {
        let (live, mut p) = versioned::live("tag_inheritance", event);
        let marks = vec!["?"; chunk.len()].join(", ");
        p.extend(chunk.iter().map(|&i| Value::from(i)));
        let rows = fetch_all(
            c,
            &format!(
                "SELECT tag_inheritance.tag_id, tag_inheritance.parent_id, tag.name, \
                 tag_inheritance.priority, tag_inheritance.maxdepth, tag_inheritance.intransitive, \
                 tag_inheritance.noconfig, tag_inheritance.pkg_filter \
                 FROM tag_inheritance JOIN tag ON tag_inheritance.{far} = tag.id \
                 WHERE {live} AND tag_inheritance.{near} IN ({marks}) \
                 ORDER BY tag_inheritance.{near}, tag_inheritance.priority, tag_inheritance.{far}"
            ),
            p,
        )
        .await?;
        for r in rows {
            out.push(RawLink {
                tag_id: r.int("tag_id")?,
                parent_id: r.int("parent_id")?,
                name: r.string("name")?,
                priority: r.int("priority")?,
                maxdepth: r.opt_int("maxdepth")?,
                intransitive: r.boolean("intransitive")?,
                noconfig: r.boolean("noconfig")?,
                pkg_filter: r.opt_string("pkg_filter")?,
            });
        }
    }
    Ok(out)
}

/// Upstream's `readFullInheritance`, on any connection: every ancestor (or
/// descendant with `reverse`) of `tag_id`, depth first by priority, with
/// loops pruned, `maxdepth` and `intransitive` honoured, `noconfig` and
/// package filters carried down, and repeated tags listed again only when
/// the new path reaches further than the earlier ones.
pub async fn read_full_inheritance_in<C: ConnectionTrait>(
    c: &C,
    tag_id: i64,
    event: Option<i64>,
    reverse: bool,
) -> Result<Vec<InheritanceLink>> {
    // load every link reachable from tag_id, one level per query
    let mut adj: HashMap<i64, Vec<RawLink>> = HashMap::new();
    let mut seen: HashSet<i64> = HashSet::from([tag_id]);
    let mut frontier = vec![tag_id];
    while !frontier.is_empty() {
        let links = load_links(c, &frontier, event, reverse).await?;
        let mut next = vec![];
        for l in links {
            let (near, far) = if reverse {
                (l.parent_id, l.tag_id)
            } else {
                (l.tag_id, l.parent_id)
            };
            if seen.insert(far) {
                next.push(far);
            }
            adj.entry(near).or_default().push(l);
        }
        frontier = next;
    }
    let mut walk = Walk {
        adj: &adj,
        reverse,
        log_loops: event.is_none(),
        order: vec![],
        hist: HashMap::new(),
        top: vec![],
    };
    walk.recurse(tag_id, 0, None, false, &[]);
    Ok(walk.order)
}

struct Walk<'a> {
    adj: &'a HashMap<i64, Vec<RawLink>>,
    reverse: bool,
    log_loops: bool,
    order: Vec<InheritanceLink>,
    /// tag id -> indices in `order` of the links that reached it
    hist: HashMap<i64, Vec<usize>>,
    /// the tags on the current path, this one last
    top: Vec<i64>,
}

impl Walk<'_> {
    fn recurse(
        &mut self,
        tag_id: i64,
        currdepth: i64,
        maxdepth: Option<i64>,
        mut noconfig: bool,
        pfilter: &[String],
    ) {
        if maxdepth.is_some_and(|m| m < 1) {
            return;
        }
        let currdepth = currdepth + 1;
        self.top.push(tag_id);
        let adj = self.adj;
        for link in adj.get(&tag_id).map(Vec::as_slice).unwrap_or_default() {
            let id = if self.reverse {
                link.tag_id
            } else {
                link.parent_id
            };
            if self.top.contains(&id) {
                if self.log_loops {
                    tracing::warn!("inheritance loop detected at {tag_id} -> {id}, pruning");
                }
                continue;
            }
            if link.intransitive && self.top.len() > 1 && !self.reverse {
                // intransitive links count only from the starting tag
                continue;
            }
            let nextdepth = if self.reverse {
                if link.maxdepth.is_some_and(|m| m < currdepth - 1) {
                    continue;
                }
                None
            } else {
                match (link.maxdepth, maxdepth) {
                    (None, None) => None,
                    (None, Some(m)) => Some(m - 1),
                    (Some(n), None) => Some(n),
                    (Some(n), Some(m)) => Some(n.min(m) - 1),
                }
            };
            // once set, noconfig stays on for the following siblings too
            if link.noconfig {
                noconfig = true;
            }
            let mut filter = pfilter.to_vec();
            if let Some(p) = link.pkg_filter.as_deref().filter(|p| !p.is_empty()) {
                filter.push(p.to_string());
            }
            if let Some(previous) = self.hist.get(&id) {
                let covered = previous.iter().any(|&i| {
                    let prev = &self.order[i];
                    let deep_enough = match (nextdepth, prev.nextdepth) {
                        (None, Some(_)) => false,
                        (Some(n), Some(last)) => last >= n,
                        _ => true,
                    };
                    deep_enough && (noconfig || !prev.noconfig) && prev.filter.is_empty()
                });
                if covered {
                    continue;
                }
            }
            self.hist.entry(id).or_default().push(self.order.len());
            self.order.push(InheritanceLink {
                child_id: link.tag_id,
                parent_id: link.parent_id,
                name: link.name.clone(),
                priority: link.priority,
                maxdepth: link.maxdepth,
                intransitive: link.intransitive,
                noconfig: link.noconfig,
                pkg_filter: link.pkg_filter.clone().unwrap_or_default(),
                currdepth,
                nextdepth,
                filter: filter.clone(),
                reverse: self.reverse,
                pkg_filter_null: link.pkg_filter.is_none(),
            });
            if link.intransitive && self.reverse {
                // listed, but not followed
                continue;
            }
            self.recurse(id, currdepth, nextdepth, noconfig, &filter);
        }
        self.top.pop();
    }
}

// ---------------------------------------------------------------------------
// Inheritance writes
// ---------------------------------------------------------------------------

const LINK_FIELDS: [&str; 6] = [
    "parent_id",
    "priority",
    "maxdepth",
    "intransitive",
    "noconfig",
    "pkg_filter",
];

/// The stored values of one inheritance link.
#[derive(Debug, Clone, PartialEq)]
struct LinkValues {
    priority: i64,
    maxdepth: Option<i64>,
    intransitive: bool,
    noconfig: bool,
    pkg_filter: Option<String>,
}

impl LinkValues {
    /// The value of `field` as a read of the link answers it.
    fn get(&self, field: &str) -> Json {
        match field {
            "priority" => Json::from(self.priority),
            "maxdepth" => Json::from(self.maxdepth),
            "intransitive" => Json::from(self.intransitive),
            "noconfig" => Json::from(self.noconfig),
            "pkg_filter" => Json::from(self.pkg_filter.clone()),
            _ => Json::Null,
        }
    }
}

/// What becomes of one link of the result being assembled.
#[derive(Debug, Clone)]
enum Change<'a> {
    /// Kept as stored.
    Keep(LinkValues),
    /// Deleted.
    Delete,
    /// Replaced by the values of a request, as sent (only converted to the
    /// columns' types when written, as upstream's database does).
    Write(&'a Map<String, Json>),
}

/// A link of the result being assembled.
#[derive(Debug, Clone)]
struct Slot<'a> {
    parent_id: i64,
    change: Change<'a>,
    is_update: bool,
}

impl Slot<'_> {
    /// The link's priority as the duplicate check sees it (`None`: deleted).
    fn priority(&self) -> Option<Json> {
        match &self.change {
            Change::Keep(v) => Some(Json::from(v.priority)),
            Change::Delete => None,
            Change::Write(link) => Some(link.get("priority").cloned().unwrap_or_default()),
        }
    }
}

/// Whether a requested link changes the stored one: Python's `!=` on any of
/// the link's fields (so `"10"` differs from a stored 10, `1` equals `True`).
fn link_differs(orig: &LinkValues, link: &Map<String, Json>) -> bool {
    LINK_FIELDS[1..]
        .iter()
        .any(|f| !py_eq(&orig.get(f), link.get(*f).unwrap_or(&Json::Null)))
}

/// A requested link's values as `tag_inheritance` stores them, refusing
/// what PostgreSQL refuses (columns checked in the insert's column order).
fn link_values(link: &Map<String, Json>) -> Result<LinkValues> {
    let field = |f: &str| link.get(f).unwrap_or(&Json::Null);
    let not_null = |f: &str| pg_not_null(f, "tag_inheritance");
    let intransitive = pg_boolean(field("intransitive"), "intransitive")?;
    let maxdepth = pg_integer(field("maxdepth"), "maxdepth")?;
    let noconfig = pg_boolean(field("noconfig"), "noconfig")?;
    let pkg_filter = pg_text(field("pkg_filter"), "pkg_filter")?;
    let priority = pg_integer(field("priority"), "priority")?;
    Ok(LinkValues {
        intransitive: intransitive.ok_or_else(|| not_null("intransitive"))?,
        maxdepth,
        noconfig: noconfig.ok_or_else(|| not_null("noconfig"))?,
        pkg_filter,
        priority: priority.ok_or_else(|| not_null("priority"))?,
    })
}

/// Upstream's `_writeInheritanceData` (no permission check): adds, changes
/// or deletes (`"delete link": True`) links of `tag_id`; with `clear`, the
/// links not mentioned are deleted.
async fn write_inheritance(
    tx: &mut Tx,
    tag_id: i64,
    changes: &Json,
    clear: bool,
    user_id: i64,
) -> Result<()> {
    let changes: Vec<&Json> = match changes {
        Json::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut links: Vec<&Map<String, Json>> = vec![];
    for link in changes {
        let Json::Object(link) = link else {
            return Err(Error::Parameter(format!(
                "Invalid inheritance link: {}",
                py_repr(link)
            )));
        };
        let deleting = link.get("delete link").is_some_and(truthy);
        let check: &[&str] = if deleting {
            &LINK_FIELDS[..1]
        } else {
            &LINK_FIELDS
        };
        for f in check {
            if !link.contains_key(*f) {
                return Err(Error::Generic(format!("No value for {f}")));
            }
        }
        let parent = &link["parent_id"];
        get_tag_in(&**tx, parent, true, TagEvent::At(None), false).await?;
        links.push(link);
    }
    let current = read_inheritance_data_in(&**tx, tag_id, None).await?;
    let mut data: Vec<Slot> = current
        .into_iter()
        .map(|l| Slot {
            parent_id: l.parent_id,
            change: Change::Keep(LinkValues {
                priority: l.priority,
                maxdepth: l.maxdepth,
                intransitive: l.intransitive,
                noconfig: l.noconfig,
                pkg_filter: l.pkg_filter,
            }),
            is_update: false,
        })
        .collect();
    for link in links {
        // the parent exists, so a text id names a tag; the database reads
        // it as a number
        let parent_id = pg_integer(&link["parent_id"], "parent_id")?
            .ok_or_else(|| pg_not_null("parent_id", "tag_inheritance"))?;
        let pos = data.iter().position(|s| s.parent_id == parent_id);
        let orig = pos.and_then(|i| match &data[i].change {
            Change::Keep(v) => Some(v),
            _ => None,
        });
        let slot = if link.get("delete link").is_some_and(truthy) {
            // deleting a link that does not exist changes nothing
            pos.map(|_| Change::Delete)
        } else {
            let differs = match orig {
                Some(orig) => clear || link_differs(orig, link),
                None => true,
            };
            differs.then_some(Change::Write(link))
        };
        if let Some(change) = slot {
            let slot = Slot {
                parent_id,
                change,
                is_update: true,
            };
            match pos {
                Some(i) => data[i] = slot,
                None => data.push(slot),
            }
        }
    }
    if clear {
        for slot in data.iter_mut().filter(|s| !s.is_update) {
            slot.change = Change::Delete;
            slot.is_update = true;
        }
    }
    if !data.iter().any(|s| s.is_update) {
        tracing::info!(tag_id, "no inheritance changes");
        return Ok(());
    }
    // duplicate priorities, compared as sent (as Python dict keys)
    let mut by_priority: Vec<(Json, Vec<Json>)> = vec![];
    for slot in &data {
        let Some(pri) = slot.priority() else { continue };
        if matches!(pri, Json::Array(_) | Json::Object(_)) {
            return Err(py_exception(
                "TypeError",
                &format!("unhashable type: '{}'", py_type_of(&pri)),
            ));
        }
        let parent = match &slot.change {
            Change::Write(link) => link["parent_id"].clone(),
            _ => Json::from(slot.parent_id),
        };
        match by_priority.iter_mut().find(|(p, _)| py_eq(p, &pri)) {
            Some((_, ids)) => ids.push(parent),
            None => by_priority.push((pri, vec![parent])),
        }
    }
    if let Some((pri, ids)) = by_priority.iter().find(|(_, ids)| ids.len() > 1) {
        let pri = match pri {
            Json::Bool(b) => (*b as i64).to_string(),
            Json::Number(n) => match n.as_i64() {
                Some(i) => i.to_string(),
                None => format!("{:.0}", n.as_f64().unwrap_or_default().trunc()),
            },
            other => {
                return Err(py_exception(
                    "TypeError",
                    &format!(
                        "%d format: a real number is required, not {}",
                        py_type_of(other)
                    ),
                ))
            }
        };
        return Err(Error::Generic(format!(
            "Multiple parent tags ({}) cannot have the same priority value ({pri}) on child tag {tag_id}",
            py_repr(&Json::from(ids.clone()))
        )));
    }
    // the values to write, as the database would take them; priorities
    // that differed only as sent (`"7"` and 7) collide in its unique key
    let mut writes: Vec<(i64, LinkValues)> = vec![];
    let mut taken: Vec<i64> = data
        .iter()
        .filter_map(|s| match &s.change {
            Change::Keep(v) if !s.is_update => Some(v.priority),
            _ => None,
        })
        .collect();
    for slot in data.iter().filter(|s| s.is_update) {
        if let Change::Write(link) = slot.change {
            let values = link_values(link)?;
            if taken.contains(&values.priority) {
                return Err(pg_fault(
                    "UniqueViolation",
                    "duplicate key value violates unique constraint \
                     \"tag_inheritance_tag_id_priority_active_key\""
                        .into(),
                ));
            }
            taken.push(values.priority);
            writes.push((slot.parent_id, values));
        }
    }
    for slot in data.iter().filter(|s| s.is_update) {
        versioned::revoke(
            tx,
            "tag_inheritance",
            "tag_id = ? AND parent_id = ?",
            params![tag_id, slot.parent_id],
            user_id,
        )
        .await?;
    }
    for (parent_id, v) in writes {
        versioned::insert(
            tx,
            "tag_inheritance",
            &[
                "tag_id",
                "parent_id",
                "priority",
                "maxdepth",
                "intransitive",
                "noconfig",
                "pkg_filter",
            ],
            params![
                tag_id,
                parent_id,
                v.priority,
                v.maxdepth,
                v.intransitive,
                v.noconfig,
                v.pkg_filter
            ],
            user_id,
        )
        .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Values as upstream's database takes them
// ---------------------------------------------------------------------------
//
// Upstream passes request values to PostgreSQL as psycopg2 renders them: a
// str as a quoted literal, which the column type's input function parses
// (so `'10'` fills an INTEGER column); an int, float or bool as a typed
// literal, which only an assignment cast may convert. These helpers take a
// decoded XML-RPC value for a column the way that round trip does (as
// PostgreSQL 15 does: its `int4in` takes no `_` separators nor `0x` prefixes),
// and refuse what it refuses with the fault upstream reports (code 1, the
// psycopg2 error's class and first line).

fn pg_fault(class: &str, msg: String) -> Error {
    py_exception(&format!("psycopg2.errors.{class}"), &msg)
}

/// The fault for NULL in a NOT NULL column of `table`.
pub fn pg_not_null(column: &str, table: &str) -> Error {
    pg_fault(
        "NotNullViolation",
        format!("null value in column \"{column}\" of relation \"{table}\" violates not-null constraint"),
    )
}

/// The white space PostgreSQL's input functions skip (C `isspace`).
fn pg_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}')
}

/// A str psycopg2 can send (it refuses NUL characters).
fn pg_literal(s: &str) -> Result<&str> {
    if s.contains('\0') {
        return Err(py_exception(
            "ValueError",
            "A string literal cannot contain NUL (0x00) characters.",
        ));
    }
    Ok(s)
}

/// The SQL type of the literal psycopg2 writes for a number.
fn pg_number_type(n: &serde_json::Number) -> &'static str {
    match n.as_i64() {
        Some(i) if i32::try_from(i).is_ok() => "integer",
        Some(_) => "bigint",
        None => "numeric",
    }
}

fn pg_type_mismatch(column: &str, ty: &str, expr: &str) -> Error {
    pg_fault(
        "DatatypeMismatch",
        format!("column \"{column}\" is of type {ty} but expression is of type {expr}"),
    )
}

/// PostgreSQL's `integer` input function: optional white space around an
/// optionally signed run of ASCII digits, within 32 bits.
pub fn pg_parse_int4(s: &str) -> Result<i64> {
    let invalid = || {
        pg_fault(
            "InvalidTextRepresentation",
            format!("invalid input syntax for type integer: \"{s}\""),
        )
    };
    let out_of_range = || {
        pg_fault(
            "NumericValueOutOfRange",
            format!("value \"{s}\" is out of range for type integer"),
        )
    };
    let rest = s.trim_start_matches(pg_space);
    let (negative, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest.strip_prefix('+').unwrap_or(rest)),
    };
    let ndigits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if ndigits == 0 {
        return Err(invalid());
    }
    // accumulated as PostgreSQL does: overflow is found digit by digit,
    // before the trailing characters are looked at
    let limit = 1i64 << 31;
    let mut value = 0i64;
    for b in rest[..ndigits].bytes() {
        value = value * 10 + i64::from(b - b'0');
        if value > limit {
            return Err(out_of_range());
        }
    }
    if !rest[ndigits..].trim_start_matches(pg_space).is_empty() {
        return Err(invalid());
    }
    match (negative, value == limit) {
        (true, _) => Ok(-value),
        (false, true) => Err(out_of_range()),
        (false, false) => Ok(value),
    }
}

/// PostgreSQL's `boolean` input function: `t`/`true`, `y`/`yes`, `on`,
/// `1` and `f`/`false`, `n`/`no`, `off`, `0`, any case, any unambiguous
/// prefix, with white space around.
pub fn pg_parse_bool(s: &str) -> Result<bool> {
    let word = s.trim_matches(pg_space).to_ascii_lowercase();
    let prefix_of = |full: &str, min: usize| word.len() >= min && full.starts_with(&word);
    let value = match word.as_bytes().first() {
        Some(b't') if prefix_of("true", 1) => Some(true),
        Some(b'f') if prefix_of("false", 1) => Some(false),
        Some(b'y') if prefix_of("yes", 1) => Some(true),
        Some(b'n') if prefix_of("no", 1) => Some(false),
        Some(b'o') if prefix_of("on", 2) => Some(true),
        Some(b'o') if prefix_of("off", 2) => Some(false),
        Some(b'1') if word.len() == 1 => Some(true),
        Some(b'0') if word.len() == 1 => Some(false),
        _ => None,
    };
    value.ok_or_else(|| {
        pg_fault(
            "InvalidTextRepresentation",
            format!("invalid input syntax for type boolean: \"{s}\""),
        )
    })
}

/// A value for an INTEGER column (`None`: NULL). Integers must fit in 32
/// bits, floats are rounded (half away from zero), texts are parsed;
/// booleans are refused.
pub fn pg_integer(v: &Json, column: &str) -> Result<Option<i64>> {
    let out_of_range = || pg_fault("NumericValueOutOfRange", "integer out of range".into());
    let fits = |i: i64| i32::try_from(i).is_ok();
    match v {
        Json::Null => Ok(None),
        Json::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) if fits(i) => Ok(Some(i)),
            (Some(_), _) => Err(out_of_range()),
            (None, Some(f)) if n.is_f64() => {
                let r = f.round();
                if r >= f64::from(i32::MIN) && r <= f64::from(i32::MAX) {
                    Ok(Some(r as i64))
                } else {
                    Err(out_of_range())
                }
            }
            _ => Err(out_of_range()),
        },
        Json::Bool(_) => Err(pg_type_mismatch(column, "integer", "boolean")),
        Json::String(s) => pg_parse_int4(pg_literal(s)?).map(Some),
        other => Err(Error::Parameter(format!(
            "Invalid type for {column}: {}",
            py_repr(other)
        ))),
    }
}

/// A value for a BOOLEAN column (`None`: NULL): a boolean, or a text
/// PostgreSQL reads as one; numbers are refused.
pub fn pg_boolean(v: &Json, column: &str) -> Result<Option<bool>> {
    match v {
        Json::Null => Ok(None),
        Json::Bool(b) => Ok(Some(*b)),
        Json::String(s) => pg_parse_bool(pg_literal(s)?).map(Some),
        Json::Number(n) => Err(pg_type_mismatch(column, "boolean", pg_number_type(n))),
        other => Err(Error::Parameter(format!(
            "Invalid type for {column}: {}",
            py_repr(other)
        ))),
    }
}

/// A value for a TEXT column (`None`: NULL): texts as they are; numbers
/// and booleans as PostgreSQL prints them.
pub fn pg_text(v: &Json, column: &str) -> Result<Option<String>> {
    match v {
        Json::Null => Ok(None),
        Json::String(s) => Ok(Some(pg_literal(s)?.to_string())),
        Json::Bool(b) => Ok(Some(b.to_string())),
        Json::Number(n) => Ok(Some(match (n.as_f64(), n.is_f64()) {
            (Some(f), true) => pg_float_text(f),
            _ => n.to_string(),
        })),
        other => Err(Error::Parameter(format!(
            "Invalid type for {column}: {}",
            py_repr(other)
        ))),
    }
}

/// A Python float as PostgreSQL's `numeric` prints the literal psycopg2
/// writes for it (Python's `repr`): plain decimal notation, and a `.0`
/// where `repr` has one (integral values below 1e16).
fn pg_float_text(f: f64) -> String {
    if f == 0.0 {
        return "0.0".into();
    }
    let text = format!("{f}");
    if f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{text}.0")
    } else {
        text
    }
}

/// Inserts a live `tag_extra` row (value: JSON text, or NULL for a block).
async fn insert_extra(
    tx: &mut Tx,
    tag_id: i64,
    key: &str,
    value: Option<String>,
    user_id: i64,
) -> Result<()> {
    versioned::insert(
        tx,
        "tag_extra",
        &["tag_id", "key", "value"],
        params![tag_id, key.to_string(), value],
        user_id,
    )
    .await
}

async fn revoke_extra(tx: &mut Tx, tag_id: i64, key: &str, user_id: i64) -> Result<u64> {
    versioned::revoke(
        tx,
        "tag_extra",
        "tag_id = ? AND key = ?",
        params![tag_id, key.to_string()],
        user_id,
    )
    .await
}

/// The tables whose rows belong to a tag (all revoked when it is deleted),
/// with the column naming it.
const TAG_OWNED: &[(&str, &str)] = &[
    ("tag_config", "tag_id"),
    ("tag_extra", "tag_id"),
    ("tag_inheritance", "tag_id"),
    ("tag_inheritance", "parent_id"),
    ("build_target_config", "build_tag"),
    ("build_target_config", "dest_tag"),
    ("tag_listing", "tag_id"),
    ("tag_packages", "tag_id"),
    ("tag_package_owners", "tag_id"),
    ("tag_external_repos", "tag_id"),
    ("group_config", "tag_id"),
    ("group_req_listing", "tag_id"),
    ("group_package_listing", "tag_id"),
];

/// Upstream's `_create_tag` inside `tx` (no permission check): validates
/// the parameters of `createTag` and creates the tag, reusing the id of an
/// earlier deleted tag of the same name. Returns the tag's id.
pub async fn create_tag_in(
    tx: &mut Tx,
    names: &NameRules,
    caller: &Caller,
    t: &NewTag,
) -> Result<i64> {
    let user_id = caller.user_id()?;
    let name = names.internal(&t.name)?.to_string();
    let arches = parse_arches_strict(&t.arches)?;
    if !MAVEN_ENABLED && (t.maven_support || t.maven_include_all) {
        return Err(Error::generic("Maven support not enabled"));
    }
    let name_json = Json::from(name.as_str());
    if get_tag_in(&**tx, &name_json, false, TagEvent::At(None), false)
        .await?
        .is_some()
    {
        return Err(Error::Generic(format!(
            "A tag with the name '{name}' already exists"
        )));
    }
    let parent_id = if truthy(&t.parent) {
        match get_tag_in(&**tx, &t.parent, false, TagEvent::At(None), false).await? {
            Some(p) => Some(p.id),
            None => {
                return Err(Error::Generic(format!(
                    "Parent tag '{}' could not be found",
                    py_str(&t.parent)
                )))
            }
        }
    } else {
        None
    };
    let perm_id = match &t.perm {
        Json::Null => None,
        perm => lookup_name(&**tx, "permissions", perm, true, false)
            .await?
            .map(|p| p.id),
    };
    let tag_id = lookup_name(&**tx, "tag", &name_json, false, true)
        .await?
        .map(|r| r.id)
        .ok_or_else(|| Error::generic("tag creation failed"))?;
    versioned::insert(
        tx,
        "tag_config",
        &[
            "tag_id",
            "arches",
            "perm_id",
            "locked",
            "maven_support",
            "maven_include_all",
        ],
        params![
            tag_id,
            arches,
            perm_id,
            t.locked,
            t.maven_support,
            t.maven_include_all
        ],
        user_id,
    )
    .await?;
    match &t.extra {
        Json::Null => {}
        Json::Object(extra) => {
            for (key, value) in extra {
                insert_extra(tx, tag_id, key, Some(py_json_dumps(value)), user_id).await?;
            }
        }
        other => {
            return Err(py_exception(
                "AttributeError",
                &format!("'{}' object has no attribute 'items'", py_type_of(other)),
            ))
        }
    }
    if let Some(parent_id) = parent_id {
        let link = serde_json::json!({
            "parent_id": parent_id,
            "priority": 0,
            "maxdepth": null,
            "intransitive": false,
            "noconfig": false,
            "pkg_filter": "",
        });
        write_inheritance(tx, tag_id, &link, false, user_id).await?;
    }
    Ok(tag_id)
}

/// Upstream's `_edit_tag` inside `tx` (no permission check): the changes
/// of `editTag2` (see [`Tags::edit`]).
pub async fn edit_tag_in(
    tx: &mut Tx,
    names: &NameRules,
    caller: &Caller,
    info: &Json,
    kw: &Map<String, Json>,
) -> Result<()> {
    let user_id = caller.user_id()?;
    if !MAVEN_ENABLED && (kw.contains_key("maven_support") || kw.contains_key("maven_include_all"))
    {
        return Err(Error::generic("Maven support not enabled"));
    }
    for key in ["remove_extra", "block_extra"] {
        if let Some(v) = kw.get(key).filter(|v| truthy(v)) {
            if !v.is_array() {
                return Err(Error::Parameter(format!(
                    "Invalid type for value '{}': <class '{}'>, expected type <class 'list'>",
                    py_str(v),
                    py_type_of(v)
                )));
            }
        }
    }
    let tag = get_tag_in(&**tx, info, true, TagEvent::At(None), false)
        .await?
        .ok_or_else(|| Error::Generic(format!("No such tagInfo: {}", py_repr(info))))?;

    // perm_id (perm is its older spelling; perm_id wins)
    let perm_arg = kw.get("perm_id").or_else(|| kw.get("perm"));
    let new_perm = match perm_arg {
        None => None,
        Some(Json::Null) => Some(None),
        Some(p) => Some(
            lookup_name(&**tx, "permissions", p, true, false)
                .await?
                .map(|r| r.id),
        ),
    };

    if let Some(name) = kw.get("name").filter(|n| truthy(n)) {
        if !py_eq(&Json::from(tag.name.as_str()), name) {
            let name = names.internal(name)?;
            let taken =
                fetch_opt(&**tx, "SELECT id FROM tag WHERE name = ?", params![name]).await?;
            if let Some(r) = taken {
                return Err(Error::Generic(format!(
                    "Name {name} already taken by tag {}",
                    r.int("id")?
                )));
            }
            db::exec(
                &**tx,
                "UPDATE tag SET name = ? WHERE id = ?",
                params![name, tag.id],
            )
            .await?;
        }
    }

    let new_arches: Option<Option<String>> = match kw.get("arches") {
        None => None,
        Some(a) if truthy(a) && !py_eq(&Json::from(tag.arches.clone()), a) => {
            Some(Some(parse_arches_strict(a)?))
        }
        Some(Json::Null) => Some(None),
        Some(Json::String(s)) => Some(Some(s.clone())),
        Some(other) => {
            return Err(Error::Parameter(format!(
                "Invalid type for arches: {}",
                py_repr(other)
            )))
        }
    };

    let mut perm_id = tag.perm_id;
    let mut arches = tag.arches.clone();
    let mut locked = tag.locked;
    let mut changed = false;
    if let Some(p) = new_perm {
        if p != perm_id {
            perm_id = p;
            changed = true;
        }
    }
    if let Some(a) = new_arches {
        if a != arches {
            arches = a;
            changed = true;
        }
    }
    if let Some(l) = kw.get("locked") {
        if !py_eq(&Json::Bool(locked), l) {
            locked = truthy(l);
            changed = true;
        }
    }
    if changed {
        versioned::revoke(tx, "tag_config", "tag_id = ?", params![tag.id], user_id).await?;
        versioned::insert(
            tx,
            "tag_config",
            &[
                "arches",
                "perm_id",
                "locked",
                "tag_id",
                "maven_support",
                "maven_include_all",
            ],
            params![
                arches,
                perm_id,
                locked,
                tag.id,
                tag.maven_support,
                tag.maven_include_all
            ],
            user_id,
        )
        .await?;
    }

    if let Some(extra) = kw.get("extra") {
        let mut removed = vec![];
        for key in ["block_extra", "remove_extra"] {
            if let Some(v) = kw.get(key) {
                removed.extend(py_set(v)?);
            }
        }
        let keys = py_set(extra)?;
        if let Some(conflict) = removed.iter().find(|r| keys.iter().any(|k| py_eq(k, r))) {
            return Err(Error::Generic(format!(
                "Can not both add/update and remove tag-extra: '{}'",
                py_str(conflict)
            )));
        }
        match extra {
            Json::Object(extra) => {
                for (key, value) in extra {
                    if tag.extra.get(key).is_some_and(|old| py_eq(old, value)) {
                        continue;
                    }
                    revoke_extra(tx, tag.id, key, user_id).await?;
                    insert_extra(tx, tag.id, key, Some(py_json_dumps(value)), user_id).await?;
                }
            }
            other if !keys.is_empty() => {
                return Err(py_exception(
                    "TypeError",
                    &format!(
                        "{} indices must be integers or slices, not str",
                        py_type_of(other)
                    ),
                ))
            }
            _ => {}
        }
    }

    if let Some(block) = kw.get("block_extra") {
        for key in py_iter(block)? {
            let key = py_str(&key);
            revoke_extra(tx, tag.id, &key, user_id).await?;
            insert_extra(tx, tag.id, &key, None, user_id).await?;
        }
    }

    if let Some(remove) = kw.get("remove_extra") {
        let keys: Vec<String> = py_iter(remove)?.iter().map(py_str).collect();
        let missing: Vec<&str> = keys
            .iter()
            .filter(|k| !tag.extra.contains_key(k.as_str()))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(Error::Generic(format!(
                "Tag: {} doesn't have extra: {}",
                tag.name,
                missing.join(", ")
            )));
        }
        for key in &keys {
            revoke_extra(tx, tag.id, key, user_id).await?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The API
// ---------------------------------------------------------------------------

impl Tags<'_> {
    /// Resolves a tag given as id or name (as of `event`); `None` when absent
    /// and not `strict`, upstream's `No such tagInfo: ...` GenericError when strict.
    pub async fn resolve(
        &self,
        info: &serde_json::Value,
        event: Option<i64>,
        strict: bool,
    ) -> Result<Option<TagRef>> {
        let (clause, mut p) = name_or_id_clause("tag", info)?;
        let (live, lp) = versioned::live("tag_config", event);
        p.extend(lp);
        let row = fetch_opt(
            self.0.db().conn(),
            &format!(
                "SELECT tag.id, tag.name FROM tag_config JOIN tag ON tag.id = tag_config.tag_id \
                 WHERE {clause} AND {live}"
            ),
            p,
        )
        .await?;
        match row {
            Some(r) => Ok(Some(TagRef {
                id: r.int("id")?,
                name: r.string("name")?,
            })),
            None if strict => Err(Error::Generic(format!(
                "No such tagInfo: {}",
                py_repr(info)
            ))),
            None => Ok(None),
        }
    }

    /// The full inheritance of `tag_id` in upstream's order (depth-first by
    /// priority), honouring maxdepth, intransitive, noconfig, pkg_filter,
    /// and `reverse` (children instead of parents).
    pub async fn full_inheritance(
        &self,
        tag_id: i64,
        event: Option<i64>,
        reverse: bool,
    ) -> Result<Vec<InheritanceLink>> {
        read_full_inheritance_in(self.0.db().conn(), tag_id, event, reverse).await
    }

    /// `getTag(tagInfo, strict=False, event=None, blocked=False)`.
    pub async fn get(
        &self,
        info: &Json,
        strict: bool,
        event: TagEvent,
        blocked: bool,
    ) -> Result<Option<TagInfo>> {
        get_tag_in(self.0.db().conn(), info, strict, event, blocked).await
    }

    /// `getTagID(info, strict=False, create=False)`: the id of a tag name,
    /// deleted or not. `create` adds a bare name (no configuration), as
    /// upstream does.
    pub async fn get_id(&self, info: &Json, strict: bool, create: bool) -> Result<Option<i64>> {
        if create {
            let tx = self.0.db().begin().await?;
            let r = lookup_name(&*tx, "tag", info, strict, true).await?;
            tx.commit().await?;
            return Ok(r.map(|t| t.id));
        }
        Ok(lookup_name(self.0.db().conn(), "tag", info, strict, false)
            .await?
            .map(|t| t.id))
    }

    /// `createTag(...)`: needs the `tag` permission. Returns the new tag's id
    /// (the id of an earlier deleted tag of the same name is reused).
    pub async fn create(&self, caller: &Caller, t: &NewTag) -> Result<i64> {
        caller.assert_perm("tag")?;
        let mut tx = self.0.db().begin().await?;
        let tag_id = create_tag_in(&mut tx, &self.0.config().names, caller, t).await?;
        tx.commit().await?;
        Ok(tag_id)
    }

    /// `editTag2(tagInfo, **kwargs)`: needs the `tag` permission. Keys
    /// understood: name, arches, locked, perm/perm_id, maven_support,
    /// maven_include_all, extra, remove_extra, block_extra; others are ignored.
    pub async fn edit(&self, caller: &Caller, info: &Json, kw: &Map<String, Json>) -> Result<()> {
        caller.assert_perm("tag")?;
        let mut tx = self.0.db().begin().await?;
        edit_tag_in(&mut tx, &self.0.config().names, caller, info, kw).await?;
        tx.commit().await
    }

    /// `editTag(tagInfo, name, arches, locked, permissionID, extra=None)`:
    /// the older form of [`Tags::edit`]. As in upstream 1.35, leaving
    /// `extra` at None makes the call fail with a TypeError fault.
    #[allow(clippy::too_many_arguments)]
    pub async fn edit_legacy(
        &self,
        caller: &Caller,
        info: &Json,
        name: Json,
        arches: Json,
        locked: Json,
        permission_id: Json,
        extra: Json,
    ) -> Result<()> {
        let mut kw = Map::new();
        kw.insert("name".into(), name);
        kw.insert("arches".into(), arches);
        kw.insert("locked".into(), locked);
        kw.insert("perm_id".into(), permission_id);
        kw.insert("extra".into(), extra);
        self.edit(caller, info, &kw).await
    }

    /// `deleteTag(tagInfo)`: needs the `tag` permission. Revokes the tag's
    /// configuration and every versioned row that belongs to it (extra,
    /// inheritance both ways, targets using it, builds, packages, external
    /// repos, groups); its name stays in `tag`.
    pub async fn delete(&self, caller: &Caller, info: &Json) -> Result<()> {
        caller.assert_perm("tag")?;
        let user_id = caller.user_id()?;
        let mut tx = self.0.db().begin().await?;
        let tag = get_tag_in(&*tx, info, true, TagEvent::At(None), false)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such tagInfo: {}", py_repr(info))))?;
        for (table, column) in TAG_OWNED {
            versioned::revoke(
                &mut tx,
                table,
                &format!("{column} = ?"),
                params![tag.id],
                user_id,
            )
            .await?;
        }
        tx.commit().await
    }

    /// `getInheritanceData(tag, event=None)`.
    pub async fn inheritance_data(
        &self,
        tag: &Json,
        event: Option<i64>,
    ) -> Result<Vec<InheritanceData>> {
        let db = self.0.db().conn();
        let id = lookup_name(db, "tag", tag, true, false)
            .await?
            .map(|t| t.id)
            .ok_or_else(|| Error::generic("tag lookup failed"))?;
        read_inheritance_data_in(db, id, event).await
    }

    /// `setInheritanceData(tag, data, clear=False)`: needs the `tag`
    /// permission (checked after the tag is found, as upstream does).
    pub async fn set_inheritance_data(
        &self,
        caller: &Caller,
        tag: &Json,
        data: &Json,
        clear: bool,
    ) -> Result<()> {
        let id = lookup_name(self.0.db().conn(), "tag", tag, true, false)
            .await?
            .map(|t| t.id)
            .ok_or_else(|| Error::generic("tag lookup failed"))?;
        caller.assert_perm("tag")?;
        let user_id = caller.user_id()?;
        let mut tx = self.0.db().begin().await?;
        write_inheritance(&mut tx, id, data, clear, user_id).await?;
        tx.commit().await
    }

    /// `getFullInheritance(tag, event=None, reverse=False)`: an integer is
    /// taken as a tag id without lookup, a name must exist.
    pub async fn full_inheritance_of(
        &self,
        tag: &Json,
        event: Option<i64>,
        reverse: bool,
    ) -> Result<Vec<InheritanceLink>> {
        let db = self.0.db().conn();
        let id = match tag {
            Json::Number(n) if n.is_i64() => n.as_i64().unwrap_or_default(),
            other => lookup_name(db, "tag", other, true, false)
                .await?
                .map(|t| t.id)
                .ok_or_else(|| Error::generic("tag lookup failed"))?,
        };
        read_full_inheritance_in(db, id, event, reverse).await
    }

    /// `getBuildConfig(tag, event=None)`: the tag with arches (when it has
    /// none) and extra settings taken from its inheritance, skipping
    /// `noconfig` links; blocked extra keys are dropped.
    pub async fn build_config(&self, tag: &Json, event: Option<i64>) -> Result<BuildConfig> {
        let db = self.0.db().conn();
        let mut info = get_tag_in(db, tag, true, TagEvent::At(event), true)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such tagInfo: {}", py_repr(tag))))?;
        let mut inherited = ConfigInheritance {
            extra: Map::new(),
            arches: None,
        };
        for link in read_full_inheritance_in(db, info.id, event, false).await? {
            if link.noconfig {
                continue;
            }
            let ancestor = get_tag_in(
                db,
                &Json::from(link.parent_id),
                true,
                TagEvent::At(event),
                true,
            )
            .await?
            .ok_or_else(|| Error::generic("ancestor lookup failed"))?;
            let origin = || TagRef {
                id: ancestor.id,
                name: ancestor.name.clone(),
            };
            if info.arches.is_none() && ancestor.arches.is_some() {
                info.arches = ancestor.arches.clone();
                inherited.arches = Some(origin());
            }
            for (key, value) in &ancestor.extra {
                if !info.extra.contains_key(key) {
                    info.extra.insert(key.clone(), value.clone());
                    inherited
                        .extra
                        .insert(key.clone(), serde_json::to_value(origin())?);
                }
            }
        }
        info.extra = std::mem::take(&mut info.extra)
            .into_iter()
            .filter_map(|(k, v)| match v {
                Json::Array(mut pair) if pair.len() == 2 => {
                    let value = pair.pop().unwrap_or(Json::Null);
                    (!truthy(&pair[0])).then_some((k, value))
                }
                other => Some((k, other)),
            })
            .collect();
        Ok(BuildConfig {
            tag: info,
            config_inheritance: inherited,
        })
    }

    /// `listTags(build=None, package=None, perms=True, queryOpts=None,
    /// pattern=None)`: the live tags, optionally those holding a build or
    /// listing a package (then with the package's owner, blocked flag and
    /// extra arches), with or without their permission, or matching a glob;
    /// sorted, paged or counted by `queryOpts`.
    pub async fn list(&self, opts: &ListTags, query_opts: &QueryOpts) -> Result<Json> {
        if !opts.build.is_null() && !opts.package.is_null() {
            return Err(Error::generic(
                "only one of build and package may be specified",
            ));
        }
        let db = self.0.db().conn();
        let mut cols = vec![
            ("tag.id", "id"),
            ("tag.name", "name"),
            ("tag_config.arches", "arches"),
            ("tag_config.locked", "locked"),
            ("tag_config.maven_support", "maven_support"),
            ("tag_config.maven_include_all", "maven_include_all"),
        ];
        let mut joins = vec!["JOIN tag ON tag.id = tag_config.tag_id".to_string()];
        let mut wh = db::Where::new();
        wh.and("tag_config.active = TRUE", params![]);
        if opts.perms {
            joins.push("LEFT OUTER JOIN permissions ON tag_config.perm_id = permissions.id".into());
            cols.push(("tag_config.perm_id", "perm_id"));
            cols.push(("permissions.name", "perm"));
        }
        if !opts.build.is_null() {
            let build_id = super::builds::get_build_in(db, &opts.build, false)
                .await?
                .map(|b| b.id)
                .ok_or_else(|| Error::Generic(format!("No such build: {}", py_str(&opts.build))))?;
            joins.push("JOIN tag_listing ON tag.id = tag_listing.tag_id".into());
            wh.and("tag_listing.active = TRUE", params![]);
            wh.and("tag_listing.build_id = ?", params![build_id]);
        } else if !opts.package.is_null() {
            let pkg = lookup_name(db, "package", &opts.package, false, false)
                .await?
                .ok_or_else(|| {
                    Error::Generic(format!("No such package: {}", py_str(&opts.package)))
                })?;
            cols.extend([
                ("users.id", "owner_id"),
                ("users.name", "owner_name"),
                ("tag_packages.blocked", "blocked"),
                ("tag_packages.extra_arches", "extra_arches"),
            ]);
            joins.push("JOIN tag_packages ON tag.id = tag_packages.tag_id".into());
            joins.push(
                "JOIN tag_package_owners ON tag_packages.tag_id = tag_package_owners.tag_id \
                 AND tag_packages.package_id = tag_package_owners.package_id \
                 AND tag_package_owners.active = TRUE"
                    .into(),
            );
            joins.push("JOIN users ON tag_package_owners.owner = users.id".into());
            wh.and("tag_packages.active = TRUE", params![]);
            wh.and("tag_packages.package_id = ?", params![pkg.id]);
        }
        if let Some(pattern) = &opts.pattern {
            let like = pattern
                .replace('\\', "\\\\")
                .replace('_', "\\_")
                .replace('?', "_")
                .replace('*', "%");
            wh.and("LOWER(tag.name) LIKE LOWER(?) ESCAPE '\\'", params![like]);
        }
        // upstream's rows carry their keys sorted (its query sorts its
        // columns by alias)
        cols.sort_by_key(|(_, alias)| *alias);
        let select: Vec<String> = cols.iter().map(|(c, a)| format!("{c} AS {a}")).collect();
        let sql = format!(
            "SELECT {} FROM tag_config {}{} ORDER BY tag.id",
            select.join(", "),
            joins.join(" "),
            wh.sql()
        );
        let rows = fetch_all(db, &sql, wh.params).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let mut m = Map::new();
            for (_, alias) in &cols {
                let v = match *alias {
                    "id" | "perm_id" | "owner_id" => Json::from(r.opt_int(alias)?),
                    "locked" | "maven_support" | "maven_include_all" | "blocked" => {
                        Json::from(r.boolean(alias)?)
                    }
                    _ => Json::from(r.opt_string(alias)?),
                };
                m.insert((*alias).to_string(), v);
            }
            out.push(Json::Object(m));
        }
        let aliases: Vec<&str> = cols.iter().map(|(_, a)| *a).collect();
        let columns = cols
            .iter()
            .fold(Columns::sorted(&aliases), |c, (expr, alias)| {
                c.expr(expr, alias)
            });
        query_opts.apply(out, &columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arches_are_normalized_strictly() {
        assert_eq!(parse_arches_strict(&json!(null)).unwrap(), "");
        assert_eq!(
            parse_arches_strict(&json!("  x86_64   aarch64 ")).unwrap(),
            "x86_64 aarch64"
        );
        assert_eq!(
            parse_arches_strict(&json!(["x86_64", "ppc64le"])).unwrap(),
            "x86_64 ppc64le"
        );
        let e = parse_arches_strict(&json!("x86_64,ppc64le")).unwrap_err();
        assert_eq!(e.to_string(), "Architecture can be only [a-zA-Z0-9_-]");
        assert_eq!(e.fault_code(), 1000);
        assert_eq!(parse_arches_strict(&json!(5)).unwrap_err().fault_code(), 1);
    }

    #[test]
    fn name_or_id_reads_like_upstream() {
        assert_eq!(name_or_id(&json!(3)).unwrap(), NameOrId::Id(3));
        assert_eq!(
            name_or_id(&json!("f40")).unwrap(),
            NameOrId::Name("f40".into())
        );
        assert_eq!(name_or_id(&json!({"id": "7"})).unwrap(), NameOrId::Id(7));
        assert_eq!(
            name_or_id(&json!({"name": "x"})).unwrap(),
            NameOrId::Name("x".into())
        );
        let e = name_or_id(&json!(1.5)).unwrap_err();
        assert_eq!(e.fault_code(), 1019);
        assert_eq!(e.to_string(), "Invalid name or id value: 1.5");
        assert_eq!(
            name_or_id(&json!({"x": 1})).unwrap_err().to_string(),
            "Invalid name or id value: {'x': 1}"
        );
    }

    #[test]
    fn json_dumps_matches_python() {
        assert_eq!(
            py_json_dumps(&json!({"a": [1, true, null], "b": "é\""})),
            r#"{"a": [1, true, null], "b": "\u00e9\""}"#
        );
        assert_eq!(py_json_dumps(&json!("😀")), r#""\ud83d\ude00""#);
    }

    #[test]
    fn python_equality() {
        assert!(py_eq(&json!(1), &json!(true)));
        assert!(py_eq(&json!(1), &json!(1.0)));
        assert!(py_eq(&json!({"a": 1, "b": 2}), &json!({"b": 2, "a": 1})));
        assert!(!py_eq(&json!("1"), &json!(1)));
        assert!(!py_eq(&json!(null), &json!(false)));
    }

    fn raw(tag: i64, parent: i64, pri: i64) -> RawLink {
        RawLink {
            tag_id: tag,
            parent_id: parent,
            name: format!("t{parent}"),
            priority: pri,
            maxdepth: None,
            intransitive: false,
            noconfig: false,
            pkg_filter: Some(String::new()),
        }
    }

    fn walk(adj: HashMap<i64, Vec<RawLink>>, start: i64) -> Vec<InheritanceLink> {
        let mut w = Walk {
            adj: &adj,
            reverse: false,
            log_loops: false,
            order: vec![],
            hist: HashMap::new(),
            top: vec![],
        };
        w.recurse(start, 0, None, false, &[]);
        w.order
    }

    #[test]
    fn diamond_is_listed_once_and_loops_are_pruned() {
        // 1 -> 2 (pri 0), 1 -> 3 (pri 10); 2 -> 4; 3 -> 4; 4 -> 1 (loop)
        let adj = HashMap::from([
            (1, vec![raw(1, 2, 0), raw(1, 3, 10)]),
            (2, vec![raw(2, 4, 0)]),
            (3, vec![raw(3, 4, 0)]),
            (4, vec![raw(4, 1, 0)]),
        ]);
        let order: Vec<(i64, i64, i64)> = walk(adj, 1)
            .iter()
            .map(|l| (l.child_id, l.parent_id, l.currdepth))
            .collect();
        assert_eq!(order, vec![(1, 2, 1), (2, 4, 2), (1, 3, 1)]);
    }

    #[test]
    fn a_deeper_second_path_is_rescanned() {
        // 1 -> 2 (maxdepth 1) -> 3; 1 -> 3 (pri 5) -> 4
        let mut limited = raw(1, 2, 0);
        limited.maxdepth = Some(1);
        let adj = HashMap::from([
            (1, vec![limited, raw(1, 3, 5)]),
            (2, vec![raw(2, 3, 0)]),
            (3, vec![raw(3, 4, 0)]),
        ]);
        let order: Vec<(i64, i64, Option<i64>)> = walk(adj, 1)
            .iter()
            .map(|l| (l.child_id, l.parent_id, l.nextdepth))
            .collect();
        assert_eq!(
            order,
            vec![(1, 2, Some(1)), (2, 3, Some(0)), (1, 3, None), (3, 4, None)]
        );
    }

    fn fault_text(r: Result<impl std::fmt::Debug>) -> String {
        match r {
            Err(e) => format!("{}: {e}", e.fault_code()),
            Ok(v) => panic!("expected a fault, got {v:?}"),
        }
    }

    #[test]
    fn integer_text_is_read_as_postgresql_reads_it() {
        // the answers of PostgreSQL 15's `'<text>'::integer`
        for (text, want) in [
            ("10", 10),
            (" 10 ", 10),
            ("+10", 10),
            ("-10", -10),
            ("\t10\n", 10),
            ("2147483647", 2147483647),
            ("-2147483648", -2147483648),
        ] {
            assert_eq!(pg_parse_int4(text).unwrap(), want, "{text:?}");
        }
        let invalid = "1: <class 'psycopg2.errors.InvalidTextRepresentation'>: \
                       invalid input syntax for type integer: ";
        let range = "1: <class 'psycopg2.errors.NumericValueOutOfRange'>: value ";
        for (text, want) in [
            ("10x", format!("{invalid}\"10x\"")),
            ("1_0", format!("{invalid}\"1_0\"")),
            ("0x1A", format!("{invalid}\"0x1A\"")),
            ("1.5", format!("{invalid}\"1.5\"")),
            ("", format!("{invalid}\"\"")),
            (" ", format!("{invalid}\" \"")),
            ("-", format!("{invalid}\"-\"")),
            ("\u{661}\u{662}", format!("{invalid}\"\u{661}\u{662}\"")),
            // overflow of a positive value is found after the trailing text
            ("2147483648x", format!("{invalid}\"2147483648x\"")),
            (
                "2147483649x",
                format!("{range}\"2147483649x\" is out of range for type integer"),
            ),
            (
                "2147483648",
                format!("{range}\"2147483648\" is out of range for type integer"),
            ),
            (
                "-2147483649",
                format!("{range}\"-2147483649\" is out of range for type integer"),
            ),
            (
                "99999999999999999999",
                format!("{range}\"99999999999999999999\" is out of range for type integer"),
            ),
        ] {
            assert_eq!(fault_text(pg_parse_int4(text)), want, "{text:?}");
        }
    }

    #[test]
    fn boolean_text_is_read_as_postgresql_reads_it() {
        for (text, want) in [
            ("t", true),
            ("T", true),
            ("true", true),
            ("tru", true),
            (" yes ", true),
            ("y", true),
            ("ye", true),
            ("on", true),
            ("ON", true),
            ("1", true),
            ("f", false),
            ("fal", false),
            ("FALSE", false),
            ("n", false),
            ("no", false),
            ("of", false),
            ("off", false),
            ("0", false),
        ] {
            assert_eq!(pg_parse_bool(text).unwrap(), want, "{text:?}");
        }
        for text in ["truex", "yess", "non", "o", "offf", "10", "", " ", "y e"] {
            assert_eq!(
                fault_text(pg_parse_bool(text)),
                format!(
                    "1: <class 'psycopg2.errors.InvalidTextRepresentation'>: \
                     invalid input syntax for type boolean: \"{text}\""
                ),
            );
        }
    }

    #[test]
    fn values_are_cast_to_the_column_type_as_postgresql_does() {
        assert_eq!(pg_integer(&json!(10), "priority").unwrap(), Some(10));
        assert_eq!(pg_integer(&json!("10"), "priority").unwrap(), Some(10));
        assert_eq!(pg_integer(&json!(null), "maxdepth").unwrap(), None);
        // a float goes through `numeric`, rounding half away from zero
        assert_eq!(pg_integer(&json!(2.5), "priority").unwrap(), Some(3));
        assert_eq!(pg_integer(&json!(-2.5), "priority").unwrap(), Some(-3));
        assert_eq!(pg_integer(&json!(10.0), "priority").unwrap(), Some(10));
        let range = "1: <class 'psycopg2.errors.NumericValueOutOfRange'>: integer out of range";
        for v in [json!(3000000000i64), json!(1e16), json!(u64::MAX)] {
            assert_eq!(fault_text(pg_integer(&v, "priority")), range, "{v}");
        }
        assert_eq!(
            fault_text(pg_integer(&json!(true), "priority")),
            "1: <class 'psycopg2.errors.DatatypeMismatch'>: column \"priority\" is of type \
             integer but expression is of type boolean"
        );
        assert_eq!(
            fault_text(pg_integer(&json!("1\u{0}"), "priority")),
            "1: <class 'ValueError'>: A string literal cannot contain NUL (0x00) characters."
        );

        assert_eq!(pg_boolean(&json!(true), "noconfig").unwrap(), Some(true));
        assert_eq!(pg_boolean(&json!("off"), "noconfig").unwrap(), Some(false));
        for (v, ty) in [
            (json!(1), "integer"),
            (json!(3000000000i64), "bigint"),
            (json!(1.5), "numeric"),
            (json!(u64::MAX), "numeric"),
        ] {
            assert_eq!(
                fault_text(pg_boolean(&v, "noconfig")),
                format!(
                    "1: <class 'psycopg2.errors.DatatypeMismatch'>: column \"noconfig\" is of \
                     type boolean but expression is of type {ty}"
                )
            );
        }

        // numbers and booleans become the text PostgreSQL prints for them
        for (v, want) in [
            (json!("^a"), "^a"),
            (json!(5), "5"),
            (json!(true), "true"),
            (json!(1.5), "1.5"),
            (json!(100.0), "100.0"),
            (json!(1e16), "10000000000000000"),
            (json!(1.2345678901234567e20), "123456789012345670000"),
            (json!(1e-5), "0.00001"),
            (json!(1.5e-5), "0.000015"),
            (json!(-0.0), "0.0"),
        ] {
            assert_eq!(
                pg_text(&v, "pkg_filter").unwrap().as_deref(),
                Some(want),
                "{v}"
            );
        }
        assert_eq!(pg_text(&json!(null), "pkg_filter").unwrap(), None);
        assert_eq!(
            pg_not_null("priority", "tag_inheritance").to_string(),
            "<class 'psycopg2.errors.NotNullViolation'>: null value in column \"priority\" of \
             relation \"tag_inheritance\" violates not-null constraint"
        );
    }
}
