//! `search` (find packages, builds, tags, targets, users, hosts, RPMs and
//! archives by name) and the result helpers of `count`,
//! `filterResults` and `countAndFilterResults` (the calling of another
//! method by name stays in `api/methods/search.rs`).
//!
//! Matching follows upstream: `glob` is a case-insensitive `LIKE` (with
//! `?`/`*` as wildcards and `_` taken literally), `regexp` a
//! case-insensitive regular expression, anything else an exact comparison.
//! PostgreSQL evaluates regular expressions itself (`~*`); SQLite has no
//! `REGEXP` function of its own, so there the candidate rows are read and
//! matched here with [`pg_regex`], a translation of PostgreSQL's regular
//! expressions (`\m`, `\M`, `\y`, `\Y` word boundaries) to the `regex`
//! crate, whose syntax otherwise agrees for everything but exotic features
//! (back-references, PostgreSQL's embedded options).

use super::query_opts::{Columns, QueryOpts};
use super::Hub;
use crate::db::{backend_of, fetch_all, Backend, RowExt};
use crate::error::{Error, Result};
use crate::util::{py_repr, py_str};
use regex::Regex;
use serde_json::{json, Map, Value as Json};
use std::cmp::Ordering;

pub struct Search<'a>(pub(super) &'a Hub);

/// A PostgreSQL regular expression (`~`, or `~*` when `icase`) compiled
/// for matching outside the database.
pub fn pg_regex(pattern: &str, icase: bool) -> Result<Regex> {
    let mut out = String::with_capacity(pattern.len() + 8);
    if icase {
        out.push_str("(?i)");
    }
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('m') => out.push_str(r"\b{start}"),
            Some('M') => out.push_str(r"\b{end}"),
            Some('y') => out.push_str(r"\b"),
            Some('Y') => out.push_str(r"\B"),
            Some('Z') => out.push_str(r"\z"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Regex::new(&out).map_err(|e| {
        Error::Generic(format!(
            "invalid regular expression: {}",
            e.to_string().lines().last().unwrap_or_default().trim()
        ))
    })
}

/// Upstream's `_prepareSearchTerms`: a glob as a `LIKE` pattern (`\` and
/// `_` escaped, `?` -> `_`, `*` -> `%`); other terms unchanged.
pub fn prepare_terms(terms: &str, match_type: &str) -> String {
    if match_type != "glob" {
        return terms.to_string();
    }
    terms
        .replace('\\', r"\\")
        .replace('_', r"\_")
        .replace('?', "_")
        .replace('*', "%")
}

/// What one search type reads: the `id` and `name` expressions, the
/// tables, an extra condition, and the expressions the terms are matched
/// against (any of them may match).
struct Target {
    id: &'static str,
    name: String,
    from: &'static str,
    cond: Option<&'static str>,
    matched: Vec<String>,
}

fn target(kind: &str, backend: Backend) -> Option<Target> {
    let simple = |table: &'static str, cond: Option<&'static str>, from: &'static str| {
        let (id, name) = match table {
            "package" => ("package.id", "package.name"),
            "tag" => ("tag.id", "tag.name"),
            "build_target" => ("build_target.id", "build_target.name"),
            "users" => ("users.id", "users.name"),
            _ => ("host.id", "host.name"),
        };
        Target {
            id,
            name: name.to_string(),
            from,
            cond,
            matched: vec![name.to_string()],
        }
    };
    Some(match kind {
        "package" => simple("package", None, "package"),
        "tag" => simple(
            "tag",
            Some("tag_config.active = TRUE"),
            "tag JOIN tag_config ON tag.id = tag_config.tag_id",
        ),
        "target" => simple(
            "build_target",
            Some("build_target_config.active = TRUE"),
            "build_target JOIN build_target_config \
             ON build_target.id = build_target_config.build_target_id",
        ),
        "user" => simple("users", None, "users"),
        "host" => simple("host", None, "host"),
        "build" => {
            let nvr = "package.name || '-' || build.version || '-' || build.release".to_string();
            Target {
                id: "build.id",
                name: nvr.clone(),
                from: "build JOIN package ON build.pkg_id = package.id",
                cond: None,
                matched: vec![nvr],
            }
        }
        "rpm" => {
            let file = "rpminfo.name || '-' || rpminfo.version || '-' || rpminfo.release \
                        || '.' || rpminfo.arch || '.rpm'"
                .to_string();
            Target {
                id: "rpminfo.id",
                name: file.clone(),
                from: "rpminfo",
                cond: None,
                matched: vec![file],
            }
        }
        "maven" => Target {
            id: "archiveinfo.id",
            name: "archiveinfo.filename".into(),
            from: "archiveinfo JOIN maven_archives ON archiveinfo.id = maven_archives.archive_id",
            cond: None,
            matched: vec![
                "archiveinfo.filename".into(),
                "maven_archives.group_id || '-' || maven_archives.artifact_id || '-' \
                 || maven_archives.version"
                    .into(),
            ],
        },
        "win" => {
            let path = "win_archives.relpath || '/' || archiveinfo.filename";
            let name = match backend {
                Backend::Postgres => format!("trim(leading '/' from {path})"),
                Backend::Sqlite => format!("ltrim({path}, '/')"),
            };
            Target {
                id: "archiveinfo.id",
                name,
                from: "archiveinfo JOIN win_archives ON archiveinfo.id = win_archives.archive_id",
                cond: None,
                matched: vec!["archiveinfo.filename".into(), path.into()],
            }
        }
        _ => return None,
    })
}

