//! Comps groups of tags (upstream's `group_config`, `group_package_listing`
//! and `group_req_listing`): which package groups a tag has, the packages
//! in each and the groups each requires, all inherited along the tag's
//! inheritance (the first entry found wins, as for package lists) and
//! blockable. The `build` and `srpm-build` groups are what a buildroot
//! installs.

use super::tags::{get_tag_in, lookup_name, read_full_inheritance_in, TagEvent, TagRef};
use super::{Caller, Hub};
use crate::db::{fetch_all, fetch_opt, versioned, RowExt, Tx, Value};
use crate::error::{Error, Result};
use crate::params;
use crate::util::{py_repr, py_str};
use sea_orm::{ConnectionTrait, QueryResult};
use serde_json::{Map, Value as Json};
use std::collections::{HashMap, HashSet};

pub struct Groups<'a>(pub(super) &'a Hub);

/// A column of a group table and how its values are stored.
#[derive(Clone, Copy)]
enum Kind {
    Bool,
    Text,
}

/// The settable fields of a tag's group entry (`groupListAdd` opts).
const GROUP_FIELDS: &[(&str, Kind)] = &[
    ("exported", Kind::Bool),
    ("display_name", Kind::Text),
    ("is_default", Kind::Bool),
    ("uservisible", Kind::Bool),
    ("description", Kind::Text),
    ("langonly", Kind::Text),
    ("biarchonly", Kind::Bool),
    ("blocked", Kind::Bool),
];
/// The settable fields of a group's package entry.
const PKG_FIELDS: &[(&str, Kind)] = &[
    ("type", Kind::Text),
    ("basearchonly", Kind::Bool),
    ("requires", Kind::Text),
];
/// The settable fields of a group's requirement entry.
const REQ_FIELDS: &[(&str, Kind)] = &[("type", Kind::Text), ("is_metapkg", Kind::Bool)];

fn bind(kind: Kind, v: &Json) -> Value {
    match (kind, v) {
        (Kind::Bool, Json::Null) => Value::Bool(None),
        (Kind::Bool, other) => Value::from(crate::api::truthy(other)),
        (Kind::Text, Json::Null) => Value::String(None),
        (Kind::Text, other) => Value::from(py_str(other)),
    }
}

fn read(kind: Kind, r: &QueryResult, col: &str) -> Result<Json> {
    Ok(match kind {
        Kind::Bool => Json::from(r.opt_bool(col)?),
        Kind::Text => Json::from(r.opt_string(col)?),
    })
}

/// A group of a tag as upstream's `get_tag_groups` builds it (keys in
/// upstream's order: the query's columns sorted, then `packagelist` and
/// `grouplist`), with its packages and requirements by name / group id.
struct TagGroup {
    id: i64,
    fields: Map<String, Json>,
    blocked: bool,
    packages: Vec<(String, Map<String, Json>)>,
    reqs: Vec<(i64, Map<String, Json>)>,
}

impl TagGroup {
    fn package(&self, name: &str) -> Option<&Map<String, Json>> {
        self.packages
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| m)
    }
    fn req(&self, id: i64) -> Option<&Map<String, Json>> {
        self.reqs.iter().find(|(i, _)| *i == id).map(|(_, m)| m)
    }
}

fn is_blocked(m: &Map<String, Json>) -> bool {
    m.get("blocked") == Some(&Json::Bool(true))
}

