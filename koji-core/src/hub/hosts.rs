//! Build hosts and the channels that route tasks to them.
//!
//! A host is a `users` row of usertype HOST (the identity it logs in with)
//! plus a `host` row holding its live state (`update_time`, `task_load`,
//! `ready`, written by the host itself and not versioned). What an operator
//! configures is versioned: `host_config` (arches, capacity, description,
//! comment, enabled) and `host_channels` (channel memberships). `channels`
//! is a plain table; upstream's schema seeds `default` (id 1), `createrepo`
//! (id 2) and the other standard channels.

use super::query_opts::{Columns, QueryOpts};
use super::tags::{lookup_name, name_or_id_clause, parse_arches_strict, py_eq};
use super::{Caller, Hub, Users};
use crate::api::{py_type_of, truthy};
use crate::db::{exec, fetch_all, fetch_opt, versioned, RowExt, Value, Where};
use crate::error::{Error, Result};
use crate::model::UserType;
use crate::params;
use crate::util::py_class;
use crate::util::{format_time, py_str};
use sea_orm::{ConnectionTrait, QueryResult};
use serde::Serialize;
use serde_json::{json, Map, Value as Json};

pub struct Hosts<'a>(pub(super) &'a Hub);

const HOST: i64 = UserType::Host as i64;
const NORMAL: i64 = UserType::Normal as i64;

/// A host as upstream's `getHost`/`listHosts` return it (keys in
/// upstream's order, which is alphabetical).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HostInfo {
    pub arches: Option<String>,
    pub capacity: f64,
    pub comment: Option<String>,
    pub description: Option<String>,
    pub enabled: bool,
    pub id: i64,
    pub name: String,
    pub ready: bool,
    pub task_load: f64,
    /// When the host last reported its state (seconds), if ever.
    pub update_ts: Option<f64>,
    pub user_id: i64,
}

/// A channel as upstream's `getChannel`/`listChannels` return it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChannelInfo {
    pub comment: Option<String>,
    pub description: Option<String>,
    pub enabled: bool,
    pub id: i64,
    pub name: String,
}

const HOST_SELECT: &str = "SELECT host.id, host.user_id, host.name, host.update_time, host.ready, \
     host.task_load, host_config.arches, host_config.capacity, host_config.description, \
     host_config.comment, host_config.enabled \
     FROM host_config JOIN host ON host.id = host_config.host_id";

const CHANNEL_COLUMNS: &str = "channels.id, channels.name, channels.description, \
     channels.enabled, channels.comment";

/// `listHosts`' result keys, with the SQL spellings upstream also accepts
/// as `order` terms.
fn host_columns() -> Columns {
    Columns::sorted(&[
        "arches",
        "capacity",
        "comment",
        "description",
        "enabled",
        "id",
        "name",
        "ready",
        "task_load",
        "update_ts",
        "user_id",
    ])
    .expr("host.id", "id")
    .expr("host.user_id", "user_id")
    .expr("host.name", "name")
    .expr("date_part('epoch', host.update_time)", "update_ts")
    .expr("host.ready", "ready")
    .expr("host.task_load", "task_load")
    .expr("host_config.arches", "arches")
    .expr("host_config.capacity", "capacity")
    .expr("host_config.description", "description")
    .expr("host_config.comment", "comment")
    .expr("host_config.enabled", "enabled")
}

// ---------------------------------------------------------------------------
// Hosts
// ---------------------------------------------------------------------------

