//! External repositories (upstream's `external_repo`,
//! `external_repo_config`, `tag_external_repos`): yum repos outside the
//! hub that a tag's buildroots also draw from, with a priority and a
//! merge mode (`koji`, `simple`, `bare`) per tag, inherited along the
//! tag's inheritance (`getExternalRepoList`).

use super::query_opts::{Columns, QueryOpts};
use super::tags::{
    get_tag_in, lookup_name, parse_arches_strict, read_full_inheritance_in, TagEvent, TagInfo,
};
use super::{Caller, Hub};
use crate::db::{fetch_all, fetch_opt, versioned, RowExt, Tx, Value};
use crate::error::{Error, Result};
use crate::params;
use crate::util::{py_repr, py_str};
use sea_orm::ConnectionTrait;
use serde_json::{json, Value as Json};

pub struct ExternalRepos<'a>(pub(super) &'a Hub);

/// Upstream's `REPO_MERGE_MODES`.
pub const MERGE_MODES: &[&str] = &["koji", "simple", "bare"];

/// Upstream's `get_external_repos`: `{id, name, url}` of live repos.
async fn list_in<C: ConnectionTrait>(
    c: &C,
    info: &Json,
    url: &Json,
    event: Option<i64>,
) -> Result<Vec<Json>> {
    let (live, mut p) = versioned::live("external_repo_config", event);
    let mut sql = format!(
        "SELECT external_repo.id, external_repo.name, external_repo_config.url FROM external_repo \
         JOIN external_repo_config ON external_repo_config.external_repo_id = external_repo.id \
         WHERE {live}"
    );
    if !info.is_null() {
        let (clause, cp) = super::tags::name_or_id_clause("external_repo", info)?;
        sql.push_str(&format!(" AND {clause}"));
        p.extend(cp);
    }
    if crate::api::truthy(url) {
        sql.push_str(" AND external_repo_config.url = ?");
        p.push(Value::from(py_str(url)));
    }
    sql.push_str(" ORDER BY external_repo.id");
    fetch_all(c, &sql, p)
        .await?
        .iter()
        .map(|r| {
            Ok(json!({
                "id": r.int("id")?,
                "name": r.string("name")?,
                "url": r.string("url")?,
            }))
        })
        .collect()
}

/// Upstream's `get_external_repo`.
async fn get_in<C: ConnectionTrait>(
    c: &C,
    info: &Json,
    strict: bool,
    event: Option<i64>,
) -> Result<Option<Json>> {
    let mut repos = list_in(c, info, &Json::Null, event).await?;
    match repos.len() {
        1 => Ok(repos.pop()),
        0 if strict => Err(Error::Generic(format!("No such repo: {}", py_str(info)))),
        0 => Ok(None),
        _ => Err(Error::generic("More than one repo in the result.")),
    }
}

fn id_of(repo: &Json) -> i64 {
    repo["id"].as_i64().unwrap_or_default()
}

/// Upstream's `get_tag_external_repos`, ordered by priority.
async fn tag_repos_in<C: ConnectionTrait>(
    c: &C,
    tag: Option<i64>,
    repo: Option<i64>,
    event: Option<i64>,
) -> Result<Vec<Json>> {
    let (live1, mut p) = versioned::live("tag_external_repos", event);
    let (live2, p2) = versioned::live("external_repo_config", event);
    p.extend(p2);
    let mut sql = format!(
        "SELECT tag_external_repos.arches, external_repo.id AS external_repo_id, \
         external_repo.name AS external_repo_name, tag_external_repos.merge_mode, \
         tag_external_repos.priority, tag.id AS tag_id, tag.name AS tag_name, \
         external_repo_config.url FROM tag_external_repos \
         JOIN tag ON tag_external_repos.tag_id = tag.id \
         JOIN external_repo ON tag_external_repos.external_repo_id = external_repo.id \
         JOIN external_repo_config ON external_repo.id = external_repo_config.external_repo_id \
         WHERE {live1} AND {live2}"
    );
    if let Some(t) = tag {
        sql.push_str(" AND tag.id = ?");
        p.push(Value::from(t));
    }
    if let Some(r) = repo {
        sql.push_str(" AND external_repo.id = ?");
        p.push(Value::from(r));
    }
    sql.push_str(" ORDER BY tag_external_repos.priority, tag.id");
    fetch_all(c, &sql, p)
        .await?
        .iter()
        .map(|r| {
            // upstream's aliases, sorted
            Ok(json!({
                "arches": r.opt_string("arches")?,
                "external_repo_id": r.int("external_repo_id")?,
                "external_repo_name": r.string("external_repo_name")?,
                "merge_mode": r.string("merge_mode")?,
                "priority": r.int("priority")?,
                "tag_id": r.int("tag_id")?,
                "tag_name": r.string("tag_name")?,
                "url": r.string("url")?,
            }))
        })
        .collect()
}