/// Upstream's `get_tag_groups`: the tag's groups (with `inherit`, along
/// its inheritance, first entry wins), blocked ones included.
async fn tag_groups_in<C: ConnectionTrait>(
    c: &C,
    tag_id: i64,
    event: Option<i64>,
    inherit: bool,
    incl_pkgs: bool,
    incl_reqs: bool,
) -> Result<Vec<TagGroup>> {
    let mut tags = vec![tag_id];
    if inherit {
        tags.extend(
            read_full_inheritance_in(c, tag_id, event, false)
                .await?
                .iter()
                .map(|l| l.parent_id),
        );
    }
    let mut groups: Vec<TagGroup> = vec![];
    let mut index: HashMap<i64, usize> = HashMap::new();
    for t in &tags {
        let (live, mut p) = versioned::live("group_config", event);
        p.insert(0, Value::from(*t));
        let rows = fetch_all(
            c,
            &format!(
                "SELECT groups.name, group_config.* FROM group_config \
                 JOIN groups ON group_config.group_id = groups.id \
                 WHERE group_config.tag_id = ? AND {live} \
                 ORDER BY group_config.create_event, group_config.group_id"
            ),
            p,
        )
        .await?;
        for r in &rows {
            let id = r.int("group_id")?;
            if index.contains_key(&id) {
                continue;
            }
            let mut fields = Map::new();
            // upstream's columns, sorted by name
            let mut cols: Vec<(&str, Kind)> = GROUP_FIELDS.to_vec();
            cols.extend([("name", Kind::Text)]);
            cols.sort_by_key(|(n, _)| *n);
            for (n, kind) in cols {
                fields.insert(n.to_string(), read(kind, r, n)?);
                if n == "exported" {
                    fields.insert("group_id".into(), Json::from(id));
                }
                if n == "name" {
                    fields.insert("tag_id".into(), Json::from(*t));
                }
            }
            let blocked = is_blocked(&fields);
            index.insert(id, groups.len());
            groups.push(TagGroup {
                id,
                fields,
                blocked,
                packages: vec![],
                reqs: vec![],
            });
        }
    }
    if incl_pkgs {
        for t in &tags {
            let (live, mut p) = versioned::live("group_package_listing", event);
            p.insert(0, Value::from(*t));
            let rows = fetch_all(
                c,
                &format!(
                    "SELECT * FROM group_package_listing WHERE tag_id = ? AND {live} \
                     ORDER BY create_event, package"
                ),
                p,
            )
            .await?;
            for r in &rows {
                let Some(&i) = index.get(&r.int("group_id")?) else {
                    continue; // the tag does not have this group
                };
                let g = &mut groups[i];
                let package = r.opt_string("package")?.unwrap_or_default();
                if g.blocked || g.package(&package).is_some() {
                    continue;
                }
                let mut m = Map::new();
                m.insert("basearchonly".into(), read(Kind::Bool, r, "basearchonly")?);
                m.insert("blocked".into(), read(Kind::Bool, r, "blocked")?);
                m.insert("group_id".into(), Json::from(g.id));
                m.insert("package".into(), Json::from(package.clone()));
                m.insert("requires".into(), read(Kind::Text, r, "requires")?);
                m.insert("tag_id".into(), Json::from(*t));
                m.insert("type".into(), read(Kind::Text, r, "type")?);
                g.packages.push((package, m));
            }
        }
    }
    if incl_reqs {
        for t in &tags {
            let (live, mut p) = versioned::live("group_req_listing", event);
            p.insert(0, Value::from(*t));
            let rows = fetch_all(
                c,
                &format!(
                    "SELECT groups.name, group_req_listing.* FROM group_req_listing \
                     JOIN groups ON group_req_listing.req_id = groups.id \
                     WHERE group_req_listing.tag_id = ? AND {live} \
                     ORDER BY group_req_listing.create_event, group_req_listing.req_id"
                ),
                p,
            )
            .await?;
            for r in &rows {
                let Some(&i) = index.get(&r.int("group_id")?) else {
                    continue;
                };
                let req = r.int("req_id")?;
                // a requirement counts only on a group the tag has, unblocked
                let req_ok = index.get(&req).is_some_and(|&j| !groups[j].blocked);
                let g = &mut groups[i];
                if g.blocked || !req_ok || g.req(req).is_some() {
                    continue;
                }
                let mut m = Map::new();
                m.insert("blocked".into(), read(Kind::Bool, r, "blocked")?);
                m.insert("group_id".into(), Json::from(g.id));
                m.insert("is_metapkg".into(), read(Kind::Bool, r, "is_metapkg")?);
                m.insert("name".into(), read(Kind::Text, r, "name")?);
                m.insert("req_id".into(), Json::from(req));
                m.insert("tag_id".into(), Json::from(*t));
                m.insert("type".into(), read(Kind::Text, r, "type")?);
                g.reqs.push((req, m));
            }
        }
    }
    Ok(groups)
}

/// `tag` by id or name, strictly, as upstream's `lookup_tag`/`get_tag_id`.
async fn strict_ref<C: ConnectionTrait>(c: &C, table: &str, info: &Json) -> Result<TagRef> {
    lookup_name(c, table, info, true, false)
        .await?
        .ok_or_else(|| Error::Generic(format!("No such entry in table {table}: {}", py_str(info))))
}

