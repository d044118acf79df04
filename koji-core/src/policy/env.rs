//! Where policy tests get their facts from the database.
//!
//! The engine itself is pure: every fact a test needs (a user's groups and
//! permissions, tags, builds, buildroots, ...) comes through [`PolicyEnv`].
//! [`HubEnv`] answers from the hub's database, on the pool or inside an open
//! transaction (so a policy checked in the middle of a write sees that
//! write's own changes and never opens a second transaction).
//!
//! Build facts are read straight from `build`, `rpminfo`, `archiveinfo`,
//! `tag_listing` and friends here, to keep the engine independent of the
//! builds area.

use crate::db::{fetch_all, fetch_opt, versioned, RowExt};
use crate::error::{Error, Result};
use crate::hub::tags::{get_tag_in, lookup_name, name_or_id_clause, read_full_inheritance_in};
use crate::hub::users::{perms_of, Users};
use crate::hub::Caller;
use crate::model::UserType;
use crate::params;
use crate::util::{py_class, py_repr, py_str};
use async_trait::async_trait;
use sea_orm::ConnectionTrait;
use serde_json::Value as Json;

pub use crate::hub::tags::TagEvent;

/// A user as the tests need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFact {
    pub id: i64,
    pub name: String,
    pub usertype: i64,
}

/// A build as the tests need it (a subset of upstream's `get_build`).
#[derive(Debug, Clone, PartialEq)]
pub struct BuildFact {
    pub id: i64,
    pub package_id: i64,
    /// The package name.
    pub name: String,
    pub version: String,
    pub release: String,
    pub owner_id: i64,
    pub volume_id: i64,
    pub volume_name: String,
    pub draft: bool,
    pub source: Option<String>,
    pub task_id: Option<i64>,
    pub extra: Option<Json>,
}

/// A tag, and the event its configuration was read as of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagFact {
    pub id: i64,
    pub name: String,
    pub query_event: Option<i64>,
}

/// A buildroot as the tests need it (from upstream's `get_buildroot`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BuildrootFact {
    /// The content generator that reported it, if any.
    pub cg_name: Option<String>,
    /// The tag of its repo (standard buildroots only).
    pub tag_name: Option<String>,
    /// The event its repo was created at.
    pub repo_create_event: Option<i64>,
}

/// The facts policy tests read. Lookups follow upstream's helpers: `info`
/// values are what policy data carries (ids, names, N-V-R strings, maps),
/// errors carry upstream's messages.
#[async_trait]
pub trait PolicyEnv: Send + Sync {
    /// The logged-in caller, if any (the default user of a policy check).
    fn caller_user(&self) -> Option<UserFact>;
    /// `get_user(info)`, not strict (`null`: the caller).
    async fn user(&self, info: &Json) -> Result<Option<UserFact>>;
    /// `get_user_groups(user_id)`: `(group id, group name)` pairs.
    async fn user_groups(&self, user_id: i64) -> Result<Vec<(i64, String)>>;
    /// `get_user_perms(user_id)`: own and through groups.
    async fn user_perms(&self, user_id: i64) -> Result<Vec<String>>;
    /// `lookup_package(info)`: `(id, name)`, not strict.
    async fn package(&self, info: &Json) -> Result<Option<(i64, String)>>;
    /// `get_build(info, strict)`.
    async fn build(&self, info: &Json, strict: bool) -> Result<Option<BuildFact>>;
    /// The buildroot ids of the build's rpms and archives (`None`: imported).
    async fn build_buildroots(&self, build_id: i64) -> Result<Vec<Option<i64>>>;
    /// The names of `get_build_type(build)`.
    async fn build_types(&self, build: &BuildFact) -> Result<Vec<String>>;
    /// The names of the tags the build is in now (`list_tags(build=...)`).
    async fn build_tag_names(&self, build_id: i64) -> Result<Vec<String>>;
    /// `get_buildroot(br_id, strict=True)`.
    async fn buildroot(&self, br_id: &Json) -> Result<BuildrootFact>;
    /// `lookup_name('content_generator', info, strict=True)['name']`.
    async fn content_generator(&self, info: &Json) -> Result<String>;
    /// `lookup_name('volume', info)['name']`, not strict.
    async fn volume(&self, info: &Json) -> Result<Option<String>>;
    /// `get_tag(info, strict, event)`.
    async fn tag(&self, info: &Json, strict: bool, event: TagEvent) -> Result<Option<TagFact>>;
    /// The build tag id of `get_build_target(info, strict=False)`.
    async fn target_build_tag(&self, info: &Json) -> Result<Option<i64>>;
    /// The names of the tag's ancestors (`readFullInheritance`), as of `event`.
    async fn tag_ancestors(&self, tag_id: i64, event: Option<i64>) -> Result<Vec<String>>;
    /// The source (SCM URL or file) in the request of a build task, when
    /// its method has one.
    async fn task_source(&self, task_id: i64) -> Result<Option<String>>;
}

