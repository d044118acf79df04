//! Build targets: a name binding a build tag (where builds get their
//! buildroot) to a destination tag (where finished builds are tagged).
//!
//! The name lives in `build_target`, which is not versioned; the binding
//! lives in the versioned `build_target_config`. A target "exists" while it
//! has a live config row: deleting it revokes that row and keeps the name,
//! so a later `createBuildTarget` of the same name reuses its id. Reads
//! answer as of an event (`None`: now).

use super::query_opts::{Columns, QueryOpts};
use super::tags::{lookup_name, name_or_id_clause};
use super::{Caller, Hub};
use crate::api::truthy;
use crate::db::{exec, fetch_all, fetch_opt, versioned, RowExt, Where};
use crate::error::{Error, Result};
use crate::params;
use crate::util::py_str;
use sea_orm::ConnectionTrait;
use serde::Serialize;
use serde_json::Value as Json;

pub struct Targets<'a>(pub(super) &'a Hub);

/// A build target as upstream's `getBuildTarget(s)` returns it (keys in
/// upstream's order, which is alphabetical).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TargetInfo {
    pub build_tag: i64,
    pub build_tag_name: String,
    pub dest_tag: i64,
    pub dest_tag_name: String,
    pub id: i64,
    pub name: String,
}

/// The filters of `getBuildTargets`.
#[derive(Debug, Clone, Default)]
struct TargetFilter {
    /// A target id, name or `{id|name}` map; a false value means any.
    info: Json,
    event: Option<i64>,
    /// A tag id, name or map; `None` means any.
    build_tag: Json,
    dest_tag: Json,
}

/// `getBuildTargets`' result keys, with the SQL spellings upstream also
/// accepts as `order` terms.
fn columns() -> Columns {
    Columns::sorted(&[
        "build_tag",
        "build_tag_name",
        "dest_tag",
        "dest_tag_name",
        "id",
        "name",
    ])
    .expr("build_target.id", "id")
    .expr("build_target.name", "name")
    .expr("tag1.name", "build_tag_name")
    .expr("tag2.name", "dest_tag_name")
}