/// The settable fields of `opts` (others are ignored, as upstream does).
fn pick(opts: &Map<String, Json>, fields: &[(&str, Kind)]) -> Map<String, Json> {
    fields
        .iter()
        .filter_map(|(n, _)| opts.get(*n).map(|v| (n.to_string(), v.clone())))
        .collect()
}

/// Upstream's duplicate check: fields not given take the previous entry's
/// values; true if a given field differs from it.
fn merge_previous(
    opts: &mut Map<String, Json>,
    previous: &Map<String, Json>,
    fields: &[(&str, Kind)],
) -> bool {
    let mut changed = false;
    for (n, _) in fields {
        let old = previous.get(*n).cloned().unwrap_or(Json::Null);
        match opts.get(*n) {
            Some(v) => changed |= !same(v, &old),
            None => {
                opts.insert(n.to_string(), old);
            }
        }
    }
    changed
}

/// Python's `==` for the values these tables hold (True == 1).
fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Bool(x), Json::Number(n)) | (Json::Number(n), Json::Bool(x)) => {
            n.as_i64() == Some(*x as i64)
        }
        _ => a == b,
    }
}

/// Revokes the live entry matching `cond` and inserts the new one.
async fn replace_in(
    tx: &mut Tx,
    table: &str,
    keys: &[(&str, Value)],
    opts: &Map<String, Json>,
    fields: &[(&str, Kind)],
    user_id: i64,
) -> Result<()> {
    let cond: Vec<String> = keys.iter().map(|(k, _)| format!("{k} = ?")).collect();
    versioned::revoke(
        tx,
        table,
        &cond.join(" AND "),
        keys.iter().map(|(_, v)| v.clone()).collect(),
        user_id,
    )
    .await?;
    let mut cols: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
    let mut vals: Vec<Value> = keys.iter().map(|(_, v)| v.clone()).collect();
    for (n, kind) in fields {
        if let Some(v) = opts.get(*n) {
            cols.push(n);
            vals.push(bind(*kind, v));
        }
    }
    versioned::insert(tx, table, &cols, vals, user_id).await
}

/// Whether the tag's own live entry matching `cond` is blocked.
async fn own_blocked(tx: &Tx, table: &str, keys: &[(&str, Value)]) -> Result<bool> {
    let cond: Vec<String> = keys.iter().map(|(k, _)| format!("{k} = ?")).collect();
    Ok(fetch_opt(
        &**tx,
        &format!(
            "SELECT blocked FROM {table} WHERE active = TRUE AND {}",
            cond.join(" AND ")
        ),
        keys.iter().map(|(_, v)| v.clone()).collect(),
    )
    .await?
    .map(|r| r.boolean("blocked"))
    .transpose()?
    .unwrap_or(false))
}

