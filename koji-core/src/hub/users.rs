//! Users, groups, permissions and Kerberos principals.
//!
//! Users, hosts and groups all live in `users` (told apart by `usertype`);
//! `users` and `user_krb_principals` are plain tables, while permission
//! grants (`user_perms`) and group memberships (`user_groups`) are versioned.
//!
//! Helpers other areas may reuse: [`Users::get_in`] (a `getUser` lookup
//! inside a transaction), [`Users::create_user_in`] (upstream's
//! `session.createUser`, e.g. for `addHost`) and [`perms_of`].

use super::tags::lookup_name;
use super::{Caller, Hub};
use crate::api::{py_type_of, truthy};
use crate::db::{exec, fetch_all, fetch_one, fetch_opt, versioned, RowExt, Where};
use crate::error::{Error, Result};
use crate::model::UserType;
use crate::params;
use crate::util::{py_class, py_repr, py_str};
use sea_orm::ConnectionTrait;
use serde::Serialize;
use serde_json::{json, Map, Value as Json};
use std::collections::BTreeSet;

use super::query_opts::{Columns, QueryOpts};

pub struct Users<'a>(pub(super) &'a Hub);

const NORMAL: i64 = UserType::Normal as i64;
const GROUP: i64 = UserType::Group as i64;
/// `users.status` of a user who may log in.
const STATUS_NORMAL: i64 = 0;
/// `users.status` of a user whose logins are refused.
const STATUS_BLOCKED: i64 = 1;

/// A user as upstream's `getUser` returns it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UserInfo {
    pub id: i64,
    pub name: String,
    pub status: i64,
    pub usertype: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub krb_principals: Option<Vec<String>>,
    /// The names of the user's groups (with `groups=True`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<Json>>,
}

/// A permission row (`getAllPerms`), keys in upstream's order: its query's
/// columns sorted by name.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PermInfo {
    pub description: Option<String>,
    pub id: i64,
    pub name: String,
}

/// A member of a group, as `getGroupMembers` lists it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GroupMember {
    pub id: i64,
    pub krb_principals: Vec<String>,
    pub name: String,
    pub usertype: i64,
}

