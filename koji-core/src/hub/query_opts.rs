//! Upstream's `queryOpts`: the optional map many list calls accept
//! (`listUsers`, `listBuilds`, `listTasks`, `listTagged`...) to sort, page
//! and count their results.
//!
//! Keys (anything else is ignored, as upstream does):
//!
//! | key         | effect                                                          |
//! |-------------|-----------------------------------------------------------------|
//! | `order`     | comma-separated keys; a leading `-` sorts that key descending   |
//! | `offset`    | skip this many rows (after ordering)                            |
//! | `limit`     | keep at most this many rows (after the offset)                  |
//! | `countOnly` | answer the number of rows (after offset and limit) instead      |
//! | `asList`    | answer each row as a list of its values in column order         |
//! | `group`     | SQL `GROUP BY`: only calls that enable it look at it            |
//! | `rowlock`   | SQL `FOR UPDATE`: meaningless here, ignored                     |
//!
//! Upstream applies these in SQL (its `QueryProcessor`); here an area
//! fetches its rows (already filtered, as JSON objects whose keys are the
//! call's result keys), then calls [`QueryOpts::apply`] with the [`Columns`]
//! the call exposes. The result is what the call returns: a list of maps, a
//! list of lists, or an integer.
//!
//! ```
//! use koji_core::hub::query_opts::{Columns, QueryOpts};
//! use serde_json::json;
//!
//! let rows = vec![
//!     json!({"id": 1, "name": "b"}),
//!     json!({"id": 2, "name": "a"}),
//!     json!({"id": 3, "name": "c"}),
//! ];
//! let cols = Columns::sorted(&["id", "name"]);
//! let opts = QueryOpts::parse(&json!({"order": "-name", "limit": 2})).unwrap();
//! assert_eq!(
//!     opts.apply(rows.clone(), &cols).unwrap(),
//!     json!([{"id": 3, "name": "c"}, {"id": 1, "name": "b"}])
//! );
//! let opts = QueryOpts::parse(&json!({"order": "name", "asList": true})).unwrap();
//! assert_eq!(opts.apply(rows.clone(), &cols).unwrap(), json!([[2, "a"], [1, "b"], [3, "c"]]));
//! let opts = QueryOpts::parse(&json!({"countOnly": true, "offset": 1})).unwrap();
//! assert_eq!(opts.apply(rows, &cols).unwrap(), json!(2));
//! ```
//!
//! Ordering compares values as PostgreSQL would for the column types koji
//! uses: NULL sorts after every value ascending (before, descending),
//! numbers numerically, strings by code point (PostgreSQL's C collation;
//! a server with a linguistic collation may order mixed-case text
//! differently), booleans false first, lists element by element. Equal
//! rows keep their input order, so areas should fetch rows in a stable
//! order (usually by id).
//!
//! Faults for a bad `order` term follow upstream's three code paths:
//! a plain query ([`Columns::sorted`]/[`Columns::ordered`]) fails like
//! Python's bare `Exception` (fault code 1,
//! `<class 'Exception'>: Invalid order: X`); a query with an explicit set
//! of allowed terms ([`Columns::order_map`]) fails with ParameterError
//! `Invalid order term: X`; and upstream's in-memory `_applyQueryOpts`
//! ([`QueryOpts::apply_loose`]) fails like a `KeyError`.

use crate::api::truthy;
use crate::error::{Error, Result};
use crate::util::py_repr;
use serde_json::{Map, Value as Json};
use std::cmp::Ordering;

/// A parsed `queryOpts` map.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryOpts {
    /// The raw `order` text (e.g. `"-id,name"`).
    pub order: Option<String>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
    pub count_only: bool,
    pub as_list: bool,
    /// The raw `group` text; calls that do not support grouping ignore it
    /// (or refuse it, as some upstream calls do).
    pub group: Option<String>,
}

/// The result keys a call exposes to `queryOpts`.
///
/// `names` are the keys of each row, in the order `asList` emits them.
/// Upstream's `QueryProcessor` sorts its columns by alias, so for calls
/// backed by it use [`Columns::sorted`]; calls whose lists keep a declared
/// order use [`Columns::ordered`].
#[derive(Debug, Clone, Default)]
pub struct Columns {
    names: Vec<String>,
    /// Other spellings accepted as `order` terms, mapped to a key (upstream
    /// accepts a column's SQL expression as well as its alias).
    exprs: Vec<(String, String)>,
    /// `order` terms are restricted to `names`/`exprs`, and an unknown term
    /// is a ParameterError (upstream's `order_map`).
    order_map: bool,
}