impl Groups<'_> {
    /// `getTagGroups(tag, event=None, inherit=True, incl_pkgs=True,
    /// incl_reqs=True, incl_blocked=False)`: upstream's `readTagGroups`.
    pub async fn tag_groups(
        &self,
        tag: &Json,
        event: Option<i64>,
        inherit: bool,
        incl_pkgs: bool,
        incl_reqs: bool,
        incl_blocked: bool,
    ) -> Result<Json> {
        let c = self.0.db().conn();
        let tag = strict_ref(c, "tag", tag).await?;
        Ok(Json::Array(
            tag_groups_json_in(
                c,
                tag.id,
                event,
                inherit,
                incl_pkgs,
                incl_reqs,
                incl_blocked,
            )
            .await?,
        ))
    }

    /// `groupListAdd(taginfo, grpinfo, block=False, force=False, **opts)`
    /// (and `groupListBlock`): adds or updates the tag's group entry; the
    /// group is created if it does not exist.
    pub async fn list_add(
        &self,
        caller: &Caller,
        taginfo: &Json,
        grpinfo: &Json,
        block: bool,
        force: bool,
        opts: &Map<String, Json>,
    ) -> Result<()> {
        caller.assert_perm("tag")?;
        let user_id = caller.user_id()?;
        let mut tx = self.0.db().begin().await?;
        list_add_in(&mut tx, taginfo, grpinfo, block, force, opts, user_id).await?;
        tx.commit().await
    }

    /// `groupListRemove(taginfo, grpinfo, force=False)`: drops the tag's
    /// own entry (an inherited one shows through).
    pub async fn list_remove(
        &self,
        caller: &Caller,
        taginfo: &Json,
        grpinfo: &Json,
        force: bool,
    ) -> Result<()> {
        caller.assert_perm("tag")?;
        let user_id = caller.user_id()?;
        let mut tx = self.0.db().begin().await?;
        let tag = get_tag_in(&*tx, taginfo, true, TagEvent::At(None), false)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such tagInfo: {}", py_repr(taginfo))))?;
        let group = strict_ref(&*tx, "groups", grpinfo).await?;
        let cond = "group_id = ? AND tag_id = ?";
        if !force
            && fetch_opt(
                &*tx,
                &format!("SELECT 1 AS one FROM group_config WHERE active = TRUE AND {cond}"),
                params![group.id, tag.id],
            )
            .await?
            .is_none()
        {
            return Err(Error::Generic(format!(
                "No group: {} found for tag: {}",
                group.name, tag.name
            )));
        }
        versioned::revoke(
            &mut tx,
            "group_config",
            cond,
            params![group.id, tag.id],
            user_id,
        )
        .await?;
        tx.commit().await
    }

    /// `groupListUnblock(taginfo, grpinfo)`: only the tag's own block.
    pub async fn list_unblock(
        &self,
        caller: &Caller,
        taginfo: &Json,
        grpinfo: &Json,
    ) -> Result<()> {
        caller.assert_perm("tag")?;
        let user_id = caller.user_id()?;
        let mut tx = self.0.db().begin().await?;
        let tag = strict_ref(&*tx, "tag", taginfo).await?;
        let group = strict_ref(&*tx, "groups", grpinfo).await?;
        let keys = [
            ("group_id", Value::from(group.id)),
            ("tag_id", Value::from(tag.id)),
        ];
        if !own_blocked(&tx, "group_config", &keys).await? {
            return Err(Error::Generic(format!(
                "group {} is NOT blocked in tag {}",
                group.name, tag.name
            )));
        }
        versioned::revoke(
            &mut tx,
            "group_config",
            "group_id = ? AND tag_id = ?",
            params![group.id, tag.id],
            user_id,
        )
        .await?;
        tx.commit().await
    }

    /// `groupPackageListAdd(taginfo, grpinfo, pkg_name, block=False,
    /// force=False, **opts)` (and `groupPackageListBlock`).
    #[allow(clippy::too_many_arguments)]
    pub async fn package_add(
        &self,
        caller: &Caller,
        taginfo: &Json,
        grpinfo: &Json,
        pkg_name: &Json,
        block: bool,
        force: bool,
        opts: &Map<String, Json>,
    ) -> Result<()> {
        caller.assert_perm("tag")?;
        let user_id = caller.user_id()?;
        let mut tx = self.0.db().begin().await?;
        package_add_in(
            &mut tx, taginfo, grpinfo, pkg_name, block, force, opts, user_id,
        )
        .await?;
        tx.commit().await
    }

    /// `groupPackageListRemove(taginfo, grpinfo, pkg_name)`.
    pub async fn package_remove(
        &self,
        caller: &Caller,
        taginfo: &Json,
        grpinfo: &Json,
        pkg_name: &Json,
    ) -> Result<()> {
        caller.assert_perm("tag")?;
        let user_id = caller.user_id()?;
        let mut tx = self.0.db().begin().await?;
        let tag = strict_ref(&*tx, "tag", taginfo).await?;
        let group = strict_ref(&*tx, "groups", grpinfo).await?;
        versioned::revoke(
            &mut tx,
            "group_package_listing",
            "package = ? AND tag_id = ? AND group_id = ?",
            params![py_str(pkg_name), tag.id, group.id],
            user_id,
        )
        .await?;
        tx.commit().await
    }

    /// `groupPackageListUnblock(taginfo, grpinfo, pkg_name)`.
    pub async fn package_unblock(
        &self,
        caller: &Caller,
        taginfo: &Json,
        grpinfo: &Json,
        pkg_name: &Json,
    ) -> Result<()> {
        caller.assert_perm("tag")?;
        let user_id = caller.user_id()?;
        let mut tx = self.0.db().begin().await?;
        let tag = strict_ref(&*tx, "tag", taginfo).await?;
        let group = strict_ref(&*tx, "groups", grpinfo).await?;
        let package = py_str(pkg_name);
        let keys = [
            ("group_id", Value::from(group.id)),
            ("tag_id", Value::from(tag.id)),
            ("package", Value::from(package.clone())),
        ];
        if !own_blocked(&tx, "group_package_listing", &keys).await? {
            // upstream names the group and tag by id here
            return Err(Error::Generic(format!(
                "package {package} is NOT blocked in group {}, tag {}",
                group.id, tag.id
            )));
        }
        versioned::revoke(
            &mut tx,
            "group_package_listing",
            "group_id = ? AND tag_id = ? AND package = ?",
            params![group.id, tag.id, package],
            user_id,
        )
        .await?;
        tx.commit().await
    }

    /// `groupReqListAdd(taginfo, grpinfo, reqinfo, block=False,
    /// force=False, **opts)` (and `groupReqListBlock`).
    #[allow(clippy::too_many_arguments)]
    pub async fn req_add(
        &self,
        caller: &Caller,
        taginfo: &Json,
        grpinfo: &Json,
        reqinfo: &Json,
        block: bool,
        force: bool,
        opts: &Map<String, Json>,
    ) -> Result<()> {
        caller.assert_perm("tag")?;
        let user_id = caller.user_id()?;
        let mut tx = self.0.db().begin().await?;
        req_add_in(
            &mut tx, taginfo, grpinfo, reqinfo, block, force, opts, user_id,
        )
        .await?;
        tx.commit().await
    }

    /// `groupReqListRemove(taginfo, grpinfo, reqinfo, force=None)`.
    pub async fn req_remove(
        &self,
        caller: &Caller,
        taginfo: &Json,
        grpinfo: &Json,
        reqinfo: &Json,
    ) -> Result<()> {
        caller.assert_perm("tag")?;
        let user_id = caller.user_id()?;
        let mut tx = self.0.db().begin().await?;
        let tag = strict_ref(&*tx, "tag", taginfo).await?;
        let group = strict_ref(&*tx, "groups", grpinfo).await?;
        let req = strict_ref(&*tx, "groups", reqinfo).await?;
        versioned::revoke(
            &mut tx,
            "group_req_listing",
            "req_id = ? AND tag_id = ? AND group_id = ?",
            params![req.id, tag.id, group.id],
            user_id,
        )
        .await?;
        tx.commit().await
    }

    /// `groupReqListUnblock(taginfo, grpinfo, reqinfo)`.
    pub async fn req_unblock(
        &self,
        caller: &Caller,
        taginfo: &Json,
        grpinfo: &Json,
        reqinfo: &Json,
    ) -> Result<()> {
        caller.assert_perm("tag")?;
        let user_id = caller.user_id()?;
        let mut tx = self.0.db().begin().await?;
        let tag = strict_ref(&*tx, "tag", taginfo).await?;
        let group = strict_ref(&*tx, "groups", grpinfo).await?;
        let req = strict_ref(&*tx, "groups", reqinfo).await?;
        let keys = [
            ("group_id", Value::from(group.id)),
            ("tag_id", Value::from(tag.id)),
            ("req_id", Value::from(req.id)),
        ];
        if !own_blocked(&tx, "group_req_listing", &keys).await? {
            return Err(Error::Generic(format!(
                "group req {} is NOT blocked in group {}, tag {}",
                req.id, group.id, tag.id
            )));
        }
        versioned::revoke(
            &mut tx,
            "group_req_listing",
            "group_id = ? AND tag_id = ? AND req_id = ?",
            params![group.id, tag.id, req.id],
            user_id,
        )
        .await?;
        tx.commit().await
    }
}

