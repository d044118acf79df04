//! Builds in tags (`tag_listing`): tagging and untagging, what a tag holds
//! (upstream's `readTaggedBuilds`, `readTaggedRPMS`, `readTaggedArchives`)
//! and when a tag last changed.
//!
//! What a tag holds, with `inherit`, is read along the tag's full
//! inheritance (the tag itself first, then its ancestors in
//! [`read_full_inheritance_in`] order, a tag reached twice counted twice, as
//! upstream does). A build only shows when its package is on the tag's own
//! package list, inheritance included (always, even without `inherit`), and
//! not blocked there. `latest` keeps, per package, the first builds met in
//! that order: the first tag holding the package wins, and within a tag the
//! most recently tagged build (then the highest build id) comes first.
//!
//! The reads are set-based: one query over the tags of the inheritance that
//! numbers each package's builds with `ROW_NUMBER()` (SQLite and PostgreSQL
//! both have it) and, when no inheritance link filters packages, computes
//! the package list in the same query. With `pkg_filter` links the package
//! list is read by [`read_package_list_in`] (Python regexes) and applied to
//! the rows afterwards: the list is a per-package rule, so applying it
//! before or after the per-package numbering gives the same answer.
//!
//! Writes: `tagBuildBypass`, `untagBuildBypass`, `untagBuild`, `massTag`,
//! `snapshotTag`, `snapshotTagModify`. The task-creating calls (`tagBuild`,
//! `moveBuild`, `moveAllBuilds`) wait for tasks; their checks and the work
//! their task does are here already ([`Tagging::tag_request_checks_in`],
//! [`host_tag_build_in`], [`Tagging::move_all_builds_checks_in`]).

use super::builds::{get_build_in, parse_extra, BuildInfo};
use super::groups::{
    list_add_in, package_add_in, readable_groups_in, req_add_in, snapshot_groups_in,
};
use super::notifications::{tag_notification_in, TagChange};
use super::packages::{pkglist_add_in, read_package_list_in, ListChange, PackageListQuery};
use super::tags::{
    create_tag_in, edit_tag_in, get_tag_in, lookup_name, read_full_inheritance_in, InheritanceLink,
    NewTag, TagEvent, TagInfo,
};
use super::{Caller, Hub};
use crate::api::{py_type_of, truthy};
use crate::db::{
    fetch_all, fetch_json_rows, fetch_json_rows_with, fetch_opt, versioned, RowExt, Tx, Value,
    Where,
};
use crate::error::{Error, Result};
use crate::hub::query_opts::{Columns, QueryOpts};
use crate::model::BuildState;
use crate::params;
use crate::util::{format_time, py_repr, py_str};
use sea_orm::ConnectionTrait;
use serde::Serialize;
use serde_json::{Map, Value as Json};
use std::collections::{HashMap, HashSet};

pub struct Tagging<'a>(pub(super) &'a Hub);

// ---------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------

/// One build of a tag, as upstream's `readTaggedBuilds` (`listTagged`,
/// `getLatestBuilds`) returns it: its query's aliases sorted. The optional
/// keys are there only with `extra` or a `type` that adds them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TaggedBuild {
    pub build_id: i64,
    pub completion_time: Option<String>,
    pub create_event: i64,
    pub creation_event_id: i64,
    pub creation_time: String,
    pub draft: bool,
    pub epoch: Option<i64>,
    /// `Some(Null)` for a build without extra, when extra was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra: Option<Json>,
    pub id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maven_artifact_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maven_group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maven_version: Option<String>,
    pub name: String,
    pub nvr: String,
    pub owner_id: i64,
    pub owner_name: String,
    pub package_id: i64,
    pub package_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    pub promoter_id: Option<i64>,
    pub promoter_name: Option<String>,
    pub promotion_time: Option<String>,
    pub release: String,
    pub start_time: Option<String>,
    pub state: i64,
    pub tag_id: i64,
    pub tag_name: String,
    pub task_id: Option<i64>,
    pub version: String,
    pub volume_id: i64,
    pub volume_name: String,
}

/// One RPM of `readTaggedRPMS` (aliases sorted; `extra` and `sigkey` only
/// when asked for).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TaggedRpm {
    pub arch: String,
    pub build_id: i64,
    pub buildroot_id: Option<i64>,
    pub buildtime: i64,
    pub draft: Option<bool>,
    pub epoch: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra: Option<Json>,
    pub id: i64,
    pub metadata_only: bool,
    pub name: String,
    pub payloadhash: String,
    pub release: String,
    /// `Some(Null)` for an unsigned RPM, when signatures were asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sigkey: Option<Json>,
    pub size: i64,
    pub version: String,
}

/// One archive of `readTaggedArchives` (aliases sorted; type-specific keys
/// with `type`, `extra` when asked for).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TaggedArchive {
    pub btype: String,
    pub btype_id: Option<i64>,
    pub build_id: i64,
    pub buildroot_id: Option<i64>,
    pub checksum: String,
    pub checksum_type: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra: Option<Json>,
    pub filename: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<Json>,
    pub id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maven_artifact_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maven_group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maven_version: Option<String>,
    pub metadata_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platforms: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relpath: Option<String>,
    pub size: i64,
    pub type_id: i64,
}

// ---------------------------------------------------------------------------
// Query options
// ---------------------------------------------------------------------------

/// Upstream's `latest` argument: `None` for every build, `Some(n)` for the
/// first `n` builds per package (`True` is 1).
pub fn latest_arg(v: &Json) -> Option<i64> {
    match v {
        Json::Bool(true) => Some(1),
        Json::Bool(false) | Json::Null => None,
        Json::Number(n) => {
            let f = n.as_f64().unwrap_or(0.0);
            if f == 0.0 {
                None
            } else if f < 0.0 {
                // nothing passes `seen >= latest`
                Some(0)
            } else {
                Some(f.ceil() as i64)
            }
        }
        other if truthy(other) => Some(1),
        _ => None,
    }
}

/// What [`read_tagged_builds_in`] reads (upstream's `readTaggedBuilds`
/// arguments after the tag).
#[derive(Debug, Clone, Default)]
pub struct TaggedQuery {
    pub event: Option<i64>,
    pub inherit: bool,
    /// See [`latest_arg`].
    pub latest: Option<i64>,
    /// A package name (or id); `Null` for every package.
    pub package: Json,
    /// A build owner's name.
    pub owner: Option<String>,
    /// `maven`, `win`, `image` or another build type's name.
    pub btype: Option<String>,
    pub extra: bool,
    pub draft: Option<bool>,
}

/// What [`read_tagged_rpms_in`] reads besides a [`TaggedQuery`].
#[derive(Debug, Clone, Default)]
pub struct RpmFilter {
    /// An arch, a list of arches, or `Null`.
    pub arch: Json,
    pub rpmsigs: bool,
    pub extra: bool,
}

// ---------------------------------------------------------------------------
// Readers usable on the pool or inside a transaction
// ---------------------------------------------------------------------------