impl Columns {
    /// Keys sorted alphabetically, as upstream's `QueryProcessor` lists them.
    pub fn sorted(names: &[&str]) -> Columns {
        let mut c = Columns::ordered(names);
        c.names.sort();
        c
    }

    /// Keys in the given order.
    pub fn ordered(names: &[&str]) -> Columns {
        Columns {
            names: names.iter().map(|s| s.to_string()).collect(),
            ..Columns::default()
        }
    }

    /// Accepts `expr` (e.g. `users.id`) as an `order` term meaning `key`.
    pub fn expr(mut self, expr: &str, key: &str) -> Columns {
        self.exprs.push((expr.to_string(), key.to_string()));
        self
    }

    /// Makes an unknown `order` term a ParameterError (`Invalid order term`),
    /// as upstream's queries with an explicit `order_map` do.
    pub fn order_map(mut self) -> Columns {
        self.order_map = true;
        self
    }

    /// The column names, in `asList` order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    fn resolve(&self, term: &str) -> Result<String> {
        if self.names.iter().any(|n| n == term) {
            return Ok(term.to_string());
        }
        if let Some((_, key)) = self.exprs.iter().find(|(e, _)| e == term) {
            return Ok(key.clone());
        }
        if self.order_map {
            Err(Error::Parameter(format!("Invalid order term: {term}")))
        } else {
            Err(Error::Fault {
                code: 1,
                message: format!("<class 'Exception'>: Invalid order: {term}"),
            })
        }
    }
}