/// Upstream's `_grplist_add` (no permission check) inside `tx`.
pub(crate) async fn list_add_in(
    tx: &mut Tx,
    taginfo: &Json,
    grpinfo: &Json,
    block: bool,
    force: bool,
    opts: &Map<String, Json>,
    user_id: i64,
) -> Result<()> {
    let tag = get_tag_in(&**tx, taginfo, true, TagEvent::At(None), false)
        .await?
        .ok_or_else(|| Error::Generic(format!("No such tagInfo: {}", py_repr(taginfo))))?;
    let group = lookup_name(&**tx, "groups", grpinfo, false, true)
        .await?
        .ok_or_else(|| {
            Error::Generic(format!(
                "No such entry in table groups: {}",
                py_str(grpinfo)
            ))
        })?;
    let mut opts = pick(opts, GROUP_FIELDS);
    opts.insert("blocked".into(), Json::Bool(block));
    let groups = tag_groups_in(&**tx, tag.id, None, true, false, false).await?;
    if let Some(prev) = groups.iter().find(|g| g.id == group.id) {
        if prev.blocked && !force {
            return Err(Error::Generic(format!(
                "group {} is blocked in tag {}",
                group.name, tag.name
            )));
        }
        if !merge_previous(&mut opts, &prev.fields, GROUP_FIELDS) {
            return Ok(());
        }
    }
    let defaults = [
        ("display_name", Json::from(group.name.clone())),
        ("biarchonly", Json::Bool(false)),
        ("exported", Json::Bool(true)),
        ("uservisible", Json::Bool(true)),
    ];
    for (k, v) in defaults {
        opts.entry(k).or_insert(v);
    }
    let keys = [
        ("group_id", Value::from(group.id)),
        ("tag_id", Value::from(tag.id)),
    ];
    replace_in(tx, "group_config", &keys, &opts, GROUP_FIELDS, user_id).await
}