impl Hosts<'_> {
    /// `addHost(hostname, arches, krb_principal=None, force=False)`: needs
    /// `host`. Creates the host's user (or adopts an existing host user, or
    /// with `force` a normal user), the host, its configuration, and its
    /// membership of channel `default`. Returns the host id.
    pub async fn add(
        &self,
        caller: &Caller,
        hostname: &Json,
        arches: &Json,
        krb_principal: &Json,
        force: bool,
    ) -> Result<i64> {
        caller.assert_perm("host")?;
        let by = caller.user_id()?;
        let name = self.0.config().names.host(hostname)?.to_string();
        let arches = parse_arches_strict(&Json::from(py_join(arches)?))?;
        let mut tx = self.0.db().begin().await?;
        if get_host_in(&*tx, hostname, false, None).await?.is_some() {
            return Err(Error::Generic(format!("host already exists: {name}")));
        }
        let default_channel = fetch_opt(
            &*tx,
            "SELECT id FROM channels WHERE name = 'default'",
            params![],
        )
        .await?
        .ok_or_else(|| Error::generic("query returned no rows"))?
        .int("id")?;
        let mut userinfo = Map::new();
        userinfo.insert("name".into(), Json::from(name.as_str()));
        let krb = if truthy(krb_principal) {
            check_str(krb_principal, false)?;
            userinfo.insert("krb_principal".into(), krb_principal.clone());
            krb_principal.as_str()
        } else {
            None
        };
        let existing =
            Users::get_in(&*tx, caller, &Json::Object(userinfo), false, false, false).await?;
        let user_id = match existing {
            Some(u) if u.usertype == HOST => u.id,
            Some(u) if force && u.usertype == NORMAL => {
                exec(
                    &*tx,
                    "UPDATE users SET usertype = ? WHERE id = ?",
                    params![HOST, u.id],
                )
                .await?;
                u.id
            }
            Some(_) => {
                return Err(Error::Generic(format!(
                    "user {name} already exists and it is not a host"
                )))
            }
            None => Users::create_user_in(&*tx, &name, HOST, 0, krb).await?,
        };
        let host_id = crate::db::fetch_one(
            &*tx,
            "INSERT INTO host (user_id, name) VALUES (?, ?) RETURNING id",
            params![user_id, name.clone()],
        )
        .await?
        .int("id")?;
        versioned::insert(
            &mut tx,
            "host_config",
            &["host_id", "arches"],
            params![host_id, arches],
            by,
        )
        .await?;
        versioned::insert(
            &mut tx,
            "host_channels",
            &["host_id", "channel_id"],
            params![host_id, default_channel],
            by,
        )
        .await?;
        tx.commit().await?;
        Ok(host_id)
    }

    /// Registers build host `name` (if needed) with `arches` and a
    /// password, without a caller: how `koji-hub serve --builder` sets up
    /// the builder it runs. Answers the host id.
    pub async fn bootstrap(&self, name: &str, arches: &[&str], password: &str) -> Result<i64> {
        if let Some(h) = self.get(&Json::from(name), false, None).await? {
            self.0.auth().set_password(name, password).await?;
            return Ok(h.id);
        }
        let user_id = match Users::get_in(
            self.0.db().conn(),
            &Caller::default(),
            &Json::from(name),
            false,
            false,
            false,
        )
        .await?
        {
            Some(u) if u.usertype == HOST => u.id,
            Some(_) => {
                return Err(Error::Generic(format!(
                    "user {name} already exists and it is not a host"
                )))
            }
            None => self.0.users().insert_user(name, HOST, 0, None).await?,
        };
        // the host's own user stands as the creator of its rows
        let caller = Caller::acting_as(
            user_id,
            name,
            HOST,
            ["host".to_string()].into_iter().collect(),
        );
        let id = self
            .add(
                &caller,
                &Json::from(name),
                &json!(arches),
                &Json::Null,
                false,
            )
            .await?;
        // the hub's own builder also makes repos (upstream's hosts join
        // the createrepo channel by hand)
        self.add_to_channel(
            &caller,
            &Json::from(name),
            &Json::from("createrepo"),
            true,
            false,
        )
        .await?;
        self.0.auth().set_password(name, password).await?;
        Ok(id)
    }

    /// `editHost(hostInfo, **kw)`: needs `host`. Changes the host's arches,
    /// capacity, description or comment (other keywords are ignored);
    /// answers whether anything changed.
    pub async fn edit(&self, caller: &Caller, info: &Json, kw: &Map<String, Json>) -> Result<bool> {
        caller.assert_perm("host")?;
        let by = caller.user_id()?;
        let mut tx = self.0.db().begin().await?;
        let host = get_host_in(&*tx, info, true, None)
            .await?
            .ok_or_else(|| Error::generic("host lookup failed"))?;
        let current = serde_json::to_value(&host)?;
        let changed: Vec<&str> = ["arches", "capacity", "description", "comment"]
            .into_iter()
            .filter(|f| kw.get(*f).is_some_and(|v| !py_eq(v, &current[*f])))
            .collect();
        if changed.is_empty() {
            return Ok(false);
        }
        for f in &changed {
            if *f != "capacity" {
                check_str(&kw[*f], false)?;
            }
        }
        let new = |f: &str| -> &Json {
            if changed.contains(&f) {
                &kw[f]
            } else {
                &current[f]
            }
        };
        let capacity = capacity_value(new("capacity"))?;
        let values = params![
            host.id,
            new("arches").as_str().map(str::to_owned),
            capacity,
            new("description").as_str().map(str::to_owned),
            new("comment").as_str().map(str::to_owned),
            host.enabled
        ];
        write_config(&mut tx, host.id, values, by).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// `enableHost(hostname)` / `disableHost(hostname)`: needs `host`.
    pub async fn set_enabled(&self, caller: &Caller, hostname: &Json, enabled: bool) -> Result<()> {
        caller.assert_perm("host")?;
        let by = caller.user_id()?;
        let mut tx = self.0.db().begin().await?;
        let host = get_host_in(&*tx, hostname, false, None)
            .await?
            .ok_or_else(|| Error::Generic(format!("host does not exist: {}", py_str(hostname))))?;
        let values = params![
            host.id,
            host.arches,
            host.capacity,
            host.description,
            host.comment,
            enabled
        ];
        write_config(&mut tx, host.id, values, by).await?;
        tx.commit().await
    }

    /// `getHost(hostInfo, strict=False, event=None)`: by id or name,
    /// optionally as of an event.
    pub async fn get(
        &self,
        info: &Json,
        strict: bool,
        event: Option<i64>,
    ) -> Result<Option<HostInfo>> {
        get_host_in(self.0.db().conn(), info, strict, event).await
    }

    /// `listHosts(arches=None, channelID=None, ready=None, enabled=None,
    /// userID=None, queryOpts=None)`: hosts having one of `arches` (an arch
    /// or a list, each matched as a whole word of the host's arches), in a
    /// channel (id or name), ready or not, enabled or not, of a user (id,
    /// name or map); `None` filters nothing.
    pub async fn list(
        &self,
        arches: &Json,
        channel: &Json,
        ready: Option<bool>,
        enabled: Option<bool>,
        user: &Json,
        query_opts: &Json,
    ) -> Result<Json> {
        let c = self.0.db().conn();
        let arches = match arches {
            Json::Null => None,
            v if !truthy(v) => return Err(Error::generic("arches option cannot be empty")),
            Json::Array(items) => Some(py_str_items(items)?),
            v => Some(py_str_items(std::slice::from_ref(v))?),
        };
        let mut joins = String::new();
        let mut w = Where::new();
        w.and("host_config.active = TRUE", params![]);
        if !channel.is_null() {
            let channel = lookup_name(c, "channels", channel, true, false)
                .await?
                .ok_or_else(|| Error::generic("channel lookup failed"))?;
            joins.push_str(" JOIN host_channels ON host.id = host_channels.host_id");
            w.and("host_channels.channel_id = ?", params![channel.id]);
            w.and("host_channels.active = TRUE", params![]);
        }
        if let Some(ready) = ready {
            w.and("host.ready = ?", params![ready]);
        }
        if let Some(enabled) = enabled {
            w.and("host_config.enabled = ?", params![enabled]);
        }
        if !user.is_null() {
            let user = Users::get_in(c, &Caller::default(), user, true, false, false)
                .await?
                .ok_or_else(|| Error::generic("user lookup failed"))?;
            w.and("host.user_id = ?", params![user.id]);
        }
        let sql = format!("{HOST_SELECT}{joins}{} ORDER BY host.id", w.sql());
        let mut rows = vec![];
        for r in fetch_all(c, &sql, w.params).await? {
            let host = host_row(&r)?;
            if let Some(wanted) = &arches {
                let have = host.arches.as_deref().unwrap_or_default();
                if !wanted.iter().any(|a| has_word(have, a)) {
                    continue;
                }
            }
            rows.push(serde_json::to_value(host)?);
        }
        QueryOpts::parse(query_opts)?.apply(rows, &host_columns())
    }

    /// `getAllArches()`: the canonical arches of every host, each once, in
    /// the order first seen.
    pub async fn all_arches(&self) -> Result<Vec<String>> {
        let rows = fetch_all(
            self.0.db().conn(),
            "SELECT arches FROM host_config WHERE active = TRUE ORDER BY host_id",
            params![],
        )
        .await?;
        let mut out: Vec<String> = vec![];
        for r in rows {
            let Some(arches) = r.opt_string("arches")? else {
                continue;
            };
            for arch in arches.split_whitespace() {
                let canon = canon_arch(arch).to_string();
                if !out.contains(&canon) {
                    out.push(canon);
                }
            }
        }
        Ok(out)
    }

    /// `getLastHostUpdate(hostID, ts=False)`: when the host's user last
    /// used a session (a time string, or with `ts` seconds), or `None`.
    pub async fn last_update(&self, host_id: Option<i64>, ts: bool) -> Result<Json> {
        let row = fetch_opt(
            self.0.db().conn(),
            "SELECT sessions.update_time FROM sessions JOIN host ON sessions.user_id = host.user_id \
             WHERE host.id = ? ORDER BY sessions.update_time DESC LIMIT 1",
            params![host_id],
        )
        .await?;
        let t = match row {
            Some(r) => r.ts("update_time")?,
            None => None,
        };
        Ok(match t {
            None => Json::Null,
            Some(t) if ts => json!(t),
            Some(t) => json!(format_time(t)),
        })
    }
}