impl QueryOpts {
    /// Reads a `queryOpts` argument: `None` gives the defaults; anything
    /// but a map is refused (upstream fails calling `.get` on it).
    pub fn parse(v: &Json) -> Result<QueryOpts> {
        let m = match v {
            Json::Null => return Ok(QueryOpts::default()),
            Json::Object(m) => m,
            other => return Err(crate::util::py_no_attribute(other, "get")),
        };
        let text = |k: &str| -> Result<Option<String>> {
            match m.get(k) {
                None => Ok(None),
                Some(v) if !truthy(v) => Ok(None),
                Some(Json::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(Error::Fault {
                    code: 1,
                    message: format!(
                        "<class 'AttributeError'>: '{}' object has no attribute 'split'",
                        crate::api::py_type_of(other)
                    ),
                }),
            }
        };
        Ok(QueryOpts {
            order: text("order")?,
            group: text("group")?,
            offset: int_opt(m, "offset")?,
            limit: int_opt(m, "limit")?,
            count_only: m.get("countOnly").is_some_and(truthy),
            as_list: m.get("asList").is_some_and(truthy),
        })
    }

    /// The `order` terms as `(key, descending)` pairs, keys as written.
    pub fn order_terms(&self) -> Vec<(String, bool)> {
        let Some(order) = &self.order else {
            return vec![];
        };
        order
            .split(',')
            .map(|t| match t.strip_prefix('-') {
                Some(k) => (k.to_string(), true),
                None => (t.to_string(), false),
            })
            .collect()
    }

    /// Applies the options as upstream's `QueryProcessor` would to `rows`
    /// (JSON objects keyed by `columns`' names): order, offset, limit, then
    /// `countOnly` (an integer) or `asList` (lists of values in column order).
    ///
    /// `group` is not applied: a call that supports it groups its rows
    /// itself before calling this.
    pub fn apply(&self, rows: Vec<Json>, columns: &Columns) -> Result<Json> {
        let mut rows = rows;
        if !self.count_only {
            let mut keys = vec![];
            for (term, desc) in self.order_terms() {
                keys.push((columns.resolve(&term)?, desc));
            }
            if !keys.is_empty() {
                rows.sort_by(|a, b| {
                    for (k, desc) in &keys {
                        let o = pg_cmp(field(a, k), field(b, k), *desc);
                        if o != Ordering::Equal {
                            return o;
                        }
                    }
                    Ordering::Equal
                });
            }
        }
        let rows = self.page(rows)?;
        if self.count_only {
            return Ok(Json::from(rows.len()));
        }
        if self.as_list {
            return Ok(Json::Array(
                rows.into_iter()
                    .map(|r| {
                        Json::Array(columns.names.iter().map(|n| field(&r, n).clone()).collect())
                    })
                    .collect(),
            ));
        }
        Ok(Json::Array(rows))
    }

    /// Upstream's in-memory `_applyQueryOpts`, used by calls that build
    /// their results in Python: one `order` key (no comma list), offset,
    /// limit, `countOnly`; `asList` and `group` are left to the caller. A key
    /// missing from a row fails like Python's `KeyError`.
    pub fn apply_loose(&self, rows: Vec<Json>) -> Result<Json> {
        let mut rows = rows;
        if let Some(order) = &self.order {
            let (key, desc) = match order.strip_prefix('-') {
                Some(k) => (k, true),
                None => (order.as_str(), false),
            };
            if rows
                .iter()
                .any(|r| r.as_object().is_none_or(|m| !m.contains_key(key)))
            {
                return Err(Error::Fault {
                    code: 1,
                    message: format!("<class 'KeyError'>: {}", py_repr(&Json::from(key))),
                });
            }
            rows.sort_by(|a, b| pg_cmp(field(a, key), field(b, key), desc));
        }
        let rows = self.page(rows)?;
        if self.count_only {
            return Ok(Json::from(rows.len()));
        }
        Ok(Json::Array(rows))
    }

    fn page(&self, rows: Vec<Json>) -> Result<Vec<Json>> {
        let mut it: Box<dyn Iterator<Item = Json>> = Box::new(rows.into_iter());
        if let Some(off) = self.offset.filter(|o| *o != 0) {
            if off < 0 {
                return Err(Error::Generic("OFFSET must not be negative".into()));
            }
            it = Box::new(it.skip(off as usize));
        }
        if let Some(lim) = self.limit.filter(|l| *l != 0) {
            if lim < 0 {
                return Err(Error::Generic("LIMIT must not be negative".into()));
            }
            it = Box::new(it.take(lim as usize));
        }
        Ok(it.collect())
    }
}

/// An integer option as Python's `'%i' % value` reads it (floats truncate,
/// booleans count as 0/1, strings are a TypeError).
fn int_opt(m: &Map<String, Json>, key: &str) -> Result<Option<i64>> {
    match m.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Bool(b)) => Ok(Some(*b as i64)),
        Some(Json::Number(n)) => Ok(n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))),
        Some(other) if !truthy(other) => Ok(None),
        Some(other) => Err(Error::Fault {
            code: 1,
            message: format!(
                "<class 'TypeError'>: %i format: a real number is required, not {}",
                crate::api::py_type_of(other)
            ),
        }),
    }
}

fn field<'a>(row: &'a Json, key: &str) -> &'a Json {
    row.get(key).unwrap_or(&Json::Null)
}

/// PostgreSQL's `ORDER BY key [DESC]` ordering of two values.
fn pg_cmp(a: &Json, b: &Json, desc: bool) -> Ordering {
    let o = value_cmp(a, b);
    if desc {
        o.reverse()
    } else {
        o
    }
}