/// [`PolicyEnv`] over the hub's database, on the pool or a transaction.
pub struct HubEnv<'a, C> {
    conn: &'a C,
    caller: &'a Caller,
}

impl<'a, C: ConnectionTrait + Sync> HubEnv<'a, C> {
    pub fn new(conn: &'a C, caller: &'a Caller) -> Self {
        HubEnv { conn, caller }
    }
}

/// Parameter names of the task methods whose request names a source, in
/// positional order (upstream's handler signatures).
fn task_signature(method: &str) -> Option<&'static [&'static str]> {
    Some(match method {
        "build" => &["src", "target", "opts"],
        "maven" => &["url", "target", "opts"],
        "winbuild" => &["name", "source_url", "target", "opts"],
        "wrapperRPM" => &["spec_url", "build_target", "build", "task", "opts"],
        "buildSRPMFromSCM" => &["url", "build_tag", "opts"],
        "buildMaven" => &["url", "build_tag", "opts"],
        "chainmaven" => &["builds", "target", "opts"],
        _ => return None,
    })
}

/// Decodes a task request: upstream stores the XML-RPC `<params>` of the
/// call; a trailing `__starstar` map holds keyword arguments.
fn task_params(method: &str, request: &str) -> Option<serde_json::Map<String, Json>> {
    let sig = task_signature(method)?;
    let body = request.trim_start();
    let body = match body.strip_prefix("<?xml") {
        Some(rest) => &rest[rest.find("?>")? + 2..],
        None => body,
    };
    let doc = format!(
        "<?xml version='1.0'?><methodCall><methodName>{method}</methodName>{body}</methodCall>"
    );
    let call = crate::xmlrpc::parse_call(doc.as_bytes()).ok()?;
    let mut args: Vec<Json> = call.params.iter().map(|v| v.to_json()).collect();
    let mut out = serde_json::Map::new();
    if let Some(Json::Object(m)) = args.last() {
        if m.get("__starstar").is_some_and(crate::api::truthy) {
            let Some(Json::Object(kw)) = args.pop() else {
                return None;
            };
            for (k, v) in kw {
                if k != "__starstar" {
                    out.insert(k, v);
                }
            }
        }
    }
    for (name, v) in sig.iter().zip(args) {
        out.insert(name.to_string(), v);
    }
    Some(out)
}

