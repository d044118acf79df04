//! The history of the versioned tables: upstream's `queryHistory`.
//!
//! Every versioned table keeps all versions of its rows (see
//! [`crate::db::versioned`]), so its history is simply its rows with their
//! events and the users who created and revoked them. `queryHistory`
//! answers, for each table asked for, every row version matching the
//! filters, with the names of what the row's ids refer to.
//!
//! The whole behaviour is driven by three tables of data:
//!
//! - `TABLES`: the versioned tables upstream's history knows, with the
//!   columns it returns (in upstream's order) and the key that orders rows;
//! - `NAME_JOINS`: the column → `name` lookups (`tag_id` → `tag.name`,
//!   `owner` → `owner.name`...), plus two special cases in code: a build
//!   (`build_id` → `name`, `version`, `release`, `epoch`, `build.state`)
//!   and `group_id`, which names a comps group or a user group;
//! - `FILTERS`: the filters that select by a joined object (`tag`,
//!   `user`, `package`...); the versioning filters (`active`, `editor`,
//!   `before`, `after`, `beforeEvent`, `afterEvent`) apply to any table,
//!   and `xkey` to the tables with a `key` column (`tag_extra`); both are
//!   handled in `History::query_table`.
//!
//! As upstream, an object filter limits the answer to the tables where it
//! makes sense (asking for `tag` history leaves out `user_perms`), and when a
//! table joins the same kind of object twice, the filter applies to the last
//! join: `tag` on `build_target_config` means the destination tag, `group`
//! on `group_req_listing` the required group, and `user` on `user_groups`
//! the group (a user group is a user). Unknown keyword arguments are
//! ignored.
//!
//! Rows of a table come in event order (then by the table's key); upstream
//! leaves the order to PostgreSQL. `queryOpts` (`order`, `offset`, `limit`,
//! `countOnly`, `asList`) applies to each table separately.

use super::query_opts::{Columns, QueryOpts};
use super::tags::lookup_name;
use super::users::Users;
use super::{Caller, Hub};
use crate::api::{py_type_of, truthy};
use crate::db::{fetch_all, RowExt, Value};
use crate::error::{Error, Result};
use crate::params;
use crate::util::py_str;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, QueryResult};
use serde_json::{Map, Value as Json};
use std::collections::HashMap;

pub struct History<'a>(pub(super) &'a Hub);

/// How a returned column is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Float,
    Text,
    Bool,
    /// A JSON document (JSONB on PostgreSQL, text on SQLite).
    Json,
    /// A timestamp, answered as seconds since the epoch.
    Ts,
}

use Kind::{Bool, Float, Int, Text};

/// A versioned table upstream's history covers.
struct TableDef {
    name: &'static str,
    /// The columns returned besides the versioning ones, in upstream's order.
    columns: &'static [(&'static str, Kind)],
    /// The table's primary key without `create_event`: orders rows of one event.
    key: &'static [&'static str],
}