/// `WITH`-clause rows `(pos, tag_id)` for a list of tag ids (integers we
/// read ourselves, so written inline).
fn values_list(tags: &[i64]) -> String {
    tags.iter()
        .enumerate()
        .map(|(i, t)| format!("({i}, {t})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The package restriction of a query: the id of the named package, or
/// `Err(())` when it does not exist (nothing can match).
async fn package_filter<C: ConnectionTrait>(
    c: &C,
    package: &Json,
) -> Result<std::result::Result<Option<i64>, ()>> {
    match package {
        Json::Null => Ok(Ok(None)),
        Json::String(_) | Json::Number(_) => Ok(
            match lookup_name(c, "package", package, false, false).await {
                Ok(Some(p)) => Ok(Some(p.id)),
                _ => Err(()),
            },
        ),
        _ => Ok(Err(())),
    }
}

/// Upstream's `readTaggedBuilds(tag, ...)` for a tag id, on any connection.
/// Builds come in upstream's order: tag by tag along the inheritance, most
/// recently tagged first, then highest build id first.
pub async fn read_tagged_builds_in<C: ConnectionTrait>(
    c: &C,
    tag_id: i64,
    q: &TaggedQuery,
) -> Result<Vec<TaggedBuild>> {
    let order = read_full_inheritance_in(c, tag_id, q.event, false).await?;
    read_tagged_builds_with(c, tag_id, &order, q).await
}

async fn read_tagged_builds_with<C: ConnectionTrait>(
    c: &C,
    tag_id: i64,
    order: &[InheritanceLink],
    q: &TaggedQuery,
) -> Result<Vec<TaggedBuild>> {
    if q.latest == Some(0) {
        return Ok(vec![]);
    }
    let pkg_id = match package_filter(c, &q.package).await? {
        Ok(p) => p,
        Err(()) => return Ok(vec![]),
    };
    let mut pkg_tags = vec![tag_id];
    pkg_tags.extend(order.iter().map(|l| l.parent_id));
    let build_tags: &[i64] = if q.inherit { &pkg_tags } else { &pkg_tags[..1] };
    let allowed = allowed_packages(c, tag_id, &pkg_tags, order, pkg_id, q.event).await?;
    if allowed.is_empty() {
        return Ok(vec![]);
    }
    let mut params: Vec<Value> = vec![];
    let mut with = vec![format!(
        "bt(pos, tag_id) AS (VALUES {})",
        values_list(build_tags)
    )];
    let mut hit_joins = vec![
        "JOIN bt ON bt.tag_id = tag_listing.tag_id".to_string(),
        "JOIN build ON build.id = tag_listing.build_id".to_string(),
    ];
    let mut wh = Where::new();
    let (live, p) = versioned::live("tag_listing", q.event);
    wh.and(live, p);
    wh.and("build.state = ?", params![BuildState::Complete as i64]);
    if let Some(p) = pkg_id {
        // through the package's builds (a few rows), not the tags' listings
        wh.and(
            "tag_listing.build_id IN (SELECT b.id FROM build AS b WHERE b.pkg_id = ?)",
            params![p],
        );
    }
    if let Some(owner) = &q.owner {
        hit_joins.push("JOIN users ON users.id = build.owner".to_string());
        wh.and("users.name = ?", params![owner.clone()]);
    }
    if let Some(d) = q.draft {
        wh.and(draft_clause(d, "build"), vec![]);
    }
    let mut sel_joins: Vec<&str> = vec![];
    match q.btype.as_deref() {
        None => {}
        Some("maven") => {
            hit_joins
                .push("JOIN maven_builds ON maven_builds.build_id = tag_listing.build_id".into());
            sel_joins.push("JOIN maven_builds ON maven_builds.build_id = build.id");
        }
        Some("win") => {
            hit_joins.push("JOIN win_builds ON win_builds.build_id = tag_listing.build_id".into());
            sel_joins.push("JOIN win_builds ON win_builds.build_id = build.id");
        }
        Some("image") => {
            hit_joins
                .push("JOIN image_builds ON image_builds.build_id = tag_listing.build_id".into());
        }
        Some(other) => {
            let Some(bt) = lookup_name(c, "btype", &Json::from(other), false, false).await? else {
                return Err(Error::Generic(format!("unsupported build type: {other}")));
            };
            hit_joins.push(format!(
                "JOIN build_types ON build.id = build_types.build_id AND build_types.btype_id = {}",
                bt.id
            ));
        }
    }
    params.extend(wh.params.iter().cloned());
    let rn = if q.latest.is_some() {
        ", ROW_NUMBER() OVER (PARTITION BY build.pkg_id \
         ORDER BY bt.pos, tag_listing.create_event DESC, build.id DESC) AS rn"
    } else {
        ""
    };
    with.push(format!(
        "hits AS (SELECT bt.pos, tag_listing.tag_id, tag_listing.build_id, \
         tag_listing.create_event{rn} FROM tag_listing {}{})",
        hit_joins.join(" "),
        wh.sql()
    ));
    let mut outer = String::new();
    if let Some(n) = q.latest {
        outer = " WHERE hits.rn <= ?".into();
        params.push(n.into());
    }
    let maven = q.btype.as_deref() == Some("maven");
    let win = q.btype.as_deref() == Some("win");
    let cols = [
        "hits.tag_id",
        "tag.name",
        "build.id",
        "build.version",
        "build.release",
        "build.epoch",
        "build.state",
        "build.completion_time",
        "build.promotion_time",
        "build.start_time",
        "build.task_id",
        "build.draft",
        "users.id",
        "users.name",
        "promoter.id",
        "promoter.name",
        "events.id",
        "events.time",
        "volume.id",
        "volume.name",
        "package.id",
        "package.name",
        "hits.create_event",
        if q.extra { "build.extra" } else { "NULL" },
        if maven {
            "maven_builds.group_id"
        } else {
            "NULL"
        },
        if maven {
            "maven_builds.artifact_id"
        } else {
            "NULL"
        },
        if maven {
            "maven_builds.version"
        } else {
            "NULL"
        },
        if win { "win_builds.platform" } else { "NULL" },
    ];
    let from = format!(
        "FROM hits JOIN tag ON tag.id = hits.tag_id \
         JOIN build ON build.id = hits.build_id \
         JOIN events ON events.id = build.create_event \
         JOIN package ON package.id = build.pkg_id \
         JOIN volume ON volume.id = build.volume_id \
         JOIN users ON users.id = build.owner \
         LEFT JOIN users AS promoter ON promoter.id = build.promoter {}{outer}",
        sel_joins.join(" ")
    );
    // a whole tag's latest builds are tens of thousands of rows: read as
    // one document, not row by row
    let rows: Vec<BuildRow> = fetch_json_rows_with(
        c,
        &with.join(", "),
        &cols,
        &from,
        "hits.pos, hits.create_event DESC, hits.build_id DESC",
        params,
    )
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        if !allowed.contains(&r.package_id) {
            continue;
        }
        out.push(r.into_tagged(q.extra, maven, win)?);
    }
    Ok(out)
}

/// The columns [`read_tagged_builds_with`] reads, in its query's order.
#[derive(serde::Deserialize)]
struct BuildRow {
    tag_id: i64,
    tag_name: String,
    id: i64,
    version: String,
    release: String,
    epoch: Option<i64>,
    state: i64,
    completion_time: Option<String>,
    promotion_time: Option<String>,
    start_time: Option<String>,
    task_id: Option<i64>,
    #[serde(deserialize_with = "crate::db::json_bool")]
    draft: bool,
    owner_id: i64,
    owner_name: String,
    promoter_id: Option<i64>,
    promoter_name: Option<String>,
    creation_event_id: i64,
    creation_time: String,
    volume_id: i64,
    volume_name: String,
    package_id: i64,
    package_name: String,
    create_event: i64,
    extra: Option<String>,
    maven_group_id: Option<String>,
    maven_artifact_id: Option<String>,
    maven_version: Option<String>,
    platform: Option<String>,
}

impl BuildRow {
    fn into_tagged(self, extra: bool, maven: bool, win: bool) -> Result<TaggedBuild> {
        // as the row-by-row read did: a time that cannot be read is none
        let time = |t: Option<String>| t.and_then(|s| crate::db::parse_ts(&s)).map(format_time);
        let required = |v: Option<String>, what: &str| {
            v.ok_or_else(|| Error::Db(format!("column {what} is NULL")))
        };
        Ok(TaggedBuild {
            build_id: self.id,
            completion_time: time(self.completion_time),
            create_event: self.create_event,
            creation_event_id: self.creation_event_id,
            creation_time: format_time(
                crate::db::parse_ts(&self.creation_time).unwrap_or_default(),
            ),
            draft: self.draft,
            epoch: self.epoch,
            extra: if extra {
                Some(parse_extra(self.extra)?.unwrap_or(Json::Null))
            } else {
                None
            },
            id: self.id,
            maven_artifact_id: if maven {
                Some(required(self.maven_artifact_id, "maven_artifact_id")?)
            } else {
                None
            },
            maven_group_id: if maven {
                Some(required(self.maven_group_id, "maven_group_id")?)
            } else {
                None
            },
            maven_version: if maven {
                Some(required(self.maven_version, "maven_version")?)
            } else {
                None
            },
            nvr: format!("{}-{}-{}", self.package_name, self.version, self.release),
            owner_id: self.owner_id,
            owner_name: self.owner_name,
            package_id: self.package_id,
            name: self.package_name.clone(),
            package_name: self.package_name,
            platform: if win {
                Some(required(self.platform, "platform")?)
            } else {
                None
            },
            promoter_id: self.promoter_id,
            promoter_name: self.promoter_name,
            promotion_time: time(self.promotion_time),
            release: self.release,
            start_time: time(self.start_time),
            state: self.state,
            tag_id: self.tag_id,
            tag_name: self.tag_name,
            task_id: self.task_id,
            version: self.version,
            volume_id: self.volume_id,
            volume_name: self.volume_name,
        })
    }
}

/// The packages listed and not blocked in the tag (upstream's
/// `readPackageList(tag, inherit=True)`): per package, the first entry
/// along `pkg_tags` (the tag, then its inheritance) wins. Without package
/// filters on the links this is one light query; with them, the package
/// list is read with its filters ([`read_package_list_in`]).
async fn allowed_packages<C: ConnectionTrait>(
    c: &C,
    tag_id: i64,
    pkg_tags: &[i64],
    order: &[InheritanceLink],
    pkg_id: Option<i64>,
    event: Option<i64>,
) -> Result<HashSet<i64>> {
    if order.iter().any(|l| !l.filter.is_empty()) {
        let list = read_package_list_in(
            c,
            &PackageListQuery {
                tag_id: Some(tag_id),
                pkg_id,
                event,
                inherit: true,
                with_owners: false,
                with_blocked: true,
                ..PackageListQuery::default()
            },
        )
        .await?;
        return Ok(list
            .into_entries()
            .into_iter()
            .filter(|e| !e.blocked)
            .map(|e| e.package_id)
            .collect());
    }
    let mut pos: HashMap<i64, usize> = HashMap::new();
    for (i, t) in pkg_tags.iter().enumerate() {
        pos.entry(*t).or_insert(i);
    }
    let mut tags: Vec<i64> = pos.keys().copied().collect();
    tags.sort_unstable();
    let (cl, mut p) = in_list("tag_packages.tag_id", &tags);
    let (live, lp) = versioned::live("tag_packages", event);
    p.extend(lp);
    let mut sql = format!(
        "SELECT tag_packages.package_id, tag_packages.tag_id, tag_packages.blocked \
         FROM tag_packages WHERE {cl} AND {live}"
    );
    if let Some(pkg) = pkg_id {
        sql.push_str(" AND tag_packages.package_id = ?");
        p.push(pkg.into());
    }
    // package -> (position of the winning entry, blocked)
    let mut best: HashMap<i64, (usize, bool)> = HashMap::new();
    for r in fetch_all(c, &sql, p).await? {
        let at = pos.get(&r.int("tag_id")?).copied().unwrap_or(usize::MAX);
        let e = (at, r.boolean("blocked")?);
        best.entry(r.int("package_id")?)
            .and_modify(|b| {
                if e.0 < b.0 {
                    *b = e
                }
            })
            .or_insert(e);
    }
    Ok(best
        .into_iter()
        .filter(|(_, (_, blocked))| !blocked)
        .map(|(pkg, _)| pkg)
        .collect())
}

/// Upstream's `draft_clause`.
fn draft_clause(draft: bool, table: &str) -> String {
    if draft {
        format!("{table}.draft IS TRUE")
    } else {
        format!("{table}.draft IS NOT TRUE")
    }
}

/// For each build of `builds`, the position (in the tag list without
/// repeats) of the tag upstream attributes its files to: the tag of the
/// build's last entry in `builds`.
fn file_order(
    tag_id: i64,
    order: &[InheritanceLink],
    inherit: bool,
    builds: &[TaggedBuild],
) -> HashMap<i64, usize> {
    let mut tag_pos: HashMap<i64, usize> = HashMap::new();
    let tags = std::iter::once(tag_id).chain(order.iter().map(|l| l.parent_id).filter(|_| inherit));
    for t in tags {
        let n = tag_pos.len();
        tag_pos.entry(t).or_insert(n);
    }
    let mut idx = HashMap::new();
    for b in builds {
        idx.insert(
            b.build_id,
            tag_pos.get(&b.tag_id).copied().unwrap_or(usize::MAX),
        );
    }
    idx
}

/// The columns [`read_tagged_rpms_in`] reads, in its query's order.
#[derive(serde::Deserialize)]
struct RpmRow {
    name: String,
    version: String,
    release: String,
    arch: String,
    id: i64,
    epoch: Option<i64>,
    #[serde(deserialize_with = "crate::db::json_opt_bool")]
    draft: Option<bool>,
    payloadhash: String,
    size: i64,
    buildtime: i64,
    buildroot_id: Option<i64>,
    build_id: i64,
    #[serde(deserialize_with = "crate::db::json_bool")]
    metadata_only: bool,
    extra: Option<String>,
    sigkey: Option<String>,
}

/// Upstream's `readTaggedRPMS(tag, ...)` for a tag id: `(rpms, builds)`.
/// RPMs come tag by tag (as upstream's per-tag queries), by id within a tag.
pub async fn read_tagged_rpms_in<C: ConnectionTrait>(
    c: &C,
    tag_id: i64,
    q: &TaggedQuery,
    f: &RpmFilter,
) -> Result<(Vec<TaggedRpm>, Vec<TaggedBuild>)> {
    let order = read_full_inheritance_in(c, tag_id, q.event, false).await?;
    let builds = read_tagged_builds_with(c, tag_id, &order, q).await?;
    // (clause, parameters) repeated in every chunk's query
    let mut filters: Vec<(String, Vec<Value>)> = vec![];
    match &f.arch {
        a if !truthy(a) => {}
        Json::String(a) => {
            filters.push(("rpminfo.arch = ?".into(), params![a.clone()]));
        }
        Json::Array(list) => {
            let marks = vec!["?"; list.len()].join(", ");
            filters.push((
                format!("rpminfo.arch IN ({marks})"),
                list.iter().map(|a| Value::from(py_str(a))).collect(),
            ));
        }
        other => {
            return Err(Error::Generic(format!(
                "Invalid type for arch option: <class '{}'>",
                py_type_of(other)
            )))
        }
    }
    if let Some(d) = q.draft {
        filters.push((draft_clause(d, "rpminfo"), vec![]));
    }
    let pos = file_order(tag_id, &order, q.inherit, &builds);
    let mut ids: Vec<i64> = pos.keys().copied().collect();
    ids.sort_unstable();
    let sig_join = if f.rpmsigs {
        " LEFT OUTER JOIN rpmsigs ON rpminfo.id = rpmsigs.rpm_id"
    } else {
        ""
    };
    let cols = [
        "rpminfo.name",
        "rpminfo.version",
        "rpminfo.release",
        "rpminfo.arch",
        "rpminfo.id",
        "rpminfo.epoch",
        "rpminfo.draft",
        "rpminfo.payloadhash",
        "rpminfo.size",
        "rpminfo.buildtime",
        "rpminfo.buildroot_id",
        "rpminfo.build_id",
        "rpminfo.metadata_only",
        if f.extra { "rpminfo.extra" } else { "NULL" },
        if f.rpmsigs { "rpmsigs.sigkey" } else { "NULL" },
    ];
    let mut rpms: Vec<(usize, TaggedRpm)> = vec![];
    for chunk in ids.chunks(500) {
        let mut w = Where::new();
        w.and(
            format!(
                "rpminfo.build_id IN ({})",
                vec!["?"; chunk.len()].join(", ")
            ),
            chunk.iter().map(|&i| Value::from(i)).collect(),
        );
        for (cl, p) in &filters {
            w.and(cl.clone(), p.clone());
        }
        // a tag's RPMs are many (tens of thousands for a distribution):
        // read as one document, not row by row
        let rows: Vec<RpmRow> = fetch_json_rows(
            c,
            &cols,
            &format!("FROM rpminfo{sig_join}{}", w.sql()),
            w.params,
        )
        .await?;
        for r in rows {
            let rpm = TaggedRpm {
                arch: r.arch,
                build_id: r.build_id,
                buildroot_id: r.buildroot_id,
                buildtime: r.buildtime,
                draft: r.draft,
                epoch: r.epoch,
                extra: if f.extra {
                    Some(parse_extra(r.extra)?.unwrap_or(Json::Null))
                } else {
                    None
                },
                id: r.id,
                metadata_only: r.metadata_only,
                name: r.name,
                payloadhash: r.payloadhash,
                release: r.release,
                sigkey: f.rpmsigs.then(|| r.sigkey.map_or(Json::Null, Json::from)),
                size: r.size,
                version: r.version,
            };
            rpms.push((pos.get(&r.build_id).copied().unwrap_or(usize::MAX), rpm));
        }
    }
    rpms.sort_by(|(pa, a), (pb, b)| {
        (pa, a.id, a.sigkey.as_ref().and_then(|s| s.as_str())).cmp(&(
            pb,
            b.id,
            b.sigkey.as_ref().and_then(|s| s.as_str()),
        ))
    });
    Ok((rpms.into_iter().map(|(_, r)| r).collect(), builds))
}

/// Upstream's `readTaggedArchives(tag, ...)` for a tag id:
/// `(archives, builds)`; `btype` may be `maven` or `win`.
pub async fn read_tagged_archives_in<C: ConnectionTrait>(
    c: &C,
    tag_id: i64,
    q: &TaggedQuery,
    extra: bool,
) -> Result<(Vec<TaggedArchive>, Vec<TaggedBuild>)> {
    let order = read_full_inheritance_in(c, tag_id, q.event, false).await?;
    let builds = read_tagged_builds_with(c, tag_id, &order, q).await?;
    let (type_cols, type_join) = match q.btype.as_deref() {
        None => ("", ""),
        Some("maven") => (
            ", maven_archives.group_id AS maven_group_id, \
             maven_archives.artifact_id AS maven_artifact_id, \
             maven_archives.version AS maven_version",
            " JOIN maven_archives ON archiveinfo.id = maven_archives.archive_id",
        ),
        Some("win") => (
            ", win_archives.relpath, win_archives.platforms, win_archives.flags",
            " JOIN win_archives ON archiveinfo.id = win_archives.archive_id",
        ),
        Some(other) => return Err(Error::Generic(format!("unsupported archive type: {other}"))),
    };
    let extra_col = if extra { ", archiveinfo.extra" } else { "" };
    let pos = file_order(tag_id, &order, q.inherit, &builds);
    let mut ids: Vec<i64> = pos.keys().copied().collect();
    ids.sort_unstable();
    let maven = q.btype.as_deref() == Some("maven");
    let win = q.btype.as_deref() == Some("win");
    let mut archives: Vec<(usize, TaggedArchive)> = vec![];
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT archiveinfo.id, archiveinfo.type_id, archiveinfo.btype_id, \
             btype.name AS btype, archiveinfo.build_id, archiveinfo.buildroot_id, \
             archiveinfo.filename, archiveinfo.size, archiveinfo.checksum, \
             archiveinfo.checksum_type, archiveinfo.metadata_only{extra_col}{type_cols} \
             FROM archiveinfo JOIN btype ON archiveinfo.btype_id = btype.id{type_join} \
             WHERE archiveinfo.build_id IN ({})",
            vec!["?"; chunk.len()].join(", ")
        );
        let p = chunk.iter().map(|&i| Value::from(i)).collect();
        for r in fetch_all(c, &sql, p).await? {
            let build_id = r.int("build_id")?;
            let a = TaggedArchive {
                btype: r.string("btype")?,
                btype_id: r.opt_int("btype_id")?,
                build_id,
                buildroot_id: r.opt_int("buildroot_id")?,
                checksum: r.string("checksum")?,
                checksum_type: r.int("checksum_type")?,
                extra: if extra {
                    Some(parse_extra(r.opt_string("extra")?)?.unwrap_or(Json::Null))
                } else {
                    None
                },
                filename: r.string("filename")?,
                flags: if win {
                    Some(r.opt_string("flags")?.map_or(Json::Null, Json::from))
                } else {
                    None
                },
                id: r.int("id")?,
                maven_artifact_id: if maven {
                    Some(r.string("maven_artifact_id")?)
                } else {
                    None
                },
                maven_group_id: if maven {
                    Some(r.string("maven_group_id")?)
                } else {
                    None
                },
                maven_version: if maven {
                    Some(r.string("maven_version")?)
                } else {
                    None
                },
                metadata_only: r.boolean("metadata_only")?,
                platforms: if win {
                    Some(r.string("platforms")?)
                } else {
                    None
                },
                relpath: if win {
                    Some(r.string("relpath")?)
                } else {
                    None
                },
                size: r.int("size")?,
                type_id: r.int("type_id")?,
            };
            archives.push((pos.get(&build_id).copied().unwrap_or(usize::MAX), a));
        }
    }
    archives.sort_by_key(|(p, a)| (*p, a.id));
    Ok((archives.into_iter().map(|(_, a)| a).collect(), builds))
}