impl Users<'_> {
    /// `getUser(userInfo=None, strict=False, krb_princs=True, groups=False)`:
    /// by id, by name or Kerberos principal, or by a dict of those.
    pub async fn get(
        &self,
        caller: &Caller,
        info: &Json,
        strict: bool,
        krb_princs: bool,
        groups: bool,
    ) -> Result<Option<UserInfo>> {
        Self::get_in(self.0.db().conn(), caller, info, strict, krb_princs, groups).await
    }

    /// [`Users::get`] on any connection or transaction. `None` as `info`
    /// means the caller; like upstream, a query matching several users
    /// answers the first (by id).
    pub async fn get_in<C: ConnectionTrait>(
        c: &C,
        caller: &Caller,
        info: &Json,
        strict: bool,
        krb_princs: bool,
        groups: bool,
    ) -> Result<Option<UserInfo>> {
        let mut clauses: Vec<&str> = vec![];
        let mut p = vec![];
        let mut krb_join = false;
        let info = match info {
            Json::Null => match &caller.session {
                Some(s) => Json::from(s.user_id),
                None => return Err(Error::Generic("No user provided".into())),
            },
            other => other.clone(),
        };
        match &info {
            Json::Number(n) => {
                let id = n.as_i64().ok_or_else(|| {
                    Error::Generic("Invalid type for userInfo: <class 'float'>".into())
                })?;
                clauses.push("users.id = ?");
                p.push(id.into());
            }
            Json::String(s) => {
                clauses.push("(user_krb_principals.krb_principal = ? OR users.name = ?)");
                p.push(s.clone().into());
                p.push(s.clone().into());
                krb_join = true;
            }
            Json::Object(m) => {
                match m.get("id") {
                    None | Some(Json::Null) => {}
                    Some(Json::Number(n)) if n.is_i64() => {
                        clauses.push("users.id = ?");
                        p.push(n.as_i64().into());
                    }
                    Some(other) => {
                        return Err(Error::Generic(format!(
                            "Invalid type for userid: {}",
                            py_class(other)
                        )))
                    }
                }
                match m.get("name") {
                    Some(Json::String(s)) if !s.is_empty() => {
                        clauses.push("users.name = ?");
                        p.push(s.clone().into());
                    }
                    Some(v) if truthy(v) => {
                        return Err(Error::Generic(format!(
                            "Invalid type for username: {}",
                            py_class(v)
                        )))
                    }
                    _ => {}
                }
                match m.get("krb_principal") {
                    Some(Json::String(s)) if !s.is_empty() => {
                        clauses.push("user_krb_principals.krb_principal = ?");
                        p.push(s.clone().into());
                        krb_join = true;
                    }
                    Some(v) if truthy(v) => {
                        return Err(Error::Generic(format!(
                            "Invalid type for krb_principal: {}",
                            py_class(v)
                        )))
                    }
                    _ => {}
                }
            }
            other => {
                return Err(Error::Generic(format!(
                    "Invalid type for userInfo: {}",
                    py_class(other)
                )))
            }
        }
        let mut sql = String::from(
            "SELECT DISTINCT users.id, users.name, users.status, users.usertype FROM users",
        );
        if krb_join {
            sql.push_str(
                " LEFT JOIN user_krb_principals ON users.id = user_krb_principals.user_id",
            );
        }
        if !clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&clauses.join(" AND "));
        }
        sql.push_str(" ORDER BY users.id LIMIT 1");
        let Some(r) = fetch_opt(c, &sql, p).await? else {
            if strict {
                return Err(Error::Generic(format!("No such user: {}", py_repr(&info))));
            }
            return Ok(None);
        };
        let id = r.int("id")?;
        let mut user = UserInfo {
            id,
            name: r.string("name")?,
            status: r.int("status")?,
            usertype: r.int("usertype")?,
            krb_principals: None,
            groups: None,
        };
        if krb_princs {
            user.krb_principals = Some(krb_principals_in(c, id).await?);
        }
        if groups {
            user.groups = Some(
                groups_of(c, id)
                    .await?
                    .into_iter()
                    .map(|(_, name)| Json::from(name))
                    .collect(),
            );
        }
        Ok(Some(user))
    }

    /// A user's Kerberos principals.
    pub async fn krb_principals(&self, user_id: i64) -> Result<Vec<String>> {
        krb_principals_in(self.0.db().conn(), user_id).await
    }

    /// The groups a user is in, as `{'id', 'name'}` maps.
    pub async fn user_groups(&self, user_id: i64) -> Result<Vec<Json>> {
        Ok(groups_of(self.0.db().conn(), user_id)
            .await?
            .into_iter()
            .map(|(id, name)| json!({"id": id, "name": name}))
            .collect())
    }

    /// Creates a user row directly (no permission check): the operator's
    /// bootstrap path and tests.
    pub async fn insert_user(
        &self,
        name: &str,
        usertype: i64,
        status: i64,
        krb_principal: Option<&str>,
    ) -> Result<i64> {
        let tx = self.0.db().begin().await?;
        let id = Self::create_user_in(&*tx, name, usertype, status, krb_principal).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Upstream's `session.createUser`: inserts a user (or host, or group)
    /// with its optional Kerberos principal, after checking the name is not
    /// empty. Returns the new id. Callers check permissions and names.
    pub async fn create_user_in<C: ConnectionTrait>(
        c: &C,
        name: &str,
        usertype: i64,
        status: i64,
        krb_principal: Option<&str>,
    ) -> Result<i64> {
        if name.is_empty() {
            return Err(Error::generic("a user must have a non-empty name"));
        }
        let row = fetch_one(
            c,
            "INSERT INTO users (name, usertype, status) VALUES (?, ?, ?) RETURNING id",
            params![name.to_string(), usertype, status],
        )
        .await?;
        let id = row.int("id")?;
        if let Some(k) = krb_principal.filter(|k| !k.is_empty()) {
            exec(
                c,
                "INSERT INTO user_krb_principals (user_id, krb_principal) VALUES (?, ?)",
                params![id, k.to_string()],
            )
            .await?;
        }
        Ok(id)
    }

    /// Looks a permission up by id or name.
    pub async fn lookup_perm(&self, info: &Json) -> Result<Option<PermInfo>> {
        let (sql, p) = match info {
            Json::Number(n) => (
                "SELECT id, name, description FROM permissions WHERE id = ?",
                params![n.as_i64()],
            ),
            Json::String(s) => (
                "SELECT id, name, description FROM permissions WHERE name = ?",
                params![s.clone()],
            ),
            other => {
                return Err(Error::Generic(format!(
                    "Invalid type for permission: {}",
                    py_class(other)
                )))
            }
        };
        let row = fetch_opt(self.0.db().conn(), sql, p).await?;
        row.map(|r| perm_row(&r)).transpose()
    }

    /// Grants `perm_id` to `user_id` by `by_user` without checks (bootstrap).
    pub async fn insert_perm(&self, user_id: i64, perm_id: i64, by_user: i64) -> Result<()> {
        let mut tx = self.0.db().begin().await?;
        versioned::insert(
            &mut tx,
            "user_perms",
            &["user_id", "perm_id"],
            params![user_id, perm_id],
            by_user,
        )
        .await?;
        tx.commit().await
    }
}

