//! Build notifications (upstream's `build_notifications` and
//! `build_notifications_block`): who is told by mail when a build ends or
//! is tagged, untagged or moved. The hub only decides the recipients and
//! queues a `buildNotification` or `tagNotification` task in the same
//! transaction as the change; a builder sends the mail.
//!
//! Recipients, as upstream's `get_notification_recipients`: every active
//! normal (or group) user with a matching subscription (package and tag,
//! each or both unset matching anything; `success_only` ones only for
//! COMPLETE), plus, unless `NotifyOnSuccess` is off and the build is
//! COMPLETE, the build's owner and the package's owner in the tag
//! (inherited), minus the users whose blocks match.

use super::builds::{get_build_in, BuildInfo};
use super::packages::{read_package_list_in, PackageListQuery};
use super::tags::{get_tag_in, lookup_name, TagEvent};
use super::tasks::{make_task_in, request_in, TaskOpts};
use super::users::Users;
use super::{Caller, Hub};
use crate::db::{exec, fetch_all, fetch_opt, RowExt, Tx, Value};
use crate::error::{Error, Result};
use crate::model::{BuildState, UserStatus, UserType};
use crate::params;
use crate::util::py_str;
use sea_orm::ConnectionTrait;
use serde_json::{json, Value as Json};

/// The hub's notification settings (`[hub]` of `hub.conf`).
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// `DisableNotifications`: no notification task is ever made.
    pub disabled: bool,
    /// `EmailDomain`: addresses are `user@EmailDomain` (upstream writes
    /// `user@None` when it is unset, and so do we).
    pub email_domain: Option<String>,
    /// `NotifyOnSuccess`: the build's and the package's owners are told of
    /// successes too, not only of failures.
    pub notify_on_success: bool,
    /// `KojiWebURL`, the links in build notifications.
    pub web_url: String,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            disabled: false,
            email_domain: None,
            notify_on_success: true,
            web_url: "http://localhost.localdomain/koji".into(),
        }
    }
}

impl NotifyConfig {
    fn email(&self, user: &str) -> String {
        format!("{user}@{}", self.email_domain.as_deref().unwrap_or("None"))
    }
}

pub struct Notifications<'a>(pub(super) &'a Hub);

const NOTIF_COLUMNS: &str = "id, user_id, package_id, tag_id, success_only, email";
const BLOCK_COLUMNS: &str = "id, user_id, package_id, tag_id";

fn notification_json(r: &sea_orm::QueryResult) -> Result<Json> {
    Ok(json!({
        "id": r.int("id")?,
        "user_id": r.int("user_id")?,
        "package_id": r.opt_int("package_id")?,
        "tag_id": r.opt_int("tag_id")?,
        "success_only": r.boolean("success_only")?,
        "email": r.string("email")?,
    }))
}

fn block_json(r: &sea_orm::QueryResult) -> Result<Json> {
    Ok(json!({
        "id": r.int("id")?,
        "user_id": r.int("user_id")?,
        "package_id": r.opt_int("package_id")?,
        "tag_id": r.opt_int("tag_id")?,
    }))
}

/// An `id` argument (upstream formats it with `%i`).
fn id_arg(v: &Json) -> Result<i64> {
    match v {
        Json::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .ok_or_else(|| Error::Parameter(format!("invalid id: {n}"))),
        Json::Bool(b) => Ok(*b as i64),
        other => Err(Error::Parameter(format!(
            "%i format: a real number is required, not {}",
            crate::api::py_type_of(other)
        ))),
    }
}

/// The optional package or tag of a subscription or block, strict.
async fn opt_ref<C: ConnectionTrait>(c: &C, table: &str, info: &Json) -> Result<Option<i64>> {
    if info.is_null() {
        return Ok(None);
    }
    Ok(lookup_name(c, table, info, true, false)
        .await?
        .map(|r| r.id))
}