// ---------------------------------------------------------------------------
// Access checks and the direct writes
// ---------------------------------------------------------------------------

/// Upstream's `check_tag_access` for the caller: `(access, override,
/// reason)`. A locked tag, or one needing a permission the caller lacks,
/// refuses access; admins may override with `force`.
pub fn check_tag_access(caller: &Caller, tag: &TagInfo) -> Result<(bool, bool, String)> {
    caller.user_id()?;
    Ok(tag_access(tag, |p| caller.has_perm(p)))
}

/// `(access, override, reason)` for a holder of the permissions `has_perm`
/// answers for: a locked tag or a tag permission not held refuses; admins
/// may override.
fn tag_access(tag: &TagInfo, has_perm: impl Fn(&str) -> bool) -> (bool, bool, String) {
    let over = has_perm("admin");
    if tag.locked {
        return (false, over, "tag is locked".into());
    }
    if let (Some(_), Some(perm)) = (tag.perm_id, &tag.perm) {
        if !has_perm(perm) {
            return (false, over, format!("tag requires {perm} permission"));
        }
    }
    (true, over, String::new())
}

/// Upstream's `assert_tag_access`: ActionNotAllowed with the reason.
pub fn assert_tag_access(caller: &Caller, tag: &TagInfo, force: bool) -> Result<()> {
    let (access, over, reason) = check_tag_access(caller, tag)?;
    if !(access || (over && force)) {
        return Err(Error::ActionNotAllowed(reason));
    }
    Ok(())
}