async fn strict_tag(tx: &Tx, info: &Json) -> Result<TagInfo> {
    get_tag_in(&**tx, info, true, TagEvent::At(None), false)
        .await?
        .ok_or_else(|| Error::Generic(format!("No such tagInfo: {}", py_repr(info))))
}

/// A tag id from an id or name, strictly (upstream's `get_tag_id`).
async fn tag_id_in<C: ConnectionTrait>(c: &C, info: &Json) -> Result<i64> {
    lookup_name(c, "tag", info, true, false)
        .await?
        .map(|t| t.id)
        .ok_or_else(|| Error::Generic(format!("No such entry in table tag: {}", py_str(info))))
}

/// An external repo id from an id or name, strictly (upstream's
/// `get_external_repo_id(strict=True)`).
async fn strict_id<C: ConnectionTrait>(c: &C, info: &Json) -> Result<i64> {
    lookup_name(c, "external_repo", info, true, false)
        .await?
        .map(|r| r.id)
        .ok_or_else(|| {
            Error::Generic(format!(
                "No such entry in table external_repo: {}",
                py_str(info)
            ))
        })
}

/// A url as stored: always ending in `/`.
fn with_slash(url: &str) -> String {
    if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
    }
}

/// Upstream's `add_external_repo_to_tag` inside `tx` (permission checked
/// by the caller).
async fn add_to_tag_in(
    tx: &mut Tx,
    tag: &TagInfo,
    repo: &Json,
    priority: &Json,
    merge_mode: &Json,
    arches: &Json,
    user_id: i64,
) -> Result<()> {
    let merge_mode = match merge_mode {
        Json::Null => "koji".to_string(),
        other => py_str(other),
    };
    if !MERGE_MODES.contains(&merge_mode.as_str()) {
        return Err(Error::Generic(format!("No such merge mode: {merge_mode}")));
    }
    let arches = match arches {
        Json::Null => None,
        other => Some(parse_arches_strict(other)?),
    };
    let priority = match priority {
        Json::Number(n) if n.is_i64() => n.as_i64().unwrap_or_default(),
        Json::String(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| Error::Parameter(format!("Invalid type for value '{s}': str")))?,
        other => {
            return Err(Error::Parameter(format!(
                "Invalid type for value {}: {}",
                py_repr(other),
                crate::api::py_type_of(other)
            )))
        }
    };
    let repo_id = id_of(repo);
    let existing = tag_repos_in(&**tx, Some(tag.id), None, None).await?;
    if existing
        .iter()
        .any(|t| t["external_repo_id"] == json!(repo_id))
    {
        return Err(Error::Generic(format!(
            "tag {} already associated with external repo {}",
            tag.name,
            py_str(&repo["name"])
        )));
    }
    if existing.iter().any(|t| t["priority"] == json!(priority)) {
        return Err(Error::Generic(format!(
            "tag {} already associated with an external repo at priority {priority}",
            tag.name
        )));
    }
    versioned::insert(
        tx,
        "tag_external_repos",
        &[
            "tag_id",
            "external_repo_id",
            "priority",
            "merge_mode",
            "arches",
        ],
        params![tag.id, repo_id, priority, merge_mode, arches],
        user_id,
    )
    .await
}