impl Notifications<'_> {
    fn config(&self) -> &NotifyConfig {
        &self.0.config().notifications
    }

    /// The user a notification call is about: the caller for `None`.
    async fn user_id(&self, caller: &Caller, user: &Json) -> Result<i64> {
        Ok(
            Users::get_in(self.0.db().conn(), caller, user, true, false, false)
                .await?
                .map(|u| u.id)
                .unwrap_or_default(),
        )
    }

    /// `getBuildNotifications(userID=None)`.
    pub async fn list(&self, caller: &Caller, user: &Json) -> Result<Vec<Json>> {
        let id = self.user_id(caller, user).await?;
        list_in(self.0.db().conn(), id).await
    }

    /// `getBuildNotificationBlocks(userID=None)`.
    pub async fn list_blocks(&self, caller: &Caller, user: &Json) -> Result<Vec<Json>> {
        let id = self.user_id(caller, user).await?;
        blocks_in(self.0.db().conn(), id).await
    }

    /// `getBuildNotification(id, strict=False)`.
    pub async fn get(&self, id: &Json, strict: bool) -> Result<Option<Json>> {
        SUBSCRIPTIONS.get(self.0, id, strict).await
    }

    /// `getBuildNotificationBlock(id, strict=False)`.
    pub async fn get_block(&self, id: &Json, strict: bool) -> Result<Option<Json>> {
        BLOCKS.get(self.0, id, strict).await
    }

    /// Upstream's check before changing a subscription or block: the
    /// caller owns it or is an admin.
    fn assert_owner(caller: &Caller, row: &Json, what: &str) -> Result<()> {
        let (me, _) = Self::logged_in(caller)?;
        let owner = row["user_id"].as_i64().unwrap_or_default();
        if owner != me && !caller.has_perm("admin") {
            return Err(Error::Generic(format!(
                "user {me} cannot {what} for user {owner}"
            )));
        }
        Ok(())
    }

    /// The logged-in user (`getLoggedInUser`), or upstream's refusal.
    fn logged_in(caller: &Caller) -> Result<(i64, String)> {
        match &caller.session {
            Some(s) => Ok((s.user_id, s.user_name.clone())),
            None => Err(Error::generic("Not logged-in")),
        }
    }

    /// The user a new subscription or block is for, who must be the
    /// caller unless the caller is an admin.
    async fn subject(&self, caller: &Caller, user: &Json, what: &str) -> Result<(i64, String)> {
        let (me, my_name) = Self::logged_in(caller)?;
        let u = Users::get_in(self.0.db().conn(), caller, user, false, false, false)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such user ID: {}", py_str(user))))?;
        if u.id != me && !caller.has_perm("admin") {
            return Err(Error::Generic(format!(
                "user {my_name} cannot create {what} for user {}",
                u.name
            )));
        }
        Ok((u.id, u.name))
    }

    /// `host.tagNotification(is_successful, tag_id, from_id, build_id,
    /// user_id, ignore_success=False, failure_msg='')`: a builder's
    /// `tagBuild` task reports how the tagging went; answers the
    /// `tagNotification` task made, if any.
    pub async fn host_tag_notification(
        &self,
        caller: &Caller,
        change: &TagChange,
    ) -> Result<Option<i64>> {
        super::host_api::verify_host(self.0.db().conn(), caller).await?;
        let mut tx = self.0.db().begin().await?;
        let id = tag_notification_in(&mut tx, self.0, caller, change).await?;
        tx.commit().await?;
        if id.is_some() {
            self.0.task_events().notify();
        }
        Ok(id)
    }

    /// `createNotification(user_id, package_id, tag_id, success_only)`.
    pub async fn create(
        &self,
        caller: &Caller,
        user: &Json,
        package: &Json,
        tag: &Json,
        success_only: bool,
    ) -> Result<()> {
        let (user_id, name) = self.subject(caller, user, "notifications").await?;
        let tx = self.0.db().begin().await?;
        let package_id = opt_ref(&*tx, "package", package).await?;
        let tag_id = opt_ref(&*tx, "tag", tag).await?;
        assert_new_notification(&*tx, user_id, package_id, tag_id, success_only).await?;
        exec(
            &*tx,
            "INSERT INTO build_notifications (user_id, package_id, tag_id, success_only, email) \
             VALUES (?, ?, ?, ?, ?)",
            params![
                user_id,
                package_id,
                tag_id,
                success_only,
                self.config().email(&name)
            ],
        )
        .await?;
        tx.commit().await
    }

    /// `updateNotification(id, package_id, tag_id, success_only)`: the
    /// owner of the subscription or an admin.
    pub async fn update(
        &self,
        caller: &Caller,
        id: &Json,
        package: &Json,
        tag: &Json,
        success_only: bool,
    ) -> Result<()> {
        Self::logged_in(caller)?;
        let orig = self.get(id, true).await?.unwrap_or_default();
        Self::assert_owner(caller, &orig, "update notifications")?;
        let owner = orig["user_id"].as_i64().unwrap_or_default();
        let tx = self.0.db().begin().await?;
        let package_id = opt_ref(&*tx, "package", package).await?;
        let tag_id = opt_ref(&*tx, "tag", tag).await?;
        assert_new_notification(&*tx, owner, package_id, tag_id, success_only).await?;
        exec(
            &*tx,
            "UPDATE build_notifications SET package_id = ?, tag_id = ?, success_only = ? \
             WHERE id = ?",
            params![package_id, tag_id, success_only, orig["id"].as_i64()],
        )
        .await?;
        tx.commit().await
    }

    /// `deleteNotification(id)`: the owner of the subscription or an admin.
    pub async fn delete(&self, caller: &Caller, id: &Json) -> Result<()> {
        SUBSCRIPTIONS.delete(self.0, caller, id).await
    }

    /// `createNotificationBlock(user_id, package_id=None, tag_id=None)`.
    pub async fn create_block(
        &self,
        caller: &Caller,
        user: &Json,
        package: &Json,
        tag: &Json,
    ) -> Result<()> {
        let (user_id, _) = self.subject(caller, user, "notification blocks").await?;
        let tx = self.0.db().begin().await?;
        let package_id = opt_ref(&*tx, "package", package).await?;
        let tag_id = opt_ref(&*tx, "tag", tag).await?;
        for b in blocks_in(&*tx, user_id).await? {
            if b["package_id"].as_i64() == package_id && b["tag_id"].as_i64() == tag_id {
                return Err(Error::generic("notification already exists"));
            }
        }
        exec(
            &*tx,
            "INSERT INTO build_notifications_block (user_id, package_id, tag_id) VALUES (?, ?, ?)",
            params![user_id, package_id, tag_id],
        )
        .await?;
        tx.commit().await
    }

    /// `deleteNotificationBlock(id)`: the owner of the block or an admin.
    pub async fn delete_block(&self, caller: &Caller, id: &Json) -> Result<()> {
        BLOCKS.delete(self.0, caller, id).await
    }
}

