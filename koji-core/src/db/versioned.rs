//! Upstream's versioned-table design: a row is live while `active` is TRUE;
//! it is revoked by setting `active` NULL with `revoke_event`/`revoker_id`,
//! never deleted or rewritten. Reads "as of event N" see the rows created at
//! or before N and not yet revoked at N.

use super::{exec, Tx, Value};
use crate::error::Result;

/// The condition selecting rows of `alias` live at `event` (or now).
///
/// Returns the SQL and its parameters.
pub fn live(alias: &str, event: Option<i64>) -> (String, Vec<Value>) {
    let p = if alias.is_empty() {
        String::new()
    } else {
        format!("{alias}.")
    };
    match event {
        None => (format!("{p}active = TRUE"), vec![]),
        Some(ev) => (
            format!("{p}create_event <= ? AND ({p}revoke_event IS NULL OR ? < {p}revoke_event)"),
            vec![ev.into(), ev.into()],
        ),
    }
}

/// Revokes the live rows of `table` matching `cond`, in the transaction's
/// event, by `user_id`. Returns how many rows were revoked.
pub async fn revoke(
    tx: &mut Tx,
    table: &str,
    cond: &str,
    params: Vec<Value>,
    user_id: i64,
) -> Result<u64> {
    let event = tx.event().await?;
    let mut all: Vec<Value> = vec![event.into(), user_id.into()];
    all.extend(params);
    exec(
        &**tx,
        &format!(
            "UPDATE {table} SET active = NULL, revoke_event = ?, revoker_id = ? \
             WHERE active = TRUE AND ({cond})"
        ),
        all,
    )
    .await
}

/// Inserts a live row into `table` with the transaction's event and
/// `creator_id = user_id`.
pub async fn insert(
    tx: &mut Tx,
    table: &str,
    cols: &[&str],
    values: Vec<Value>,
    user_id: i64,
) -> Result<()> {
    let event = tx.event().await?;
    let mut names: Vec<&str> = cols.to_vec();
    names.extend(["create_event", "creator_id", "active"]);
    let marks = vec!["?"; names.len()].join(", ");
    let mut all = values;
    all.push(event.into());
    all.push(user_id.into());
    all.push(true.into());
    exec(
        &**tx,
        &format!(
            "INSERT INTO {table} ({}) VALUES ({marks})",
            names.join(", ")
        ),
        all,
    )
    .await?;
    Ok(())
}
