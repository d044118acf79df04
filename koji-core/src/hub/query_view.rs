//! Upstream's `QueryView` (`repo.query`, `repo.queryQueue`, ...): clauses
//! `[field, op, value]` (or `[field, value]`: `IN` for a list, `=`
//! otherwise), a field list (`*` for the fields that need no join, `**`
//! for all) and `queryOpts`.
//!
//! Rows are read whole and the clauses applied here with SQL's rules
//! (a comparison with NULL matches nothing); the views that use this are
//! small tables (repos, repo requests).

use super::query_opts::{Columns, QueryOpts};
use crate::error::{Error, Result};
use crate::util::{py_repr, py_str};
use serde_json::{Map, Value as Json};
use std::cmp::Ordering;

/// A view's field names.
pub struct ViewSpec {
    /// Every field (`**`), in a stable order.
    pub fields: &'static [&'static str],
    /// Fields that need a join (left out of `*`).
    pub joined: &'static [&'static str],
    /// What no `fields` argument gives.
    pub defaults: &'static [&'static str],
    /// Fields holding JSON documents (their values compare as documents;
    /// text values in clauses are parsed first).
    pub json: &'static [&'static str],
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    In,
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Is,
    IsNot,
    Contains,
    ContainedBy,
}

/// A checked clause.
pub struct Clause {
    field: String,
    op: Op,
    value: Json,
}

impl ViewSpec {
    fn check_field(&self, f: &str) -> Result<()> {
        if self.fields.contains(&f) {
            Ok(())
        } else {
            Err(Error::Parameter(format!("Invalid field for query {f}")))
        }
    }

    /// The field names a `fields` argument asks for.
    pub fn names(&self, fields: &Json) -> Result<Vec<String>> {
        let asked: Vec<String> = match fields {
            Json::Null => self.defaults.iter().map(|s| s.to_string()).collect(),
            Json::String(s) => vec![s.clone()],
            Json::Array(a) if a.is_empty() => self.defaults.iter().map(|s| s.to_string()).collect(),
            Json::Array(a) => a.iter().map(py_str).collect(),
            other => {
                return Err(Error::Parameter(format!(
                    "Invalid fields: {}",
                    py_repr(other)
                )))
            }
        };
        let mut out: Vec<String> = vec![];
        let push = |f: &str, out: &mut Vec<String>| {
            if !out.iter().any(|x| x == f) {
                out.push(f.to_string());
            }
        };
        for f in &asked {
            match f.as_str() {
                "*" => {
                    for x in self.fields.iter().filter(|x| !self.joined.contains(x)) {
                        push(x, &mut out);
                    }
                }
                "**" => {
                    for x in self.fields {
                        push(x, &mut out);
                    }
                }
                other => {
                    self.check_field(other)?;
                    push(other, &mut out);
                }
            }
        }
        Ok(out)
    }

    /// Checks `clauses` as upstream does (operator, shape, field).
    pub fn clauses(&self, clauses: &Json) -> Result<Vec<Clause>> {
        let list = match clauses {
            Json::Null => return Ok(vec![]),
            Json::Array(a) => a,
            other => {
                return Err(Error::Parameter(format!(
                    "Invalid clause: {}",
                    py_repr(other)
                )))
            }
        };
        let mut out = vec![];
        for c in list {
            let parts = c.as_array().map(Vec::as_slice).unwrap_or_default();
            let (field, op, value) = match parts {
                [f, v] => (
                    py_str(f),
                    if v.is_array() { Op::In } else { Op::Eq },
                    v.clone(),
                ),
                [f, o, v] => {
                    let op = match py_str(o).to_uppercase().as_str() {
                        "IN" => Op::In,
                        "=" => Op::Eq,
                        "!=" => Op::Ne,
                        ">" => Op::Gt,
                        "<" => Op::Lt,
                        ">=" => Op::Ge,
                        "<=" => Op::Le,
                        "IS" => Op::Is,
                        "IS NOT" => Op::IsNot,
                        "@>" => Op::Contains,
                        "<@" => Op::ContainedBy,
                        other => {
                            return Err(Error::Parameter(format!("Invalid operator: {other}")))
                        }
                    };
                    (py_str(f), op, v.clone())
                }
                _ => return Err(Error::Parameter(format!("Invalid clause: {}", py_repr(c)))),
            };
            self.check_field(&field)?;
            let value = match &value {
                Json::String(s) if self.json.contains(&field.as_str()) => {
                    serde_json::from_str(s).unwrap_or(value)
                }
                _ => value,
            };
            out.push(Clause { field, op, value });
        }
        Ok(out)
    }