impl Users<'_> {
    /// Creates (or completes) a user holding `admin`, with a password: the
    /// operator's first step on a new hub (`koji-hub create-admin`).
    pub async fn bootstrap_admin(&self, name: &str, password: &str) -> Result<i64> {
        let caller = Caller::default();
        let id = match self
            .get(&caller, &Json::from(name), false, false, false)
            .await?
        {
            Some(u) => u.id,
            None => self.insert_user(name, NORMAL, STATUS_NORMAL, None).await?,
        };
        self.0.auth().set_password(name, password).await?;
        let admin = self
            .lookup_perm(&Json::from("admin"))
            .await?
            .ok_or_else(|| Error::Generic("the admin permission is missing".into()))?;
        if !super::auth::user_perm_names(self.0, id)
            .await?
            .contains("admin")
        {
            self.insert_perm(id, admin.id, id).await?;
        }
        Ok(id)
    }
}

// ---------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------

impl Users<'_> {
    /// `createUser(username, status=None, krb_principal=None)`: admin only;
    /// returns the new user's id.
    pub async fn create(
        &self,
        caller: &Caller,
        username: &Json,
        status: &Json,
        krb_principal: &Json,
    ) -> Result<i64> {
        caller.assert_perm("admin")?;
        self.0.config().names.user(username, krb_principal)?;
        let tx = self.0.db().begin().await?;
        if Self::get_in(&*tx, caller, username, false, false, false)
            .await?
            .is_some()
        {
            return Err(Error::Generic(format!(
                "user already exists: {}",
                py_str(username)
            )));
        }
        let krb = match krb_principal {
            Json::String(k) if !k.is_empty() => {
                if get_by_krb_in(&*tx, caller, k).await?.is_some() {
                    return Err(Error::Generic(format!(
                        "user with this Kerberos principal already exists: {k}"
                    )));
                }
                Some(k.as_str())
            }
            _ => None,
        };
        let name = username.as_str().unwrap_or_default();
        let status = parse_status(status)?;
        let id = Self::create_user_in(&*tx, name, NORMAL, status, krb).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// `listUsers(userType=0, prefix=None, queryOpts=None, perm=None,
    /// inherited_perm=False)`: users of one type (None: all), optionally by
    /// name prefix (case-insensitive) and by permission (held directly, or
    /// also through a group with `inherited_perm`).
    pub async fn list(
        &self,
        user_type: &Json,
        prefix: &Json,
        query_opts: &Json,
        perm: &Json,
        inherited_perm: bool,
    ) -> Result<Json> {
        if inherited_perm && !truthy(perm) {
            return Err(Error::generic(
                "inherited_perm option must be used with perm option",
            ));
        }
        let c = self.0.db().conn();
        let mut w = Where::new();
        match user_type {
            Json::Null => {}
            Json::Bool(b) => {
                w.and("users.usertype = ?", params![*b as i64]);
            }
            Json::Number(n) if n.is_i64() => {
                w.and("users.usertype = ?", params![n.as_i64()]);
            }
            _ => return Err(Error::param("userType must be integer or None")),
        }
        let mut joins = String::new();
        if truthy(perm) {
            let perm = lookup_name(c, "permissions", perm, true, false)
                .await?
                .ok_or_else(|| Error::generic("permission lookup failed"))?;
            if inherited_perm {
                joins.push_str(
                    " LEFT JOIN user_groups ON user_groups.user_id = users.id \
                     AND user_groups.active = TRUE \
                     LEFT JOIN user_perms ON (users.id = user_perms.user_id \
                     OR user_groups.group_id = user_perms.user_id)",
                );
            } else {
                joins.push_str(" LEFT JOIN user_perms ON users.id = user_perms.user_id");
            }
            w.and(
                "user_perms.active = TRUE AND user_perms.perm_id = ?",
                params![perm.id],
            );
        }
        if truthy(prefix) {
            w.and(
                "LOWER(users.name) LIKE (LOWER(?) || '%')",
                params![py_str(prefix)],
            );
        }
        let opts = QueryOpts::parse(query_opts)?;
        if opts.group.is_some() {
            return Err(Error::generic(
                "queryOpts.group is not available for this API",
            ));
        }
        let sql = format!(
            "SELECT users.id, users.name, users.status, users.usertype, \
             user_krb_principals.krb_principal FROM users{joins} \
             LEFT JOIN user_krb_principals ON users.id = user_krb_principals.user_id{} \
             ORDER BY users.id, user_krb_principals.krb_principal",
            w.sql()
        );
        let rows = fetch_all(c, &sql, w.params).await?;
        // upstream groups the joined rows by user and aggregates the
        // principals of every joined row (array_agg), dropping NULLs
        let mut users: Vec<(i64, Map<String, Json>)> = vec![];
        for r in rows {
            let id = r.int("id")?;
            if users.last().map(|(last, _)| *last) != Some(id) {
                let mut m = Map::new();
                m.insert("id".into(), id.into());
                m.insert("krb_principals".into(), json!([]));
                m.insert("name".into(), r.string("name")?.into());
                m.insert("status".into(), r.int("status")?.into());
                m.insert("usertype".into(), r.int("usertype")?.into());
                users.push((id, m));
            }
            if let Some(k) = r.opt_string("krb_principal")? {
                if let Some((_, m)) = users.last_mut() {
                    if let Some(Json::Array(a)) = m.get_mut("krb_principals") {
                        a.push(k.into());
                    }
                }
            }
        }
        let columns = Columns::sorted(&["id", "krb_principals", "name", "status", "usertype"])
            .expr("users.id", "id")
            .expr("users.name", "name")
            .expr("array_agg(krb_principal)", "krb_principals");
        opts.apply(
            users.into_iter().map(|(_, m)| Json::Object(m)).collect(),
            &columns,
        )
    }

    /// `editUser(userInfo, name=None, krb_principal_mappings=None)`: admin
    /// only; renames a user and adds, removes or replaces its Kerberos
    /// principals (`[{'old': ..., 'new': ...}]`), all or nothing.
    pub async fn edit(
        &self,
        caller: &Caller,
        info: &Json,
        name: &Json,
        mappings: &Json,
    ) -> Result<()> {
        caller.assert_perm("admin")?;
        let tx = self.0.db().begin().await?;
        let user = Self::get_in(&*tx, caller, info, true, true, false)
            .await?
            .ok_or_else(|| Error::generic("No such user"))?;
        if truthy(name) && name.as_str() != Some(user.name.as_str()) {
            self.0.config().names.user(name, &Json::Null)?;
            let new_name = name.as_str().unwrap_or_default();
            let taken = fetch_opt(
                &*tx,
                "SELECT id FROM users WHERE name = ?",
                params![new_name.to_string()],
            )
            .await?;
            if let Some(t) = taken {
                return Err(Error::Generic(format!(
                    "Name {new_name} already taken by user {}",
                    t.int("id")?
                )));
            }
            exec(
                &*tx,
                "UPDATE users SET name = ? WHERE id = ?",
                params![new_name.to_string(), user.id],
            )
            .await?;
        }
        if truthy(mappings) {
            let mut added = BTreeSet::new();
            let mut removed = BTreeSet::new();
            for pair in py_iter(mappings)? {
                let Json::Object(pair) = pair else {
                    return Err(crate::util::py_no_attribute(&pair, "get"));
                };
                let old = pair.get("old").cloned().unwrap_or(Json::Null);
                let new = pair.get("new").cloned().unwrap_or(Json::Null);
                if truthy(&old) {
                    removed.insert(py_str(&old));
                }
                if truthy(&new) {
                    self.0.config().names.user(&Json::Null, &new)?;
                    added.insert(py_str(&new));
                }
            }
            let join = |s: Vec<&String>| s.into_iter().cloned().collect::<Vec<_>>().join(", ");
            let dups: Vec<&String> = added.intersection(&removed).collect();
            if !dups.is_empty() {
                return Err(Error::Generic(format!(
                    "There are some conflicts between added and removed Kerberos principals: {}",
                    join(dups)
                )));
            }
            let current: BTreeSet<String> = user
                .krb_principals
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect();
            let dups: Vec<&String> = added.intersection(&current).collect();
            if !dups.is_empty() {
                return Err(Error::Generic(format!(
                    "Cannot add existing Kerberos principals: {}",
                    join(dups)
                )));
            }
            let missing: Vec<&String> = removed.difference(&current).collect();
            if !missing.is_empty() {
                return Err(Error::Generic(format!(
                    "Cannot remove non-existent Kerberos principals: {}",
                    join(missing)
                )));
            }
            for r in &removed {
                exec(
                    &*tx,
                    "DELETE FROM user_krb_principals WHERE user_id = ? AND krb_principal = ?",
                    params![user.id, r.clone()],
                )
                .await?;
            }
            for a in &added {
                if get_by_krb_in(&*tx, caller, a).await?.is_some() {
                    return Err(Error::Generic(format!(
                        "user with this Kerberos principal already exists: {a}"
                    )));
                }
                exec(
                    &*tx,
                    "INSERT INTO user_krb_principals (user_id, krb_principal) VALUES (?, ?)",
                    params![user.id, a.clone()],
                )
                .await?;
            }
        }
        tx.commit().await
    }

    /// `enableUser(username)` / `disableUser(username)`: sets whether the
    /// user may log in (admin only; an unknown user is reported first).
    pub async fn set_enabled(&self, caller: &Caller, username: &Json, enabled: bool) -> Result<()> {
        let user = self
            .get(caller, username, false, false, false)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such user: {}", py_str(username))))?;
        caller.assert_perm("admin")?;
        let status = if enabled {
            STATUS_NORMAL
        } else {
            STATUS_BLOCKED
        };
        if user.status == status {
            return Ok(());
        }
        let tx = self.0.db().begin().await?;
        let n = exec(
            &*tx,
            "UPDATE users SET status = ? WHERE id = ?",
            params![status, user.id],
        )
        .await?;
        if n == 0 {
            return Err(Error::Generic(format!("No such user ID: {}", user.id)));
        }
        tx.commit().await
    }

    /// `addUserKrbPrincipal(user, krb_principal)`: admin only; returns the
    /// user's id.
    pub async fn add_krb_principal(
        &self,
        caller: &Caller,
        user: &Json,
        krb_principal: &Json,
    ) -> Result<i64> {
        caller.assert_perm("admin")?;
        let tx = self.0.db().begin().await?;
        let info = Self::get_in(&*tx, caller, user, true, false, false)
            .await?
            .ok_or_else(|| Error::generic("No such user"))?;
        self.0.config().names.user(&Json::Null, krb_principal)?;
        let Json::String(krb) = krb_principal else {
            return Err(Error::generic("No kerberos principal provided"));
        };
        if get_by_krb_in(&*tx, caller, krb).await?.is_some() {
            return Err(Error::Generic(format!(
                "user with this Kerberos principal already exists: {krb}"
            )));
        }
        exec(
            &*tx,
            "INSERT INTO user_krb_principals (user_id, krb_principal) VALUES (?, ?)",
            params![info.id, krb.clone()],
        )
        .await?;
        tx.commit().await?;
        Ok(info.id)
    }

    /// `removeUserKrbPrincipal(user, krb_principal)`: admin only; returns
    /// the user's id.
    pub async fn remove_krb_principal(
        &self,
        caller: &Caller,
        user: &Json,
        krb_principal: &Json,
    ) -> Result<i64> {
        caller.assert_perm("admin")?;
        let tx = self.0.db().begin().await?;
        let info = Self::get_in(&*tx, caller, user, true, false, false)
            .await?
            .ok_or_else(|| Error::generic("No such user"))?;
        if !truthy(krb_principal) {
            return Err(Error::generic("krb_principal must be specified"));
        }
        let krb = py_str(krb_principal);
        let n = exec(
            &*tx,
            "DELETE FROM user_krb_principals WHERE user_id = ? AND krb_principal = ?",
            params![info.id, krb.clone()],
        )
        .await?;
        if n == 0 {
            return Err(Error::Auth(format!(
                "cannot remove Kerberos Principal: {krb} with user {}",
                info.name
            )));
        }
        tx.commit().await?;
        Ok(info.id)
    }
}