/// One of the two tables: subscriptions or blocks, which upstream reads
/// and deletes the same way.
struct Table {
    table: &'static str,
    columns: &'static str,
    row: fn(&sea_orm::QueryResult) -> Result<Json>,
    /// How messages name a row (`No notification block with ID ...`).
    noun: &'static str,
    /// What its owner may do (`cannot delete notification blocks ...`).
    plural: &'static str,
}

const SUBSCRIPTIONS: Table = Table {
    table: "build_notifications",
    columns: NOTIF_COLUMNS,
    row: notification_json,
    noun: "notification",
    plural: "notifications",
};

const BLOCKS: Table = Table {
    table: "build_notifications_block",
    columns: BLOCK_COLUMNS,
    row: block_json,
    noun: "notification block",
    plural: "notification blocks",
};

impl Table {
    /// The row `id`; with `strict`, upstream's error when there is none.
    async fn get(&self, hub: &Hub, id: &Json, strict: bool) -> Result<Option<Json>> {
        let id = id_arg(id)?;
        let sql = format!("SELECT {} FROM {} WHERE id = ?", self.columns, self.table);
        match fetch_opt(hub.db().conn(), &sql, params![id]).await? {
            Some(r) => Ok(Some((self.row)(&r)?)),
            None if strict => Err(Error::Generic(format!(
                "No {} with ID {id} found",
                self.noun
            ))),
            None => Ok(None),
        }
    }