/// The tables, in upstream's order when none are named (alphabetical).
const TABLES: &[TableDef] = &[
    TableDef {
        name: "build_target_config",
        columns: &[
            ("build_target_id", Int),
            ("build_tag", Int),
            ("dest_tag", Int),
        ],
        key: &["build_target_id"],
    },
    TableDef {
        name: "cg_users",
        columns: &[("user_id", Int), ("cg_id", Int)],
        key: &["cg_id", "user_id"],
    },
    TableDef {
        name: "external_repo_config",
        columns: &[("external_repo_id", Int), ("url", Text)],
        key: &["external_repo_id"],
    },
    TableDef {
        name: "external_repo_data",
        columns: &[("external_repo_id", Int), ("data", Kind::Json)],
        key: &["external_repo_id"],
    },
    TableDef {
        name: "group_config",
        columns: &[
            ("group_id", Int),
            ("tag_id", Int),
            ("blocked", Bool),
            ("exported", Bool),
            ("display_name", Text),
            ("is_default", Bool),
            ("uservisible", Bool),
            ("description", Text),
            ("langonly", Text),
            ("biarchonly", Bool),
        ],
        key: &["group_id", "tag_id"],
    },
    TableDef {
        name: "group_package_listing",
        columns: &[
            ("group_id", Int),
            ("tag_id", Int),
            ("package", Text),
            ("blocked", Bool),
            ("type", Text),
            ("basearchonly", Bool),
            ("requires", Text),
        ],
        key: &["group_id", "tag_id", "package"],
    },
    TableDef {
        name: "group_req_listing",
        columns: &[
            ("group_id", Int),
            ("tag_id", Int),
            ("req_id", Int),
            ("blocked", Bool),
            ("type", Text),
            ("is_metapkg", Bool),
        ],
        key: &["group_id", "tag_id", "req_id"],
    },
    TableDef {
        name: "host_channels",
        columns: &[("host_id", Int), ("channel_id", Int)],
        key: &["host_id", "channel_id"],
    },
    TableDef {
        name: "host_config",
        columns: &[
            ("host_id", Int),
            ("arches", Text),
            ("capacity", Float),
            ("description", Text),
            ("comment", Text),
            ("enabled", Bool),
        ],
        key: &["host_id"],
    },
    TableDef {
        name: "tag_config",
        columns: &[
            ("tag_id", Int),
            ("arches", Text),
            ("perm_id", Int),
            ("locked", Bool),
            ("maven_support", Bool),
            ("maven_include_all", Bool),
        ],
        key: &["tag_id"],
    },
    TableDef {
        name: "tag_external_repos",
        columns: &[
            ("tag_id", Int),
            ("external_repo_id", Int),
            ("priority", Int),
            ("merge_mode", Text),
        ],
        key: &["tag_id", "priority"],
    },
    TableDef {
        name: "tag_extra",
        columns: &[("tag_id", Int), ("key", Text), ("value", Text)],
        key: &["tag_id", "key"],
    },
    TableDef {
        name: "tag_inheritance",
        columns: &[
            ("tag_id", Int),
            ("parent_id", Int),
            ("priority", Int),
            ("maxdepth", Int),
            ("intransitive", Bool),
            ("noconfig", Bool),
            ("pkg_filter", Text),
        ],
        key: &["tag_id", "priority"],
    },
    TableDef {
        name: "tag_listing",
        columns: &[("build_id", Int), ("tag_id", Int)],
        key: &["build_id", "tag_id"],
    },
    TableDef {
        name: "tag_package_owners",
        columns: &[("package_id", Int), ("tag_id", Int), ("owner", Int)],
        key: &["package_id", "tag_id"],
    },
    TableDef {
        name: "tag_packages",
        columns: &[
            ("package_id", Int),
            ("tag_id", Int),
            ("blocked", Bool),
            ("extra_arches", Text),
        ],
        key: &["package_id", "tag_id"],
    },
    TableDef {
        name: "user_groups",
        columns: &[("user_id", Int), ("group_id", Int)],
        key: &["user_id", "group_id"],
    },
    TableDef {
        name: "user_perms",
        columns: &[("user_id", Int), ("perm_id", Int)],
        key: &["user_id", "perm_id"],
    },
];

/// A column naming a row of another table: `LEFT OUTER JOIN table AS alias
/// ON column = alias.id`, answering `alias.name` under `key`.
struct NameJoin {
    column: &'static str,
    table: &'static str,
    alias: &'static str,
    key: &'static str,
}

const fn nj(
    column: &'static str,
    table: &'static str,
    alias: &'static str,
    key: &'static str,
) -> NameJoin {
    NameJoin {
        column,
        table,
        alias,
        key,
    }
}