/// Upstream's `_grp_pkg_add` (no permission check) inside `tx`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn package_add_in(
    tx: &mut Tx,
    taginfo: &Json,
    grpinfo: &Json,
    pkg_name: &Json,
    block: bool,
    force: bool,
    opts: &Map<String, Json>,
    user_id: i64,
) -> Result<()> {
    let tag = strict_ref(&**tx, "tag", taginfo).await?;
    let group = strict_ref(&**tx, "groups", grpinfo).await?;
    let package = py_str(pkg_name);
    let groups = tag_groups_in(&**tx, tag.id, None, true, true, false).await?;
    let cfg = present(&groups, &group, &tag)?;
    let mut opts = pick(opts, PKG_FIELDS);
    if let Some(prev) = cfg.package(&package) {
        if is_blocked(prev) && !force {
            return Err(Error::Generic(format!(
                "package {package} blocked in group {}, tag {}",
                group.name, tag.name
            )));
        }
        let changed = merge_previous(&mut opts, prev, PKG_FIELDS) || block;
        if !changed && !force {
            return Ok(());
        }
    }
    opts.entry("type").or_insert(Json::from("mandatory"));
    opts.insert("blocked".into(), Json::Bool(block));
    let keys = [
        ("group_id", Value::from(group.id)),
        ("tag_id", Value::from(tag.id)),
        ("package", Value::from(package)),
    ];
    let mut fields = PKG_FIELDS.to_vec();
    fields.push(("blocked", Kind::Bool));
    replace_in(tx, "group_package_listing", &keys, &opts, &fields, user_id).await
}

/// Upstream's `_grp_req_add` (no permission check) inside `tx`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn req_add_in(
    tx: &mut Tx,
    taginfo: &Json,
    grpinfo: &Json,
    reqinfo: &Json,
    block: bool,
    force: bool,
    opts: &Map<String, Json>,
    user_id: i64,
) -> Result<()> {
    let tag = strict_ref(&**tx, "tag", taginfo).await?;
    let group = strict_ref(&**tx, "groups", grpinfo).await?;
    let req = strict_ref(&**tx, "groups", reqinfo).await?;
    let groups = tag_groups_in(&**tx, tag.id, None, true, false, true).await?;
    let cfg = present(&groups, &group, &tag)?;
    let mut opts = pick(opts, REQ_FIELDS);
    if let Some(prev) = cfg.req(req.id) {
        if is_blocked(prev) && !force {
            return Err(Error::Generic(format!(
                "requirement on group {} blocked in group {}, tag {}",
                req.name, group.name, tag.name
            )));
        }
        if !(merge_previous(&mut opts, prev, REQ_FIELDS) || block) {
            return Ok(());
        }
    }
    opts.entry("type").or_insert(Json::from("mandatory"));
    // NOT NULL in the schema, FALSE by default
    if opts.get("is_metapkg").is_none_or(Json::is_null) {
        opts.insert("is_metapkg".into(), Json::Bool(false));
    }
    opts.insert("blocked".into(), Json::Bool(block));
    let keys = [
        ("group_id", Value::from(group.id)),
        ("tag_id", Value::from(tag.id)),
        ("req_id", Value::from(req.id)),
    ];
    let mut fields = REQ_FIELDS.to_vec();
    fields.push(("blocked", Kind::Bool));
    replace_in(tx, "group_req_listing", &keys, &opts, &fields, user_id).await
}