    /// A user's rows, oldest first.
    async fn of_user<C: ConnectionTrait>(&self, c: &C, user_id: i64) -> Result<Vec<Json>> {
        let sql = format!(
            "SELECT {} FROM {} WHERE user_id = ? ORDER BY id",
            self.columns, self.table
        );
        fetch_all(c, &sql, params![user_id])
            .await?
            .iter()
            .map(self.row)
            .collect()
    }

    /// Deletes the row `id`, which must exist and be the caller's (or
    /// the caller an admin).
    async fn delete(&self, hub: &Hub, caller: &Caller, id: &Json) -> Result<()> {
        let row = self.get(hub, id, true).await?.unwrap_or_default();
        Notifications::assert_owner(caller, &row, &format!("delete {}", self.plural))?;
        let tx = hub.db().begin().await?;
        exec(
            &*tx,
            &format!("DELETE FROM {} WHERE id = ?", self.table),
            params![row["id"].as_i64()],
        )
        .await?;
        tx.commit().await
    }
}

async fn list_in<C: ConnectionTrait>(c: &C, user_id: i64) -> Result<Vec<Json>> {
    SUBSCRIPTIONS.of_user(c, user_id).await
}

async fn blocks_in<C: ConnectionTrait>(c: &C, user_id: i64) -> Result<Vec<Json>> {
    BLOCKS.of_user(c, user_id).await
}

/// Upstream refuses a second subscription with the same package, tag and
/// `success_only`.
async fn assert_new_notification<C: ConnectionTrait>(
    c: &C,
    user_id: i64,
    package_id: Option<i64>,
    tag_id: Option<i64>,
    success_only: bool,
) -> Result<()> {
    for n in list_in(c, user_id).await? {
        if n["package_id"].as_i64() == package_id
            && n["tag_id"].as_i64() == tag_id
            && n["success_only"].as_bool() == Some(success_only)
        {
            return Err(Error::generic("notification already exists"));
        }
    }
    Ok(())
}

/// The `(package_id = ? OR package_id IS NULL) AND (tag_id ...)` part of
/// the subscription and block queries.
fn scope(build: &BuildInfo, tag_id: Option<i64>, p: &mut Vec<Value>) -> String {
    p.push(build.package_id.into());
    let mut s = "(package_id = ? OR package_id IS NULL)".to_string();
    match tag_id {
        Some(t) => {
            s.push_str(" AND (tag_id = ? OR tag_id IS NULL)");
            p.push(t.into());
        }
        None => s.push_str(" AND tag_id IS NULL"),
    }
    s
}