// ---------------------------------------------------------------------------
// Permissions
// ---------------------------------------------------------------------------

impl Users<'_> {
    /// `grantPermission(userinfo, permission, create=False, description=None)`:
    /// admin only; `create` makes a missing permission (with `description`).
    pub async fn grant_perm(
        &self,
        caller: &Caller,
        userinfo: &Json,
        permission: &Json,
        create: bool,
        description: &Json,
    ) -> Result<()> {
        caller.assert_perm("admin")?;
        if create {
            self.0.config().names.internal(permission)?;
        }
        if !description.is_null() && !create {
            return Err(Error::generic(
                "Description should be specified only with create.",
            ));
        }
        check_str(description, true)?;
        let mut tx = self.0.db().begin().await?;
        let user = Self::get_in(&*tx, caller, userinfo, true, false, false)
            .await?
            .ok_or_else(|| Error::generic("No such user"))?;
        let perm = lookup_name(&*tx, "permissions", permission, !create, create)
            .await?
            .ok_or_else(|| Error::generic("permission lookup failed"))?;
        if let (true, Json::String(d)) = (create, description) {
            exec(
                &*tx,
                "UPDATE permissions SET description = ? WHERE id = ?",
                params![d.clone(), perm.id],
            )
            .await?;
        }
        if perms_of(&*tx, user.id, false)
            .await?
            .iter()
            .any(|(n, _)| *n == perm.name)
        {
            return Err(Error::Generic(format!(
                "user {} already has permission: {}",
                py_str(userinfo),
                perm.name
            )));
        }
        let uid = caller.user_id()?;
        versioned::insert(
            &mut tx,
            "user_perms",
            &["user_id", "perm_id"],
            params![user.id, perm.id],
            uid,
        )
        .await?;
        tx.commit().await
    }

    /// `revokePermission(userinfo, permission)`: admin only.
    pub async fn revoke_perm(
        &self,
        caller: &Caller,
        userinfo: &Json,
        permission: &Json,
    ) -> Result<()> {
        caller.assert_perm("admin")?;
        let mut tx = self.0.db().begin().await?;
        let user = Self::get_in(&*tx, caller, userinfo, true, false, false)
            .await?
            .ok_or_else(|| Error::generic("No such user"))?;
        let perm = lookup_name(&*tx, "permissions", permission, true, false)
            .await?
            .ok_or_else(|| Error::generic("permission lookup failed"))?;
        if !perms_of(&*tx, user.id, false)
            .await?
            .iter()
            .any(|(n, _)| *n == perm.name)
        {
            return Err(Error::Generic(format!(
                "user {} does not have permission: {}",
                py_str(userinfo),
                perm.name
            )));
        }
        let uid = caller.user_id()?;
        versioned::revoke(
            &mut tx,
            "user_perms",
            "user_id = ? AND perm_id = ?",
            params![user.id, perm.id],
            uid,
        )
        .await?;
        tx.commit().await
    }

    /// `editPermission(permission, description)`: admin only.
    pub async fn edit_perm(
        &self,
        caller: &Caller,
        permission: &Json,
        description: &Json,
    ) -> Result<()> {
        caller.assert_perm("admin")?;
        check_str(description, false)?;
        let tx = self.0.db().begin().await?;
        let perm = lookup_name(&*tx, "permissions", permission, true, false)
            .await?
            .ok_or_else(|| Error::generic("permission lookup failed"))?;
        exec(
            &*tx,
            "UPDATE permissions SET description = ? WHERE id = ?",
            params![py_str(description), perm.id],
        )
        .await?;
        tx.commit().await
    }

    /// `getAllPerms()`: every permission, by id.
    pub async fn all_perms(&self) -> Result<Vec<PermInfo>> {
        let rows = fetch_all(
            self.0.db().conn(),
            "SELECT id, name, description FROM permissions ORDER BY id",
            params![],
        )
        .await?;
        rows.iter().map(perm_row).collect()
    }

    /// `getUserPerms(userID=None, with_groups=True)`: the names of the
    /// permissions a user holds (directly, then through groups).
    pub async fn user_perms(
        &self,
        caller: &Caller,
        user: &Json,
        with_groups: bool,
    ) -> Result<Vec<String>> {
        let c = self.0.db().conn();
        let info = Self::get_in(c, caller, user, true, false, false)
            .await?
            .ok_or_else(|| Error::generic("No such user"))?;
        Ok(perms_of(c, info.id, with_groups)
            .await?
            .into_iter()
            .map(|(n, _)| n)
            .collect())
    }

    /// `getUserPermsInheritance(userID)`: each permission the user holds
    /// with its sources: `None` for a direct grant, a group's name for a
    /// grant through that group.
    pub async fn user_perms_inheritance(&self, caller: &Caller, user: &Json) -> Result<Json> {
        let c = self.0.db().conn();
        let info = Self::get_in(c, caller, user, true, false, false)
            .await?
            .ok_or_else(|| Error::generic("No such user"))?;
        let mut out = Map::new();
        for (name, sources) in perms_of(c, info.id, true).await? {
            out.insert(
                name,
                Json::Array(sources.into_iter().map(Json::from).collect()),
            );
        }
        Ok(Json::Object(out))
    }

    /// `hasPerm(perm, strict=False)`: whether the caller holds `perm`;
    /// `strict` refuses an unknown permission.
    pub async fn has_perm(&self, caller: &Caller, perm: &Json, strict: bool) -> Result<bool> {
        if strict
            && lookup_name(self.0.db().conn(), "permissions", perm, false, false)
                .await?
                .is_none()
        {
            return Err(Error::Generic(format!(
                "No such permission {} defined",
                py_str(perm)
            )));
        }
        Ok(perm.as_str().is_some_and(|p| caller.has_perm(p)))
    }
}