/// Upstream's `assert_policy('tag', data, force=force)`, reading facts
/// through `conn` (the caller's transaction). Upstream's hub has no default
/// `tag` policy, and a missing policy allows (`MissingPolicyOk`), so only a
/// configured `tag` policy refuses anything.
pub async fn assert_tag_policy<C: ConnectionTrait + Sync>(
    hub: &Hub,
    conn: &C,
    caller: &Caller,
    data: &Json,
    force: bool,
) -> Result<()> {
    hub.policy()
        .assert_in(conn, caller, "tag", data, force)
        .await
}

fn nvr(b: &BuildInfo) -> String {
    format!("{}-{}-{}", b.name, b.version, b.release)
}

/// Upstream's `_direct_tag_build`: tags a COMPLETE build (no access
/// checks). An already tagged build is a TagError unless `force`, which
/// tags it again (it becomes the most recently tagged).
pub async fn direct_tag_build_in(
    tx: &mut Tx,
    tag: &TagInfo,
    build: &BuildInfo,
    user_id: i64,
    force: bool,
) -> Result<()> {
    if build.state != BuildState::Complete as i64 {
        let state = BuildState::from_i64(build.state).map_or("?", |s| s.name());
        return Err(Error::Tag(format!(
            "build {} not complete: state {state}",
            nvr(build)
        )));
    }
    let tagged = fetch_opt(
        &**tx,
        "SELECT build_id FROM tag_listing WHERE active = TRUE AND tag_id = ? AND build_id = ?",
        params![tag.id, build.id],
    )
    .await?
    .is_some();
    if tagged {
        if !force {
            return Err(Error::Tag(format!(
                "build {} already tagged ({})",
                nvr(build),
                tag.name
            )));
        }
        versioned::revoke(
            tx,
            "tag_listing",
            "tag_id = ? AND build_id = ?",
            params![tag.id, build.id],
            user_id,
        )
        .await?;
    }
    versioned::insert(
        tx,
        "tag_listing",
        &["tag_id", "build_id"],
        params![tag.id, build.id],
        user_id,
    )
    .await
}

/// Upstream's `_direct_untag_build`: with `strict`, a build not in the tag
/// is a TagError.
pub async fn direct_untag_build_in(
    tx: &mut Tx,
    tag: &TagInfo,
    build: &BuildInfo,
    user_id: i64,
    strict: bool,
) -> Result<()> {
    let n = versioned::revoke(
        tx,
        "tag_listing",
        "tag_id = ? AND build_id = ?",
        params![tag.id, build.id],
        user_id,
    )
    .await?;
    if n == 0 && strict {
        return Err(Error::Tag(format!(
            "build {} not in tag {}",
            nvr(build),
            tag.name
        )));
    }
    Ok(())
}

/// Upstream's `get_id(table, info, strict=True)`.
async fn strict_id<C: ConnectionTrait>(c: &C, table: &str, info: &Json) -> Result<i64> {
    lookup_name(c, table, info, true, false)
        .await?
        .map(|t| t.id)
        .ok_or_else(|| Error::Generic(format!("No such entry in table {table}: {}", py_str(info))))
}

async fn strict_tag<C: ConnectionTrait>(c: &C, info: &Json) -> Result<TagInfo> {
    get_tag_in(c, info, true, TagEvent::At(None), false)
        .await?
        .ok_or_else(|| Error::Generic(format!("No such tagInfo: {}", py_repr(info))))
}

async fn strict_build<C: ConnectionTrait>(c: &C, info: &Json) -> Result<BuildInfo> {
    get_build_in(c, info, true)
        .await?
        .ok_or_else(|| Error::Generic(format!("No such build: {}", py_repr(info))))
}

/// Upstream's `_tag_build` for the caller: access check, then the tagging.
pub async fn tag_build_in(
    tx: &mut Tx,
    caller: &Caller,
    tag: &Json,
    build: &Json,
    force: bool,
) -> Result<()> {
    let tag = strict_tag(&**tx, tag).await?;
    let build = strict_build(&**tx, build).await?;
    let user_id = caller.user_id()?;
    assert_tag_access(caller, &tag, force)?;
    direct_tag_build_in(tx, &tag, &build, user_id, force).await
}

/// Upstream's `_untag_build` for the caller.
pub async fn untag_build_in(
    tx: &mut Tx,
    caller: &Caller,
    tag: &Json,
    build: &Json,
    strict: bool,
    force: bool,
) -> Result<()> {
    let tag = strict_tag(&**tx, tag).await?;
    let build = strict_build(&**tx, build).await?;
    let user_id = caller.user_id()?;
    assert_tag_access(caller, &tag, force)?;
    direct_untag_build_in(tx, &tag, &build, user_id, strict).await
}

/// The package-list check of `tagBuild` and of its task: the build's
/// package must be listed (inheritance included) and not blocked in the
/// tag; an admin's `force` lists it instead. `what` is how the tag is named
/// in the message (upstream uses the tag's name, or the argument as given).
async fn ensure_listed_in(
    hub: &Hub,
    tx: &mut Tx,
    caller: &Caller,
    tag_id: i64,
    build: &BuildInfo,
    what: &str,
    force: bool,
) -> Result<()> {
    let (pkg_id, pkg_name) = (build.package_id, build.name.as_str());
    let mut q = PackageListQuery::inherited(tag_id, pkg_id);
    q.with_owners = false;
    let list = read_package_list_in(&**tx, &q).await?;
    let err = match list.get(pkg_id) {
        None => format!("Package {pkg_name} not in list for {what}"),
        Some(e) if e.blocked => format!("Package {pkg_name} blocked in {what}"),
        Some(_) => return Ok(()),
    };
    if force && caller.has_perm("admin") {
        let ch = ListChange {
            block: Some(false),
            force: true,
            ..ListChange::default()
        };
        pkglist_add_in(
            hub,
            tx,
            caller,
            &Json::from(tag_id),
            &Json::from(pkg_id),
            &ch,
            true,
        )
        .await?;
        tracing::info!(
            tag_id,
            package = pkg_name,
            "package list check overridden by force"
        );
        return Ok(());
    }
    Err(Error::Tag(err))
}

/// The work of upstream's `host.tagBuild` (what a `tagBuild` task asks the
/// hub to do), for the task owner `caller`: policy, package-list check
/// (admins' `force` lists the package), then with `fromtag` the untagging
/// from it (a move) and the tagging, in one transaction.
pub async fn host_tag_build_in(
    hub: &Hub,
    tx: &mut Tx,
    caller: &Caller,
    tag: &Json,
    build: &Json,
    force: bool,
    fromtag: &Json,
) -> Result<()> {
    let binfo = strict_build(&**tx, build).await?;
    let tinfo = strict_tag(&**tx, tag).await?;
    let fromtag_name = if fromtag.is_null() {
        None
    } else if let Json::String(s) = fromtag {
        Some(s.clone())
    } else {
        Some(strict_tag(&**tx, fromtag).await?.name)
    };
    let data = serde_json::json!({
        "tag": tag, "build": binfo.to_json(), "fromtag": fromtag_name,
        "user_id": caller.user_id()?,
        "operation": if fromtag_name.is_some() { "move" } else { "tag" },
    });
    assert_tag_policy(hub, &**tx, caller, &data, force).await?;
    ensure_listed_in(hub, tx, caller, tinfo.id, &binfo, &py_str(tag), force).await?;
    if let Some(from) = fromtag_name {
        untag_build_in(
            tx,
            caller,
            &Json::from(from),
            &Json::from(binfo.id),
            true,
            force,
        )
        .await?;
    }
    tag_build_in(
        tx,
        caller,
        &Json::from(tinfo.id),
        &Json::from(binfo.id),
        force,
    )
    .await
}

