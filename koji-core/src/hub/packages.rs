//! Packages and tag package lists (`package`, `tag_packages`,
//! `tag_package_owners`).
//!
//! A tag's package list says which packages may be tagged into it, who owns
//! each, and which are blocked. Entries are inherited along the tag's full
//! inheritance: the first entry found for a package wins (the tag's own, then
//! its parents' in inheritance order), so a block in a child hides its
//! parents' entry, and a parent's `pkg_filter` regexes limit what flows down.
//!
//! Changes to a list go through the `package_list` policy (see
//! [`assert_package_list_policy`]; upstream's default: admin or `tag`
//! permission).
//!
//! Helpers other areas may reuse: [`read_package_list_in`] (upstream's
//! `readPackageList`, on any connection), [`pkglist_add_in`] (upstream's
//! `_direct_pkglist_add`, inside the caller's transaction, with or without the
//! policy check) and [`new_package_in`] (upstream's `new_package`, which
//! validates the name, for build imports).

use super::names::NameRules;
use super::tags::{
    event_arg, get_tag_in, lookup_name, parse_arches_strict, read_full_inheritance_in, TagEvent,
    TagInfo, TagRef,
};
use super::{Caller, Hub};
use crate::db::{self, fetch_all, fetch_opt, versioned, RowExt, Tx, Value, Where};
use crate::error::{Error, Result};
use crate::hub::query_opts::{Columns, QueryOpts};
use crate::params;
use crate::util::py_str;
use sea_orm::ConnectionTrait;
use serde::Serialize;
use serde_json::{Map, Value as Json};
use std::collections::{HashMap, HashSet};

pub struct Packages<'a>(pub(super) &'a Hub);

/// One package-list entry, as upstream's `readPackageList` (and so
/// `listPackages`, `getPackageConfig`) returns it. The owner keys are absent
/// when owners were not asked for. Read from the database as an array of
/// its fields in this order (see [`query_entries`]).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct PackageEntry {
    #[serde(deserialize_with = "crate::db::json_bool")]
    pub blocked: bool,
    pub extra_arches: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_name: Option<String>,
    pub package_id: i64,
    pub package_name: String,
    pub tag_id: i64,
    pub tag_name: String,
}

/// What [`read_package_list_in`] reads. At least one of `tag_id`, `user_id`
/// and `pkg_id` must be set.
#[derive(Debug, Clone, Default)]
pub struct PackageListQuery {
    pub tag_id: Option<i64>,
    /// Only entries owned by this user (needs `with_owners`).
    pub user_id: Option<i64>,
    pub pkg_id: Option<i64>,
    pub event: Option<i64>,
    /// Follow the tag's inheritance (only with `tag_id`).
    pub inherit: bool,
    /// Keep every entry found, not just the first per package.
    pub with_dups: bool,
    pub with_owners: bool,
    pub with_blocked: bool,
}

impl PackageListQuery {
    /// Upstream's argument checks of `readPackageList`.
    pub fn validate(&self) -> Result<()> {
        if self.tag_id.is_none() && self.user_id.is_none() && self.pkg_id.is_none() {
            return Err(Error::generic("tag,user, and/or pkg must be specified"));
        }
        if self.user_id.is_some() && !self.with_owners {
            return Err(Error::generic(
                "userID and with_owners=False can't be used together",
            ));
        }
        Ok(())
    }

    /// The entry of one package in one tag, inheritance included (what most
    /// package-list checks want).
    pub fn inherited(tag_id: i64, pkg_id: i64) -> PackageListQuery {
        PackageListQuery {
            tag_id: Some(tag_id),
            pkg_id: Some(pkg_id),
            inherit: true,
            with_owners: true,
            with_blocked: true,
            ..PackageListQuery::default()
        }
    }
}

/// A package list: entries grouped by package, packages in the order they
/// were first found.
#[derive(Debug, Clone, Default)]
pub struct PackageList {
    groups: Vec<Vec<PackageEntry>>,
    index: HashMap<i64, usize>,
}

