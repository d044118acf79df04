//! Content generators (`content_generator`, `cg_users`): who may import
//! builds as which generator (upstream's `listCGs`, `grantCGAccess`,
//! `revokeCGAccess`). The grants are versioned rows.

use super::tags::lookup_name;
use super::users::Users;
use super::{Caller, Hub};
use crate::db::{fetch_all, fetch_opt, versioned, RowExt};
use crate::error::{Error, Result};
use crate::params;
use crate::util::py_repr;
use serde_json::{json, Map, Value as Json};

pub struct ContentGenerators<'a>(pub(super) &'a Hub);

impl ContentGenerators<'_> {
    /// `listCGs()`: `{name: {"id": id, "users": [user names]}}` of the live
    /// grants.
    pub async fn list(&self) -> Result<Json> {
        let rows = fetch_all(
            self.0.db().conn(),
            "SELECT content_generator.id AS id, content_generator.name AS name, \
             users.name AS user_name FROM cg_users \
             JOIN content_generator ON content_generator.id = cg_users.cg_id \
             JOIN users ON users.id = cg_users.user_id \
             WHERE cg_users.active = TRUE ORDER BY cg_users.create_event, users.id",
            params![],
        )
        .await?;
        let mut out = Map::new();
        for r in rows {
            let name = r.string("name")?;
            let entry = out
                .entry(name)
                .or_insert_with(|| json!({"id": r.int("id").unwrap_or_default(), "users": []}));
            if let Some(users) = entry["users"].as_array_mut() {
                users.push(Json::from(r.string("user_name")?));
            }
        }
        Ok(Json::Object(out))
    }

    /// `grantCGAccess(user, cg, create=False)` (admin).
    pub async fn grant(&self, caller: &Caller, user: &Json, cg: &Json, create: bool) -> Result<()> {
        caller.assert_perm("admin")?;
        let mut tx = self.0.db().begin().await?;
        let user = Users::get_in(&*tx, caller, user, true, false, false)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such user: {}", py_repr(user))))?;
        let cg = lookup_name(&*tx, "content_generator", cg, !create, create)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such content generator: {}", py_repr(cg))))?;
        let live = fetch_opt(
            &*tx,
            "SELECT cg_id FROM cg_users WHERE cg_id = ? AND user_id = ? AND active = TRUE",
            params![cg.id, user.id],
        )
        .await?;
        if live.is_some() {
            return Err(Error::Generic(format!(
                "User already has access to content generator {}",
                cg.name
            )));
        }
        versioned::insert(
            &mut tx,
            "cg_users",
            &["cg_id", "user_id"],
            params![cg.id, user.id],
            caller.user_id()?,
        )
        .await?;
        tx.commit().await
    }

    /// `revokeCGAccess(user, cg)` (admin): revokes the live grant, if any.
    pub async fn revoke(&self, caller: &Caller, user: &Json, cg: &Json) -> Result<()> {
        caller.assert_perm("admin")?;
        let mut tx = self.0.db().begin().await?;
        let user = Users::get_in(&*tx, caller, user, true, false, false)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such user: {}", py_repr(user))))?;
        let cg = lookup_name(&*tx, "content_generator", cg, true, false)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such content generator: {}", py_repr(cg))))?;
        versioned::revoke(
            &mut tx,
            "cg_users",
            "cg_id = ? AND user_id = ?",
            params![cg.id, user.id],
            caller.user_id()?,
        )
        .await?;
        tx.commit().await
    }
}