/// What a `tagBuild`/`moveBuild` request was checked to be.
#[derive(Debug, Clone)]
pub struct TagRequest {
    pub tag_id: i64,
    pub build_id: i64,
    pub fromtag_id: Option<i64>,
}

/// Upstream's `moveAllBuilds` checks: the builds of the package in `tag1`,
/// oldest tagged first.
#[derive(Debug, Clone)]
pub struct MoveAllPlan {
    pub tag1_id: i64,
    pub tag2_id: i64,
    pub builds: Vec<TaggedBuild>,
}

// ---------------------------------------------------------------------------
// Change events
// ---------------------------------------------------------------------------

/// The versioned tables whose rows belong to a tag (upstream's list for the
/// change-event calls).
const TAG_TABLES: &[&str] = &[
    "tag_listing",
    "tag_inheritance",
    "tag_config",
    "tag_packages",
    "tag_external_repos",
    "tag_extra",
    "group_package_listing",
    "group_req_listing",
    "group_config",
];

fn in_list(col: &str, ids: &[i64]) -> (String, Vec<Value>) {
    (
        format!("{col} IN ({})", vec!["?"; ids.len()].join(", ")),
        ids.iter().map(|&i| Value::from(i)).collect(),
    )
}

/// The external repos of any of `tags` as of `event`.
async fn external_repos_of<C: ConnectionTrait>(
    c: &C,
    tags: &[i64],
    event: Option<i64>,
) -> Result<Vec<i64>> {
    let (cl, mut p) = in_list("tag_external_repos.tag_id", tags);
    let (l1, p1) = versioned::live("tag_external_repos", event);
    let (l2, p2) = versioned::live("external_repo_config", event);
    p.extend(p1);
    p.extend(p2);
    let rows = fetch_all(
        c,
        &format!(
            "SELECT DISTINCT tag_external_repos.external_repo_id FROM tag_external_repos \
             JOIN external_repo_config ON external_repo_config.external_repo_id = \
             tag_external_repos.external_repo_id WHERE {cl} AND {l1} AND {l2} \
             ORDER BY tag_external_repos.external_repo_id"
        ),
        p,
    )
    .await?;
    rows.iter().map(|r| r.int("external_repo_id")).collect()
}

/// `MAX` (or `MIN`) of `col` over `table` for the given ids, with an extra
/// bound (`col < ?` or `col > ?`).
/// Upstream's `tag_last_change_event` for a live tag: the last event
/// (before `before`) that changed the tag or, with `inherit`, its
/// ancestors as of `before`.
pub async fn tag_last_change_event_in<C: ConnectionTrait>(
    c: &C,
    tag_id: i64,
    before: Option<i64>,
    inherit: bool,
) -> Result<Option<i64>> {
    let mut tags = vec![tag_id];
    if inherit {
        tags.extend(
            read_full_inheritance_in(c, tag_id, before, false)
                .await?
                .iter()
                .map(|l| l.parent_id),
        );
    }
    let bound = before.map(|b| ("<", b));
    let mut events = vec![
        agg(
            c,
            "MAX",
            "tag_updates",
            "update_event",
            "tag_id",
            &tags,
            bound,
        )
        .await?,
    ];
    for table in TAG_TABLES {
        for col in ["create_event", "revoke_event"] {
            events.push(agg(c, "MAX", table, col, "tag_id", &tags, bound).await?);
        }
    }
    let repos = external_repos_of(c, &tags, before).await?;
    if !repos.is_empty() {
        for table in ["external_repo_config", "external_repo_data"] {
            for col in ["create_event", "revoke_event"] {
                events.push(agg(c, "MAX", table, col, "external_repo_id", &repos, bound).await?);
            }
        }
    }
    Ok(events.into_iter().flatten().max())
}

/// Upstream's `tag_first_change_event`: the tag's creation, or the first
/// change after `after` (never before the creation).
pub async fn tag_first_change_event_in<C: ConnectionTrait>(
    c: &C,
    tag_id: i64,
    after: Option<i64>,
    inherit: bool,
) -> Result<Option<i64>> {
    let created = agg(
        c,
        "MIN",
        "tag_config",
        "create_event",
        "tag_id",
        &[tag_id],
        None,
    )
    .await?;
    let Some(after) = after else {
        return Ok(created);
    };
    let mut tags = vec![tag_id];
    if inherit {
        tags.extend(
            read_full_inheritance_in(c, tag_id, Some(after), false)
                .await?
                .iter()
                .map(|l| l.parent_id),
        );
    }
    // upstream skips the bound for tag_updates when `after` is 0
    let ub = (after != 0).then_some((">", after));
    let mut events = vec![agg(c, "MIN", "tag_updates", "update_event", "tag_id", &tags, ub).await?];
    for table in TAG_TABLES {
        for col in ["create_event", "revoke_event"] {
            events.push(agg(c, "MIN", table, col, "tag_id", &tags, Some((">", after))).await?);
        }
    }
    let repos = external_repos_of(c, &tags, Some(after)).await?;
    if !repos.is_empty() {
        for table in ["external_repo_config", "external_repo_data"] {
            for col in ["create_event", "revoke_event"] {
                events.push(
                    agg(
                        c,
                        "MIN",
                        table,
                        col,
                        "external_repo_id",
                        &repos,
                        Some((">", after)),
                    )
                    .await?,
                );
            }
        }
    }
    let first = events.into_iter().flatten().min();
    Ok(first.map(|f| match created {
        Some(cr) => f.max(cr),
        None => f,
    }))
}

async fn agg<C: ConnectionTrait>(
    c: &C,
    func: &str,
    table: &str,
    col: &str,
    key: &str,
    ids: &[i64],
    bound: Option<(&str, i64)>,
) -> Result<Option<i64>> {
    let (cl, mut p) = in_list(key, ids);
    let mut sql = format!("SELECT {func}({col}) AS v FROM {table} WHERE {cl}");
    if let Some((op, v)) = bound {
        sql.push_str(&format!(" AND {col} {op} ?"));
        p.push(v.into());
    }
    let r = fetch_opt(c, &sql, p).await?;
    Ok(match r {
        Some(r) => r.opt_int("v")?,
        None => None,
    })
}

/// Python's `int(value)` for `convert_value(value, int, none_allowed=True)`.
pub fn int_arg(v: &Json) -> Result<Option<i64>> {
    let bad = || {
        Error::Parameter(format!(
            "Invalid type for value '{}': <class '{}'>, expected type <class 'int'>",
            py_str(v),
            py_type_of(v)
        ))
    };
    match v {
        Json::Null => Ok(None),
        Json::Bool(b) => Ok(Some(*b as i64)),
        Json::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f.trunc() as i64))
            .map(Some)
            .ok_or_else(bad),
        Json::String(s) => s
            .trim()
            .replace('_', "")
            .parse()
            .map(Some)
            .map_err(|_| bad()),
        _ => Err(bad()),
    }
}

// ---------------------------------------------------------------------------
// The API
// ---------------------------------------------------------------------------

/// `listTagged` arguments besides the tag.
#[derive(Debug, Clone, Default)]
pub struct ListTagged {
    pub query: TaggedQuery,
    pub prefix: Option<String>,
    pub strict: bool,
}

/// `snapshotTag`/`snapshotTagModify` options.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub config: bool,
    pub pkgs: bool,
    pub builds: bool,
    pub groups: bool,
    pub latest_only: bool,
    pub inherit_builds: bool,
    pub event: Option<i64>,
    pub force: bool,
    pub remove: bool,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            config: true,
            pkgs: true,
            builds: true,
            groups: true,
            latest_only: true,
            inherit_builds: true,
            event: None,
            force: false,
            remove: false,
        }
    }
}