// ---------------------------------------------------------------------------
// Groups
// ---------------------------------------------------------------------------

impl Users<'_> {
    /// `newGroup(name)`: admin only; returns the group's id.
    pub async fn new_group(&self, caller: &Caller, name: &Json) -> Result<i64> {
        caller.assert_perm("admin")?;
        let name = self.0.config().names.internal(name)?;
        let tx = self.0.db().begin().await?;
        if Self::get_in(&*tx, caller, &Json::from(name), false, false, false)
            .await?
            .is_some()
        {
            return Err(Error::Generic(format!("user/group already exists: {name}")));
        }
        let id = Self::create_user_in(&*tx, name, GROUP, STATUS_NORMAL, None).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// `addGroupMember(group, user, strict=True)`: admin only; without
    /// `strict` an existing membership is not an error.
    pub async fn add_group_member(
        &self,
        caller: &Caller,
        group: &Json,
        user: &Json,
        strict: bool,
    ) -> Result<()> {
        caller.assert_perm("admin")?;
        let mut tx = self.0.db().begin().await?;
        let ginfo = Self::get_in(&*tx, caller, group, false, false, false).await?;
        let uinfo = Self::get_in(&*tx, caller, user, false, false, false).await?;
        let ginfo = match ginfo {
            Some(g) if g.usertype == GROUP => g,
            _ => {
                return Err(Error::Generic(format!("Not a group: {}", py_str(group))));
            }
        };
        let Some(uinfo) = uinfo else {
            return Err(Error::Generic(format!("Not a user: {}", py_str(user))));
        };
        if uinfo.usertype == GROUP {
            return Err(Error::generic("Groups cannot be members of other groups"));
        }
        let existing = fetch_opt(
            &*tx,
            "SELECT user_id FROM user_groups WHERE active = TRUE AND user_id = ? AND group_id = ?",
            params![uinfo.id, ginfo.id],
        )
        .await?;
        if existing.is_some() {
            if !strict {
                return Ok(());
            }
            return Err(Error::generic("User already in group"));
        }
        let uid = caller.user_id()?;
        versioned::insert(
            &mut tx,
            "user_groups",
            &["user_id", "group_id"],
            params![uinfo.id, ginfo.id],
            uid,
        )
        .await?;
        tx.commit().await
    }

    /// `dropGroupMember(group, user)`: admin only.
    pub async fn drop_group_member(
        &self,
        caller: &Caller,
        group: &Json,
        user: &Json,
    ) -> Result<()> {
        caller.assert_perm("admin")?;
        let mut tx = self.0.db().begin().await?;
        let uinfo = Self::get_in(&*tx, caller, user, true, false, false)
            .await?
            .ok_or_else(|| Error::generic("No such user"))?;
        let ginfo = match Self::get_in(&*tx, caller, group, false, false, false).await? {
            Some(g) if g.usertype == GROUP => g,
            _ => {
                return Err(Error::Generic(format!("Not a group: {}", py_str(group))));
            }
        };
        let member = fetch_opt(
            &*tx,
            "SELECT user_id FROM user_groups WHERE active = TRUE AND user_id = ? AND group_id = ?",
            params![uinfo.id, ginfo.id],
        )
        .await?;
        if member.is_none() {
            return Err(Error::Generic(format!(
                "No such user in group: {}",
                py_str(group)
            )));
        }
        let uid = caller.user_id()?;
        versioned::revoke(
            &mut tx,
            "user_groups",
            "user_id = ? AND group_id = ?",
            params![uinfo.id, ginfo.id],
            uid,
        )
        .await?;
        tx.commit().await
    }

    /// `getGroupMembers(group)`: the group's current members.
    pub async fn group_members(&self, caller: &Caller, group: &Json) -> Result<Vec<GroupMember>> {
        let c = self.0.db().conn();
        let ginfo = match Self::get_in(c, caller, group, false, false, false).await? {
            Some(g) if g.usertype == GROUP => g,
            _ => {
                return Err(Error::Generic(format!("No such group: {}", py_str(group))));
            }
        };
        let rows = fetch_all(
            c,
            "SELECT users.id, users.name, users.usertype, user_krb_principals.krb_principal \
             FROM user_groups JOIN users ON user_groups.user_id = users.id \
             LEFT JOIN user_krb_principals ON users.id = user_krb_principals.user_id \
             WHERE user_groups.active = TRUE AND user_groups.group_id = ? \
             ORDER BY users.id, user_krb_principals.krb_principal",
            params![ginfo.id],
        )
        .await?;
        let mut out: Vec<GroupMember> = vec![];
        for r in rows {
            let id = r.int("id")?;
            if out.last().map(|m| m.id) != Some(id) {
                out.push(GroupMember {
                    id,
                    krb_principals: vec![],
                    name: r.string("name")?,
                    usertype: r.int("usertype")?,
                });
            }
            if let (Some(k), Some(m)) = (r.opt_string("krb_principal")?, out.last_mut()) {
                m.krb_principals.push(k);
            }
        }
        Ok(out)
    }

    /// `getUserGroups(user)`: the user's groups as `{'id', 'name'}` maps.
    pub async fn groups_of_user(&self, caller: &Caller, user: &Json) -> Result<Vec<Json>> {
        let info = self
            .get(caller, user, true, false, false)
            .await?
            .ok_or_else(|| Error::generic("No such user"))?;
        self.user_groups(info.id).await
    }
}

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/// The permissions `user_id` holds, each with its sources (`None`: a
/// direct grant; `Some(group)`: through that group), direct grants first.
/// With `with_groups` false only direct grants are read.
pub async fn perms_of<C: ConnectionTrait>(
    c: &C,
    user_id: i64,
    with_groups: bool,
) -> Result<Vec<(String, Vec<Option<String>>)>> {
    let mut out: Vec<(String, Vec<Option<String>>)> = vec![];
    let rows = fetch_all(
        c,
        "SELECT permissions.name FROM user_perms \
         JOIN permissions ON user_perms.perm_id = permissions.id \
         WHERE user_perms.active = TRUE AND user_perms.user_id = ? ORDER BY permissions.name",
        params![user_id],
    )
    .await?;
    for r in rows {
        out.push((r.string("name")?, vec![None]));
    }
    if with_groups {
        let rows = fetch_all(
            c,
            "SELECT permissions.name, users.name AS grp FROM user_groups \
             JOIN user_perms ON user_perms.user_id = user_groups.group_id \
             JOIN permissions ON user_perms.perm_id = permissions.id \
             JOIN users ON user_groups.group_id = users.id \
             WHERE user_groups.active = TRUE AND user_perms.active = TRUE \
             AND user_groups.user_id = ? ORDER BY permissions.name, users.name",
            params![user_id],
        )
        .await?;
        for r in rows {
            let name = r.string("name")?;
            let group = r.string("grp")?;
            match out.iter_mut().find(|(n, _)| *n == name) {
                Some((_, sources)) => sources.push(Some(group)),
                None => out.push((name, vec![Some(group)])),
            }
        }
    }
    Ok(out)
}