const NAME_JOINS: &[NameJoin] = &[
    nj("user_id", "users", "users", "user.name"),
    nj("perm_id", "permissions", "permission", "permission.name"),
    nj(
        "cg_id",
        "content_generator",
        "content_generator",
        "content_generator.name",
    ),
    nj("tag_id", "tag", "tag", "tag.name"),
    nj("host_id", "host", "host", "host.name"),
    nj("channel_id", "channels", "channels", "channels.name"),
    nj("parent_id", "tag", "parent", "parent.name"),
    nj(
        "build_target_id",
        "build_target",
        "build_target",
        "build_target.name",
    ),
    nj("build_tag", "tag", "build_tag", "build_tag.name"),
    nj("dest_tag", "tag", "dest_tag", "dest_tag.name"),
    nj(
        "external_repo_id",
        "external_repo",
        "external_repo",
        "external_repo.name",
    ),
    nj("package_id", "package", "package", "package.name"),
    nj("owner", "users", "owner", "owner.name"),
    nj("req_id", "groups", "req", "req.name"),
];

/// How a filter's value is turned into the id it selects.
#[derive(Debug, Clone, Copy)]
enum Lookup {
    /// Upstream's `get_id(table, value, strict)`.
    Name { table: &'static str, strict: bool },
    /// `get_user(value, strict=True)`.
    User,
    /// `get_build(value, strict=True)`.
    Build,
}

/// A filter selecting rows that refer to one object: it applies to the
/// tables joining `joined` (as their last join of that table), comparing
/// that join's id.
struct Filter {
    arg: &'static str,
    joined: &'static str,
    lookup: Lookup,
}

const fn filter(arg: &'static str, joined: &'static str, lookup: Lookup) -> Filter {
    Filter {
        arg,
        joined,
        lookup,
    }
}

/// `get_id(table, value, strict=True)`.
const fn strict(table: &'static str) -> Lookup {
    Lookup::Name {
        table,
        strict: true,
    }
}

/// `get_id(table, value, strict=False)`: an unknown name matches nothing.
const fn lenient(table: &'static str) -> Lookup {
    Lookup::Name {
        table,
        strict: false,
    }
}

const FILTERS: &[Filter] = &[
    filter("tag", "tag", strict("tag")),
    filter("build", "build", Lookup::Build),
    filter("host", "host", lenient("host")),
    filter("channel", "channels", lenient("channels")),
    filter("package", "package", strict("package")),
    filter("user", "users", Lookup::User),
    filter("permission", "permissions", strict("permissions")),
    filter("cg", "content_generator", strict("content_generator")),
    filter("external_repo", "external_repo", strict("external_repo")),
    filter("build_target", "build_target", strict("build_target")),
    filter("group", "groups", strict("groups")),
];

/// One returned key: its SQL expression and parameters, and the expression
/// as upstream spells it (accepted as a `queryOpts` order term).
struct Field {
    key: String,
    sql: String,
    params: Vec<Value>,
    upstream: String,
    kind: Kind,
}

impl Field {
    fn new(key: impl Into<String>, sql: impl Into<String>, kind: Kind) -> Field {
        let sql = sql.into();
        Field {
            key: key.into(),
            upstream: sql.clone(),
            sql,
            params: vec![],
            kind,
        }
    }

    fn upstream(mut self, text: impl Into<String>) -> Field {
        self.upstream = text.into();
        self
    }