/// Upstream's `get_notification_recipients(build, tag_id, state)`: the
/// addresses to tell about `build` in `tag_id` ending in `state`, sorted,
/// without duplicates.
pub async fn recipients_in<C: ConnectionTrait>(
    c: &C,
    cfg: &NotifyConfig,
    build: &BuildInfo,
    tag_id: Option<i64>,
    state: i64,
) -> Result<Vec<String>> {
    let complete = state == BuildState::Complete as i64;
    let mut p: Vec<Value> = params![
        UserStatus::Normal as i64,
        UserType::Normal as i64,
        UserType::Group as i64
    ];
    let mut sql = format!(
        "SELECT build_notifications.user_id, build_notifications.email \
         FROM build_notifications JOIN users ON build_notifications.user_id = users.id \
         WHERE users.status = ? AND users.usertype IN (?, ?) AND {}",
        scope(build, tag_id, &mut p)
    );
    if !complete {
        sql.push_str(" AND success_only = ?");
        p.push(false.into());
    }
    let mut recipients: Vec<(i64, String)> = fetch_all(c, &sql, p)
        .await?
        .iter()
        .map(|r| Ok((r.int("user_id")?, r.string("email")?)))
        .collect::<Result<_>>()?;
    if cfg.notify_on_success || !complete {
        recipients.push((build.owner_id, cfg.email(&build.owner_name)));
        if let Some(tag_id) = tag_id {
            let list = read_package_list_in(
                c,
                &PackageListQuery {
                    tag_id: Some(tag_id),
                    pkg_id: Some(build.package_id),
                    inherit: true,
                    with_owners: true,
                    with_blocked: true,
                    ..PackageListQuery::default()
                },
            )
            .await?;
            if let Some(e) = list.get(build.package_id).filter(|e| !e.blocked) {
                if let Some(owner) = e.owner_id {
                    let row = fetch_opt(
                        c,
                        "SELECT name, status, usertype FROM users WHERE id = ?",
                        params![owner],
                    )
                    .await?;
                    if let Some(u) = row {
                        if u.int("status")? == UserStatus::Normal as i64
                            && u.int("usertype")? == UserType::Normal as i64
                        {
                            recipients.push((owner, cfg.email(&u.string("name")?)));
                        }
                    }
                }
            }
        }
    }
    if recipients.is_empty() {
        return Ok(vec![]);
    }
    let mut users: Vec<i64> = recipients.iter().map(|r| r.0).collect();
    users.sort_unstable();
    users.dedup();
    let marks = vec!["?"; users.len()].join(", ");
    let mut p: Vec<Value> = users.iter().map(|u| Value::from(*u)).collect();
    let sql = format!(
        "SELECT user_id FROM build_notifications_block WHERE user_id IN ({marks}) AND {}",
        scope(build, tag_id, &mut p)
    );
    let optouts: std::collections::HashSet<i64> = fetch_all(c, &sql, p)
        .await?
        .iter()
        .map(|r| r.int("user_id"))
        .collect::<Result<_>>()?;
    let mut emails: Vec<String> = recipients
        .into_iter()
        .filter(|(u, _)| !optouts.contains(u))
        .map(|(_, e)| e)
        .collect();
    emails.sort();
    emails.dedup();
    Ok(emails)
}

/// What a tag operation was, for [`tag_notification_in`] (upstream's
/// `tag_notification` arguments, kept as given: they go into the task's
/// request unchanged).
#[derive(Debug, Clone)]
pub struct TagChange {
    pub is_successful: Json,
    /// The tag the build went into (id or name), or `Null`.
    pub tag: Json,
    /// The tag the build left (id or name), or `Null`.
    pub from_tag: Json,
    pub build: Json,
    /// The user who asked (id or name), or `Null`.
    pub user: Json,
    pub ignore_success: Json,
    pub failure_msg: Json,
}

impl TagChange {
    /// A successful tagging (`tag`) or untagging (`from_tag`) of `build`
    /// by `user`, as the hub's own calls report them.
    pub fn success(tag: &Json, from_tag: &Json, build: &Json, user: i64) -> TagChange {
        TagChange {
            is_successful: Json::Bool(true),
            tag: tag.clone(),
            from_tag: from_tag.clone(),
            build: build.clone(),
            user: Json::from(user),
            ignore_success: Json::Bool(false),
            failure_msg: Json::from(""),
        }
    }
}