async fn krb_principals_in<C: ConnectionTrait>(c: &C, user_id: i64) -> Result<Vec<String>> {
    let rows = fetch_all(
        c,
        "SELECT krb_principal FROM user_krb_principals WHERE user_id = ? ORDER BY krb_principal",
        params![user_id],
    )
    .await?;
    rows.iter().map(|r| r.string("krb_principal")).collect()
}

/// `(id, name)` of the groups `user_id` is an active member of.
async fn groups_of<C: ConnectionTrait>(c: &C, user_id: i64) -> Result<Vec<(i64, String)>> {
    let rows = fetch_all(
        c,
        "SELECT users.id, users.name FROM user_groups JOIN users ON users.id = user_groups.group_id \
         WHERE user_groups.user_id = ? AND user_groups.active = TRUE AND users.usertype = ? \
         ORDER BY users.id",
        params![user_id, GROUP],
    )
    .await?;
    rows.iter()
        .map(|r| Ok((r.int("id")?, r.string("name")?)))
        .collect()
}

/// Upstream's `get_user_by_krb_principal`.
async fn get_by_krb_in<C: ConnectionTrait>(
    c: &C,
    caller: &Caller,
    krb: &str,
) -> Result<Option<UserInfo>> {
    Users::get_in(
        c,
        caller,
        &json!({ "krb_principal": krb }),
        false,
        false,
        false,
    )
    .await
}