    fn with(mut self, params: Vec<Value>) -> Field {
        self.params = params;
        self
    }
}

/// The query of one table being assembled.
struct Plan {
    table: &'static TableDef,
    fields: Vec<Field>,
    joins: Vec<String>,
    /// Joined table → alias of its last join.
    joined: Vec<(&'static str, &'static str)>,
    clauses: Vec<(String, Vec<Value>)>,
}

impl Plan {
    /// The versioning columns, the table's columns and their name joins.
    fn new(table: &'static TableDef) -> Plan {
        let t = table.name;
        let mut plan = Plan {
            table,
            fields: vec![],
            joins: vec![
                format!("JOIN events AS ev1 ON ev1.id = {t}.create_event"),
                format!("LEFT OUTER JOIN events AS ev2 ON ev2.id = {t}.revoke_event"),
                format!("JOIN users AS creator ON creator.id = {t}.creator_id"),
                format!("LEFT OUTER JOIN users AS revoker ON revoker.id = {t}.revoker_id"),
            ],
            joined: vec![],
            clauses: vec![],
        };
        for (col, kind) in [
            ("active", Bool),
            ("create_event", Int),
            ("revoke_event", Int),
            ("creator_id", Int),
            ("revoker_id", Int),
        ] {
            plan.fields
                .push(Field::new(col, format!("{t}.{col}"), kind));
        }
        plan.fields
            .push(Field::new("creator_name", "creator.name", Text));
        plan.fields
            .push(Field::new("revoker_name", "revoker.name", Text));
        plan.fields.push(
            Field::new("create_ts", "ev1.time", Kind::Ts)
                .upstream("date_part('epoch', ev1.time) AS create_ts"),
        );
        plan.fields.push(
            Field::new("revoke_ts", "ev2.time", Kind::Ts)
                .upstream("date_part('epoch', ev2.time) AS revoke_ts"),
        );
        for &(col, kind) in table.columns {
            plan.fields
                .push(Field::new(col, format!("{t}.{col}"), kind));
            if let Some(nj) = NAME_JOINS.iter().find(|nj| nj.column == col) {
                plan.fields
                    .push(Field::new(nj.key, format!("{}.name", nj.alias), Text));
                plan.joins.push(format!(
                    "LEFT OUTER JOIN {} AS {} ON {t}.{col} = {}.id",
                    nj.table, nj.alias, nj.alias
                ));
                plan.join(nj.table, nj.alias);
            } else if col == "build_id" {
                for (key, sql, kind) in [
                    ("name", "package.name", Text),
                    ("version", "build.version", Text),
                    ("release", "build.release", Text),
                    ("epoch", "build.epoch", Int),
                    ("build.state", "build.state", Int),
                ] {
                    plan.fields.push(Field::new(key, sql, kind));
                }
                plan.joins
                    .push(format!("JOIN build ON {t}.build_id = build.id"));
                plan.joins
                    .push("JOIN package ON build.pkg_id = package.id".to_string());
                plan.join("build", "build");
                plan.join("package", "package");
            } else if col == "group_id" {
                if t.starts_with("group_") {
                    plan.fields
                        .push(Field::new("group.name", "groups.name", Text));
                    plan.joins
                        .push(format!("JOIN groups ON {t}.group_id = groups.id"));
                    plan.join("groups", "groups");
                } else if t == "user_groups" {
                    plan.fields
                        .push(Field::new("group.name", "usergroup.name", Text));
                    plan.joins.push(format!(
                        "JOIN users AS usergroup ON {t}.group_id = usergroup.id"
                    ));
                    plan.join("users", "usergroup");
                }
            }
        }
        plan
    }

    fn join(&mut self, table: &'static str, alias: &'static str) {
        match self.joined.iter_mut().find(|(t, _)| *t == table) {
            Some(entry) => entry.1 = alias,
            None => self.joined.push((table, alias)),
        }
    }

    fn alias_of(&self, table: &str) -> Option<&'static str> {
        self.joined
            .iter()
            .find(|(t, _)| *t == table)
            .map(|(_, a)| *a)
    }

    fn has_column(&self, col: &str) -> bool {
        self.table.columns.iter().any(|(c, _)| *c == col)
    }

    fn clause(&mut self, sql: impl Into<String>, params: Vec<Value>) {
        self.clauses.push((sql.into(), params));
    }
}

/// Filter values already turned into ids, shared by the tables of one call.
#[derive(Default)]
struct Resolved(HashMap<String, Option<i64>>);