// ---------------------------------------------------------------------------
// Channels
// ---------------------------------------------------------------------------

impl Hosts<'_> {
    /// `addChannel(channel_name, description=None)`: admin only; returns
    /// the new channel's id.
    pub async fn add_channel(
        &self,
        caller: &Caller,
        name: &Json,
        description: &Json,
    ) -> Result<i64> {
        caller.assert_perm("admin")?;
        let name = self.0.config().names.internal(name)?.to_string();
        let description = text_value(description, "Channel description must be a string")?;
        let tx = self.0.db().begin().await?;
        if let Some(dup) = get_channel_in(&*tx, &Json::from(name.as_str()), false).await? {
            return Err(Error::Generic(format!(
                "channel {} already exists (id={})",
                dup.name, dup.id
            )));
        }
        let id = crate::db::fetch_one(
            &*tx,
            "INSERT INTO channels (name, description) VALUES (?, ?) RETURNING id",
            params![name, description],
        )
        .await?
        .int("id")?;
        tx.commit().await?;
        Ok(id)
    }

    /// `editChannel(channelInfo, **kw)`: admin only. Changes the channel's
    /// name, description or comment (other keywords are ignored); answers
    /// whether anything changed.
    pub async fn edit_channel(
        &self,
        caller: &Caller,
        info: &Json,
        kw: &Map<String, Json>,
    ) -> Result<bool> {
        caller.assert_perm("admin")?;
        let tx = self.0.db().begin().await?;
        let channel = get_channel_in(&*tx, info, true)
            .await?
            .ok_or_else(|| Error::generic("query returned no rows"))?;
        let current = serde_json::to_value(&channel)?;
        let changed: Vec<&str> = ["description", "comment", "name"]
            .into_iter()
            .filter(|f| kw.get(*f).is_some_and(|v| !py_eq(v, &current[*f])))
            .collect();
        if changed.is_empty() {
            return Ok(false);
        }
        if let Some(name) = kw.get("name").filter(|v| truthy(v)) {
            self.0.config().names.internal(name)?;
            if let Some(dup) = get_channel_in(&*tx, name, false).await? {
                return Err(Error::Generic(format!(
                    "channel {} already exists (id={})",
                    dup.name, dup.id
                )));
            }
        }
        for f in ["description", "comment"] {
            if let Some(v) = kw.get(f) {
                check_str(v, false)?;
            }
        }
        let mut sets = vec![];
        let mut p: Vec<Value> = vec![];
        for f in &changed {
            sets.push(format!("{f} = ?"));
            p.push(text_value(&kw[*f], "Invalid type, expected type <class 'str'>")?.into());
        }
        p.push(channel.id.into());
        exec(
            &*tx,
            &format!("UPDATE channels SET {} WHERE id = ?", sets.join(", ")),
            p,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// `renameChannel(old, new)`: admin only.
    pub async fn rename_channel(&self, caller: &Caller, old: &Json, new: &Json) -> Result<()> {
        let mut kw = Map::new();
        kw.insert("name".into(), new.clone());
        self.edit_channel(caller, old, &kw).await?;
        Ok(())
    }

    /// `enableChannel(channelname, comment=None)` /
    /// `disableChannel(channelname, comment=None)`: needs `host`; a comment
    /// given replaces the channel's.
    pub async fn set_channel_enabled(
        &self,
        caller: &Caller,
        name: &Json,
        enabled: bool,
        comment: &Json,
    ) -> Result<()> {
        caller.assert_perm("host")?;
        check_str(comment, true)?;
        let tx = self.0.db().begin().await?;
        let channel = get_channel_in(&*tx, name, false)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such channel: {}", py_str(name))))?;
        match comment.as_str() {
            Some(c) => {
                exec(
                    &*tx,
                    "UPDATE channels SET enabled = ?, comment = ? WHERE id = ?",
                    params![enabled, c.to_string(), channel.id],
                )
                .await?
            }
            None => {
                exec(
                    &*tx,
                    "UPDATE channels SET enabled = ? WHERE id = ?",
                    params![enabled, channel.id],
                )
                .await?
            }
        };
        tx.commit().await
    }

    /// `addHostToChannel(hostname, channel_name, create=False,
    /// force=False)`: needs `host`. `create` makes a missing channel;
    /// `force` allows a disabled one.
    pub async fn add_to_channel(
        &self,
        caller: &Caller,
        hostname: &Json,
        channel_name: &Json,
        create: bool,
        force: bool,
    ) -> Result<()> {
        caller.assert_perm("host")?;
        let by = caller.user_id()?;
        let mut tx = self.0.db().begin().await?;
        let host = get_host_in(&*tx, hostname, false, None)
            .await?
            .ok_or_else(|| Error::Generic(format!("host does not exist: {}", py_str(hostname))))?;
        if create {
            self.0.config().names.internal(channel_name)?;
        }
        let channel_id = lookup_name(&*tx, "channels", channel_name, false, create)
            .await?
            .map(|c| c.id)
            .ok_or_else(|| {
                Error::Generic(format!("channel does not exist: {}", py_str(channel_name)))
            })?;
        if !force {
            let channel = get_channel_in(&*tx, &Json::from(channel_id), true)
                .await?
                .ok_or_else(|| Error::generic("query returned no rows"))?;
            if !channel.enabled {
                return Err(Error::Generic(format!(
                    "channel {} is disabled",
                    py_str(channel_name)
                )));
            }
        }
        if host_channel_ids(&*tx, host.id, None)
            .await?
            .contains(&channel_id)
        {
            return Err(Error::Generic(format!(
                "host {} is already subscribed to the {} channel",
                py_str(hostname),
                py_str(channel_name)
            )));
        }
        versioned::insert(
            &mut tx,
            "host_channels",
            &["host_id", "channel_id"],
            params![host.id, channel_id],
            by,
        )
        .await?;
        tx.commit().await
    }

    /// `removeHostFromChannel(hostname, channel_name)`: needs `host`.
    pub async fn remove_from_channel(
        &self,
        caller: &Caller,
        hostname: &Json,
        channel_name: &Json,
    ) -> Result<()> {
        caller.assert_perm("host")?;
        let by = caller.user_id()?;
        let mut tx = self.0.db().begin().await?;
        let host = get_host_in(&*tx, hostname, false, None)
            .await?
            .ok_or_else(|| Error::Generic(format!("host does not exist: {}", py_str(hostname))))?;
        let channel_id = lookup_name(&*tx, "channels", channel_name, false, false)
            .await?
            .map(|c| c.id)
            .ok_or_else(|| {
                Error::Generic(format!("channel does not exist: {}", py_str(channel_name)))
            })?;
        if !host_channel_ids(&*tx, host.id, None)
            .await?
            .contains(&channel_id)
        {
            return Err(Error::Generic(format!(
                "host {} is not subscribed to the {} channel",
                py_str(hostname),
                py_str(channel_name)
            )));
        }
        versioned::revoke(
            &mut tx,
            "host_channels",
            "host_id = ? AND channel_id = ?",
            params![host.id, channel_id],
            by,
        )
        .await?;
        tx.commit().await
    }

    /// `listChannels(hostID=None, event=None, enabled=None)`: every
    /// channel, or a host's channels (as of `event`, which needs a host).
    pub async fn list_channels(
        &self,
        host: &Json,
        event: &Json,
        enabled: Option<bool>,
    ) -> Result<Vec<ChannelInfo>> {
        let c = self.0.db().conn();
        let mut w = Where::new();
        let mut from = "channels".to_string();
        if truthy(host) {
            let event = super::tags::event_arg(event)?;
            let host_id = match host {
                Json::String(_) => get_host_in(c, host, true, None)
                    .await?
                    .map(|h| h.id)
                    .ok_or_else(|| Error::generic("host lookup failed"))?,
                Json::Number(n) if n.is_i64() => n.as_i64().unwrap_or_default(),
                other => {
                    return Err(Error::Parameter(format!(
                        "Invalid type for hostID: {}",
                        py_class(other)
                    )))
                }
            };
            from = "host_channels JOIN channels ON channels.id = host_channels.channel_id".into();
            let (live, lp) = versioned::live("host_channels", event);
            w.and(live, lp);
            w.and("host_channels.host_id = ?", params![host_id]);
        } else if truthy(event) {
            return Err(Error::generic(
                "list_channels with event and not host is not allowed.",
            ));
        }
        if let Some(enabled) = enabled {
            w.and("channels.enabled = ?", params![enabled]);
        }
        let sql = format!(
            "SELECT {CHANNEL_COLUMNS} FROM {from}{} ORDER BY channels.id",
            w.sql()
        );
        fetch_all(c, &sql, w.params)
            .await?
            .iter()
            .map(channel_row)
            .collect()
    }

    /// `getChannel(channelInfo, strict=False)`: by id or name.
    pub async fn get_channel(&self, info: &Json, strict: bool) -> Result<Option<ChannelInfo>> {
        get_channel_in(self.0.db().conn(), info, strict).await
    }
}

// ---------------------------------------------------------------------------
// Readers and helpers
// ---------------------------------------------------------------------------

/// Upstream's `get_host`, on any connection: by id, name or map, as of
/// `event`; with `strict` a missing host is `Invalid hostInfo: X`.
pub async fn get_host_in<C: ConnectionTrait>(
    c: &C,
    info: &Json,
    strict: bool,
    event: Option<i64>,
) -> Result<Option<HostInfo>> {
    let (clause, mut p) = name_or_id_clause("host", info)?;
    let (live, lp) = versioned::live("host_config", event);
    p.extend(lp);
    let row = fetch_opt(c, &format!("{HOST_SELECT} WHERE {clause} AND {live}"), p).await?;
    match row {
        Some(r) => Ok(Some(host_row(&r)?)),
        None if strict => Err(Error::Generic(format!(
            "Invalid hostInfo: {}",
            py_str(info)
        ))),
        None => Ok(None),
    }
}

/// Upstream's `get_channel`, on any connection.
pub async fn get_channel_in<C: ConnectionTrait>(
    c: &C,
    info: &Json,
    strict: bool,
) -> Result<Option<ChannelInfo>> {
    let (clause, p) = name_or_id_clause("channels", info)?;
    let row = fetch_opt(
        c,
        &format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE {clause}"),
        p,
    )
    .await?;
    match row {
        Some(r) => Ok(Some(channel_row(&r)?)),
        None if strict => Err(Error::generic("query returned no rows")),
        None => Ok(None),
    }
}

/// The ids of the channels `host_id` is in, as of `event`.
async fn host_channel_ids<C: ConnectionTrait>(
    c: &C,
    host_id: i64,
    event: Option<i64>,
) -> Result<Vec<i64>> {
    let (live, mut p) = versioned::live("host_channels", event);
    p.push(host_id.into());
    fetch_all(
        c,
        &format!("SELECT channel_id FROM host_channels WHERE {live} AND host_id = ?"),
        p,
    )
    .await?
    .iter()
    .map(|r| r.int("channel_id"))
    .collect()
}

/// Replaces a host's configuration row (revoke + insert in one event).
/// `values`: host_id, arches, capacity, description, comment, enabled.
async fn write_config(
    tx: &mut crate::db::Tx,
    host_id: i64,
    values: Vec<Value>,
    by: i64,
) -> Result<()> {
    versioned::revoke(tx, "host_config", "host_id = ?", params![host_id], by).await?;
    versioned::insert(
        tx,
        "host_config",
        &[
            "host_id",
            "arches",
            "capacity",
            "description",
            "comment",
            "enabled",
        ],
        values,
        by,
    )
    .await
}

fn host_row(r: &QueryResult) -> Result<HostInfo> {
    Ok(HostInfo {
        arches: r.opt_string("arches")?,
        capacity: float(r, "capacity")?,
        comment: r.opt_string("comment")?,
        description: r.opt_string("description")?,
        enabled: r.boolean("enabled")?,
        id: r.int("id")?,
        name: r.string("name")?,
        ready: r.boolean("ready")?,
        task_load: float(r, "task_load")?,
        update_ts: r.ts("update_time")?,
        user_id: r.int("user_id")?,
    })
}

fn channel_row(r: &QueryResult) -> Result<ChannelInfo> {
    Ok(ChannelInfo {
        comment: r.opt_string("comment")?,
        description: r.opt_string("description")?,
        enabled: r.boolean("enabled")?,
        id: r.int("id")?,
        name: r.string("name")?,
    })
}

/// A FLOAT column (SQLite may hand back an integer).
fn float(r: &QueryResult, col: &str) -> Result<f64> {
    if let Ok(v) = r.try_get::<f64>("", col) {
        return Ok(v);
    }
    if let Ok(v) = r.try_get::<f32>("", col) {
        return Ok(f64::from(v));
    }
    Ok(r.int(col)? as f64)
}

/// A new `capacity`: a number, or text PostgreSQL would read as one.
fn capacity_value(v: &Json) -> Result<f64> {
    let n = match v {
        Json::Number(n) => n.as_f64(),
        Json::Bool(b) => Some(*b as i64 as f64),
        Json::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    n.ok_or_else(|| {
        Error::Parameter(format!(
            "Invalid type for value '{}': {}, expected type <class 'float'>",
            py_str(v),
            py_class(v)
        ))
    })
}

/// Upstream's `convert_value(v, cast=str, check_only=True,
/// none_allowed=...)`.
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

/// A value stored in a text column as upstream's database driver would
/// store it: text as is, numbers and booleans as their text, `None` as
/// NULL; anything else is refused with `msg`.
fn text_value(v: &Json, msg: &str) -> Result<Option<String>> {
    match v {
        Json::Null => Ok(None),
        Json::String(s) => Ok(Some(s.clone())),
        Json::Number(n) => Ok(Some(n.to_string())),
        Json::Bool(b) => Ok(Some(b.to_string())),
        _ => Err(Error::param(msg)),
    }
}

/// Python's `" ".join(v)` as `addHost` applies it to its `arches`: a list
/// of strings is joined, a string has its characters joined, a dict its
/// keys.
fn py_join(v: &Json) -> Result<String> {
    let items: Vec<String> = match v {
        Json::Array(a) => py_str_items(a)?,
        Json::Object(m) => m.keys().cloned().collect(),
        Json::String(s) => s.chars().map(String::from).collect(),
        _ => {
            return Err(Error::Fault {
                code: 1,
                message: "<class 'TypeError'>: can only join an iterable".into(),
            })
        }
    };
    Ok(items.join(" "))
}

/// The strings of a list, or Python's `str.join` TypeError for the first
/// item that is not one.
fn py_str_items(items: &[Json]) -> Result<Vec<String>> {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Json::String(s) => Ok(s.clone()),
            other => Err(Error::Fault {
                code: 1,
                message: format!(
                    "<class 'TypeError'>: sequence item {i}: expected str instance, {} found",
                    py_type_of(other)
                ),
            }),
        })
        .collect()
}