fn perm_row(r: &sea_orm::QueryResult) -> Result<PermInfo> {
    Ok(PermInfo {
        id: r.int("id")?,
        name: r.string("name")?,
        description: r.opt_string("description")?,
    })
}

/// A `status` argument of `createUser`: None is NORMAL; otherwise a value
/// upstream's `USER_STATUS.get` accepts (an index into NORMAL, BLOCKED).
fn parse_status(v: &Json) -> Result<i64> {
    let n = match v {
        Json::Null => return Ok(STATUS_NORMAL),
        Json::Bool(b) => Some(*b as i64),
        Json::Number(n) => n.as_i64(),
        _ => None,
    };
    match n {
        Some(n) if (-2..=1).contains(&n) => Ok(n),
        _ => Err(Error::Generic(format!("invalid status: {}", py_str(v)))),
    }
}

/// Upstream's `convert_value(v, cast=str, check_only=True, none_allowed=...)`.
fn check_str(v: &Json, none_allowed: bool) -> Result<()> {
    match v {
        Json::String(_) => Ok(()),
        Json::Null if none_allowed => Ok(()),
        Json::Null => Err(Error::param("Invalid type, expected type <class 'str'>")),
        other => Err(Error::Parameter(format!(
            "Invalid type for value '{}': {}, expected type <class 'str'>",
            py_str(other),
            py_class(other)
        ))),
    }
}

/// The items Python's `for x in v` visits: list elements, dict keys, or
/// the characters of a string.
fn py_iter(v: &Json) -> Result<Vec<Json>> {
    match v {
        Json::Array(a) => Ok(a.clone()),
        Json::Object(m) => Ok(m.keys().map(|k| Json::from(k.as_str())).collect()),
        Json::String(s) => Ok(s.chars().map(|c| Json::from(c.to_string())).collect()),
        other => Err(Error::Fault {
            code: 1,
            message: format!(
                "<class 'TypeError'>: '{}' object is not iterable",
                py_type_of(other)
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_upstreams_enum_indexes() {
        assert_eq!(parse_status(&Json::Null).unwrap(), 0);
        assert_eq!(parse_status(&json!(1)).unwrap(), 1);
        assert_eq!(
            parse_status(&json!(2)).unwrap_err().to_string(),
            "invalid status: 2"
        );
    }
}