impl History<'_> {
    /// `queryHistory(tables=None, **kwargs)`: for each table (all of them
    /// when `tables` is None), the versions of its rows matching the
    /// keyword filters, keyed by table name. A table the filters do not
    /// apply to is left out. `kwargs` may carry `queryOpts`.
    pub async fn query(
        &self,
        caller: &Caller,
        tables: &Json,
        kwargs: &Map<String, Json>,
    ) -> Result<Json> {
        let tables = table_list(tables)?;
        let mut filters = kwargs.clone();
        let opts = match filters.shift_remove("queryOpts") {
            Some(v) => QueryOpts::parse(&v)?,
            None => QueryOpts::default(),
        };
        let mut resolved = Resolved::default();
        let mut out = Map::new();
        for table in tables {
            if let Some(rows) = self
                .query_table(caller, table, &filters, &opts, &mut resolved)
                .await?
            {
                out.insert(table.name.to_string(), rows);
            }
        }
        Ok(Json::Object(out))
    }

    /// One table's answer, or None when a filter does not apply to it.
    async fn query_table(
        &self,
        caller: &Caller,
        table: &'static TableDef,
        filters: &Map<String, Json>,
        opts: &QueryOpts,
        resolved: &mut Resolved,
    ) -> Result<Option<Json>> {
        let conn = self.0.db().conn();
        let t = table.name;
        let mut plan = Plan::new(table);
        for (arg, value) in filters {
            if let Some(f) = FILTERS.iter().find(|f| f.arg == arg) {
                let alias = plan.alias_of(f.joined);
                if f.arg == "package" && alias.is_none() {
                    // a table naming packages by text (group_package_listing)
                    if plan.has_column("package") {
                        plan.clause(format!("{t}.package = ?"), params![py_str(value)]);
                        continue;
                    }
                    return Ok(None);
                }
                let Some(alias) = alias else {
                    return Ok(None);
                };
                let id = resolved.get(conn, caller, f, value).await?;
                if f.arg == "tag" && t == "tag_inheritance" {
                    plan.clause(
                        format!("{t}.tag_id = ? OR {t}.parent_id = ?"),
                        params![id, id],
                    );
                } else {
                    plan.clause(format!("{alias}.id = ?"), params![id]);
                }
                continue;
            }
            match arg.as_str() {
                "active" => {
                    if truthy(value) {
                        plan.clause(format!("{t}.active = TRUE"), vec![]);
                    } else if !value.is_null() {
                        plan.clause(format!("{t}.active IS NULL"), vec![]);
                    }
                }
                "editor" => {
                    let id = resolved.user(conn, caller, "editor", value).await?;
                    plan.clause("creator.id = ? OR revoker.id = ?", params![id, id]);
                    plan.fields.push(
                        Field::new("_created_by", "creator.id = ?", Bool)
                            .upstream("creator.id = %(editor)i")
                            .with(params![id]),
                    );
                    plan.fields.push(
                        Field::new("_revoked_by", "revoker.id = ?", Bool)
                            .upstream("revoker.id = %(editor)i")
                            .with(params![id]),
                    );
                }
                "after" | "before" => {
                    let when = time_arg(value)?;
                    let (op, word) = if arg == "after" {
                        (">", "after")
                    } else {
                        ("<", "before")
                    };
                    plan.clause(
                        format!("ev1.time {op} ? OR ev2.time {op} ?"),
                        params![when, when],
                    );
                    for (ev, what) in [("ev1", "created"), ("ev2", "revoked")] {
                        plan.fields.push(
                            Field::new(
                                format!("_{what}_{word}"),
                                format!("{ev}.time {op} ?"),
                                Bool,
                            )
                            .upstream(format!("{ev}.time {op} %({word})s"))
                            .with(params![when]),
                        );
                    }
                }
                "afterEvent" | "beforeEvent" => {
                    let ev = event_value(value)?;
                    let (op, word) = if arg == "afterEvent" {
                        (">", "after")
                    } else {
                        ("<", "before")
                    };
                    plan.clause(
                        format!("{t}.create_event {op} ? OR {t}.revoke_event {op} ?"),
                        vec![ev.clone(), ev.clone()],
                    );
                    for (col, what) in [("create_event", "created"), ("revoke_event", "revoked")] {
                        plan.fields.push(
                            Field::new(
                                format!("_{what}_{word}_event"),
                                format!("{t}.{col} {op} ?"),
                                Bool,
                            )
                            .upstream(format!("{t}.{col} {op} %({arg})i"))
                            .with(vec![ev.clone()]),
                        );
                    }
                }
                "xkey" => {
                    if !plan.has_column("key") {
                        return Ok(None);
                    }
                    plan.clause(format!("{t}.key = ?"), params![py_str(value)]);
                }
                _ => {}
            }
        }
        let rows = self.run(&plan).await?;
        let mut columns = Columns::sorted(
            &plan
                .fields
                .iter()
                .map(|f| f.key.as_str())
                .collect::<Vec<_>>(),
        );
        for f in &plan.fields {
            if f.upstream != f.key {
                columns = columns.expr(&f.upstream, &f.key);
            }
        }
        Ok(Some(opts.apply(rows, &columns)?))
    }

    /// Runs a table's query; rows are keyed as upstream's, keys sorted.
    async fn run(&self, plan: &Plan) -> Result<Vec<Json>> {
        let t = plan.table.name;
        let mut fields: Vec<&Field> = plan.fields.iter().collect();
        fields.sort_by(|a, b| a.key.cmp(&b.key).then_with(|| a.upstream.cmp(&b.upstream)));
        let mut params: Vec<Value> = vec![];
        let select: Vec<String> = fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                params.extend(f.params.iter().cloned());
                format!("({}) AS f{i}", f.sql)
            })
            .collect();
        let mut sql = format!(
            "SELECT {} FROM {t} {}",
            select.join(", "),
            plan.joins.join(" ")
        );
        if !plan.clauses.is_empty() {
            let conds: Vec<String> = plan
                .clauses
                .iter()
                .map(|(c, p)| {
                    params.extend(p.iter().cloned());
                    format!("({c})")
                })
                .collect();
            sql.push_str(" WHERE ");
            sql.push_str(&conds.join(" AND "));
        }
        let order: Vec<String> = std::iter::once("create_event")
            .chain(plan.table.key.iter().copied())
            .map(|c| format!("{t}.{c}"))
            .collect();
        sql.push_str(" ORDER BY ");
        sql.push_str(&order.join(", "));
        let rows = fetch_all(self.0.db().conn(), &sql, params).await?;
        rows.iter()
            .map(|r| {
                let mut m = Map::new();
                for (i, f) in fields.iter().enumerate() {
                    m.insert(f.key.clone(), read(r, &format!("f{i}"), f.kind)?);
                }
                Ok(Json::Object(m))
            })
            .collect()
    }
}