    /// Runs the query over `rows` (every field of each row).
    pub fn run(&self, rows: Vec<Json>, clauses: &Json, fields: &Json, opts: &Json) -> Result<Json> {
        let clauses = self.clauses(clauses)?;
        let names = self.names(fields)?;
        let qo = QueryOpts::parse(opts)?;
        for (term, _) in qo.order_terms() {
            self.check_field(&term)?;
        }
        let rows: Vec<Json> = rows
            .into_iter()
            .filter(|r| clauses.iter().all(|c| c.matches(r)))
            .collect();
        let all = Columns::ordered(self.fields);
        let paged = QueryOpts {
            count_only: false,
            as_list: false,
            ..qo.clone()
        }
        .apply(rows, &all)?;
        let rows = paged.as_array().cloned().unwrap_or_default();
        if qo.count_only {
            return Ok(Json::from(rows.len()));
        }
        let project = |r: &Json| -> Vec<(String, Json)> {
            names
                .iter()
                .map(|n| (n.clone(), r.get(n).cloned().unwrap_or(Json::Null)))
                .collect()
        };
        Ok(Json::Array(
            rows.iter()
                .map(|r| {
                    let kv = project(r);
                    if qo.as_list {
                        Json::Array(kv.into_iter().map(|(_, v)| v).collect())
                    } else {
                        Json::Object(kv.into_iter().collect::<Map<_, _>>())
                    }
                })
                .collect(),
        ))
    }
}

/// SQL's ordering of two non-NULL values of the same kind.
fn cmp(a: &Json, b: &Json) -> Option<Ordering> {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Json::String(x), Json::String(y)) => Some(x.cmp(y)),
        (Json::Bool(x), Json::Bool(y)) => Some(x.cmp(y)),
        // a number given as text (an id from a CLI option)
        (Json::Number(x), Json::String(y)) => x.as_f64()?.partial_cmp(&y.trim().parse().ok()?),
        (Json::String(x), Json::Number(y)) => {
            x.trim().parse::<f64>().ok()?.partial_cmp(&y.as_f64()?)
        }
        (x, y) if x == y => Some(Ordering::Equal),
        _ => None,
    }
}

/// JSONB containment: every key of `small` is in `big` with an equal value.
fn contains(big: &Json, small: &Json) -> bool {
    match (big, small) {
        (Json::Object(b), Json::Object(s)) => s.iter().all(|(k, v)| b.get(k) == Some(v)),
        (Json::Array(b), Json::Array(s)) => s.iter().all(|v| b.contains(v)),
        (b, s) => b == s,
    }
}