/// Upstream's `tag_notification`: makes a `tagNotification` task (in
/// `tx`, owned by the caller) when anyone is to be told; answers its id.
pub async fn tag_notification_in(
    tx: &mut Tx,
    hub: &Hub,
    caller: &Caller,
    change: &TagChange,
) -> Result<Option<i64>> {
    let cfg = &hub.config().notifications;
    if cfg.disabled {
        return Ok(None);
    }
    let user = match &change.user {
        Json::Null => Json::Null,
        Json::Number(n) if n.is_i64() => Json::Number(n.clone()),
        other => Json::from(
            Users::get_in(&**tx, caller, other, true, false, false)
                .await?
                .map(|u| u.id)
                .unwrap_or_default(),
        ),
    };
    let successful = crate::api::truthy(&change.is_successful);
    let state = if successful {
        BuildState::Complete
    } else {
        BuildState::Failed
    } as i64;
    let Some(build) = get_build_in(&**tx, &change.build, false).await? else {
        return Ok(None);
    };
    let mut recipients = vec![];
    for t in [&change.tag, &change.from_tag] {
        if crate::api::truthy(t) {
            if let Some(tag) = get_tag_in(&**tx, t, false, TagEvent::Auto, false).await? {
                recipients.extend(recipients_in(&**tx, cfg, &build, Some(tag.id), state).await?);
            }
        }
    }
    recipients.sort();
    recipients.dedup();
    if recipients.is_empty() || (successful && crate::api::truthy(&change.ignore_success)) {
        return Ok(None);
    }
    let args = [
        json!(recipients),
        change.is_successful.clone(),
        change.tag.clone(),
        change.from_tag.clone(),
        change.build.clone(),
        user,
        change.ignore_success.clone(),
        change.failure_msg.clone(),
    ];
    let id = make_task_in(
        tx,
        hub,
        caller,
        "tagNotification",
        &args,
        TaskOpts::default(),
    )
    .await?;
    Ok(Some(id))
}

/// Upstream's `_get_build_target`: the target of a `build` or `maven`
/// task (request `[source, target, opts]`), of a `winbuild` task (the
/// third argument), else none.
async fn build_target_in<C: ConnectionTrait>(c: &C, task_id: i64) -> Result<Option<Json>> {
    let Some(row) = fetch_opt(c, "SELECT method FROM task WHERE id = ?", params![task_id]).await?
    else {
        return Ok(None);
    };
    let at = match row.string("method")?.as_str() {
        "build" | "maven" => 1,
        "winbuild" => 2,
        _ => return Ok(None),
    };
    let request = request_in(c, task_id).await?;
    match request.get(at) {
        Some(t) if crate::api::truthy(t) => super::targets::get_in(c, t).await,
        _ => Ok(None),
    }
}

/// Upstream's `build_notification(task_id, build_id)`: a finished build
/// (COMPLETE, FAILED or CANCELED) of a task tells its recipients, through
/// a `buildNotification` task made in `tx`.
pub async fn build_notification_in(
    tx: &mut Tx,
    hub: &Hub,
    caller: &Caller,
    task_id: i64,
    build_id: i64,
) -> Result<Option<i64>> {
    let cfg = &hub.config().notifications;
    if cfg.disabled {
        return Ok(None);
    }
    let Some(build) = get_build_in(&**tx, &Json::from(build_id), false).await? else {
        return Ok(None);
    };
    let target = build_target_in(&**tx, task_id).await?;
    if build.state == BuildState::Building as i64 {
        return Err(Error::generic(
            "never send notifications for incomplete builds",
        ));
    }
    let dest = target.as_ref().and_then(|t| t["dest_tag"].as_i64());
    let recipients = recipients_in(&**tx, cfg, &build, dest, build.state).await?;
    if recipients.is_empty() {
        return Ok(None);
    }
    let args = [
        json!(recipients),
        build.to_json(),
        target.unwrap_or(Json::Null),
        json!(cfg.web_url),
    ];
    let id = make_task_in(
        tx,
        hub,
        caller,
        "buildNotification",
        &args,
        TaskOpts::default(),
    )
    .await?;
    Ok(Some(id))
}