/// Whether `word` occurs in `text` as whole words, as PostgreSQL's
/// `text ~ '\mWORD\M'` finds it (word characters: letters, digits, `_`).
fn has_word(text: &str, word: &str) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let (Some(first), Some(last)) = (word.chars().next(), word.chars().last()) else {
        return false;
    };
    if !is_word(first) || !is_word(last) {
        return false;
    }
    let mut from = 0;
    while let Some(pos) = text[from..].find(word) {
        let start = from + pos;
        let end = start + word.len();
        let before_ok = text[..start].chars().last().is_none_or(|c| !is_word(c));
        let after_ok = text[end..].chars().next().is_none_or(|c| !is_word(c));
        if before_ok && after_ok {
            return true;
        }
        from = start + first.len_utf8();
    }
    false
}

/// Upstream's `koji.canonArch`: the canonical name of an arch.
pub fn canon_arch(arch: &str) -> &str {
    let c: Vec<char> = arch.chars().collect();
    if (c.len() == 4 && c[0] == 'i' && c[2] == '8' && c[3] == '6') || arch == "athlon" {
        return "i386";
    }
    if arch == "ia32e" {
        return "x86_64";
    }
    if arch == "ppc64le" {
        return "ppc64le";
    }
    if arch.starts_with("ppc64") {
        return "ppc64";
    }
    if arch.starts_with("sparc64") {
        return "sparc64";
    }
    if arch.starts_with("sparc") {
        return "sparc";
    }
    if arch.starts_with("alpha") {
        return "alpha";
    }
    if let Some(rest) = arch.strip_prefix("arm") {
        return if rest.contains('h') { "armhfp" } else { "arm" };
    }
    arch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_match_like_postgres_word_boundaries() {
        assert!(has_word("x86_64 i686", "x86_64"));
        assert!(has_word("x86_64 i686", "i686"));
        assert!(!has_word("ppc64 ppc64le", "ppc"));
        assert!(has_word("ppc64le ppc", "ppc"));
        assert!(!has_word("x86_64", "x86"));
        assert!(has_word("x86_64 i686", "x86_64 i686"));
        assert!(!has_word("x86_64", ""));
        assert!(!has_word("aa a", "-a"));
    }

    #[test]
    fn canonical_arches_follow_upstream() {
        assert_eq!(canon_arch("i686"), "i386");
        assert_eq!(canon_arch("i586"), "i386");
        assert_eq!(canon_arch("i1686"), "i1686");
        assert_eq!(canon_arch("athlon"), "i386");
        assert_eq!(canon_arch("ia32e"), "x86_64");
        assert_eq!(canon_arch("ppc64le"), "ppc64le");
        assert_eq!(canon_arch("ppc64p7"), "ppc64");
        assert_eq!(canon_arch("sparc64v"), "sparc64");
        assert_eq!(canon_arch("sparcv9"), "sparc");
        assert_eq!(canon_arch("alphaev6"), "alpha");
        assert_eq!(canon_arch("armv7hl"), "armhfp");
        assert_eq!(canon_arch("armv7l"), "arm");
        assert_eq!(canon_arch("aarch64"), "aarch64");
        assert_eq!(canon_arch("x86_64"), "x86_64");
    }

    #[test]
    fn arches_join_like_python() {
        assert_eq!(py_join(&json!(["x86_64", "i686"])).unwrap(), "x86_64 i686");
        assert_eq!(py_join(&json!("ab")).unwrap(), "a b");
        assert_eq!(
            py_join(&json!(["x", 1])).unwrap_err().to_string(),
            "<class 'TypeError'>: sequence item 1: expected str instance, int found"
        );
        assert_eq!(
            py_join(&json!(null)).unwrap_err().to_string(),
            "<class 'TypeError'>: can only join an iterable"
        );
    }
}