impl Tagging<'_> {
    /// `checkTagAccess(tag_id, user_id=None)`: `[access, override, reason]`
    /// for the user (default: the caller), from their permissions (groups
    /// included) and the tag's lock and permission.
    pub async fn check_access(&self, caller: &Caller, tag: &Json, user_id: &Json) -> Result<Json> {
        let db = self.0.db().conn();
        let uid = match user_id {
            Json::Null if caller.logged_in() => caller.user_id()?,
            Json::Null => return Err(Error::generic("a user_id is required")),
            other => crate::util::py_int(other).ok_or_else(|| {
                Error::Parameter(format!(
                    "Invalid type for value '{}': {}",
                    py_str(other),
                    py_type_of(other)
                ))
            })?,
        };
        let perms: Vec<String> = super::users::perms_of(db, uid, true)
            .await?
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        let tag = get_tag_in(db, tag, true, TagEvent::Auto, false)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such tagInfo: {}", py_repr(tag))))?;
        let (access, over, reason) = tag_access(&tag, |p| perms.iter().any(|q| q == p));
        Ok(Json::from(vec![
            Json::from(access),
            Json::from(over),
            Json::from(reason),
        ]))
    }

    /// `tagBuildBypass(tag, build, force=False, notify=False)`: `tag`
    /// permission; tags at once (no task, no package-list check); with
    /// `notify`, a `tagNotification` task tells the recipients.
    pub async fn tag_build_bypass(
        &self,
        caller: &Caller,
        tag: &Json,
        build: &Json,
        force: bool,
        notify: bool,
    ) -> Result<()> {
        caller.assert_perm("tag")?;
        let mut tx = self.0.db().begin().await?;
        let tag_id = strict_tag(&*tx, tag).await?.id;
        let build_id = strict_build(&*tx, build).await?.id;
        let data = serde_json::json!({"tag": tag_id, "build": build_id, "fromtag": null, "operation": "tag"});
        assert_tag_policy(self.0, &*tx, caller, &data, force).await?;
        tag_build_in(&mut tx, caller, tag, build, force).await?;
        let change = TagChange::success(tag, &Json::Null, build, caller.user_id()?);
        self.commit_notifying(tx, caller, notify.then_some(&change))
            .await
    }

    /// `untagBuildBypass(tag, build, strict=True, force=False, notify=False)`.
    pub async fn untag_build_bypass(
        &self,
        caller: &Caller,
        tag: &Json,
        build: &Json,
        strict: bool,
        force: bool,
        notify: bool,
    ) -> Result<()> {
        caller.assert_perm("tag")?;
        self.untag(caller, tag, build, strict, force, notify).await
    }

    /// `untagBuild(tag, build, strict=True, force=False)`: any logged-in
    /// user the tag's access rules and the `tag` policy allow; a
    /// `tagNotification` task tells the recipients. (Upstream also makes
    /// one for a refused untagging, but the refusal rolls it back.)
    pub async fn untag_build(
        &self,
        caller: &Caller,
        tag: &Json,
        build: &Json,
        strict: bool,
        force: bool,
    ) -> Result<()> {
        caller.user_id()?;
        self.untag(caller, tag, build, strict, force, true).await
    }

    async fn untag(
        &self,
        caller: &Caller,
        tag: &Json,
        build: &Json,
        strict: bool,
        force: bool,
        notify: bool,
    ) -> Result<()> {
        let mut tx = self.0.db().begin().await?;
        let tag_id = strict_tag(&*tx, tag).await?.id;
        let build_id = strict_build(&*tx, build).await?.id;
        let data = serde_json::json!({"tag": null, "build": build_id, "fromtag": tag_id, "operation": "untag"});
        assert_tag_policy(self.0, &*tx, caller, &data, force).await?;
        untag_build_in(&mut tx, caller, tag, build, strict, force).await?;
        let change = TagChange::success(&Json::Null, tag, build, caller.user_id()?);
        self.commit_notifying(tx, caller, notify.then_some(&change))
            .await
    }

    /// Commits a tagging change, with upstream's `tag_notification` of it
    /// when `change` is given; a notification task made wakes the
    /// scheduler.
    async fn commit_notifying(
        &self,
        mut tx: Tx,
        caller: &Caller,
        change: Option<&TagChange>,
    ) -> Result<()> {
        let made = match change {
            Some(c) => tag_notification_in(&mut tx, self.0, caller, c).await?,
            None => None,
        };
        tx.commit().await?;
        if made.is_some() {
            self.0.task_events().notify();
        }
        Ok(())
    }

    /// `massTag(tag, builds)`: `tag` permission; tags each build (N-V-R,
    /// id or map) with no access or policy check, each in an event of its
    /// own so the last one listed is the latest; an already tagged build is
    /// tagged again.
    pub async fn mass_tag(&self, caller: &Caller, tag: &Json, builds: &Json) -> Result<()> {
        caller.assert_perm("tag")?;
        let mut tx = self.0.db().begin().await?;
        let tag = strict_tag(&*tx, tag).await?;
        let user_id = caller.user_id()?;
        let list = py_list(builds)?;
        for b in &list {
            let binfo = strict_build(&*tx, b).await?;
            direct_tag_build_in(&mut tx, &tag, &binfo, user_id, true).await?;
            tx.next_event();
        }
        tx.commit().await
    }

    /// `listTagged(tag, event=None, inherit=False, prefix=None, latest=False,
    /// package=None, owner=None, type=None, strict=True, extra=False,
    /// draft=None)`.
    pub async fn list_tagged(&self, tag: &Json, opts: &ListTagged) -> Result<Vec<TaggedBuild>> {
        let c = self.0.db().conn();
        let Some(tinfo) =
            get_tag_in(c, tag, opts.strict, TagEvent::At(opts.query.event), false).await?
        else {
            return Ok(vec![]);
        };
        let mut builds = read_tagged_builds_in(c, tinfo.id, &opts.query).await?;
        if let Some(prefix) = opts.prefix.as_deref().filter(|p| !p.is_empty()) {
            let prefix = prefix.to_lowercase();
            builds.retain(|b| b.package_name.to_lowercase().starts_with(&prefix));
        }
        Ok(builds)
    }

    /// `listTaggedRPMS(tag, ...)`: `[rpms, builds]`.
    pub async fn list_tagged_rpms(
        &self,
        tag: &Json,
        q: &TaggedQuery,
        f: &RpmFilter,
        strict: bool,
    ) -> Result<Json> {
        let c = self.0.db().conn();
        let Some(tinfo) = get_tag_in(c, tag, strict, TagEvent::At(q.event), false).await? else {
            return Ok(Json::Array(vec![]));
        };
        let (rpms, builds) = read_tagged_rpms_in(c, tinfo.id, q, f).await?;
        Ok(serde_json::json!([rpms, builds]))
    }

    /// `listTaggedArchives(tag, ...)`: `[archives, builds]`.
    pub async fn list_tagged_archives(
        &self,
        tag: &Json,
        q: &TaggedQuery,
        extra: bool,
        strict: bool,
    ) -> Result<Json> {
        let c = self.0.db().conn();
        let Some(tinfo) = get_tag_in(c, tag, strict, TagEvent::At(q.event), false).await? else {
            return Ok(Json::Array(vec![]));
        };
        let (archives, builds) = read_tagged_archives_in(c, tinfo.id, q, extra).await?;
        Ok(serde_json::json!([archives, builds]))
    }

    /// The tag id of `getLatestBuilds`/`getLatestRPMS`: an integer is taken
    /// as is, anything else is looked up (`get_tag_id(strict=True)`).
    async fn tag_id_arg(&self, tag: &Json) -> Result<i64> {
        if let Json::Number(n) = tag {
            if let Some(i) = n.as_i64() {
                return Ok(i);
            }
        }
        strict_id(self.0.db().conn(), "tag", tag).await
    }

    /// `getLatestBuilds(tag, event=None, package=None, type=None, draft=None)`.
    pub async fn latest_builds(&self, tag: &Json, q: TaggedQuery) -> Result<Vec<TaggedBuild>> {
        let tag_id = self.tag_id_arg(tag).await?;
        let q = TaggedQuery {
            inherit: true,
            latest: Some(1),
            ..q
        };
        read_tagged_builds_in(self.0.db().conn(), tag_id, &q).await
    }

    /// `getLatestRPMS(tag, package=None, arch=None, event=None,
    /// rpmsigs=False, type=None, draft=None)`: `[rpms, builds]`.
    pub async fn latest_rpms(&self, tag: &Json, q: TaggedQuery, f: &RpmFilter) -> Result<Json> {
        let tag_id = self.tag_id_arg(tag).await?;
        let q = TaggedQuery {
            inherit: true,
            latest: Some(1),
            ..q
        };
        let (rpms, builds) = read_tagged_rpms_in(self.0.db().conn(), tag_id, &q, f).await?;
        Ok(serde_json::json!([rpms, builds]))
    }

    /// `untaggedBuilds(name=None, queryOpts=None, draft=None)`: COMPLETE
    /// builds in no tag, as `{id, name, release, version}`.
    pub async fn untagged_builds(
        &self,
        name: Option<&str>,
        query_opts: &Json,
        draft: Option<bool>,
    ) -> Result<Json> {
        let opts = QueryOpts::parse(query_opts)?;
        let mut wh = Where::new();
        wh.and(
            "NOT EXISTS (SELECT 1 FROM tag_listing WHERE tag_listing.build_id = build.id \
             AND tag_listing.active = TRUE)",
            vec![],
        );
        wh.and("build.state = ?", params![BuildState::Complete as i64]);
        if let Some(n) = name {
            wh.and("package.name = ?", params![n.to_string()]);
        }
        if let Some(d) = draft {
            wh.and(draft_clause(d, "build"), vec![]);
        }
        let rows = fetch_all(
            self.0.db().conn(),
            &format!(
                "SELECT build.id, package.name, build.version, build.release FROM build \
                 JOIN package ON package.id = build.pkg_id{} ORDER BY build.id",
                wh.sql()
            ),
            wh.params,
        )
        .await?;
        let rows = rows
            .iter()
            .map(|r| {
                let mut m = Map::new();
                m.insert("id".into(), Json::from(r.int("id")?));
                m.insert("name".into(), Json::from(r.string("name")?));
                m.insert("release".into(), Json::from(r.string("release")?));
                m.insert("version".into(), Json::from(r.string("version")?));
                Ok(Json::Object(m))
            })
            .collect::<Result<Vec<_>>>()?;
        let cols = Columns::sorted(&["id", "name", "release", "version"])
            .expr("build.id", "id")
            .expr("package.name", "name")
            .expr("build.release", "release")
            .expr("build.version", "version");
        opts.apply(rows, &cols)
    }

    /// `tagChangedSinceEvent(event, taglist)`: whether anything of the
    /// listed tags (no inheritance) changed after `event`.
    pub async fn changed_since_event(&self, event: i64, tags: &[i64]) -> Result<bool> {
        if tags.is_empty() {
            return Ok(false);
        }
        let c = self.0.db().conn();
        let (cl, mut p) = in_list("tag_id", tags);
        let mut p0 = vec![Value::from(event)];
        p0.append(&mut p.clone());
        if fetch_opt(
            c,
            &format!("SELECT id FROM tag_updates WHERE update_event > ? AND {cl} LIMIT 1"),
            p0,
        )
        .await?
        .is_some()
        {
            return Ok(true);
        }
        let mut params_: Vec<Value> = vec![event.into(), event.into()];
        params_.append(&mut p);
        for table in TAG_TABLES {
            let hit = fetch_opt(
                c,
                &format!(
                    "SELECT tag_id FROM {table} WHERE (create_event > ? OR revoke_event > ?) \
                     AND {cl} LIMIT 1"
                ),
                params_.clone(),
            )
            .await?;
            if hit.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// `tagLastChangeEvent(tag, before=None, inherit=True)`: the last event
    /// (before `before`) that changed the tag or, with `inherit`, its
    /// inheritance as of `before`; a deleted tag's deletion when `before`
    /// is not given.
    pub async fn last_change_event(
        &self,
        tag: &Json,
        before: &Json,
        inherit: bool,
    ) -> Result<Option<i64>> {
        let c = self.0.db().conn();
        let tinfo = get_tag_in(c, tag, true, TagEvent::Auto, false)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such tagInfo: {}", py_repr(tag))))?;
        let before = int_arg(before)?;
        let deleted = tinfo.revoke_event;
        if before.is_none() {
            if let Some(d) = deleted {
                return Ok(Some(d));
            }
        }
        let last = tag_last_change_event_in(c, tinfo.id, before, inherit).await?;
        Ok(match (last, deleted) {
            (None, _) => None,
            (Some(l), Some(d)) => Some(l.min(d)),
            (Some(l), None) => Some(l),
        })
    }

    /// `tagFirstChangeEvent(tag, after=None, inherit=True)`: the tag's
    /// creation, or the first change after `after` (never before the
    /// creation).
    pub async fn first_change_event(
        &self,
        tag: &Json,
        after: &Json,
        inherit: bool,
    ) -> Result<Option<i64>> {
        let c = self.0.db().conn();
        let tag_id = strict_id(c, "tag", tag).await?;
        let after = int_arg(after)?;
        tag_first_change_event_in(c, tag_id, after, inherit).await
    }

    /// `snapshotTag(src, dst, config=True, pkgs=True, builds=True,
    /// groups=True, latest_only=True, inherit_builds=True, event=None,
    /// force=False)`: a new tag `dst` with `src`'s configuration, package
    /// list (inheritance flattened), builds (oldest first, each in its
    /// own event) and comps groups (names, packages, requirements).
    ///
    /// All of it happens in one transaction: a failure part way leaves no
    /// new tag behind.
    pub async fn snapshot_tag(
        &self,
        caller: &Caller,
        src: &Json,
        dst: &Json,
        o: &Snapshot,
    ) -> Result<()> {
        caller.assert_perm("tag")?;
        if o.builds && !o.pkgs {
            return Err(Error::param(
                "builds can't be used without pkgs in snapshotTag",
            ));
        }
        let mut tx = self.0.db().begin().await?;
        if get_tag_in(&*tx, dst, false, TagEvent::At(None), false)
            .await?
            .is_some()
        {
            return Err(Error::generic("Target tag already exists"));
        }
        let src = get_tag_in(&*tx, src, true, TagEvent::At(o.event), false)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such tagInfo: {}", py_repr(src))))?;
        if src.locked && !o.force {
            return Err(Error::generic("Source tag is locked, use force to copy"));
        }
        let new = if o.config {
            NewTag {
                name: dst.clone(),
                arches: src.arches.clone().map_or(Json::Null, Json::from),
                perm: src.perm_id.map_or(Json::Null, Json::from),
                locked: src.locked,
                maven_support: src.maven_support,
                maven_include_all: src.maven_include_all,
                extra: Json::Object(src.extra.clone()),
                ..NewTag::default()
            }
        } else {
            NewTag {
                name: dst.clone(),
                ..NewTag::default()
            }
        };
        let dst_id = create_tag_in(&mut tx, &self.0.config().names, caller, &new).await?;
        // the contents follow in events of their own
        tx.next_event();
        let dst = strict_tag(&*tx, &Json::from(dst_id)).await?;
        if o.pkgs {
            self.copy_package_list(&mut tx, caller, &src, &dst, o.event, None)
                .await?;
        }
        if o.builds {
            let q = TaggedQuery {
                event: o.event,
                inherit: o.inherit_builds,
                latest: o.latest_only.then_some(1),
                ..TaggedQuery::default()
            };
            let builds = read_tagged_builds_in(&*tx, src.id, &q).await?;
            let user_id = caller.user_id()?;
            for b in builds.iter().rev() {
                let binfo = strict_build(&*tx, &Json::from(b.id)).await?;
                direct_tag_build_in(&mut tx, &dst, &binfo, user_id, true).await?;
                tx.next_event();
            }
        }
        if o.groups {
            // as upstream: the groups, their packages and requirements
            // (blocked entries left out), not their settings
            let user_id = caller.user_id()?;
            let none = serde_json::Map::new();
            let dst_ref = Json::from(dst.id);
            for (group, pkgs, reqs) in readable_groups_in(&*tx, src.id, o.event).await? {
                let g = Json::from(group);
                list_add_in(&mut tx, &dst_ref, &g, false, true, &none, user_id).await?;
                tx.next_event();
                for p in pkgs {
                    package_add_in(
                        &mut tx,
                        &dst_ref,
                        &g,
                        &Json::from(p),
                        false,
                        true,
                        &none,
                        user_id,
                    )
                    .await?;
                    tx.next_event();
                }
                for r in reqs {
                    req_add_in(
                        &mut tx,
                        &dst_ref,
                        &g,
                        &Json::from(r),
                        false,
                        true,
                        &none,
                        user_id,
                    )
                    .await?;
                    tx.next_event();
                }
            }
        }
        tx.commit().await
    }

    /// Adds `src`'s package list (as of `event`, inheritance flattened) to
    /// `dst`, skipping the packages in `skip`, each entry in its own event.
    async fn copy_package_list(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        src: &TagInfo,
        dst: &TagInfo,
        event: Option<i64>,
        skip: Option<&HashSet<String>>,
    ) -> Result<()> {
        let mut q = PackageListQuery::inherited(src.id, 0);
        q.pkg_id = None;
        q.event = event;
        let entries = read_package_list_in(&**tx, &q).await?.into_entries();
        for e in entries {
            if skip.is_some_and(|s| s.contains(&e.package_name)) {
                continue;
            }
            let ch = ListChange {
                owner: e.owner_name.clone().map_or(Json::Null, Json::from),
                block: Some(e.blocked),
                extra_arches: e.extra_arches.clone().map_or(Json::Null, Json::from),
                force: true,
                update: false,
            };
            pkglist_add_in(
                self.0,
                tx,
                caller,
                &Json::from(dst.id),
                &Json::from(e.package_name.as_str()),
                &ch,
                false,
            )
            .await?;
            tx.next_event();
        }
        Ok(())
    }

    /// `snapshotTagModify(src, dst, ..., remove=False)`: makes the existing
    /// tag `dst` hold what `src` holds: configuration, package list (`dst`'s
    /// packages missing from `src` are blocked) and builds, in `src`'s order
    /// (with `remove`, `dst`'s own extra builds are untagged; otherwise
    /// they are kept, ordered before `src`'s) and comps groups (see
    /// [`snapshot_groups_in`]). Configuration and contents change in one
    /// transaction.
    pub async fn snapshot_tag_modify(
        &self,
        caller: &Caller,
        src: &Json,
        dst: &Json,
        o: &Snapshot,
    ) -> Result<()> {
        caller.assert_perm("tag")?;
        if o.builds && !o.pkgs {
            return Err(Error::param(
                "builds can't be used without pkgs in snapshotTag",
            ));
        }
        let mut tx = self.0.db().begin().await?;
        let src = get_tag_in(&*tx, src, true, TagEvent::At(o.event), false)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such tagInfo: {}", py_repr(src))))?;
        let mut dst = strict_tag(&*tx, dst).await?;
        if (src.locked || dst.locked) && !o.force {
            return Err(Error::generic(
                "Source or destination tag is locked, use force to copy",
            ));
        }
        let user_id = caller.user_id()?;
        if o.config {
            let remove_extra: Vec<Json> = dst
                .extra
                .keys()
                .filter(|k| !src.extra.contains_key(*k))
                .map(|k| Json::from(k.as_str()))
                .collect();
            let mut kw = Map::new();
            kw.insert(
                "arches".into(),
                src.arches.clone().map_or(Json::Null, Json::from),
            );
            kw.insert("perm_id".into(), src.perm_id.map_or(Json::Null, Json::from));
            kw.insert("locked".into(), Json::Bool(src.locked));
            kw.insert("maven_support".into(), Json::Bool(src.maven_support));
            kw.insert(
                "maven_include_all".into(),
                Json::Bool(src.maven_include_all),
            );
            kw.insert("extra".into(), Json::Object(src.extra.clone()));
            kw.insert("remove_extra".into(), Json::Array(remove_extra));
            edit_tag_in(
                &mut tx,
                &self.0.config().names,
                caller,
                &Json::from(dst.id),
                &kw,
            )
            .await?;
            tx.next_event();
            dst = strict_tag(&*tx, &Json::from(dst.id)).await?;
        }
        if o.pkgs {
            let list = |tag: i64, event: Option<i64>| {
                let mut q = PackageListQuery::inherited(tag, 0);
                q.pkg_id = None;
                q.event = event;
                q
            };
            let srcpkgs = read_package_list_in(&*tx, &list(src.id, o.event))
                .await?
                .into_entries();
            let dstpkgs = read_package_list_in(&*tx, &list(dst.id, None))
                .await?
                .into_entries();
            let src_names: HashSet<String> =
                srcpkgs.iter().map(|p| p.package_name.clone()).collect();
            let dst_names: HashSet<String> =
                dstpkgs.iter().map(|p| p.package_name.clone()).collect();
            for p in dstpkgs
                .iter()
                .filter(|p| !src_names.contains(&p.package_name))
            {
                let ch = ListChange {
                    owner: p.owner_name.clone().map_or(Json::Null, Json::from),
                    block: Some(true),
                    extra_arches: p.extra_arches.clone().map_or(Json::Null, Json::from),
                    force: true,
                    update: true,
                };
                pkglist_add_in(
                    self.0,
                    &mut tx,
                    caller,
                    &Json::from(dst.id),
                    &Json::from(p.package_name.as_str()),
                    &ch,
                    false,
                )
                .await?;
                tx.next_event();
            }
            self.copy_package_list(&mut tx, caller, &src, &dst, o.event, Some(&dst_names))
                .await?;
        }
        if o.builds {
            self.sync_builds(&mut tx, caller, &src, &dst, o, user_id)
                .await?;
        }
        if o.groups {
            snapshot_groups_in(&mut tx, src.id, dst.id, o.event, o.force, o.remove, user_id)
                .await?;
        }
        tx.commit().await
    }

    /// The builds part of `snapshotTagModify`.
    async fn sync_builds(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        src: &TagInfo,
        dst: &TagInfo,
        o: &Snapshot,
        user_id: i64,
    ) -> Result<()> {
        type ByPkg = Vec<(String, Vec<(String, TaggedBuild)>)>;
        fn group(builds: Vec<TaggedBuild>) -> ByPkg {
            // oldest first, packages in order of first appearance, one entry per N-V-R
            let mut out: ByPkg = vec![];
            let mut idx: HashMap<String, usize> = HashMap::new();
            for b in builds.into_iter().rev() {
                let i = *idx.entry(b.package_name.clone()).or_insert_with(|| {
                    out.push((b.package_name.clone(), vec![]));
                    out.len() - 1
                });
                let list = &mut out[i].1;
                if let Some(e) = list.iter_mut().find(|(n, _)| *n == b.nvr) {
                    e.1 = b;
                } else {
                    list.push((b.nvr.clone(), b));
                }
            }
            out
        }
        let srcq = TaggedQuery {
            event: o.event,
            inherit: o.inherit_builds,
            latest: o.latest_only.then_some(1),
            ..TaggedQuery::default()
        };
        let src_by = group(read_tagged_builds_in(&**tx, src.id, &srcq).await?);
        let dst_by = group(read_tagged_builds_in(&**tx, dst.id, &TaggedQuery::default()).await?);
        let mut dst_map: HashMap<String, Vec<(String, TaggedBuild)>> =
            dst_by.iter().cloned().collect();
        let src_names: HashSet<&String> = src_by.iter().map(|(p, _)| p).collect();
        let dst_json = Json::from(dst.id);
        if o.remove {
            for (pkg, blds) in &dst_by {
                if src_names.contains(pkg) {
                    continue;
                }
                for (_, b) in blds {
                    if b.tag_name == dst.name {
                        let binfo = strict_build(&**tx, &Json::from(b.id)).await?;
                        direct_untag_build_in(tx, dst, &binfo, user_id, true).await?;
                        tx.next_event();
                    }
                }
            }
        }
        for (pkg, srcblds) in &src_by {
            let mut dstblds = dst_map.remove(pkg).unwrap_or_default();
            let src_nvrs: HashSet<&String> = srcblds.iter().map(|(n, _)| n).collect();
            let removed: HashSet<String> = dstblds
                .iter()
                .filter(|(n, _)| !src_nvrs.contains(n))
                .map(|(n, _)| n.clone())
                .collect();
            let bld_order: Vec<(String, TaggedBuild)> = if o.remove {
                for (n, b) in &dstblds {
                    if removed.contains(n) && b.tag_name == dst.name {
                        untag_build_in(tx, caller, &dst_json, &Json::from(b.id), true, o.force)
                            .await?;
                        tx.next_event();
                    }
                }
                dstblds.retain(|(n, _)| !removed.contains(n));
                srcblds.clone()
            } else {
                let mut v: Vec<(String, TaggedBuild)> = dstblds
                    .iter()
                    .filter(|(n, _)| removed.contains(n))
                    .cloned()
                    .collect();
                v.extend(srcblds.iter().cloned());
                v
            };
            for (nvr, srcbld) in &bld_order {
                let mut found = false;
                let mut out_of_order = vec![];
                for (dn, db) in &dstblds {
                    if dn == nvr {
                        found = true;
                        break;
                    }
                    out_of_order.push(dn.clone());
                    if db.tag_name == dst.name {
                        untag_build_in(tx, caller, &dst_json, &Json::from(db.id), true, o.force)
                            .await?;
                        tx.next_event();
                    }
                }
                dstblds.retain(|(n, _)| !out_of_order.contains(n));
                if found {
                    dstblds.retain(|(n, _)| n != nvr);
                } else {
                    let binfo = strict_build(&**tx, &Json::from(srcbld.id)).await?;
                    direct_tag_build_in(tx, dst, &binfo, user_id, o.force).await?;
                    tx.next_event();
                }
            }
        }
        Ok(())
    }

    /// The checks upstream's `tagBuild` (and so `moveBuild`, with
    /// `fromtag`) makes before creating its task: build COMPLETE, tag access
    /// (both tags for a move), package list (an admin's `force` lists the
    /// package), `tag` policy. The caller then creates the `tagBuild` task
    /// with `[tag_id, build_id, force, fromtag_id]`.
    pub async fn tag_request_checks_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        tag: &Json,
        build: &Json,
        force: bool,
        fromtag: &Json,
    ) -> Result<TagRequest> {
        caller.user_id()?;
        let binfo = strict_build(&**tx, build).await?;
        let tinfo = strict_tag(&**tx, tag).await?;
        let fromtag_id = if truthy(fromtag) {
            Some(strict_id(&**tx, "tag", fromtag).await?)
        } else {
            None
        };
        if binfo.state != BuildState::Complete as i64 {
            let state = BuildState::from_i64(binfo.state).map_or("?", |s| s.name());
            return Err(Error::Tag(format!(
                "build {} not complete: state {state}",
                binfo.nvr
            )));
        }
        assert_tag_access(caller, &tinfo, force)?;
        if let Some(f) = fromtag_id {
            let finfo = strict_tag(&**tx, &Json::from(f)).await?;
            assert_tag_access(caller, &finfo, force)?;
        }
        ensure_listed_in(self.0, tx, caller, tinfo.id, &binfo, &tinfo.name, force).await?;
        let data = serde_json::json!({
            "tag": tinfo.id, "build": binfo.id, "fromtag": fromtag_id,
            "operation": if fromtag_id.is_some() { "move" } else { "tag" },
        });
        assert_tag_policy(self.0, &**tx, caller, &data, force).await?;
        Ok(TagRequest {
            tag_id: tinfo.id,
            build_id: binfo.id,
            fromtag_id,
        })
    }

    /// The checks upstream's `moveAllBuilds` makes before creating its
    /// chain of `tagBuild` tasks (one per returned build, oldest first).
    pub async fn move_all_builds_checks_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        tag1: &Json,
        tag2: &Json,
        package: &Json,
        force: bool,
    ) -> Result<MoveAllPlan> {
        caller.user_id()?;
        let pkg_id = strict_id(&**tx, "package", package).await?;
        let tag1_id = strict_id(&**tx, "tag", tag1).await?;
        let tag2_id = strict_id(&**tx, "tag", tag2).await?;
        let mut q = PackageListQuery::inherited(tag2_id, pkg_id);
        q.with_owners = false;
        let list = read_package_list_in(&**tx, &q).await?;
        let err = match list.get(pkg_id) {
            None => Some(format!(
                "Package {} not in list for tag {}",
                py_str(package),
                py_str(tag2)
            )),
            Some(e) if e.blocked => Some(format!(
                "Package {} blocked in tag {}",
                py_str(package),
                py_str(tag2)
            )),
            Some(_) => None,
        };
        if let Some(err) = err {
            if force && caller.has_perm("admin") {
                let ch = ListChange {
                    block: Some(false),
                    force: true,
                    ..ListChange::default()
                };
                pkglist_add_in(
                    self.0,
                    tx,
                    caller,
                    &Json::from(tag2_id),
                    &Json::from(pkg_id),
                    &ch,
                    true,
                )
                .await?;
            } else {
                return Err(Error::Tag(err));
            }
        }
        assert_tag_access(
            caller,
            &strict_tag(&**tx, &Json::from(tag1_id)).await?,
            force,
        )?;
        assert_tag_access(
            caller,
            &strict_tag(&**tx, &Json::from(tag2_id)).await?,
            force,
        )?;
        let q = TaggedQuery {
            package: package.clone(),
            ..TaggedQuery::default()
        };
        let mut builds = read_tagged_builds_in(&**tx, tag1_id, &q).await?;
        builds.reverse();
        for b in &builds {
            let data = serde_json::json!({"tag": tag2, "fromtag": tag1, "operation": "move", "build": b.id});
            assert_tag_policy(self.0, &**tx, caller, &data, false).await?;
        }
        Ok(MoveAllPlan {
            tag1_id,
            tag2_id,
            builds,
        })
    }
}

/// A Python iterable argument given over XML-RPC (a list).
fn py_list(v: &Json) -> Result<Vec<Json>> {
    match v {
        Json::Array(a) => Ok(a.clone()),
        Json::String(s) => Ok(s.chars().map(|c| Json::from(c.to_string())).collect()),
        Json::Object(m) => Ok(m.keys().map(|k| Json::from(k.as_str())).collect()),
        other => Err(Error::Fault {
            code: 1,
            message: format!(
                "<class 'TypeError'>: '{}' object is not iterable",
                py_type_of(other)
            ),
        }),
    }
}