impl Resolved {
    /// The id a filter value names, looked up once per call.
    async fn get<C: ConnectionTrait>(
        &mut self,
        c: &C,
        caller: &Caller,
        f: &Filter,
        value: &Json,
    ) -> Result<Option<i64>> {
        if let Some(id) = self.0.get(f.arg) {
            return Ok(*id);
        }
        let id = match f.lookup {
            Lookup::Name { table, strict } => lookup_name(c, table, value, strict, false)
                .await?
                .map(|r| r.id),
            Lookup::User => return self.user(c, caller, f.arg, value).await,
            Lookup::Build => Some(find_build(c, value).await?),
        };
        self.0.insert(f.arg.to_string(), id);
        Ok(id)
    }

    /// `get_user(value, strict=True)['id']`.
    async fn user<C: ConnectionTrait>(
        &mut self,
        c: &C,
        caller: &Caller,
        arg: &str,
        value: &Json,
    ) -> Result<Option<i64>> {
        if let Some(id) = self.0.get(arg) {
            return Ok(*id);
        }
        let user = Users::get_in(c, caller, value, true, false, false).await?;
        let id = user.map(|u| u.id);
        self.0.insert(arg.to_string(), id);
        Ok(id)
    }
}

/// The tables named by `tables`, checked before any is read. Like Python's
/// `for table in tables`: a string counts as its characters, a dict as
/// its keys.
fn table_list(tables: &Json) -> Result<Vec<&'static TableDef>> {
    let names: Vec<Json> = match tables {
        Json::Null => return Ok(TABLES.iter().collect()),
        Json::Array(a) => a.clone(),
        Json::String(s) => s.chars().map(|c| Json::from(c.to_string())).collect(),
        Json::Object(m) => m.keys().map(|k| Json::from(k.as_str())).collect(),
        other => {
            return Err(Error::Fault {
                code: 1,
                message: format!(
                    "<class 'TypeError'>: '{}' object is not iterable",
                    py_type_of(other)
                ),
            })
        }
    };
    names
        .iter()
        .map(|n| {
            n.as_str()
                .and_then(|s| TABLES.iter().find(|t| t.name == s))
                .ok_or_else(|| Error::Generic(format!("No such history table: {}", py_str(n))))
        })
        .collect()
}

