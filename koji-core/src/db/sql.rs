//! Running SQL written with `?` placeholders on either backend.

use super::{backend_of, Backend};
use crate::error::{Error, Result};
use sea_orm::{ConnectionTrait, QueryResult, Statement, TryGetable, Value};

/// Rewrites `?` placeholders to `$1..$n` for PostgreSQL, leaving quoted
/// literals alone.
pub(crate) fn placeholders(sql: &str, backend: Backend) -> std::borrow::Cow<'_, str> {
    if backend == Backend::Sqlite || !sql.contains('?') {
        return std::borrow::Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    let mut quote = false;
    for ch in sql.chars() {
        match ch {
            '\'' => {
                quote = !quote;
                out.push(ch);
            }
            '?' if !quote => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push(ch),
        }
    }
    std::borrow::Cow::Owned(out)
}

fn statement(c: &impl ConnectionTrait, sql: &str, params: Vec<Value>) -> Statement {
    let backend = backend_of(c);
    Statement::from_sql_and_values(
        c.get_database_backend(),
        placeholders(sql, backend).into_owned(),
        params,
    )
}

pub async fn fetch_all<C: ConnectionTrait>(
    c: &C,
    sql: &str,
    params: Vec<Value>,
) -> Result<Vec<QueryResult>> {
    Ok(c.query_all_raw(statement(c, sql, params)).await?)
}

/// The rows of `SELECT <cols> <from>` (`from`: `FROM ... WHERE ...`, no
/// `ORDER BY`, `GROUP BY` or `LIMIT`), each decoded into a `T` from a JSON
/// array of its columns in `cols`' order (a struct deriving `Deserialize`
/// takes its fields in order from an array).
///
/// The database puts the rows into one JSON document (SQLite's
/// `json_group_array`, PostgreSQL's `json_agg`) and sends that as one
/// value: for thousands of rows this is several times cheaper than rows
/// one by one through the driver (SQLite's copies every value and hands
/// each row across threads). Booleans arrive as `0`/`1` from SQLite and
/// as `true`/`false` from PostgreSQL: decode them with [`json_bool`] or
/// [`json_opt_bool`]; TEXT arrives as a string, NULL as `null`.
pub async fn fetch_json_rows<T: serde::de::DeserializeOwned, C: ConnectionTrait>(
    c: &C,
    cols: &[&str],
    from: &str,
    params: Vec<Value>,
) -> Result<Vec<T>> {
    fetch_json_rows_with(c, "", cols, from, "", params).await
}

/// [`fetch_json_rows`] of `WITH <with> SELECT <cols> <from> ORDER BY
/// <order_by>` (`with` and `order_by` may be empty; `from` then holds no
/// `GROUP BY` or `LIMIT`): the rows come in that order.
pub async fn fetch_json_rows_with<T: serde::de::DeserializeOwned, C: ConnectionTrait>(
    c: &C,
    with: &str,
    cols: &[&str],
    from: &str,
    order_by: &str,
    params: Vec<Value>,
) -> Result<Vec<T>> {
    let cols = cols.join(", ");
    let with = if with.is_empty() {
        String::new()
    } else {
        format!("WITH {with} ")
    };
    let order = if order_by.is_empty() {
        String::new()
    } else {
        format!(" ORDER BY {order_by}")
    };
    let sql = match backend_of(c) {
        Backend::Sqlite => {
            format!("{with}SELECT json_group_array(json_array({cols}){order}) AS j {from}")
        }
        Backend::Postgres => format!(
            "{with}SELECT COALESCE(json_agg(json_build_array({cols}){order}), '[]'::json)::text \
             AS j {from}"
        ),
    };
    let row = fetch_one(c, &sql, params).await?;
    let text: Option<String> = row
        .try_get("", "j")
        .map_err(|e| Error::Db(format!("{e}: {sql}")))?;
    serde_json::from_str(text.as_deref().unwrap_or("[]"))
        .map_err(|e| Error::Db(format!("unexpected row shape ({e}): {sql}")))
}

/// A boolean column of [`fetch_json_rows`] (`true`/`false`, or SQLite's
/// `1`/`0`).
pub fn json_bool<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    json_opt_bool(d)?.ok_or_else(|| serde::de::Error::custom("null where a boolean was expected"))
}

/// A nullable boolean column of [`fetch_json_rows`].
pub fn json_opt_bool<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<bool>, D::Error> {
    use serde::Deserialize as _;
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Bool(b)) => Ok(Some(b)),
        Some(serde_json::Value::Number(n)) => Ok(Some(n.as_i64() != Some(0))),
        Some(other) => Err(serde::de::Error::custom(format!("not a boolean: {other}"))),
    }
}

pub async fn fetch_opt<C: ConnectionTrait>(
    c: &C,
    sql: &str,
    params: Vec<Value>,
) -> Result<Option<QueryResult>> {
    Ok(c.query_one_raw(statement(c, sql, params)).await?)
}