impl Search<'_> {
    /// `search(terms, type, matchType, queryOpts=None)`: `{id, name}` maps
    /// (or what `queryOpts` makes of them).
    pub async fn search(
        &self,
        terms: &Json,
        kind: &Json,
        match_type: &Json,
        query_opts: &Json,
    ) -> Result<Json> {
        if !crate::api::truthy(terms) {
            return Err(Error::generic("empty search terms"));
        }
        let opts = QueryOpts::parse(query_opts)?;
        let kind_s = match kind {
            Json::String(s) => s.as_str(),
            _ => "",
        };
        if kind_s == "file" {
            // upstream no longer searches files by name
            return opts.apply_loose(vec![]);
        }
        let conn = self.0.db().conn();
        let backend = backend_of(conn);
        let Some(t) = target(kind_s, backend) else {
            return Err(Error::Generic(format!(
                "No such search type: {}",
                py_str(kind)
            )));
        };
        let match_type = match match_type {
            Json::String(s) => s.as_str(),
            _ => "",
        };
        let terms = prepare_terms(&py_str(terms), match_type);
        let mut conds: Vec<String> = t.cond.iter().map(|c| c.to_string()).collect();
        let mut params = vec![];
        // SQLite regexps are matched here, on the `m<i>` columns
        let mut local_regex = None;
        match (match_type, backend) {
            ("regexp", Backend::Sqlite) => local_regex = Some(pg_regex(&terms, true)?),
            _ => {
                let op = match (match_type, backend) {
                    ("glob", Backend::Postgres) => "ILIKE ?",
                    ("glob", Backend::Sqlite) => r"LIKE ? ESCAPE '\'",
                    ("regexp", _) => "~* ?",
                    _ => "= ?",
                };
                let any: Vec<String> = t.matched.iter().map(|m| format!("{m} {op}")).collect();
                for _ in &t.matched {
                    params.push(crate::db::Value::from(terms.clone()));
                }
                conds.push(format!("({})", any.join(" OR ")));
            }
        }
        let mut select = format!("SELECT {} AS id, {} AS name", t.id, t.name);
        if local_regex.is_some() {
            for (i, m) in t.matched.iter().enumerate() {
                select.push_str(&format!(", {m} AS m{i}"));
            }
        }
        let mut sql = format!("{select} FROM {}", t.from);
        if !conds.is_empty() {
            sql.push_str(&format!(" WHERE {}", conds.join(" AND ")));
        }
        sql.push_str(&format!(" ORDER BY {}", t.id));
        let mut rows = vec![];
        for r in fetch_all(conn, &sql, params).await? {
            if let Some(re) = &local_regex {
                let mut hit = false;
                for i in 0..t.matched.len() {
                    if let Some(v) = r.opt_string(&format!("m{i}"))? {
                        hit |= re.is_match(&v);
                    }
                }
                if !hit {
                    continue;
                }
            }
            rows.push(json!({"id": r.int("id")?, "name": r.opt_string("name")?}));
        }
        let columns = Columns::sorted(&["id", "name"])
            .expr(t.id, "id")
            .expr(&t.name, "name");
        opts.apply(rows, &columns)
    }
}