/// A `before`/`after` value: a timestamp in seconds, or a date/time text.
pub(crate) fn time_arg(v: &Json) -> Result<DateTime<Utc>> {
    let secs = match v {
        Json::String(s) => {
            return crate::util::parse_time_text(s).ok_or_else(|| Error::Fault {
                code: 1,
                message: format!(
                    "<class 'psycopg2.errors.InvalidDatetimeFormat'>: invalid input syntax \
                     for type timestamp with time zone: \"{s}\""
                ),
            })
        }
        Json::Bool(b) => *b as i64 as f64,
        Json::Number(n) => n.as_f64().unwrap_or_default(),
        other => {
            return Err(Error::Fault {
                code: 1,
                message: format!(
                    "<class 'TypeError'>: '{}' object cannot be interpreted as an integer",
                    py_type_of(other)
                ),
            })
        }
    };
    DateTime::from_timestamp_micros((secs * 1e6).round() as i64).ok_or_else(|| Error::Fault {
        code: 1,
        message: "<class 'ValueError'>: year is out of range".to_string(),
    })
}

/// A `beforeEvent`/`afterEvent` value as PostgreSQL compares it with an
/// event id.
fn event_value(v: &Json) -> Result<Value> {
    let bad = |msg: String| Error::Fault {
        code: 1,
        message: msg,
    };
    match v {
        Json::Null => Ok(Value::BigInt(None)),
        Json::Number(n) => Ok(match n.as_i64() {
            Some(i) => Value::from(i),
            None => Value::from(n.as_f64().unwrap_or_default()),
        }),
        Json::String(s) => s.trim().parse::<i64>().map(Value::from).map_err(|_| {
            bad(format!(
                "<class 'psycopg2.errors.InvalidTextRepresentation'>: invalid input syntax \
                 for type integer: \"{s}\""
            ))
        }),
        Json::Bool(_) => Err(bad(
            "<class 'psycopg2.errors.UndefinedFunction'>: operator does not exist: \
             integer > boolean"
                .to_string(),
        )),
        other => Err(bad(format!(
            "<class 'psycopg2.ProgrammingError'>: can't adapt type '{}'",
            py_type_of(other)
        ))),
    }
}

/// `get_build(value, strict=True)['id']`.
async fn find_build<C: ConnectionTrait>(c: &C, info: &Json) -> Result<i64> {
    let b = super::builds::get_build_in(c, info, true).await?;
    b.map(|b| b.id)
        .ok_or_else(|| Error::Generic(format!("No such build: {}", py_str(info))))
}