impl Targets<'_> {
    /// `createBuildTarget(name, build_tag, dest_tag)`: needs `target`.
    pub async fn create(
        &self,
        caller: &Caller,
        name: &Json,
        build_tag: &Json,
        dest_tag: &Json,
    ) -> Result<()> {
        caller.assert_perm("target")?;
        let user_id = caller.user_id()?;
        let name = self.0.config().names.internal(name)?.to_string();
        let name_json = Json::from(name.as_str());
        if !self.find(&name_json, None).await?.is_empty() {
            return Err(Error::Generic(format!(
                "A build target with the name '{name}' already exists"
            )));
        }
        let (build_id, dest_id) = self.resolve_tags(build_tag, dest_tag).await?;
        let mut tx = self.0.db().begin().await?;
        // the name survives a deletion, so an old target's id is reused
        let target_id = lookup_name(&*tx, "build_target", &name_json, false, true)
            .await?
            .map(|t| t.id)
            .ok_or_else(|| Error::generic("build target creation failed"))?;
        versioned::insert(
            &mut tx,
            "build_target_config",
            &["build_target_id", "build_tag", "dest_tag"],
            params![target_id, build_id, dest_id],
            user_id,
        )
        .await?;
        tx.commit().await
    }

    /// `editBuildTarget(buildTargetInfo, name, build_tag, dest_tag)`: needs
    /// `target`. Renames the target when `name` differs, and rebinds its
    /// tags (in one event).
    pub async fn edit(
        &self,
        caller: &Caller,
        info: &Json,
        name: &Json,
        build_tag: &Json,
        dest_tag: &Json,
    ) -> Result<()> {
        caller.assert_perm("target")?;
        let user_id = caller.user_id()?;
        let name = self.0.config().names.internal(name)?.to_string();
        let target = lookup_name(self.0.db().conn(), "build_target", info, false, false)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such build target: {}", py_str(info))))?;
        let (build_id, dest_id) = self.resolve_tags(build_tag, dest_tag).await?;
        let mut tx = self.0.db().begin().await?;
        if target.name != name {
            // any target ever created holds its name, deleted or not
            if let Some(r) = fetch_opt(
                &*tx,
                "SELECT id FROM build_target WHERE name = ?",
                params![name.clone()],
            )
            .await?
            {
                return Err(Error::Generic(format!(
                    "name \"{name}\" is already taken by build target {}",
                    r.int("id")?
                )));
            }
            exec(
                &*tx,
                "UPDATE build_target SET name = ? WHERE id = ?",
                params![name.clone(), target.id],
            )
            .await?;
        }
        versioned::revoke(
            &mut tx,
            "build_target_config",
            "build_target_id = ?",
            params![target.id],
            user_id,
        )
        .await?;
        versioned::insert(
            &mut tx,
            "build_target_config",
            &["build_target_id", "build_tag", "dest_tag"],
            params![target.id, build_id, dest_id],
            user_id,
        )
        .await?;
        tx.commit().await
    }

    /// `deleteBuildTarget(buildTargetInfo)`: needs `target`. Revokes the
    /// target's configuration; its name stays known.
    pub async fn delete(&self, caller: &Caller, info: &Json) -> Result<()> {
        caller.assert_perm("target")?;
        let user_id = caller.user_id()?;
        let target = lookup_name(self.0.db().conn(), "build_target", info, false, false)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such build target: {}", py_str(info))))?;
        let mut tx = self.0.db().begin().await?;
        versioned::revoke(
            &mut tx,
            "build_target_config",
            "build_target_id = ?",
            params![target.id],
            user_id,
        )
        .await?;
        tx.commit().await
    }

    /// `getBuildTarget(info, event=None, strict=False)`: the one target
    /// matching `info`. Like upstream, a false `info` matches every target,
    /// so it answers only when exactly one exists.
    pub async fn get(
        &self,
        info: &Json,
        event: Option<i64>,
        strict: bool,
    ) -> Result<Option<TargetInfo>> {
        let mut found = self.find(info, event).await?;
        if found.len() == 1 {
            return Ok(found.pop());
        }
        if strict {
            return Err(Error::Generic(format!(
                "No such build target: {}",
                py_str(info)
            )));
        }
        Ok(None)
    }

    /// `getBuildTargets(info=None, event=None, buildTagID=None,
    /// destTagID=None, queryOpts=None)`: targets by id or name (a false
    /// `info`: all), by build tag and by destination tag (each an id, a
    /// name or a map; `None`: any), as of `event`.
    pub async fn list(
        &self,
        info: &Json,
        event: Option<i64>,
        build_tag: &Json,
        dest_tag: &Json,
        query_opts: &Json,
    ) -> Result<Json> {
        let rows = self
            .query(&TargetFilter {
                info: info.clone(),
                event,
                build_tag: build_tag.clone(),
                dest_tag: dest_tag.clone(),
            })
            .await?;
        let opts = QueryOpts::parse(query_opts)?;
        let rows = rows
            .into_iter()
            .map(serde_json::to_value)
            .collect::<std::result::Result<Vec<_>, _>>()?;
        opts.apply(rows, &columns())
    }

    /// The live targets (at `event`) matching `info` (any when false).
    async fn find(&self, info: &Json, event: Option<i64>) -> Result<Vec<TargetInfo>> {
        self.query(&TargetFilter {
            info: info.clone(),
            event,
            ..TargetFilter::default()
        })
        .await
    }

    async fn query(&self, f: &TargetFilter) -> Result<Vec<TargetInfo>> {
        query_in(self.0.db().conn(), f).await
    }

    /// The ids of a target's live build and destination tags, or upstream's
    /// refusal naming the one that is missing.
    async fn resolve_tags(&self, build_tag: &Json, dest_tag: &Json) -> Result<(i64, i64)> {
        let tags = self.0.tags();
        let build = tags.resolve(build_tag, None, false).await?.ok_or_else(|| {
            Error::Generic(format!("build tag '{}' does not exist", py_str(build_tag)))
        })?;
        let dest = tags.resolve(dest_tag, None, false).await?.ok_or_else(|| {
            Error::Generic(format!(
                "destination tag '{}' does not exist",
                py_str(dest_tag)
            ))
        })?;
        Ok((build.id, dest.id))
    }
}