/// `count`'s answer for a method's result: 0 for `None`, the length of a
/// list or map, else 1.
pub fn count_of(result: &Json) -> i64 {
    match result {
        Json::Null => 0,
        Json::Array(a) => a.len() as i64,
        Json::Object(m) => m.len() as i64,
        _ => 1,
    }
}

/// A Python exception that upstream lets escape (fault code 1).
fn py_exception(class: &str, msg: impl std::fmt::Display) -> Error {
    Error::Fault {
        code: 1,
        message: format!("<class '{class}'>: {msg}"),
    }
}

/// Python's `<` between two values of a result row, or its TypeError.
fn py_cmp(a: &Json, b: &Json) -> Result<Ordering> {
    let num = |v: &Json| match v {
        Json::Bool(b) => Some(*b as i64 as f64),
        Json::Number(n) => n.as_f64(),
        _ => None,
    };
    match (a, b) {
        (Json::String(x), Json::String(y)) => Ok(x.cmp(y)),
        (Json::Array(x), Json::Array(y)) => {
            for (i, j) in x.iter().zip(y) {
                if i != j {
                    return py_cmp(i, j);
                }
            }
            Ok(x.len().cmp(&y.len()))
        }
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => {
                // integers compare exactly, floats by value
                match (a.as_i64(), b.as_i64()) {
                    (Some(i), Some(j)) => Ok(i.cmp(&j)),
                    _ => Ok(x.partial_cmp(&y).unwrap_or(Ordering::Equal)),
                }
            }
            _ => Err(py_exception(
                "TypeError",
                format!(
                    "'<' not supported between instances of '{}' and '{}'",
                    crate::api::py_type_of(a),
                    crate::api::py_type_of(b)
                ),
            )),
        },
    }
}

/// Python's slice bound `list[i:]`/`list[:i]` for an integer option.
fn slice_index(v: &Json, len: usize) -> Result<usize> {
    let i = match v {
        Json::Bool(b) => *b as i64,
        Json::Number(n) if n.is_i64() => n.as_i64().unwrap_or_default(),
        other => {
            return Err(py_exception(
                "TypeError",
                format!(
                    "slice indices must be integers or None or have an __index__ method \
                     (got {})",
                    crate::api::py_type_of(other)
                ),
            ))
        }
    };
    let len = len as i64;
    let i = if i < 0 { (len + i).max(0) } else { i.min(len) };
    Ok(i as usize)
}