/// Reads column `col` as `kind`.
fn read(row: &QueryResult, col: &str, kind: Kind) -> Result<Json> {
    Ok(match kind {
        Kind::Int => row.opt_int(col)?.map_or(Json::Null, Json::from),
        Kind::Float => match row.get::<Option<f64>>(col) {
            Ok(v) => v.map_or(Json::Null, Json::from),
            Err(_) => row
                .opt_int(col)?
                .map_or(Json::Null, |i| Json::from(i as f64)),
        },
        Kind::Text => row.opt_string(col)?.map_or(Json::Null, Json::from),
        Kind::Bool => row.opt_bool(col)?.map_or(Json::Null, Json::from),
        Kind::Ts => row.ts(col)?.map_or(Json::Null, Json::from),
        Kind::Json => match row.get::<Option<Json>>(col) {
            Ok(v) => v.unwrap_or(Json::Null),
            Err(_) => match row.opt_string(col)? {
                Some(s) => serde_json::from_str(&s).unwrap_or(Json::String(s)),
                None => Json::Null,
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_are_upstreams_in_sorted_order() {
        let names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(names.len(), 18);
    }

    #[test]
    fn table_arguments_iterate_like_python() {
        assert_eq!(table_list(&json!(null)).unwrap().len(), 18);
        assert_eq!(table_list(&json!([])).unwrap().len(), 0);
        let e = table_list(&json!(["tag_config", "bogus"])).err().unwrap();
        assert_eq!(e.to_string(), "No such history table: bogus");
        let e = table_list(&json!("tag_config")).err().unwrap();
        assert_eq!(e.to_string(), "No such history table: t");
        let e = table_list(&json!(5)).err().unwrap();
        assert_eq!(e.fault_code(), 1);
    }

    #[test]
    fn each_table_names_its_ids_and_filters_on_the_last_join() {
        let def = |n: &str| TABLES.iter().find(|t| t.name == n).unwrap();
        let p = Plan::new(def("user_groups"));
        let keys: Vec<&str> = p.fields.iter().map(|f| f.key.as_str()).collect();
        assert!(keys.contains(&"user.name") && keys.contains(&"group.name"));
        assert_eq!(p.alias_of("users"), Some("usergroup"));
        let p = Plan::new(def("build_target_config"));
        assert_eq!(p.alias_of("tag"), Some("dest_tag"));
        let p = Plan::new(def("group_req_listing"));
        assert_eq!(p.alias_of("groups"), Some("req"));
        let p = Plan::new(def("tag_listing"));
        let keys: Vec<&str> = p.fields.iter().map(|f| f.key.as_str()).collect();
        for k in [
            "name",
            "version",
            "release",
            "epoch",
            "build.state",
            "tag.name",
        ] {
            assert!(keys.contains(&k), "{k}");
        }
        assert_eq!(p.alias_of("package"), Some("package"));
    }

    #[test]
    fn times_parse() {
        let t = |s: &str| crate::util::parse_time_text(s).map(|t| t.timestamp_micros());
        assert_eq!(t("2023-04-19 17:23:40+00:00"), Some(1_681_925_020_000_000));
        assert_eq!(t("2023-04-19T17:23:40Z"), Some(1_681_925_020_000_000));
        assert_eq!(
            t("2023-04-19 19:23:40.5+02:00"),
            Some(1_681_925_020_500_000)
        );
        assert_eq!(t("2023-04-19 17:23"), Some(1_681_924_980_000_000));
        assert_eq!(t("2023-04-19"), Some(1_681_862_400_000_000));
        assert_eq!(t("yesterday-ish"), None);
        assert_eq!(
            time_arg(&json!(1681925020.25)).unwrap().timestamp_micros(),
            1_681_925_020_250_000
        );
    }
}