impl Clause {
    fn matches(&self, row: &Json) -> bool {
        let v = row.get(&self.field).unwrap_or(&Json::Null);
        let want = &self.value;
        match self.op {
            Op::Is => match want {
                Json::Null => v.is_null(),
                w => v == w,
            },
            Op::IsNot => match want {
                Json::Null => !v.is_null(),
                w => v != w,
            },
            _ if v.is_null() || want.is_null() => false,
            Op::In => want
                .as_array()
                .is_some_and(|l| l.iter().any(|w| cmp(v, w) == Some(Ordering::Equal))),
            Op::Eq => cmp(v, want) == Some(Ordering::Equal),
            Op::Ne => cmp(v, want).is_some_and(|o| o != Ordering::Equal),
            Op::Gt => cmp(v, want) == Some(Ordering::Greater),
            Op::Lt => cmp(v, want) == Some(Ordering::Less),
            Op::Ge => cmp(v, want).is_some_and(|o| o != Ordering::Less),
            Op::Le => cmp(v, want).is_some_and(|o| o != Ordering::Greater),
            Op::Contains => contains(v, want),
            Op::ContainedBy => contains(want, v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    static SPEC: ViewSpec = ViewSpec {
        fields: &[
            "id",
            "tag_id",
            "opts",
            "custom_opts",
            "tag_name",
            "end_event",
        ],
        joined: &["tag_name"],
        defaults: &["id", "tag_id"],
        json: &["opts", "custom_opts"],
    };

    fn rows() -> Vec<Json> {
        vec![
            json!({"id": 1, "tag_id": 5, "opts": {"src": false, "debuginfo": false}, "custom_opts": {}, "tag_name": "a", "end_event": 9}),
            json!({"id": 2, "tag_id": 5, "opts": {"src": true, "debuginfo": false}, "custom_opts": {"src": true}, "tag_name": "a", "end_event": null}),
            json!({"id": 3, "tag_id": 6, "opts": {"src": false, "debuginfo": false}, "custom_opts": {}, "tag_name": "b", "end_event": null}),
        ]
    }

    fn ids(v: Json) -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect()
    }

    #[test]
    fn clauses_fields_and_options() {
        let q = |c: Json, f: Json, o: Json| SPEC.run(rows(), &c, &f, &o).unwrap();
        assert_eq!(
            ids(q(json!([["tag_id", 5]]), json!(null), json!(null))),
            [1, 2]
        );
        assert_eq!(
            ids(q(json!([["id", [1, 3]]]), json!(null), json!(null))),
            [1, 3]
        );
        assert_eq!(
            ids(q(
                json!([["custom_opts", "=", "{}"]]),
                json!(null),
                json!(null)
            )),
            [1, 3]
        );
        assert_eq!(
            ids(q(
                json!([["opts", "@>", "{\"src\": true}"]]),
                json!(null),
                json!(null)
            )),
            [2]
        );
        assert_eq!(
            ids(q(
                json!([["custom_opts", "<@", {"src": true, "x": 1}]]),
                json!(null),
                json!(null)
            )),
            [1, 2, 3]
        );
        // NULL matches no comparison, only IS
        assert_eq!(
            ids(q(json!([["end_event", ">", 0]]), json!(null), json!(null))),
            [1]
        );
        assert_eq!(
            ids(q(
                json!([["end_event", "IS", null]]),
                json!(null),
                json!(null)
            )),
            [2, 3]
        );
        let out = q(
            json!([]),
            json!(["id"]),
            json!({"order": "-id", "limit": 2}),
        );
        assert_eq!(out, json!([{"id": 3}, {"id": 2}]));
        assert_eq!(
            q(json!([]), json!("*"), json!(null))[0].get("tag_name"),
            None
        );
        assert_eq!(q(json!([]), json!("**"), json!(null))[0]["tag_name"], "a");
        assert_eq!(
            q(json!([]), json!(null), json!({"countOnly": true})),
            json!(3)
        );
        assert_eq!(
            q(
                json!([["id", 1]]),
                json!(["id", "tag_id"]),
                json!({"asList": true})
            ),
            json!([[1, 5]])
        );
    }

    #[test]
    fn bad_queries_are_parameter_errors() {
        let run = |c: Json, f: Json, o: Json| SPEC.run(rows(), &c, &f, &o).unwrap_err();
        for (e, want) in [
            (
                run(json!([["nope", 1]]), json!(null), json!(null)),
                "Invalid field for query nope",
            ),
            (
                run(json!([["id", "~", 1]]), json!(null), json!(null)),
                "Invalid operator: ~",
            ),
            (
                run(json!([["id"]]), json!(null), json!(null)),
                "Invalid clause: ['id']",
            ),
            (
                run(json!([]), json!(["x"]), json!(null)),
                "Invalid field for query x",
            ),
            (
                run(json!([]), json!(null), json!({"order": "x"})),
                "Invalid field for query x",
            ),
        ] {
            assert_eq!(e.fault_code(), 1019, "{e}");
            assert_eq!(e.to_string(), want);
        }
    }
}