async fn remove_from_tag_in(tx: &mut Tx, tag: &TagInfo, repo: &Json, user_id: i64) -> Result<()> {
    let repo_id = id_of(repo);
    if tag_repos_in(&**tx, Some(tag.id), Some(repo_id), None)
        .await?
        .is_empty()
    {
        return Err(Error::Generic(format!(
            "external repo {} not associated with tag {}",
            py_str(&repo["name"]),
            tag.name
        )));
    }
    versioned::revoke(
        tx,
        "tag_external_repos",
        "tag_id = ? AND external_repo_id = ?",
        params![tag.id, repo_id],
        user_id,
    )
    .await?;
    Ok(())
}

impl ExternalRepos<'_> {
    /// `createExternalRepo(name, url)`: admins.
    pub async fn create(&self, caller: &Caller, name: &Json, url: &Json) -> Result<Json> {
        caller.assert_perm("admin")?;
        let user_id = caller.user_id()?;
        let name = self.0.config().names.internal(name)?.to_string();
        let mut tx = self.0.db().begin().await?;
        if !list_in(&*tx, &json!(name), &Json::Null, None)
            .await?
            .is_empty()
        {
            return Err(Error::Generic(format!(
                "An external repo named \"{name}\" already exists"
            )));
        }
        let id = lookup_name(&*tx, "external_repo", &json!(name), false, true)
            .await?
            .map(|r| r.id)
            .ok_or_else(|| Error::generic("external repo lookup failed"))?;
        let url = with_slash(&py_str(url));
        versioned::insert(
            &mut tx,
            "external_repo_config",
            &["external_repo_id", "url"],
            params![id, url.clone()],
            user_id,
        )
        .await?;
        tx.commit().await?;
        Ok(json!({"id": id, "name": name, "url": url}))
    }

    /// `listExternalRepos(info=None, url=None, event=None, queryOpts=None)`.
    pub async fn list(
        &self,
        info: &Json,
        url: &Json,
        event: Option<i64>,
        query_opts: &Json,
    ) -> Result<Json> {
        let rows = list_in(self.0.db().conn(), info, url, event).await?;
        QueryOpts::parse(query_opts)?.apply(rows, &Columns::ordered(&["id", "name", "url"]))
    }

    /// `getExternalRepo(info, strict=False, event=None)`.
    pub async fn get(&self, info: &Json, strict: bool, event: Option<i64>) -> Result<Json> {
        Ok(get_in(self.0.db().conn(), info, strict, event)
            .await?
            .unwrap_or(Json::Null))
    }

    /// `editExternalRepo(info, name=None, url=None)`: admins.
    pub async fn edit(&self, caller: &Caller, info: &Json, name: &Json, url: &Json) -> Result<()> {
        caller.assert_perm("admin")?;
        let user_id = caller.user_id()?;
        let mut tx = self.0.db().begin().await?;
        let repo = get_in(&*tx, info, true, None)
            .await?
            .ok_or_else(|| Error::generic("no repo"))?;
        let repo_id = id_of(&repo);
        if crate::api::truthy(name) && *name != repo["name"] {
            let name = self.0.config().names.internal(name)?.to_string();
            if let Some(r) = fetch_opt(
                &*tx,
                "SELECT id FROM external_repo WHERE name = ?",
                params![name.clone()],
            )
            .await?
            {
                return Err(Error::Generic(format!(
                    "name \"{name}\" is already taken by external repo {}",
                    r.int("id")?
                )));
            }
            crate::db::exec(
                &*tx,
                "UPDATE external_repo SET name = ? WHERE id = ?",
                params![name, repo_id],
            )
            .await?;
        }
        if crate::api::truthy(url) && *url != repo["url"] {
            let url = with_slash(&py_str(url));
            versioned::revoke(
                &mut tx,
                "external_repo_config",
                "external_repo_id = ?",
                params![repo_id],
                user_id,
            )
            .await?;
            versioned::insert(
                &mut tx,
                "external_repo_config",
                &["external_repo_id", "url"],
                params![repo_id, url],
                user_id,
            )
            .await?;
        }
        tx.commit().await
    }

    /// `deleteExternalRepo(info)`: admins; removes it from every tag first.
    pub async fn delete(&self, caller: &Caller, info: &Json) -> Result<()> {
        caller.assert_perm("admin")?;
        let user_id = caller.user_id()?;
        let mut tx = self.0.db().begin().await?;
        let repo = get_in(&*tx, info, true, None)
            .await?
            .ok_or_else(|| Error::generic("no repo"))?;
        let repo_id = id_of(&repo);
        versioned::revoke(
            &mut tx,
            "tag_external_repos",
            "external_repo_id = ?",
            params![repo_id],
            user_id,
        )
        .await?;
        versioned::revoke(
            &mut tx,
            "external_repo_config",
            "external_repo_id = ?",
            params![repo_id],
            user_id,
        )
        .await?;
        tx.commit().await
    }

    /// `addExternalRepoToTag(tag_info, repo_info, priority,
    /// merge_mode='koji', arches=None)`: the tag permission.
    pub async fn add_to_tag(
        &self,
        caller: &Caller,
        tag_info: &Json,
        repo_info: &Json,
        priority: &Json,
        merge_mode: &Json,
        arches: &Json,
    ) -> Result<()> {
        caller.assert_perm("tag")?;
        let user_id = caller.user_id()?;
        let mut tx = self.0.db().begin().await?;
        let tag = strict_tag(&tx, tag_info).await?;
        let repo = get_in(&*tx, repo_info, true, None)
            .await?
            .ok_or_else(|| Error::generic("no repo"))?;
        add_to_tag_in(&mut tx, &tag, &repo, priority, merge_mode, arches, user_id).await?;
        tx.commit().await
    }

    /// `removeExternalRepoFromTag(tag_info, repo_info)`.
    pub async fn remove_from_tag(
        &self,
        caller: &Caller,
        tag_info: &Json,
        repo_info: &Json,
    ) -> Result<()> {
        caller.assert_perm("tag")?;
        let user_id = caller.user_id()?;
        let mut tx = self.0.db().begin().await?;
        let tag = strict_tag(&tx, tag_info).await?;
        let repo = get_in(&*tx, repo_info, true, None)
            .await?
            .ok_or_else(|| Error::generic("no repo"))?;
        remove_from_tag_in(&mut tx, &tag, &repo, user_id).await?;
        tx.commit().await
    }

    /// `editTagExternalRepo(tag_info, repo_info, priority=None,
    /// merge_mode=None, arches=None)`: None changes nothing; answers
    /// whether anything changed.
    pub async fn edit_tag(
        &self,
        caller: &Caller,
        tag_info: &Json,
        repo_info: &Json,
        priority: &Json,
        merge_mode: &Json,
        arches: &Json,
    ) -> Result<bool> {
        caller.assert_perm("tag")?;
        let user_id = caller.user_id()?;
        let mut tx = self.0.db().begin().await?;
        let tag = strict_tag(&tx, tag_info).await?;
        let repo = get_in(&*tx, repo_info, true, None)
            .await?
            .ok_or_else(|| Error::generic("no repo"))?;
        let current = tag_repos_in(&*tx, Some(tag.id), Some(id_of(&repo)), None).await?;
        let Some(current) = current.first() else {
            return Err(Error::Generic(format!(
                "external repo {} not associated with tag {}",
                py_str(&repo["name"]),
                tag.name
            )));
        };
        let arches = match arches {
            Json::Null => Json::Null,
            other => Json::from(parse_arches_strict(other)?),
        };
        let mut new = vec![];
        let mut changed = false;
        for (k, v) in [
            ("priority", priority),
            ("merge_mode", merge_mode),
            ("arches", &arches),
        ] {
            if !v.is_null() && *v != current[k] {
                changed = true;
                new.push(v.clone());
            } else {
                new.push(current[k].clone());
            }
        }
        if !changed {
            return Ok(false);
        }
        remove_from_tag_in(&mut tx, &tag, &repo, user_id).await?;
        add_to_tag_in(&mut tx, &tag, &repo, &new[0], &new[1], &new[2], user_id).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// `repo.getExternalRepoData(erepo)`: the tracking data kojira keeps
    /// for an external repo (None if none).
    pub async fn data(&self, erepo: &Json) -> Result<Json> {
        let c = self.0.db().conn();
        let id = strict_id(c, erepo).await?;
        let sel = super::scheduler::data_select(c, "data");
        match fetch_opt(
            c,
            &format!("SELECT {sel} AS data FROM external_repo_data WHERE external_repo_id = ? AND active = TRUE"),
            params![id],
        )
        .await?
        {
            Some(r) => super::scheduler::json_col(&r, "data"),
            None => Ok(Json::Null),
        }
    }

    /// `repo.setExternalRepoData(external_repo_id, data)`: the repo
    /// permission; replaces the tracking data.
    pub async fn set_data(&self, caller: &Caller, erepo: &Json, data: &Json) -> Result<()> {
        caller.assert_perm("repo")?;
        let user_id = caller.user_id()?;
        if !data.is_object() {
            return Err(Error::Parameter(format!(
                "Invalid type for value {}: {}",
                py_repr(data),
                crate::api::py_type_of(data)
            )));
        }
        let mut tx = self.0.db().begin().await?;
        let id = strict_id(&*tx, erepo).await?;
        versioned::revoke(
            &mut tx,
            "external_repo_data",
            "external_repo_id = ?",
            params![id],
            user_id,
        )
        .await?;
        let cast = match crate::db::backend_of(&*tx) {
            crate::db::Backend::Postgres => "CAST(? AS JSONB)",
            crate::db::Backend::Sqlite => "?",
        };
        let event = tx.event().await?;
        crate::db::exec(
            &*tx,
            &format!(
                "INSERT INTO external_repo_data (external_repo_id, data, create_event, creator_id, active) \
                 VALUES (?, {cast}, ?, ?, ?)"
            ),
            params![id, data.to_string(), event, user_id, true],
        )
        .await?;
        tx.commit().await
    }

    /// `getTagExternalRepos(tag_info=None, repo_info=None, event=None)`.
    pub async fn tag_repos(
        &self,
        tag_info: &Json,
        repo_info: &Json,
        event: Option<i64>,
    ) -> Result<Json> {
        let c = self.0.db().conn();
        let tag = if crate::api::truthy(tag_info) {
            Some(tag_id_in(c, tag_info).await?)
        } else {
            None
        };
        let repo = if crate::api::truthy(repo_info) {
            Some(id_of(
                &get_in(c, repo_info, true, event).await?.unwrap_or_default(),
            ))
        } else {
            None
        };
        Ok(Json::Array(tag_repos_in(c, tag, repo, event).await?))
    }

    /// `getExternalRepoList(tag_info, event=None)`: the tag's and its
    /// ancestors' external repos, depth first, each repo once.
    pub async fn repo_list(&self, tag_info: &Json, event: Option<i64>) -> Result<Json> {
        let c = self.0.db().conn();
        let tag = get_tag_in(c, tag_info, true, TagEvent::At(event), false)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such tagInfo: {}", py_repr(tag_info))))?;
        let mut tags = vec![tag.id];
        tags.extend(
            read_full_inheritance_in(c, tag.id, event, false)
                .await?
                .iter()
                .map(|l| l.parent_id),
        );
        let mut seen = std::collections::HashSet::new();
        let mut out = vec![];
        for t in tags {
            for r in tag_repos_in(c, Some(t), None, event).await? {
                if seen.insert(r["external_repo_id"].as_i64()) {
                    out.push(r);
                }
            }
        }
        Ok(Json::Array(out))
    }
}