/// Upstream's `readTagGroups`: the tag's groups as `getTagGroups`
/// answers them (`packagelist`/`grouplist` when asked for).
pub(crate) async fn tag_groups_json_in<C: ConnectionTrait>(
    c: &C,
    tag_id: i64,
    event: Option<i64>,
    inherit: bool,
    incl_pkgs: bool,
    incl_reqs: bool,
    incl_blocked: bool,
) -> Result<Vec<Json>> {
    let groups = tag_groups_in(c, tag_id, event, inherit, incl_pkgs, incl_reqs).await?;
    let mut out = vec![];
    for g in groups {
        if g.blocked && !incl_blocked {
            continue;
        }
        let mut m = g.fields;
        let keep = |e: &Map<String, Json>| incl_blocked || !is_blocked(e);
        if incl_pkgs {
            let list: Vec<Json> = g
                .packages
                .into_iter()
                .filter(|(_, e)| keep(e))
                .map(|(_, e)| Json::Object(e))
                .collect();
            m.insert("packagelist".into(), Json::Array(list));
        }
        if incl_reqs {
            let list: Vec<Json> = g
                .reqs
                .into_iter()
                .filter(|(_, e)| keep(e))
                .map(|(_, e)| Json::Object(e))
                .collect();
            m.insert("grouplist".into(), Json::Array(list));
        }
        out.push(Json::Object(m));
    }
    Ok(out)
}

/// The groups of `tag` as `getTagGroups` answers them without blocked
/// entries: (group name, its packages, its required groups' names).
pub(crate) async fn readable_groups_in<C: ConnectionTrait>(
    c: &C,
    tag_id: i64,
    event: Option<i64>,
) -> Result<Vec<(String, Vec<String>, Vec<String>)>> {
    Ok(tag_groups_in(c, tag_id, event, true, true, true)
        .await?
        .into_iter()
        .filter(|g| !g.blocked)
        .map(|g| {
            let name = py_str(&g.fields["name"]);
            let pkgs = g
                .packages
                .iter()
                .filter(|(_, e)| !is_blocked(e))
                .map(|(n, _)| n.clone())
                .collect();
            let reqs = g
                .reqs
                .iter()
                .filter(|(_, e)| !is_blocked(e))
                .map(|(_, e)| py_str(&e["name"]))
                .collect();
            (name, pkgs, reqs)
        })
        .collect())
}

/// The tag's (inherited) entry for `group`, which must be there, unblocked.
fn present<'g>(groups: &'g [TagGroup], group: &TagRef, tag: &TagRef) -> Result<&'g TagGroup> {
    match groups.iter().find(|g| g.id == group.id) {
        None => Err(Error::Generic(format!(
            "group {} not present in tag {}",
            group.name, tag.name
        ))),
        Some(g) if g.blocked => Err(Error::Generic(format!(
            "group {} is blocked in tag {}",
            group.name, tag.name
        ))),
        Some(g) => Ok(g),
    }
}