/// The live targets matching `f`, on any connection.
async fn query_in<C: ConnectionTrait>(c: &C, f: &TargetFilter) -> Result<Vec<TargetInfo>> {
    let mut w = Where::new();
    let (live, lp) = versioned::live("build_target_config", f.event);
    w.and(live, lp);
    if truthy(&f.info) {
        let (clause, p) = name_or_id_clause("build_target", &f.info)?;
        w.and(clause, p);
    }
    for (col, tag) in [("build_tag", &f.build_tag), ("dest_tag", &f.dest_tag)] {
        match tag_filter(c, tag).await? {
            TagFilter::Any => {}
            TagFilter::None => return Ok(vec![]),
            TagFilter::Id(id) => {
                w.and(format!("build_target_config.{col} = ?"), params![id]);
            }
        }
    }
    let sql = format!(
        "SELECT build_target.id, build_target.name, build_target_config.build_tag, \
         build_target_config.dest_tag, tag1.name AS build_tag_name, \
         tag2.name AS dest_tag_name \
         FROM build_target_config \
         JOIN build_target ON build_target_config.build_target_id = build_target.id \
         JOIN tag AS tag1 ON build_target_config.build_tag = tag1.id \
         JOIN tag AS tag2 ON build_target_config.dest_tag = tag2.id{} \
         ORDER BY build_target.id",
        w.sql()
    );
    let rows = fetch_all(c, &sql, w.params).await?;
    rows.iter()
        .map(|r| {
            Ok(TargetInfo {
                build_tag: r.int("build_tag")?,
                build_tag_name: r.string("build_tag_name")?,
                dest_tag: r.int("dest_tag")?,
                dest_tag_name: r.string("dest_tag_name")?,
                id: r.int("id")?,
                name: r.string("name")?,
            })
        })
        .collect()
}

/// The one target named by `info` (an id or a name), as its
/// `getBuildTarget` map, on any connection.
pub async fn get_in<C: ConnectionTrait>(c: &C, info: &Json) -> Result<Option<Json>> {
    let found = query_in(
        c,
        &TargetFilter {
            info: info.clone(),
            ..TargetFilter::default()
        },
    )
    .await?;
    Ok(match found.as_slice() {
        [t] => Some(serde_json::to_value(t).unwrap_or(Json::Null)),
        _ => None,
    })
}

/// How a `buildTagID`/`destTagID` argument restricts the targets.
enum TagFilter {
    Any,
    /// A tag name that names no tag: nothing matches.
    None,
    Id(i64),
}

/// Upstream's reading of those arguments: `None` is any tag, an int a tag
/// id, a string or map a tag (deleted or not) looked up by name or id.
async fn tag_filter<C: sea_orm::ConnectionTrait>(c: &C, v: &Json) -> Result<TagFilter> {
    match v {
        Json::Null => Ok(TagFilter::Any),
        Json::Bool(b) => Ok(TagFilter::Id(*b as i64)),
        Json::Number(n) => match n.as_i64() {
            Some(id) => Ok(TagFilter::Id(id)),
            None => Err(Error::Parameter(format!("Invalid tag id: {n}"))),
        },
        Json::String(_) | Json::Object(_) => {
            Ok(match lookup_name(c, "tag", v, false, false).await? {
                Some(t) => TagFilter::Id(t.id),
                None => TagFilter::None,
            })
        }
        other => Err(Error::Parameter(format!(
            "Invalid tag id: {}",
            py_str(other)
        ))),
    }
}