/// `countAndFilterResults`' processing of a method's result: the number
/// of results and the list ordered (`order`, `-order`; `None` sorts last
/// unless `noneGreatest` is false), then cut (`offset`, `limit`) as
/// `filterOpts` asks. `None` gives `(0, None)`; any other non-list is
/// refused.
pub fn filter_results(method: &str, results: Json, filter_opts: &Json) -> Result<(i64, Json)> {
    let empty = Map::new();
    let fo = match filter_opts {
        Json::Object(m) => m,
        Json::Null => &empty,
        other => return Err(crate::util::py_no_attribute(other, "get")),
    };
    let mut rows = match results {
        Json::Null => return Ok((0, Json::Null)),
        Json::Array(a) => a,
        _ => return Err(Error::Generic(format!("{method}() did not return a list"))),
    };
    let count = rows.len() as i64;
    if let Some(order) = fo.get("order").filter(|v| crate::api::truthy(v)) {
        let Json::String(order) = order else {
            return Err(py_exception(
                "AttributeError",
                format!(
                    "'{}' object has no attribute 'startswith'",
                    crate::api::py_type_of(order)
                ),
            ));
        };
        let (key, reverse) = match order.strip_prefix('-') {
            Some(k) => (k, true),
            None => (order.as_str(), false),
        };
        let none_greatest = fo.get("noneGreatest").is_none_or(crate::api::truthy);
        if !none_greatest {
            // upstream passes the key name where Python wants a function
            return Err(py_exception("TypeError", "'str' object is not callable"));
        }
        let mut keyed = Vec::with_capacity(rows.len());
        for r in rows {
            let v = match r.get(key) {
                Some(v) => v.clone(),
                None if r.is_object() => {
                    return Err(py_exception("KeyError", py_repr(&Json::from(key))))
                }
                None => {
                    return Err(py_exception(
                        "TypeError",
                        format!(
                            "{} indices must be integers or slices, not str",
                            crate::api::py_type_of(&r)
                        ),
                    ))
                }
            };
            keyed.push((v, r));
        }
        let mut err = None;
        keyed.sort_by(|(a, _), (b, _)| {
            let o = match (a.is_null(), b.is_null()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                _ => py_cmp(a, b).unwrap_or_else(|e| {
                    err.get_or_insert(e);
                    Ordering::Equal
                }),
            };
            if reverse {
                o.reverse()
            } else {
                o
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        rows = keyed.into_iter().map(|(_, r)| r).collect();
    }
    if let Some(off) = fo.get("offset").filter(|v| !v.is_null()) {
        let i = slice_index(off, rows.len())?;
        rows.drain(..i);
    }
    if let Some(lim) = fo.get("limit").filter(|v| !v.is_null()) {
        let i = slice_index(lim, rows.len())?;
        rows.truncate(i);
    }
    Ok((count, Json::Array(rows)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_become_like_patterns() {
        assert_eq!(prepare_terms("foo_b?r*", "glob"), r"foo\_b_r%");
        assert_eq!(prepare_terms(r"a\b", "glob"), r"a\\b");
        assert_eq!(prepare_terms("a_b*", "regexp"), "a_b*");
        assert_eq!(prepare_terms("a_b*", "exact"), "a_b*");
    }

    #[test]
    fn postgres_word_boundaries_translate() {
        let re = pg_regex(r"\mi386\M", false).unwrap();
        assert!(re.is_match("x86_64 i386"));
        assert!(!re.is_match("i3865"));
        assert!(pg_regex("^BASH", true).unwrap().is_match("bash-5"));
        assert!(pg_regex("(", true).is_err());
    }

    #[test]
    fn filtering_sorts_none_last_and_slices_like_python() {
        let rows = json!([{"a": 2}, {"a": null}, {"a": 1}, {"a": 3}]);
        let (n, r) = filter_results("m", rows.clone(), &json!({"order": "a"})).unwrap();
        assert_eq!(n, 4);
        assert_eq!(r, json!([{"a": 1}, {"a": 2}, {"a": 3}, {"a": null}]));
        let (_, r) =
            filter_results("m", rows.clone(), &json!({"order": "-a", "offset": 1})).unwrap();
        assert_eq!(r, json!([{"a": 3}, {"a": 2}, {"a": 1}]));
        let (_, r) = filter_results("m", rows.clone(), &json!({"offset": -1})).unwrap();
        assert_eq!(r, json!([{"a": 3}]));
        let (_, r) = filter_results("m", rows.clone(), &json!({"limit": 2})).unwrap();
        assert_eq!(r, json!([{"a": 2}, {"a": null}]));
        let e = filter_results("m", rows.clone(), &json!({"order": "b"})).unwrap_err();
        assert_eq!(e.to_string(), "<class 'KeyError'>: 'b'");
        let e = filter_results("m", json!(5), &json!({})).unwrap_err();
        assert_eq!(e.to_string(), "m() did not return a list");
        assert_eq!(
            filter_results("m", Json::Null, &json!({})).unwrap(),
            (0, Json::Null)
        );
    }
}