/// The groups part of upstream's `snapshotTagModify(src, dst, ...)` inside
/// `tx`: `dst` gets `src`'s groups (as of `event`, blocked ones blocked);
/// for groups both have, the packages and required groups `dst` lacks;
/// with `remove`, what `dst` has and `src` does not goes (its own entries
/// are removed, inherited ones blocked), and packages `src` blocks are
/// blocked. As upstream, a group new to `dst` gets no packages in the same
/// call. (Upstream compares an inherited requirement's group id with the
/// tag id to tell its own entries from inherited ones; the tag id is
/// compared here.)
#[allow(clippy::too_many_arguments)]
pub(crate) async fn snapshot_groups_in(
    tx: &mut Tx,
    src: i64,
    dst: i64,
    event: Option<i64>,
    force: bool,
    remove: bool,
    user_id: i64,
) -> Result<()> {
    let srcg = tag_groups_in(&**tx, src, event, true, true, true).await?;
    let dstg = tag_groups_in(&**tx, dst, None, true, true, true).await?;
    let name = |g: &TagGroup| {
        g.fields
            .get("name")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let own = |m: &Map<String, Json>| m.get("tag_id").and_then(Json::as_i64) == Some(dst);
    let dst_by: HashMap<String, &TagGroup> = dstg.iter().map(|g| (name(g), g)).collect();
    let src_names: HashSet<String> = srcg.iter().map(name).collect();
    let none = Map::new();
    let dst_ref = Json::from(dst);
    for g in &srcg {
        let n = name(g);
        if dst_by.get(&n).is_none_or(|d| d.blocked != g.blocked) {
            list_add_in(
                tx,
                &dst_ref,
                &Json::from(n),
                g.blocked,
                force,
                &none,
                user_id,
            )
            .await?;
            tx.next_event();
        }
    }
    if remove {
        for d in &dstg {
            let n = name(d);
            if src_names.contains(&n) {
                continue;
            }
            if own(&d.fields) {
                versioned::revoke(
                    tx,
                    "group_config",
                    "group_id = ? AND tag_id = ?",
                    params![d.id, dst],
                    user_id,
                )
                .await?;
            } else {
                list_add_in(tx, &dst_ref, &Json::from(n), true, force, &none, user_id).await?;
            }
            tx.next_event();
        }
    }
    let req_name = |m: &Map<String, Json>| {
        m.get("name")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string()
    };
    for g in &srcg {
        let n = name(g);
        let Some(d) = dst_by.get(&n) else { continue };
        let g_ref = Json::from(n.clone());
        for (pkg, _) in &g.packages {
            if d.package(pkg).is_none() {
                package_add_in(
                    tx,
                    &dst_ref,
                    &g_ref,
                    &Json::from(pkg.as_str()),
                    false,
                    force,
                    &none,
                    user_id,
                )
                .await?;
                tx.next_event();
            }
        }
        let src_reqs: HashSet<String> = g.reqs.iter().map(|(_, r)| req_name(r)).collect();
        let dst_reqs: HashSet<String> = d.reqs.iter().map(|(_, r)| req_name(r)).collect();
        for (_, r) in &g.reqs {
            let rn = req_name(r);
            if !dst_reqs.contains(&rn) {
                req_add_in(
                    tx,
                    &dst_ref,
                    &g_ref,
                    &Json::from(rn),
                    is_blocked(r),
                    force,
                    &none,
                    user_id,
                )
                .await?;
                tx.next_event();
            }
        }
        if !remove {
            continue;
        }
        for (pkg, p) in &d.packages {
            if is_blocked(p) {
                continue;
            }
            match g.package(pkg) {
                Some(sp) if is_blocked(sp) => {
                    package_add_in(
                        tx,
                        &dst_ref,
                        &g_ref,
                        &Json::from(pkg.as_str()),
                        true,
                        force,
                        &none,
                        user_id,
                    )
                    .await?;
                }
                None if own(p) => {
                    versioned::revoke(
                        tx,
                        "group_package_listing",
                        "group_id = ? AND tag_id = ? AND package = ?",
                        params![d.id, dst, pkg.clone()],
                        user_id,
                    )
                    .await?;
                }
                _ => continue,
            }
            tx.next_event();
        }
        for (rid, r) in &d.reqs {
            if is_blocked(r) || src_reqs.contains(&req_name(r)) {
                continue;
            }
            if own(r) {
                versioned::revoke(
                    tx,
                    "group_req_listing",
                    "group_id = ? AND tag_id = ? AND req_id = ?",
                    params![d.id, dst, *rid],
                    user_id,
                )
                .await?;
            } else {
                req_add_in(
                    tx,
                    &dst_ref,
                    &g_ref,
                    &Json::from(req_name(r)),
                    true,
                    force,
                    &none,
                    user_id,
                )
                .await?;
            }
            tx.next_event();
        }
    }
    Ok(())
}