/// Ascending order with NULL last.
fn value_cmp(a: &Json, b: &Json) -> Ordering {
    match (a, b) {
        (Json::Null, Json::Null) => Ordering::Equal,
        (Json::Null, _) => Ordering::Greater,
        (_, Json::Null) => Ordering::Less,
        (Json::Bool(x), Json::Bool(y)) => x.cmp(y),
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i.cmp(&j),
            _ => x
                .as_f64()
                .unwrap_or(0.0)
                .total_cmp(&y.as_f64().unwrap_or(0.0)),
        },
        (Json::String(x), Json::String(y)) => x.cmp(y),
        (Json::Array(x), Json::Array(y)) => {
            for (i, j) in x.iter().zip(y) {
                let o = value_cmp(i, j);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        // values of different kinds in one column: order by kind
        (x, y) => kind_rank(x).cmp(&kind_rank(y)),
    }
}

fn kind_rank(v: &Json) -> u8 {
    match v {
        Json::Bool(_) => 0,
        Json::Number(_) => 1,
        Json::String(_) => 2,
        Json::Array(_) => 3,
        Json::Object(_) => 4,
        Json::Null => 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows() -> Vec<Json> {
        vec![
            json!({"id": 1, "name": "b", "n": null}),
            json!({"id": 2, "name": "a", "n": 5}),
            json!({"id": 3, "name": "b", "n": 1}),
        ]
    }

    fn cols() -> Columns {
        Columns::sorted(&["name", "id", "n"]).expr("t.id", "id")
    }

    fn run(opts: Json) -> Result<Json> {
        QueryOpts::parse(&opts)?.apply(rows(), &cols())
    }

    fn ids(v: Json) -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect()
    }

    #[test]
    fn no_options_return_rows_unchanged() {
        assert_eq!(run(json!(null)).unwrap(), Json::Array(rows()));
        assert_eq!(run(json!({})).unwrap(), Json::Array(rows()));
    }

    #[test]
    fn orders_by_several_keys_with_descending_terms() {
        assert_eq!(
            ids(run(json!({"order": "name,-id"})).unwrap()),
            vec![2, 3, 1]
        );
        assert_eq!(
            ids(run(json!({"order": "-name,id"})).unwrap()),
            vec![1, 3, 2]
        );
        assert_eq!(ids(run(json!({"order": "-t.id"})).unwrap()), vec![3, 2, 1]);
    }

    #[test]
    fn nulls_sort_last_ascending_and_first_descending() {
        assert_eq!(ids(run(json!({"order": "n"})).unwrap()), vec![3, 2, 1]);
        assert_eq!(ids(run(json!({"order": "-n"})).unwrap()), vec![1, 2, 3]);
    }

    #[test]
    fn offset_limit_and_count() {
        assert_eq!(ids(run(json!({"offset": 1})).unwrap()), vec![2, 3]);
        assert_eq!(
            ids(run(json!({"limit": 2, "order": "-id"})).unwrap()),
            vec![3, 2]
        );
        assert_eq!(ids(run(json!({"offset": 1, "limit": 1})).unwrap()), vec![2]);
        assert_eq!(run(json!({"countOnly": true})).unwrap(), json!(3));
        assert_eq!(
            run(json!({"countOnly": true, "limit": 2})).unwrap(),
            json!(2)
        );
        assert_eq!(run(json!({"countOnly": 1, "offset": 5})).unwrap(), json!(0));
        // zero means "not given", as in upstream
        assert_eq!(ids(run(json!({"limit": 0})).unwrap()), vec![1, 2, 3]);
    }

    #[test]
    fn as_list_follows_column_order() {
        assert_eq!(
            run(json!({"asList": true, "order": "id", "limit": 2})).unwrap(),
            json!([[1, null, "b"], [2, 5, "a"]])
        );
        let c = Columns::ordered(&["name", "id"]);
        let v = QueryOpts::parse(&json!({"asList": true}))
            .unwrap()
            .apply(rows(), &c)
            .unwrap();
        assert_eq!(v[0], json!(["b", 1]));
    }

    #[test]
    fn bad_terms_fail_like_upstream() {
        let e = run(json!({"order": "bogus"})).unwrap_err();
        assert_eq!(e.fault_code(), 1);
        assert_eq!(e.to_string(), "<class 'Exception'>: Invalid order: bogus");
        let e = QueryOpts::parse(&json!({"order": "-x"}))
            .unwrap()
            .apply(rows(), &cols().order_map())
            .unwrap_err();
        assert_eq!(e.fault_code(), 1019);
        assert_eq!(e.to_string(), "Invalid order term: x");
        let e = QueryOpts::parse(&json!({"limit": "5"})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "<class 'TypeError'>: %i format: a real number is required, not str"
        );
        assert!(QueryOpts::parse(&json!([1])).is_err());
    }

    #[test]
    fn loose_mode_is_applyqueryopts() {
        let o = QueryOpts::parse(&json!({"order": "-id", "limit": 2})).unwrap();
        assert_eq!(ids(o.apply_loose(rows()).unwrap()), vec![3, 2]);
        let o = QueryOpts::parse(&json!({"order": "nope"})).unwrap();
        assert_eq!(
            o.apply_loose(rows()).unwrap_err().to_string(),
            "<class 'KeyError'>: 'nope'"
        );
        let o = QueryOpts::parse(&json!({"countOnly": true})).unwrap();
        assert_eq!(o.apply_loose(rows()).unwrap(), json!(3));
    }
}