impl PackageList {
    /// The (first) entry of a package.
    pub fn get(&self, pkg_id: i64) -> Option<&PackageEntry> {
        self.index
            .get(&pkg_id)
            .and_then(|&i| self.groups[i].first())
    }

    pub fn contains(&self, pkg_id: i64) -> bool {
        self.index.contains_key(&pkg_id)
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Every entry, package by package.
    pub fn into_entries(self) -> Vec<PackageEntry> {
        self.groups.into_iter().flatten().collect()
    }

    /// Adds an entry: appended with `dups`, otherwise it replaces the
    /// package's entry (keeping its place).
    fn put(&mut self, e: PackageEntry, dups: bool) {
        match self.index.get(&e.package_id) {
            Some(&i) if dups => self.groups[i].push(e),
            Some(&i) => self.groups[i] = vec![e],
            None => {
                self.index.insert(e.package_id, self.groups.len());
                self.groups.push(vec![e]);
            }
        }
    }
}

/// The changes `packageListAdd` asks for.
#[derive(Debug, Clone, Default)]
pub struct ListChange {
    /// The owner (user id, name or map); `Null` keeps the current one.
    pub owner: Json,
    /// Block or unblock; `None` keeps the current state.
    pub block: Option<bool>,
    /// Extra arches; `Null` keeps the current ones.
    pub extra_arches: Json,
    pub force: bool,
    /// Only change an existing entry (`cannot update` otherwise, unless forced).
    pub update: bool,
}

/// `listPackages`' filters.
#[derive(Debug, Clone)]
pub struct ListPackages {
    pub tag: Json,
    pub user: Json,
    pub pkg: Json,
    pub prefix: Option<String>,
    pub inherited: bool,
    pub with_dups: bool,
    /// The raw event argument (validated only when a list is read).
    pub event: Json,
    pub query_opts: Json,
    pub with_owners: bool,
    pub with_blocked: bool,
}

impl Default for ListPackages {
    fn default() -> Self {
        ListPackages {
            tag: Json::Null,
            user: Json::Null,
            pkg: Json::Null,
            prefix: None,
            inherited: false,
            with_dups: false,
            event: Json::Null,
            query_opts: Json::Null,
            with_owners: true,
            with_blocked: true,
        }
    }
}

// ---------------------------------------------------------------------------
// The package_list policy
// ---------------------------------------------------------------------------

/// What a package-list change is checked against (upstream's policy data for
/// `package_list`).
#[derive(Debug, Clone, Serialize)]
pub struct PackageListPolicyData {
    pub tag: i64,
    /// `add`, `update`, `block`, `remove` or `unblock`.
    pub action: &'static str,
    /// The package as given (a name not yet known for `add`), or its id.
    pub package: Json,
    pub force: bool,
}

/// Enforces the `package_list` policy through the policy engine (upstream's
/// `assert_policy('package_list', data, force=force)`), reading facts
/// through `conn` (the caller's transaction): a denial is ActionNotAllowed
/// `policy violation (package_list): REASON`, unless `force` is set by an
/// admin.
pub async fn assert_package_list_policy<C: ConnectionTrait + Sync>(
    hub: &Hub,
    conn: &C,
    caller: &Caller,
    data: &PackageListPolicyData,
) -> Result<()> {
    let json = serde_json::to_value(data)?;
    hub.policy()
        .assert_in(conn, caller, "package_list", &json, data.force)
        .await
}

// ---------------------------------------------------------------------------
// Readers usable on the pool or inside a transaction
// ---------------------------------------------------------------------------

fn live_tag(info: &Json, tag: Option<TagInfo>) -> Result<TagInfo> {
    // get_tag_in(strict) already fails for a missing tag; this only guards
    tag.ok_or_else(|| Error::Generic(format!("No such tagInfo: {}", crate::util::py_repr(info))))
}

/// Upstream's `readPackageList`, on any connection.
pub async fn read_package_list_in<C: ConnectionTrait>(
    c: &C,
    q: &PackageListQuery,
) -> Result<PackageList> {
    q.validate()?;
    let mut list = PackageList::default();
    for e in query_entries(c, q, q.tag_id.map(|t| vec![t])).await? {
        list.put(e, q.with_dups);
    }
    let Some(tag_id) = q.tag_id.filter(|_| q.inherit) else {
        return Ok(list);
    };
    let order = read_full_inheritance_in(c, tag_id, q.event, false).await?;
    if order.is_empty() {
        return Ok(list);
    }
    // one query for every ancestor, then the links in inheritance order
    let mut parents: Vec<i64> = vec![];
    let mut seen = HashSet::new();
    for link in &order {
        if seen.insert(link.parent_id) {
            parents.push(link.parent_id);
        }
    }
    let mut by_tag: HashMap<i64, Vec<PackageEntry>> = HashMap::new();
    for chunk in parents.chunks(500) {
        for e in query_entries(c, q, Some(chunk.to_vec())).await? {
            by_tag.entry(e.tag_id).or_default().push(e);
        }
    }
    let mut remaining: HashMap<i64, usize> = HashMap::new();
    for link in &order {
        *remaining.entry(link.parent_id).or_default() += 1;
    }
    let mut patterns: HashMap<String, super::pyre::Pattern> = HashMap::new();
    for link in &order {
        for pat in &link.filter {
            if !patterns.contains_key(pat) {
                patterns.insert(pat.clone(), super::pyre::Pattern::compile(pat)?);
            }
        }
        let progs: Vec<&super::pyre::Pattern> =
            link.filter.iter().filter_map(|p| patterns.get(p)).collect();
        // a tag's entries are moved out the last time it is reached (one
        // tag can be reached by several paths), copied before that
        let left = remaining.entry(link.parent_id).or_insert(1);
        *left -= 1;
        if *left == 0 {
            for e in by_tag.remove(&link.parent_id).unwrap_or_default() {
                if admits(&list, q.with_dups, &progs, &e)? {
                    list.put(e, q.with_dups);
                }
            }
        } else if let Some(entries) = by_tag.get(&link.parent_id) {
            for e in entries {
                if admits(&list, q.with_dups, &progs, e)? {
                    list.put(e.clone(), q.with_dups);
                }
            }
        }
    }
    Ok(list)
}

/// Whether an inherited entry joins the list: its package not there yet
/// (unless duplicates are asked for) and its name passing the link's
/// package filter.
fn admits(
    list: &PackageList,
    with_dups: bool,
    progs: &[&super::pyre::Pattern],
    e: &PackageEntry,
) -> Result<bool> {
    if !with_dups && list.contains(e.package_id) {
        return Ok(false);
    }
    for prog in progs {
        if !prog.match_start(&e.package_name)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The `tag_packages` rows matching `q`, restricted to `tags` when given,
/// in the order they were created.
async fn query_entries<C: ConnectionTrait>(
    c: &C,
    q: &PackageListQuery,
    tags: Option<Vec<i64>>,
) -> Result<Vec<PackageEntry>> {
    // in PackageEntry's field order; the owner columns are set below
    let mut cols = vec![
        "tag_packages.blocked",
        "tag_packages.extra_arches",
        "NULL",
        "NULL",
        "package.id",
        "package.name",
        "tag.id",
        "tag.name",
    ];
    let mut joins = vec![
        "JOIN tag ON tag.id = tag_packages.tag_id",
        "JOIN package ON package.id = tag_packages.package_id",
    ];
    let mut wh = Where::new();
    let (live, p) = versioned::live("tag_packages", q.event);
    wh.and(live, p);
    if let Some(tags) = &tags {
        let marks = vec!["?"; tags.len()].join(", ");
        wh.and(
            format!("tag.id IN ({marks})"),
            tags.iter().map(|&t| Value::from(t)).collect(),
        );
    }
    if let Some(user) = q.user_id {
        wh.and("users.id = ?", params![user]);
    }
    if let Some(pkg) = q.pkg_id {
        wh.and("package.id = ?", params![pkg]);
    }
    if q.with_owners {
        cols[2] = "users.id";
        cols[3] = "users.name";
        joins.extend([
            "JOIN tag_package_owners ON tag_packages.tag_id = tag_package_owners.tag_id \
             AND tag_packages.package_id = tag_package_owners.package_id",
            "JOIN users ON users.id = tag_package_owners.owner",
        ]);
        let (live, p) = versioned::live("tag_package_owners", q.event);
        wh.and(live, p);
    }
    if !q.with_blocked {
        wh.and("tag_packages.blocked = FALSE", params![]);
    }
    // an inherited list is tens of thousands of entries: read as one
    // document, not row by row
    db::fetch_json_rows_with(
        c,
        "",
        &cols,
        &format!("FROM tag_packages {}{}", joins.join(" "), wh.sql()),
        "tag_packages.create_event, tag_packages.tag_id, tag_packages.package_id",
        wh.params,
    )
    .await
}

/// Upstream's `new_package`: the id of package `name`, created if missing
/// (the name must pass [`NameRules::internal`]); with `strict` an existing
/// package is `Package already exists [id N]`.
pub async fn new_package_in(tx: &Tx, names: &NameRules, name: &Json, strict: bool) -> Result<i64> {
    let name = names.internal(name)?.to_string();
    if let Some(r) = fetch_opt(
        &**tx,
        "SELECT id FROM package WHERE name = ?",
        params![name.clone()],
    )
    .await?
    {
        let id = r.int("id")?;
        if strict {
            return Err(Error::Generic(format!("Package already exists [id {id}]")));
        }
        return Ok(id);
    }
    let r = db::fetch_one(
        &**tx,
        "INSERT INTO package (name) VALUES (?) RETURNING id",
        params![name],
    )
    .await?;
    r.int("id")
}

// ---------------------------------------------------------------------------
// Writers (inside the caller's transaction)
// ---------------------------------------------------------------------------

/// Revokes the tag's entry for the package (its owner row stays, as upstream).
async fn revoke_entry(tx: &mut Tx, tag_id: i64, pkg_id: i64, user_id: i64) -> Result<()> {
    versioned::revoke(
        tx,
        "tag_packages",
        "package_id = ? AND tag_id = ?",
        params![pkg_id, tag_id],
        user_id,
    )
    .await?;
    Ok(())
}

/// Replaces the owner row of the package in the tag.
async fn write_owner(
    tx: &mut Tx,
    tag_id: i64,
    pkg_id: i64,
    owner: i64,
    user_id: i64,
) -> Result<()> {
    versioned::revoke(
        tx,
        "tag_package_owners",
        "package_id = ? AND tag_id = ?",
        params![pkg_id, tag_id],
        user_id,
    )
    .await?;
    versioned::insert(
        tx,
        "tag_package_owners",
        &["tag_id", "package_id", "owner"],
        params![tag_id, pkg_id, owner],
        user_id,
    )
    .await
}

/// Replaces the package's entry in the tag, and its owner row.
async fn write_entry(
    tx: &mut Tx,
    tag_id: i64,
    pkg_id: i64,
    owner: i64,
    block: bool,
    extra_arches: Option<String>,
    user_id: i64,
) -> Result<()> {
    revoke_entry(tx, tag_id, pkg_id, user_id).await?;
    versioned::insert(
        tx,
        "tag_packages",
        &["tag_id", "package_id", "blocked", "extra_arches"],
        vec![
            Value::from(tag_id),
            Value::from(pkg_id),
            Value::from(block),
            Value::from(extra_arches),
        ],
        user_id,
    )
    .await?;
    write_owner(tx, tag_id, pkg_id, owner, user_id).await
}

/// Upstream's `_direct_pkglist_add` inside `tx`: adds the package to the
/// tag's list or changes its entry (owner, block, extra arches). With
/// `policy` the caller must be logged in and pass the `package_list` policy.
/// A change that changes nothing is a no-op unless forced.
pub async fn pkglist_add_in(
    hub: &Hub,
    tx: &mut Tx,
    caller: &Caller,
    taginfo: &Json,
    pkginfo: &Json,
    ch: &ListChange,
    policy: bool,
) -> Result<()> {
    let tag = live_tag(
        taginfo,
        get_tag_in(&**tx, taginfo, true, TagEvent::At(None), false).await?,
    )?;
    let mut pkg = lookup_name(&**tx, "package", pkginfo, false, false).await?;
    if pkg.is_none() && !pkginfo.is_string() {
        return Err(Error::Generic(format!(
            "No such package: {}",
            py_str(pkginfo)
        )));
    }
    let mut owner = match &ch.owner {
        Json::Null => None,
        info => Some(
            hub.users()
                .get(caller, info, true, false, false)
                .await?
                .map(|u| u.id)
                .ok_or_else(|| Error::generic("user lookup failed"))?,
        ),
    };
    let action = if ch.update {
        "update"
    } else if ch.block == Some(true) {
        "block"
    } else {
        "add"
    };
    if policy {
        caller.user_id()?;
        let data = PackageListPolicyData {
            tag: tag.id,
            action,
            package: pkginfo.clone(),
            force: ch.force,
        };
        assert_package_list_policy(hub, &**tx, caller, &data).await?;
    }
    let pkg = match pkg.take() {
        Some(p) => p,
        None => lookup_name(&**tx, "package", pkginfo, false, true)
            .await?
            .ok_or_else(|| Error::generic("package creation failed"))?,
    };
    let mut extra_arches = match &ch.extra_arches {
        Json::Null => None,
        v => Some(parse_arches_strict(v)?),
    };
    let user_id = caller.user_id()?;
    let list = read_package_list_in(&**tx, &PackageListQuery::inherited(tag.id, pkg.id)).await?;
    let previous = list.get(pkg.id);
    let mut block = ch.block.unwrap_or(false);
    let mut changed = false;
    let mut changed_owner = false;
    match previous {
        None => {
            if ch.update && !ch.force {
                return Err(Error::Generic(format!(
                    "cannot update: tag {} has no data for package {}",
                    tag.name, pkg.name
                )));
            }
        }
        Some(prev) => {
            let owner_now = owner.or(prev.owner_id);
            owner = owner_now;
            changed_owner = prev.owner_id != owner_now;
            block = ch.block.unwrap_or(prev.blocked);
            if extra_arches.is_none() {
                extra_arches = prev.extra_arches.clone();
            }
            changed = prev.blocked != block || prev.extra_arches != extra_arches;
            if !changed && !changed_owner && !ch.force {
                return Ok(());
            }
            if prev.blocked && !block && !ch.force {
                return Err(Error::Generic(format!(
                    "package {} is blocked in tag {}",
                    pkg.name, tag.name
                )));
            }
        }
    }
    let owner = match owner {
        Some(o) => o,
        None if ch.force => user_id,
        None => return Err(Error::generic("owner not specified")),
    };
    if previous.is_none() || changed {
        write_entry(tx, tag.id, pkg.id, owner, block, extra_arches, user_id).await?;
    } else if changed_owner {
        write_owner(tx, tag.id, pkg.id, owner, user_id).await?;
    }
    Ok(())
}

/// Upstream's `_direct_pkglist_remove` inside `tx`.
pub async fn pkglist_remove_in(
    hub: &Hub,
    tx: &mut Tx,
    caller: &Caller,
    taginfo: &Json,
    pkginfo: &Json,
    force: bool,
    policy: bool,
) -> Result<()> {
    let tag = live_tag(
        taginfo,
        get_tag_in(&**tx, taginfo, true, TagEvent::At(None), false).await?,
    )?;
    let pkg = strict_package(&**tx, pkginfo).await?;
    if policy {
        caller.user_id()?;
        let data = PackageListPolicyData {
            tag: tag.id,
            action: "remove",
            package: Json::from(pkg.id),
            force,
        };
        assert_package_list_policy(hub, &**tx, caller, &data).await?;
    }
    let user_id = caller.user_id()?;
    revoke_entry(tx, tag.id, pkg.id, user_id).await
}

async fn strict_package<C: ConnectionTrait>(c: &C, info: &Json) -> Result<TagRef> {
    lookup_name(c, "package", info, true, false)
        .await?
        .ok_or_else(|| Error::generic("package lookup failed"))
}

// ---------------------------------------------------------------------------
// The API
// ---------------------------------------------------------------------------

impl Packages<'_> {
    /// `packageListAdd(taginfo, pkginfo, owner=None, block=None,
    /// extra_arches=None, force=False, update=False)`.
    pub async fn add(
        &self,
        caller: &Caller,
        taginfo: &Json,
        pkginfo: &Json,
        ch: &ListChange,
    ) -> Result<()> {
        let mut tx = self.0.db().begin().await?;
        pkglist_add_in(self.0, &mut tx, caller, taginfo, pkginfo, ch, true).await?;
        tx.commit().await
    }

    /// `packageListRemove(taginfo, pkginfo, force=False)`: drops the tag's
    /// own entry (an inherited one shows through again).
    pub async fn remove(
        &self,
        caller: &Caller,
        taginfo: &Json,
        pkginfo: &Json,
        force: bool,
    ) -> Result<()> {
        let mut tx = self.0.db().begin().await?;
        pkglist_remove_in(self.0, &mut tx, caller, taginfo, pkginfo, force, true).await?;
        tx.commit().await
    }

    /// `packageListBlock(taginfo, pkginfo, force=False)`: the package must
    /// be listed (maybe by inheritance, maybe blocked already).
    pub async fn block(
        &self,
        caller: &Caller,
        taginfo: &Json,
        pkginfo: &Json,
        force: bool,
    ) -> Result<()> {
        let mut tx = self.0.db().begin().await?;
        let tag = live_tag(
            taginfo,
            get_tag_in(&*tx, taginfo, true, TagEvent::At(None), false).await?,
        )?;
        let pkg = strict_package(&*tx, pkginfo).await?;
        let mut q = PackageListQuery::inherited(tag.id, pkg.id);
        q.with_owners = false;
        if read_package_list_in(&*tx, &q).await?.is_empty() {
            return Err(Error::Generic(format!(
                "Package {} is not in tag listing for {}",
                pkg.name, tag.name
            )));
        }
        let ch = ListChange {
            block: Some(true),
            force,
            ..ListChange::default()
        };
        pkglist_add_in(self.0, &mut tx, caller, taginfo, pkginfo, &ch, true).await?;
        tx.commit().await
    }

    /// `packageListUnblock(taginfo, pkginfo, force=False)`: removes the
    /// tag's own block, or masks an inherited one with an unblocked entry.
    pub async fn unblock(
        &self,
        caller: &Caller,
        taginfo: &Json,
        pkginfo: &Json,
        force: bool,
    ) -> Result<()> {
        let mut tx = self.0.db().begin().await?;
        let tag = live_tag(
            taginfo,
            get_tag_in(&*tx, taginfo, true, TagEvent::At(None), false).await?,
        )?;
        let pkg = strict_package(&*tx, pkginfo).await?;
        caller.user_id()?;
        let data = PackageListPolicyData {
            tag: tag.id,
            action: "unblock",
            package: Json::from(pkg.id),
            force,
        };
        assert_package_list_policy(self.0, &*tx, caller, &data).await?;
        let user_id = caller.user_id()?;
        let q = PackageListQuery::inherited(tag.id, pkg.id);
        let list = read_package_list_in(&*tx, &q).await?;
        let Some(prev) = list.get(pkg.id).cloned() else {
            return Err(Error::Generic(format!(
                "no data (blocked or otherwise) for package {} in tag {}",
                pkg.name, tag.name
            )));
        };
        if !prev.blocked {
            return Err(Error::Generic(format!(
                "package {} NOT blocked in tag {}",
                pkg.name, tag.name
            )));
        }
        let owner = prev
            .owner_id
            .ok_or_else(|| Error::generic("package entry without owner"))?;
        if prev.tag_id != tag.id {
            write_entry(
                &mut tx,
                tag.id,
                pkg.id,
                owner,
                false,
                prev.extra_arches,
                user_id,
            )
            .await?;
        } else {
            revoke_entry(&mut tx, tag.id, pkg.id, user_id).await?;
            // what shows through may be nothing, or another block
            let now = read_package_list_in(&*tx, &q).await?;
            if now.get(pkg.id).is_none_or(|e| e.blocked) {
                write_entry(
                    &mut tx,
                    tag.id,
                    pkg.id,
                    owner,
                    false,
                    prev.extra_arches,
                    user_id,
                )
                .await?;
            }
        }
        tx.commit().await
    }

    /// `packageListSetOwner(taginfo, pkginfo, owner, force=False)`.
    pub async fn set_owner(
        &self,
        caller: &Caller,
        taginfo: &Json,
        pkginfo: &Json,
        owner: &Json,
        force: bool,
    ) -> Result<()> {
        let ch = ListChange {
            owner: owner.clone(),
            force,
            update: true,
            ..ListChange::default()
        };
        self.add(caller, taginfo, pkginfo, &ch).await
    }

    /// `packageListSetArches(taginfo, pkginfo, arches, force=False)`.
    pub async fn set_arches(
        &self,
        caller: &Caller,
        taginfo: &Json,
        pkginfo: &Json,
        arches: &Json,
        force: bool,
    ) -> Result<()> {
        let ch = ListChange {
            extra_arches: arches.clone(),
            force,
            update: true,
            ..ListChange::default()
        };
        self.add(caller, taginfo, pkginfo, &ch).await
    }

    /// `listPackages(...)`: without a tag, user or package filter, every
    /// package (`listPackagesSimple`); otherwise the package-list entries
    /// matching them, inheritance included with `inherited`.
    pub async fn list(&self, caller: &Caller, opts: &ListPackages) -> Result<Json> {
        if opts.tag.is_null() && opts.user.is_null() && opts.pkg.is_null() {
            return self
                .list_simple(opts.prefix.as_deref(), &opts.query_opts)
                .await;
        }
        let db = self.0.db().conn();
        let mut q = PackageListQuery {
            inherit: opts.inherited,
            with_dups: opts.with_dups,
            with_owners: opts.with_owners,
            with_blocked: opts.with_blocked,
            ..PackageListQuery::default()
        };
        if !opts.tag.is_null() {
            q.tag_id = Some(strict_tag_id(db, &opts.tag).await?);
        }
        if !opts.user.is_null() {
            let user = self
                .0
                .users()
                .get(caller, &opts.user, true, false, false)
                .await?
                .ok_or_else(|| Error::generic("user lookup failed"))?;
            q.user_id = Some(user.id);
        }
        if !opts.pkg.is_null() {
            q.pkg_id = Some(strict_package(db, &opts.pkg).await?.id);
        }
        q.validate()?;
        q.event = event_arg(&opts.event)?;
        let mut entries = read_package_list_in(db, &q).await?.into_entries();
        if let Some(prefix) = opts.prefix.as_deref().filter(|p| !p.is_empty()) {
            let prefix = prefix.to_lowercase();
            entries.retain(|e| e.package_name.to_lowercase().starts_with(&prefix));
        }
        let rows = entries
            .into_iter()
            .map(serde_json::to_value)
            .collect::<std::result::Result<Vec<_>, _>>()?;
        QueryOpts::parse(&opts.query_opts)?.apply_loose(rows)
    }

    /// `listPackagesSimple(prefix=None, queryOpts=None)`: every package
    /// (`package_id`, `package_name`), optionally those whose name starts
    /// with `prefix` (case-insensitive; `%` and `_` are wildcards, as in
    /// upstream's ILIKE).
    pub async fn list_simple(&self, prefix: Option<&str>, query_opts: &Json) -> Result<Json> {
        let opts = QueryOpts::parse(query_opts)?;
        let mut wh = Where::new();
        if let Some(prefix) = prefix {
            wh.and(
                "LOWER(package.name) LIKE (LOWER(?) || '%') ESCAPE '\\'",
                params![prefix.to_string()],
            );
        }
        let rows = fetch_all(
            self.0.db().conn(),
            &format!(
                "SELECT package.id AS package_id, package.name AS package_name FROM package{} \
                 ORDER BY package.id",
                wh.sql()
            ),
            wh.params,
        )
        .await?;
        let rows = rows
            .iter()
            .map(|r| {
                let mut m = Map::new();
                m.insert("package_id".into(), Json::from(r.int("package_id")?));
                m.insert("package_name".into(), Json::from(r.string("package_name")?));
                Ok(Json::Object(m))
            })
            .collect::<Result<Vec<_>>>()?;
        let cols = Columns::sorted(&["package_id", "package_name"])
            .expr("package.id", "package_id")
            .expr("package.name", "package_name");
        opts.apply(rows, &cols)
    }

    /// `getPackage(info, strict=False, create=False)`: `{id, name}` of a
    /// package by id or name; `create` adds a missing name (unchecked, as
    /// upstream).
    pub async fn get(&self, info: &Json, strict: bool, create: bool) -> Result<Option<TagRef>> {
        if create {
            let tx = self.0.db().begin().await?;
            let r = lookup_name(&*tx, "package", info, strict, true).await?;
            tx.commit().await?;
            return Ok(r);
        }
        lookup_name(self.0.db().conn(), "package", info, strict, false).await
    }

    /// `getPackageID(name, strict=False)`.
    pub async fn get_id(&self, name: &Json, strict: bool) -> Result<Option<i64>> {
        let row = match name {
            Json::String(s) => {
                fetch_opt(
                    self.0.db().conn(),
                    "SELECT id FROM package WHERE name = ?",
                    params![s.clone()],
                )
                .await?
            }
            _ => None,
        };
        match row {
            Some(r) => Ok(Some(r.int("id")?)),
            None if strict => Err(Error::Generic(format!(
                "No such package name: {}",
                py_str(name)
            ))),
            None => Ok(None),
        }
    }

    /// `checkTagPackage(tag, pkg)`: whether the package is listed in the tag
    /// (inheritance included) and not blocked.
    pub async fn check_tag_package(&self, tag: &Json, pkg: &Json) -> Result<bool> {
        let db = self.0.db().conn();
        let tag_id = lookup_name(db, "tag", tag, false, false)
            .await?
            .map(|t| t.id);
        let pkg_id = lookup_name(db, "package", pkg, false, false)
            .await?
            .map(|p| p.id);
        let (Some(tag_id), Some(pkg_id)) = (tag_id, pkg_id) else {
            return Ok(false);
        };
        let mut q = PackageListQuery::inherited(tag_id, pkg_id);
        q.with_owners = false;
        let list = read_package_list_in(db, &q).await?;
        Ok(list.get(pkg_id).is_some_and(|e| !e.blocked))
    }

    /// `getPackageConfig(tag, pkg, event=None)`: the package's effective
    /// entry in the tag (inheritance included), or None.
    pub async fn config(
        &self,
        tag: &Json,
        pkg: &Json,
        event: &Json,
    ) -> Result<Option<PackageEntry>> {
        let db = self.0.db().conn();
        let tag_id = lookup_name(db, "tag", tag, false, false)
            .await?
            .map(|t| t.id);
        let pkg_id = lookup_name(db, "package", pkg, false, false)
            .await?
            .map(|p| p.id);
        let (Some(tag_id), Some(pkg_id)) = (tag_id, pkg_id) else {
            return Ok(None);
        };
        let mut q = PackageListQuery::inherited(tag_id, pkg_id);
        q.event = event_arg(event)?;
        Ok(read_package_list_in(db, &q).await?.get(pkg_id).cloned())
    }
}

/// A tag's id by id or name, deleted tags included (upstream's
/// `get_tag_id(strict=True)`).
async fn strict_tag_id<C: ConnectionTrait>(c: &C, info: &Json) -> Result<i64> {
    lookup_name(c, "tag", info, true, false)
        .await?
        .map(|t| t.id)
        .ok_or_else(|| Error::generic("tag lookup failed"))
}