#[async_trait]
impl<C: ConnectionTrait + Sync> PolicyEnv for HubEnv<'_, C> {
    fn caller_user(&self) -> Option<UserFact> {
        self.caller.session.as_ref().map(|s| UserFact {
            id: s.user_id,
            name: s.user_name.clone(),
            usertype: s.usertype,
        })
    }

    async fn user(&self, info: &Json) -> Result<Option<UserFact>> {
        let u = Users::get_in(self.conn, self.caller, info, false, false, false).await?;
        Ok(u.map(|u| UserFact {
            id: u.id,
            name: u.name,
            usertype: u.usertype,
        }))
    }

    async fn user_groups(&self, user_id: i64) -> Result<Vec<(i64, String)>> {
        let rows = fetch_all(
            self.conn,
            "SELECT user_groups.group_id, users.name FROM user_groups \
             JOIN users ON user_groups.group_id = users.id \
             WHERE user_groups.active = TRUE AND users.usertype = ? AND user_groups.user_id = ? \
             ORDER BY user_groups.group_id",
            params![UserType::Group as i64, user_id],
        )
        .await?;
        rows.iter()
            .map(|r| Ok((r.int("group_id")?, r.string("name")?)))
            .collect()
    }

    async fn user_perms(&self, user_id: i64) -> Result<Vec<String>> {
        Ok(perms_of(self.conn, user_id, true)
            .await?
            .into_iter()
            .map(|(name, _)| name)
            .collect())
    }

    async fn package(&self, info: &Json) -> Result<Option<(i64, String)>> {
        Ok(lookup_name(self.conn, "package", info, false, false)
            .await?
            .map(|p| (p.id, p.name)))
    }

    async fn build(&self, info: &Json, strict: bool) -> Result<Option<BuildFact>> {
        let id = match info {
            Json::Number(n) if n.is_i64() => n.as_i64(),
            Json::Bool(b) => Some(*b as i64),
            Json::String(_) | Json::Object(_) => {
                let (name, version, release) = match info {
                    Json::String(s) => {
                        let (n, v, r, _) = crate::hub::builds::parse_nvr(s)?;
                        (n, v, r)
                    }
                    Json::Object(m) => {
                        let part = |k: &str| m.get(k).map(py_str);
                        match (part("name"), part("version"), part("release")) {
                            (Some(n), Some(v), Some(r)) => (n, v, r),
                            _ => {
                                return Err(Error::generic(
                                    "did not provide name, version, and release",
                                ))
                            }
                        }
                    }
                    _ => unreachable!(),
                };
                let row = fetch_opt(
                    self.conn,
                    "SELECT build.id FROM build JOIN package ON build.pkg_id = package.id \
                     WHERE package.name = ? AND build.version = ? AND build.release = ?",
                    params![name, version, release],
                )
                .await?;
                match row {
                    Some(r) => Some(r.int("id")?),
                    None if strict => {
                        return Err(Error::Generic(format!("No such build: {}", py_repr(info))))
                    }
                    None => return Ok(None),
                }
            }
            other => {
                return Err(Error::Generic(format!(
                    "Invalid type for argument: {}",
                    py_class(other)
                )))
            }
        };
        let id = id.unwrap_or_default();
        let row = fetch_opt(
            self.conn,
            "SELECT build.id, build.pkg_id, package.name, build.version, build.release, \
             build.owner, build.volume_id, volume.name AS volume_name, build.draft, \
             build.source, build.task_id, build.extra FROM build \
             JOIN package ON build.pkg_id = package.id \
             JOIN volume ON build.volume_id = volume.id WHERE build.id = ?",
            params![id],
        )
        .await?;
        let Some(r) = row else {
            if strict {
                return Err(Error::Generic(format!("No such build: {}", py_str(info))));
            }
            return Ok(None);
        };
        let extra = match r.opt_string("extra")? {
            None => None,
            Some(s) => Some(serde_json::from_str(&s).map_err(|_| {
                Error::Generic(format!(
                    "Invalid extra data: {}",
                    crate::util::py_str_repr(&s)
                ))
            })?),
        };
        Ok(Some(BuildFact {
            id: r.int("id")?,
            package_id: r.int("pkg_id")?,
            name: r.string("name")?,
            version: r.string("version")?,
            release: r.string("release")?,
            owner_id: r.int("owner")?,
            volume_id: r.int("volume_id")?,
            volume_name: r.string("volume_name")?,
            draft: r.boolean("draft")?,
            source: r.opt_string("source")?,
            task_id: r.opt_int("task_id")?,
            extra,
        }))
    }

    async fn build_buildroots(&self, build_id: i64) -> Result<Vec<Option<i64>>> {
        let rows = fetch_all(
            self.conn,
            "SELECT buildroot_id FROM rpminfo WHERE build_id = ? \
             UNION ALL SELECT buildroot_id FROM archiveinfo WHERE build_id = ?",
            params![build_id, build_id],
        )
        .await?;
        rows.iter().map(|r| r.opt_int("buildroot_id")).collect()
    }

    async fn build_types(&self, build: &BuildFact) -> Result<Vec<String>> {
        let rows = fetch_all(
            self.conn,
            "SELECT btype.name FROM build_types JOIN btype ON build_types.btype_id = btype.id \
             WHERE build_types.build_id = ? ORDER BY btype.id",
            params![build.id],
        )
        .await?;
        let mut out = rows
            .iter()
            .map(|r| r.string("name"))
            .collect::<Result<Vec<_>>>()?;
        for (btype, table) in [
            ("maven", "maven_builds"),
            ("win", "win_builds"),
            ("image", "image_builds"),
        ] {
            let found = fetch_opt(
                self.conn,
                &format!("SELECT build_id FROM {table} WHERE build_id = ?"),
                params![build.id],
            )
            .await?;
            if found.is_some() && !out.iter().any(|b| b == btype) {
                out.push(btype.to_string());
            }
        }
        Ok(out)
    }

    async fn build_tag_names(&self, build_id: i64) -> Result<Vec<String>> {
        let rows = fetch_all(
            self.conn,
            "SELECT tag.name FROM tag_listing JOIN tag ON tag_listing.tag_id = tag.id \
             JOIN tag_config ON tag_config.tag_id = tag.id \
             WHERE tag_listing.build_id = ? AND tag_listing.active = TRUE \
             AND tag_config.active = TRUE ORDER BY tag.name",
            params![build_id],
        )
        .await?;
        rows.iter().map(|r| r.string("name")).collect()
    }

    async fn buildroot(&self, br_id: &Json) -> Result<BuildrootFact> {
        let missing = || Error::Generic(format!("No such buildroot: {}", py_repr(br_id)));
        let id = br_id.as_i64().ok_or_else(missing)?;
        let row = fetch_opt(
            self.conn,
            "SELECT content_generator.name AS cg_name, tag.name AS tag_name, \
             repo.create_event AS repo_create_event FROM buildroot \
             LEFT JOIN content_generator ON buildroot.cg_id = content_generator.id \
             LEFT JOIN standard_buildroot ON standard_buildroot.buildroot_id = buildroot.id \
             LEFT JOIN repo ON standard_buildroot.repo_id = repo.id \
             LEFT JOIN tag ON repo.tag_id = tag.id WHERE buildroot.id = ?",
            params![id],
        )
        .await?
        .ok_or_else(missing)?;
        Ok(BuildrootFact {
            cg_name: row.opt_string("cg_name")?,
            tag_name: row.opt_string("tag_name")?,
            repo_create_event: row.opt_int("repo_create_event")?,
        })
    }

    async fn content_generator(&self, info: &Json) -> Result<String> {
        lookup_name(self.conn, "content_generator", info, true, false)
            .await?
            .map(|r| r.name)
            .ok_or_else(|| Error::generic("content generator lookup failed"))
    }

    async fn volume(&self, info: &Json) -> Result<Option<String>> {
        Ok(lookup_name(self.conn, "volume", info, false, false)
            .await?
            .map(|r| r.name))
    }

    async fn tag(&self, info: &Json, strict: bool, event: TagEvent) -> Result<Option<TagFact>> {
        Ok(get_tag_in(self.conn, info, strict, event, false)
            .await?
            .map(|t| TagFact {
                id: t.id,
                name: t.name,
                query_event: t.query_event,
            }))
    }

    async fn target_build_tag(&self, info: &Json) -> Result<Option<i64>> {
        let (clause, mut p) = name_or_id_clause("build_target", info)?;
        let (live, mut lp) = versioned::live("build_target_config", None);
        p.append(&mut lp);
        let rows = fetch_all(
            self.conn,
            &format!(
                "SELECT build_target_config.build_tag FROM build_target \
                 JOIN build_target_config ON build_target_config.build_target_id = build_target.id \
                 WHERE {clause} AND {live}"
            ),
            p,
        )
        .await?;
        match rows.as_slice() {
            [one] => Ok(Some(one.int("build_tag")?)),
            _ => Ok(None),
        }
    }

    async fn tag_ancestors(&self, tag_id: i64, event: Option<i64>) -> Result<Vec<String>> {
        Ok(read_full_inheritance_in(self.conn, tag_id, event, false)
            .await?
            .into_iter()
            .map(|l| l.name)
            .collect())
    }

    async fn task_source(&self, task_id: i64) -> Result<Option<String>> {
        let Some(row) = fetch_opt(
            self.conn,
            "SELECT method, request FROM task WHERE id = ?",
            params![task_id],
        )
        .await?
        else {
            return Ok(None);
        };
        let method = row.opt_string("method")?.unwrap_or_default();
        if method == "indirectionimage" {
            return Ok(None);
        }
        let request = row.opt_string("request")?.unwrap_or_default();
        let Some(params) = task_params(&method, &request) else {
            tracing::warn!(task_id, "Unable to determine source from task");
            return Ok(None);
        };
        let key = match method.as_str() {
            "winbuild" => "source_url",
            "wrapperRPM" => "spec_url",
            _ if params.contains_key("src") => "src",
            _ if params.contains_key("url") => "url",
            _ => {
                tracing::warn!(task_id, "Unable to determine source from task");
                return Ok(None);
            }
        };
        Ok(params.get(key).map(py_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvr_parsing() {
        // the policy facts use the builds area's parser, epoch dropped
        let parse_nvr = |s: &str| crate::hub::builds::parse_nvr(s).map(|(n, v, r, _)| (n, v, r));
        assert_eq!(
            parse_nvr("foo-bar-1.0-1.fc40").unwrap(),
            ("foo-bar".into(), "1.0".into(), "1.fc40".into())
        );
        assert_eq!(
            parse_nvr("1:foo-1-2").unwrap(),
            ("foo".into(), "1".into(), "2".into())
        );
        assert_eq!(
            parse_nvr("foo-1").unwrap_err().to_string(),
            "invalid format: foo-1"
        );
        assert!(parse_nvr("foo--1").is_err());
        assert!(parse_nvr("foo-1-").is_err());
    }

    #[test]
    fn task_requests_decode() {
        let req = "<params><param><value><string>git+https://src/foo#abc</string></value></param>\
                   <param><value><string>f40</string></value></param>\
                   <param><value><struct><member><name>scratch</name><value><boolean>1</boolean></value></member></struct></value></param></params>";
        let p = task_params("build", req).unwrap();
        assert_eq!(p["src"], "git+https://src/foo#abc");
        assert_eq!(p["target"], "f40");
        assert!(task_params("newRepo", req).is_none());
    }
}