pub async fn fetch_one<C: ConnectionTrait>(
    c: &C,
    sql: &str,
    params: Vec<Value>,
) -> Result<QueryResult> {
    fetch_opt(c, sql, params)
        .await?
        .ok_or_else(|| Error::Db(format!("query returned no row: {sql}")))
}

/// Executes a statement, returning the number of rows affected.
pub async fn exec<C: ConnectionTrait>(c: &C, sql: &str, params: Vec<Value>) -> Result<u64> {
    Ok(c.execute_raw(statement(c, sql, params))
        .await?
        .rows_affected())
}

/// Typed column access that tolerates the integer widths of both backends.
pub trait RowExt {
    fn get<T: TryGetable>(&self, col: &str) -> Result<T>;
    /// An integer column of any width.
    fn int(&self, col: &str) -> Result<i64>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>>;
    fn string(&self, col: &str) -> Result<String> {
        self.get(col)
    }
    fn opt_string(&self, col: &str) -> Result<Option<String>> {
        self.get(col)
    }
    /// A boolean column; NULL reads as false (upstream's `active` is TRUE or NULL).
    fn boolean(&self, col: &str) -> Result<bool>;
    fn opt_bool(&self, col: &str) -> Result<Option<bool>>;
    /// A timestamp column as seconds since the epoch.
    fn ts(&self, col: &str) -> Result<Option<f64>>;
}

impl RowExt for QueryResult {
    fn get<T: TryGetable>(&self, col: &str) -> Result<T> {
        self.try_get::<T>("", col)
            .map_err(|e| Error::Db(format!("column {col}: {e}")))
    }
    fn int(&self, col: &str) -> Result<i64> {
        self.opt_int(col)?
            .ok_or_else(|| Error::Db(format!("column {col} is NULL")))
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        if let Ok(v) = self.try_get::<Option<i64>>("", col) {
            return Ok(v);
        }
        if let Ok(v) = self.try_get::<Option<i32>>("", col) {
            return Ok(v.map(i64::from));
        }
        Ok(self.get::<Option<i16>>(col)?.map(i64::from))
    }
    fn boolean(&self, col: &str) -> Result<bool> {
        Ok(self.opt_bool(col)?.unwrap_or(false))
    }
    fn opt_bool(&self, col: &str) -> Result<Option<bool>> {
        if let Ok(v) = self.try_get::<Option<bool>>("", col) {
            return Ok(v);
        }
        Ok(self.opt_int(col)?.map(|v| v != 0))
    }
    fn ts(&self, col: &str) -> Result<Option<f64>> {
        if let Ok(v) = self.try_get::<Option<chrono::DateTime<chrono::Utc>>>("", col) {
            return Ok(v.map(|t| t.timestamp_micros() as f64 / 1e6));
        }
        if let Ok(v) = self.try_get::<Option<chrono::NaiveDateTime>>("", col) {
            return Ok(v.map(|t| t.and_utc().timestamp_micros() as f64 / 1e6));
        }
        let s: Option<String> = self.get(col)?;
        Ok(s.and_then(|s| parse_ts(&s)))
    }
}

/// Parses the timestamp texts SQLite may hold.
pub(crate) fn parse_ts(s: &str) -> Option<f64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_micros() as f64 / 1e6);
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%#z"] {
        if let Ok(t) = chrono::DateTime::parse_from_str(s, fmt) {
            return Some(t.timestamp_micros() as f64 / 1e6);
        }
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|fmt| chrono::NaiveDateTime::parse_from_str(s, fmt).ok())
        .map(|t| t.and_utc().timestamp_micros() as f64 / 1e6)
}

/// A WHERE clause built from optional conditions.
#[derive(Default, Debug)]
pub struct Where {
    clauses: Vec<String>,
    pub params: Vec<Value>,
}

impl Where {
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds `clause` (with `?` placeholders) and its parameters.
    pub fn and(&mut self, clause: impl Into<String>, params: Vec<Value>) -> &mut Self {
        self.clauses.push(clause.into());
        self.params.extend(params);
        self
    }
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }
    /// ` WHERE a AND b`, or the empty string.
    pub fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_rewrite_for_postgres_only() {
        let sql = "SELECT * FROM t WHERE a = ? AND b = '?' AND c = ?";
        assert_eq!(placeholders(sql, Backend::Sqlite), sql);
        assert_eq!(
            placeholders(sql, Backend::Postgres),
            "SELECT * FROM t WHERE a = $1 AND b = '?' AND c = $2"
        );
    }

    #[test]
    fn timestamps_of_both_spellings_parse() {
        assert_eq!(parse_ts("1970-01-01T00:00:01+00:00"), Some(1.0));
        assert_eq!(parse_ts("1970-01-01 00:00:01.5+00:00"), Some(1.5));
        assert_eq!(parse_ts("1970-01-01 00:00:02"), Some(2.0));
    }
}
