//! Archives: the files a build outputs besides RPMs (`archiveinfo`), their
//! types (`archivetypes`), the build types (`btype`), the listing of the
//! entries of zip and tar archives in the content store, and the import of
//! a file uploaded to the work directory (`importArchive`).
//!
//! Helpers other areas may reuse, on any connection or inside the caller's
//! transaction:
//! - [`list_archives_in`] — upstream's `list_archives` before `queryOpts`;
//! - [`get_archive_in`] — upstream's `get_archive` (with the maven, win and
//!   image extras);
//! - [`get_archive_type_in`] — upstream's `get_archive_type` (by id, by name
//!   or by a file name's extension).

use super::builds::{get_build_in, parse_extra, BuildInfo};
use super::query_opts::{Columns, QueryOpts};
use super::rpms::move_and_symlink;
use super::search::pg_regex;
use super::tags::lookup_name;
use super::{Caller, Hub};
use crate::api::{py_type_of, truthy};
use crate::db::{backend_of, exec, fetch_all, fetch_one, fetch_opt, Backend, RowExt, Value, Where};
use crate::error::{Error, Result};
use crate::params;
use crate::util::{py_class, py_repr, py_str};
use sea_orm::{ConnectionTrait, QueryResult};
use serde_json::{json, Map, Value as Json};
use std::path::{Path, PathBuf};

pub struct Archives<'a>(pub(super) &'a Hub);

/// upstream's `koji.CHECKSUM_TYPES['sha256']`
pub const CHECKSUM_SHA256: i64 = 2;

/// The filters of `listArchives` (upstream's parameter names in comments).
#[derive(Debug, Clone, Default)]
pub struct ListArchives {
    /// `buildID`
    pub build_id: Json,
    /// `buildrootID`
    pub buildroot_id: Json,
    /// `componentBuildrootID`
    pub component_buildroot_id: Json,
    /// `hostID`
    pub host_id: Json,
    /// `type`: maven, win, image or another btype name
    pub kind: Json,
    pub filename: Json,
    pub size: Json,
    pub checksum: Json,
    pub checksum_type: Json,
    /// `typeInfo`
    pub type_info: Json,
    /// `queryOpts`
    pub query_opts: Json,
    /// `imageID`: archives that are components of this archive
    pub image_id: Json,
    /// `archiveID`
    pub archive_id: Json,
    pub strict: bool,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Int,
    OptInt,
    Text,
    OptText,
    Bool,
    Extra,
}

/// One result key of `listArchives`: its SQL expression and type.
struct Field {
    expr: &'static str,
    alias: &'static str,
    kind: Kind,
}

const fn f(expr: &'static str, alias: &'static str, kind: Kind) -> Field {
    Field { expr, alias, kind }
}

const BASE_FIELDS: &[Field] = &[
    f("archiveinfo.id", "id", Kind::Int),
    f("archiveinfo.type_id", "type_id", Kind::Int),
    f("archiveinfo.btype_id", "btype_id", Kind::OptInt),
    f("btype.name", "btype", Kind::Text),
    f("archiveinfo.build_id", "build_id", Kind::Int),
    f("archiveinfo.buildroot_id", "buildroot_id", Kind::OptInt),
    f("archiveinfo.filename", "filename", Kind::Text),
    f("archiveinfo.size", "size", Kind::Int),
    f("archiveinfo.checksum", "checksum", Kind::Text),
    f("archiveinfo.checksum_type", "checksum_type", Kind::Int),
    f("archiveinfo.metadata_only", "metadata_only", Kind::Bool),
    f("archiveinfo.extra", "extra", Kind::Extra),
    f("archivetypes.name", "type_name", Kind::Text),
    f("archivetypes.description", "type_description", Kind::Text),
    f("archivetypes.extensions", "type_extensions", Kind::Text),
    f(
        "archivetypes.compression_type",
        "compression_type",
        Kind::OptText,
    ),
];

fn read_field(r: &QueryResult, fl: &Field) -> Result<Json> {
    let col = fl.alias;
    Ok(match fl.kind {
        Kind::Int => Json::from(r.int(col)?),
        Kind::OptInt => r.opt_int(col)?.map_or(Json::Null, Json::from),
        Kind::Text => Json::from(r.string(col)?),
        Kind::OptText => r.opt_string(col)?.map_or(Json::Null, Json::from),
        Kind::Bool => Json::from(r.boolean(col)?),
        Kind::Extra => parse_extra(r.opt_string(col)?)?.unwrap_or(Json::Null),
    })
}

/// A value compared with an integer column, as psycopg2 passes it.
fn int_value(v: &Json) -> Result<Value> {
    match v {
        Json::Bool(b) => Ok(Value::from(*b as i64)),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Ok(Value::from(i)),
            None => Ok(Value::from(n.as_f64().unwrap_or_default())),
        },
        Json::String(s) => {
            s.trim().parse::<i64>().map(Value::from).map_err(|_| {
                Error::Generic(format!("invalid input syntax for type integer: \"{s}\""))
            })
        }
        other => Err(Error::Generic(format!(
            "can't adapt type '{}'",
            py_type_of(other)
        ))),
    }
}

/// Upstream's `convert_value(value, cast=str, check_only=True)`.
fn check_str(v: &Json, none_allowed: bool) -> Result<Option<&str>> {
    match v {
        Json::String(s) => Ok(Some(s)),
        Json::Null if none_allowed => Ok(None),
        Json::Null => Err(Error::param("Invalid type, expected type <class 'str'>")),
        other => Err(Error::Parameter(format!(
            "Invalid type for value '{}': {}, expected type <class 'str'>",
            py_str(other),
            py_class(other)
        ))),
    }
}

/// A Python exception upstream lets escape (fault code 1).
fn py_exception(class: &str, msg: impl std::fmt::Display) -> Error {
    Error::Fault {
        code: 1,
        message: format!("<class '{class}'>: {msg}"),
    }
}

/// `typeInfo[key]` when `typeInfo` is a map holding `key`.
fn info_get<'v>(info: &'v Json, key: &str) -> Option<&'v Json> {
    info.as_object().and_then(|m| m.get(key))
}

/// Upstream's `list_archives` without `queryOpts`: the matching rows, keys
/// sorted (the extra keys of `type` and the join filters included).
pub async fn list_archives_in<C: ConnectionTrait>(
    c: &C,
    q: &ListArchives,
) -> Result<(Vec<Json>, Columns)> {
    let backend = backend_of(c);
    let mut fields: Vec<&Field> = BASE_FIELDS.iter().collect();
    let mut joins = vec![
        "JOIN archivetypes ON archiveinfo.type_id = archivetypes.id".to_string(),
        "JOIN btype ON archiveinfo.btype_id = btype.id".to_string(),
    ];
    let mut w = Where::new();
    // win typeInfo patterns matched here on SQLite: (field, regex)
    let mut local: Vec<(&'static str, regex::Regex)> = vec![];

    static COMPONENT: [Field; 2] = [
        f(
            "buildroot_archives.buildroot_id",
            "component_buildroot_id",
            Kind::Int,
        ),
        f("buildroot_archives.project_dep", "project", Kind::Bool),
    ];
    static HOST: Field = f("standard_buildroot.host_id", "host_id", Kind::Int);
    static MAVEN: [Field; 3] = [
        f("maven_archives.group_id", "group_id", Kind::Text),
        f("maven_archives.artifact_id", "artifact_id", Kind::Text),
        f("maven_archives.version", "version", Kind::Text),
    ];
    static WIN: [Field; 3] = [
        f("win_archives.relpath", "relpath", Kind::Text),
        f("win_archives.platforms", "platforms", Kind::Text),
        f("win_archives.flags", "flags", Kind::OptText),
    ];
    static IMAGE: Field = f("image_archives.arch", "arch", Kind::Text);

    if !q.build_id.is_null() {
        w.and("archiveinfo.build_id = ?", vec![int_value(&q.build_id)?]);
    }
    if !q.buildroot_id.is_null() {
        w.and(
            "archiveinfo.buildroot_id = ?",
            vec![int_value(&q.buildroot_id)?],
        );
    }
    if !q.component_buildroot_id.is_null() {
        joins.push(
            "JOIN buildroot_archives ON archiveinfo.id = buildroot_archives.archive_id".into(),
        );
        w.and(
            "buildroot_archives.buildroot_id = ?",
            vec![int_value(&q.component_buildroot_id)?],
        );
        fields.extend(COMPONENT.iter());
    }
    if !q.image_id.is_null() {
        w.and(
            "archive_components.archive_id = ?",
            vec![int_value(&q.image_id)?],
        );
        joins.push(
            "JOIN archive_components ON archiveinfo.id = archive_components.component_id".into(),
        );
    }
    if !q.host_id.is_null() {
        joins.push(
            "JOIN standard_buildroot \
             ON archiveinfo.buildroot_id = standard_buildroot.buildroot_id"
                .into(),
        );
        w.and(
            "standard_buildroot.host_id = ?",
            vec![int_value(&q.host_id)?],
        );
        fields.push(&HOST);
    }
    if !q.filename.is_null() {
        w.and("archiveinfo.filename = ?", params![py_str(&q.filename)]);
    }
    if !q.size.is_null() {
        w.and("archiveinfo.size = ?", vec![int_value(&q.size)?]);
    }
    if !q.checksum.is_null() {
        w.and("archiveinfo.checksum = ?", params![py_str(&q.checksum)]);
    }
    if !q.checksum_type.is_null() {
        w.and(
            "archiveinfo.checksum_type = ?",
            vec![int_value(&q.checksum_type)?],
        );
    }
    if !q.archive_id.is_null() {
        w.and("archiveinfo.id = ?", vec![int_value(&q.archive_id)?]);
    }

    let info = &q.type_info;
    match &q.kind {
        Json::Null => {}
        Json::String(t) if t == "maven" => {
            joins.push("JOIN maven_archives ON archiveinfo.id = maven_archives.archive_id".into());
            fields.extend(MAVEN.iter());
            if truthy(info) {
                for key in ["group_id", "artifact_id", "version"] {
                    if let Some(v) = info_get(info, key) {
                        w.and(format!("maven_archives.{key} = ?"), params![py_str(v)]);
                    }
                }
            }
        }
        Json::String(t) if t == "win" => {
            joins.push("JOIN win_archives ON archiveinfo.id = win_archives.archive_id".into());
            fields.extend(WIN.iter());
            if truthy(info) {
                if let Some(v) = info_get(info, "relpath") {
                    w.and("win_archives.relpath = ?", params![py_str(v)]);
                }
                for key in ["platforms", "flags"] {
                    let Some(val) = info_get(info, key) else {
                        continue;
                    };
                    let vals = match val {
                        Json::Array(a) => a.clone(),
                        other => vec![other.clone()],
                    };
                    for v in vals {
                        let pattern = format!(r"\m{}\M", py_str(&v));
                        match backend {
                            Backend::Postgres => {
                                w.and(format!("win_archives.{key} ~ ?"), params![pattern]);
                            }
                            Backend::Sqlite => local.push((key, pg_regex(&pattern, false)?)),
                        }
                    }
                }
            }
        }
        Json::String(t) if t == "image" => {
            joins.push("JOIN image_archives ON archiveinfo.id = image_archives.archive_id".into());
            fields.push(&IMAGE);
            if let Some(arch) = info_get(info, "arch").filter(|v| truthy(v)) {
                w.and("image_archives.arch = ?", params![py_str(arch)]);
            }
        }
        other => {
            let Some(btype) = lookup_name(c, "btype", other, false, false).await? else {
                return Err(Error::Generic(format!(
                    "unsupported archive type: {}",
                    py_str(other)
                )));
            };
            if truthy(info) {
                return Err(Error::Generic(format!(
                    "typeInfo queries not supported for type {}",
                    btype.name
                )));
            }
            w.and("archiveinfo.btype_id = ?", params![btype.id]);
        }
    }

    fields.sort_by_key(|fl| fl.alias);
    let select: Vec<String> = fields
        .iter()
        .map(|fl| format!("{} AS {}", fl.expr, fl.alias))
        .collect();
    let sql = format!(
        "SELECT {} FROM archiveinfo {}{} ORDER BY archiveinfo.id",
        select.join(", "),
        joins.join(" "),
        w.sql()
    );
    let mut rows = vec![];
    'rows: for r in fetch_all(c, &sql, w.params).await? {
        let mut m = Map::new();
        for fl in &fields {
            m.insert(fl.alias.to_string(), read_field(&r, fl)?);
        }
        for (key, re) in &local {
            match m.get(*key) {
                Some(Json::String(s)) if re.is_match(s) => {}
                _ => continue 'rows,
            }
        }
        rows.push(Json::Object(m));
    }
    let mut columns = Columns::sorted(&fields.iter().map(|fl| fl.alias).collect::<Vec<_>>());
    for fl in &fields {
        columns = columns.expr(fl.expr, fl.alias);
    }
    Ok((rows, columns))
}

/// One row of a per-type archive table (`maven_archives`, ...), keys sorted.
async fn type_row<C: ConnectionTrait>(
    c: &C,
    table: &str,
    cols: &[&str],
    archive_id: &Value,
) -> Result<Option<Map<String, Json>>> {
    let sql = format!(
        "SELECT {} FROM {table} WHERE archive_id = ?",
        cols.join(", ")
    );
    let Some(r) = fetch_opt(c, &sql, vec![archive_id.clone()]).await? else {
        return Ok(None);
    };
    let mut m = Map::new();
    for col in cols {
        let v = if *col == "archive_id" {
            Json::from(r.int(col)?)
        } else {
            r.opt_string(col)?.map_or(Json::Null, Json::from)
        };
        m.insert(col.to_string(), v);
    }
    Ok(Some(m))
}

/// Upstream's `get_archive`: the `listArchives` row, plus the maven
/// (`artifact_id`, `group_id`, `version`), win (`flags`, `platforms`,
/// `relpath`) or image (`arch`, `rootid`) keys the archive has.
pub async fn get_archive_in<C: ConnectionTrait>(
    c: &C,
    archive_id: &Json,
    strict: bool,
) -> Result<Option<Json>> {
    let q = ListArchives {
        archive_id: archive_id.clone(),
        ..Default::default()
    };
    let (rows, _) = list_archives_in(c, &q).await?;
    let Some(Json::Object(mut archive)) = rows.into_iter().next() else {
        if strict {
            return Err(Error::Generic(format!(
                "No such archive: {}",
                py_str(archive_id)
            )));
        }
        return Ok(None);
    };
    let id = int_value(archive_id)?;
    let extras: [(&str, &[&str]); 3] = [
        (
            "maven_archives",
            &["archive_id", "artifact_id", "group_id", "version"],
        ),
        (
            "win_archives",
            &["archive_id", "flags", "platforms", "relpath"],
        ),
        ("image_archives", &["arch", "archive_id"]),
    ];
    for (table, cols) in extras {
        if let Some(mut m) = type_row(c, table, cols, &id).await? {
            if table == "image_archives" {
                let rpm = fetch_opt(
                    c,
                    "SELECT rpm_id FROM archive_rpm_components WHERE archive_id = ?",
                    vec![id.clone()],
                )
                .await?;
                m.insert("rootid".into(), Json::from(rpm.is_some()));
            }
            for (k, v) in m {
                if k != "archive_id" {
                    archive.insert(k, v);
                }
            }
        }
    }
    Ok(Some(Json::Object(archive)))
}

const ARCHIVETYPE_SELECT: &str =
    "SELECT compression_type, description, extensions, id, name FROM archivetypes";

fn archivetype_from_row(r: &QueryResult) -> Result<Json> {
    Ok(json!({
        "compression_type": r.opt_string("compression_type")?,
        "description": r.string("description")?,
        "extensions": r.string("extensions")?,
        "id": r.int("id")?,
        "name": r.string("name")?,
    }))
}

/// `executeOne(strict)` over archive type rows.
fn one_archivetype(rows: Vec<QueryResult>, strict: bool) -> Result<Option<Json>> {
    match rows.len() {
        0 if strict => Err(Error::generic("query returned no rows")),
        0 => Ok(None),
        n if strict && n > 1 => Err(Error::generic(
            "multiple rows returned for a single row query",
        )),
        _ => Ok(Some(archivetype_from_row(&rows[0])?)),
    }
}

/// Upstream's `get_archive_type(filename, type_name, type_id, strict)`: by
/// id, else by name, else by the longest-first extensions of `filename`
/// (matched case-insensitively against each type's `extensions`).
pub async fn get_archive_type_in<C: ConnectionTrait>(
    c: &C,
    filename: &Json,
    type_name: &Json,
    type_id: &Json,
    strict: bool,
) -> Result<Option<Json>> {
    if truthy(type_id) {
        let rows = fetch_all(
            c,
            &format!("{ARCHIVETYPE_SELECT} WHERE id = ?"),
            vec![int_value(type_id)?],
        )
        .await?;
        return one_archivetype(rows, strict);
    }
    if truthy(type_name) {
        let rows = fetch_all(
            c,
            &format!("{ARCHIVETYPE_SELECT} WHERE name = ?"),
            params![py_str(type_name)],
        )
        .await?;
        return one_archivetype(rows, strict);
    }
    if !truthy(filename) {
        return Err(Error::generic(
            "one of filename, type_name, or type_id must be specified",
        ));
    }
    let filename = check_str(filename, false)?.unwrap_or_default();
    let types: Vec<Json> = fetch_all(c, &format!("{ARCHIVETYPE_SELECT} ORDER BY id"), vec![])
        .await?
        .iter()
        .map(archivetype_from_row)
        .collect::<Result<_>>()?;
    let parts: Vec<&str> = filename.split('.').collect();
    let mut ext = String::new();
    for start in (0..parts.len()).rev() {
        ext = parts[start..].join(".");
        let re = pg_regex(&format!(r"(\s|^){ext}(\s|$)"), true)?;
        let hits: Vec<&Json> = types
            .iter()
            .filter(|t| re.is_match(t["extensions"].as_str().unwrap_or_default()))
            .collect();
        match hits.len() {
            0 => {}
            1 => return Ok(Some(hits[0].clone())),
            _ => {
                return Err(Error::Generic(format!(
                    "multiple matches for file extension: {ext}"
                )))
            }
        }
    }
    if strict {
        return Err(Error::Generic(format!("unsupported file extension: {ext}")));
    }
    Ok(None)
}

/// Upstream's `get_build_type`'s keys: the build's btypes (`build_types`
/// plus the legacy maven, win and image tables).
async fn build_type_names<C: ConnectionTrait>(c: &C, build_id: i64) -> Result<Vec<String>> {
    let mut names = vec![];
    for r in fetch_all(
        c,
        "SELECT btype.name FROM btype JOIN build_types ON build_types.btype_id = btype.id \
         WHERE build_types.build_id = ? ORDER BY btype.id",
        params![build_id],
    )
    .await?
    {
        names.push(r.string("name")?);
    }
    for (name, table) in [
        ("maven", "maven_builds"),
        ("win", "win_builds"),
        ("image", "image_builds"),
    ] {
        let hit = fetch_opt(
            c,
            &format!("SELECT build_id FROM {table} WHERE build_id = ?"),
            params![build_id],
        )
        .await?;
        if hit.is_some() && !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    Ok(names)
}

/// Upstream's `joinpath`: `base/rel`, refusing a `rel` that climbs out.
fn joinpath(base: &Path, rel: &str) -> Result<PathBuf> {
    let mut parts: Vec<&str> = vec![];
    let mut bad = rel.starts_with('/');
    for c in rel.split('/') {
        match c {
            "" | "." => {}
            ".." => bad |= parts.pop().is_none(),
            other => parts.push(other),
        }
    }
    if bad {
        return Err(py_exception(
            "ValueError",
            format!("Invalid path segment: {rel}"),
        ));
    }
    Ok(parts.iter().fold(base.to_path_buf(), |p, c| p.join(c)))
}

/// The sha256 of a file, streamed.
fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The entries of a zip file as upstream's `_get_zipfile_list` lists them
/// (`mtime` from the entry's local date and time).
fn zip_entries(archive_id: i64, path: &Path) -> Result<Vec<Json>> {
    if !path.exists() {
        return Ok(vec![]);
    }
    let bad = |e: zip::result::ZipError| py_exception("zipfile.BadZipFile", e);
    let mut zf = zip::ZipArchive::new(std::fs::File::open(path)?).map_err(bad)?;
    let mut out = vec![];
    for i in 0..zf.len() {
        let entry = zf.by_index_raw(i).map_err(bad)?;
        let mtime = entry.last_modified().map_or(0, |d| {
            local_mktime(
                d.year().into(),
                d.month().into(),
                d.day().into(),
                d.hour().into(),
                d.minute().into(),
                d.second().into(),
            )
        });
        out.push(json!({
            "archive_id": archive_id,
            "name": entry.name(),
            "size": entry.size(),
            "mtime": mtime,
        }));
    }
    Ok(out)
}

/// Python's `time.mktime` of a local date and time (DST guessed).
fn local_mktime(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
    use chrono::TimeZone;
    let Some(naive) = chrono::NaiveDate::from_ymd_opt(y, mo.max(1), d.max(1))
        .and_then(|date| date.and_hms_opt(h.min(23), mi.min(59), s.min(59)))
    else {
        return 0;
    };
    match chrono::Local.from_local_datetime(&naive).earliest() {
        Some(t) => t.timestamp(),
        None => naive.and_utc().timestamp(),
    }
}

/// The entries of a tarball (plain or gzip-compressed) as upstream's
/// `_get_tarball_list` lists them.
fn tar_entries(archive_id: i64, path: &Path) -> Result<Vec<Json>> {
    use std::io::{BufRead, BufReader, Read};
    if !path.exists() {
        return Ok(vec![]);
    }
    let mut reader = BufReader::new(std::fs::File::open(path)?);
    let gzip = reader.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let inner: Box<dyn Read> = if gzip {
        Box::new(flate2::read::GzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    let bad = |e: std::io::Error| py_exception("tarfile.ReadError", e);
    let mut archive = tar::Archive::new(inner);
    let mut out = vec![];
    for entry in archive.entries().map_err(bad)? {
        let entry = entry.map_err(bad)?;
        let h = entry.header();
        if matches!(
            h.entry_type(),
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader
        ) {
            continue;
        }
        let mut name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if h.entry_type().is_dir() && name.len() > 1 {
            name = name.trim_end_matches('/').to_string();
        }
        let text = |v: Option<&[u8]>| String::from_utf8_lossy(v.unwrap_or_default()).into_owned();
        out.push(json!({
            "archive_id": archive_id,
            "name": name,
            "size": entry.size(),
            "mtime": h.mtime().map_err(bad)?,
            "mode": h.mode().map_err(bad)?,
            "user": text(h.username_bytes()),
            "group": text(h.groupname_bytes()),
        }));
    }
    Ok(out)
}

/// The `filterOpts`-free listing of an archive's entries (upstream's
/// `list_archive_files` before `queryOpts`).
async fn archive_entries<C: ConnectionTrait>(
    c: &C,
    pathinfo: &crate::pathinfo::PathInfo,
    archive_id: &Json,
    strict: bool,
) -> Result<Vec<Json>> {
    let archive = get_archive_in(c, archive_id, true)
        .await?
        .unwrap_or_default();
    let atype = get_archive_type_in(c, &Json::Null, &Json::Null, &archive["type_id"], true)
        .await?
        .unwrap_or_default();
    let build: BuildInfo = get_build_in(c, &archive["build_id"], true)
        .await?
        .ok_or_else(|| Error::generic("No such build"))?;
    let id = archive["id"].as_i64().unwrap_or_default();
    let filename = archive["filename"].as_str().unwrap_or_default();
    let s = |k: &str| archive[k].as_str().unwrap_or_default().to_string();
    let dir = pathinfo.typedir(build.path(), archive["btype"].as_str().unwrap_or_default());
    let path = match archive["btype"].as_str() {
        Some("maven") => {
            if archive.get("group_id").is_none() {
                return Err(Error::generic("query returned no rows"));
            }
            let rel = format!(
                "{}/{}/{}/{}",
                s("group_id").replace('.', "/"),
                s("artifact_id"),
                s("version"),
                filename
            );
            joinpath(&dir, &rel)?
        }
        Some("win") => {
            if archive.get("relpath").is_none() {
                return Err(Error::generic("query returned no rows"));
            }
            let rel = match s("relpath").as_str() {
                "" => filename.to_string(),
                r => format!("{r}/{filename}"),
            };
            joinpath(&dir, &rel)?
        }
        Some("image") if archive.get("arch").is_none() => {
            return Err(Error::generic("query returned no rows"))
        }
        Some(b) if !b.is_empty() => joinpath(&dir, filename)?,
        _ => {
            return Err(Error::Generic(format!(
                "Missing build type info for archive {}",
                py_str(archive_id)
            )))
        }
    };
    let path2 = path.clone();
    match atype["compression_type"].as_str() {
        Some("zip") => blocking(move || zip_entries(id, &path2)).await,
        Some("tar") => blocking(move || tar_entries(id, &path2)).await,
        _ if strict => Err(Error::Generic(format!(
            "Unsupported archive type: {}",
            atype["name"].as_str().unwrap_or_default()
        ))),
        _ => Ok(vec![]),
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Generic(format!("worker failed: {e}")))?
}

impl Archives<'_> {
    /// `listArchives(...)`: rows as [`list_archives_in`] reads them, after
    /// `queryOpts`; with `strict`, no result is `No archives found.`.
    pub async fn list(&self, q: &ListArchives) -> Result<Json> {
        let opts = QueryOpts::parse(&q.query_opts)?;
        let (rows, columns) = list_archives_in(self.0.db().conn(), q).await?;
        let out = opts.apply(rows, &columns)?;
        if q.strict && !truthy(&out) {
            return Err(Error::generic("No archives found."));
        }
        Ok(out)
    }

    /// `getArchive(archive_id, strict=False)`.
    pub async fn get(&self, archive_id: &Json, strict: bool) -> Result<Option<Json>> {
        get_archive_in(self.0.db().conn(), archive_id, strict).await
    }

    /// `getArchiveTypes()`: every archive type, by id.
    pub async fn types(&self) -> Result<Vec<Json>> {
        fetch_all(
            self.0.db().conn(),
            &format!("{ARCHIVETYPE_SELECT} ORDER BY id"),
            vec![],
        )
        .await?
        .iter()
        .map(archivetype_from_row)
        .collect()
    }

    /// `getArchiveType(filename=None, type_name=None, type_id=None, strict=False)`.
    pub async fn get_type(
        &self,
        filename: &Json,
        type_name: &Json,
        type_id: &Json,
        strict: bool,
    ) -> Result<Option<Json>> {
        get_archive_type_in(self.0.db().conn(), filename, type_name, type_id, strict).await
    }

    /// `addArchiveType(name, description, extensions, compression_type=None)`:
    /// admin only; the name and each extension must be new.
    ///
    /// Upstream means to refuse an extension some type already lists, but
    /// its pattern loses its `\s` to string-literal escaping (so only an
    /// extension equal to a whole `extensions` value, or next to an `s`, is
    /// caught); here the whitespace-delimited check it intends is made.
    pub async fn add_type(
        &self,
        caller: &Caller,
        name: &Json,
        description: &Json,
        extensions: &Json,
        compression_type: &Json,
    ) -> Result<()> {
        caller.assert_perm("admin")?;
        let name = self.0.config().names.internal(name)?.to_string();
        let description = check_str(description, false)?.unwrap_or_default();
        let extensions = check_str(extensions, false)?.unwrap_or_default();
        let compression = check_str(compression_type, true)?;
        if !matches!(compression, None | Some("zip") | Some("tar")) {
            return Err(Error::Generic(format!(
                "Unsupported compression type {}",
                compression.unwrap_or_default()
            )));
        }
        let tx = self.0.db().begin().await?;
        let name_j = Json::from(name.as_str());
        if get_archive_type_in(&*tx, &Json::Null, &name_j, &Json::Null, false)
            .await?
            .is_some()
        {
            return Err(Error::Generic(format!("archivetype {name} already exists")));
        }
        let existing: Vec<String> = fetch_all(&*tx, "SELECT extensions FROM archivetypes", vec![])
            .await?
            .iter()
            .map(|r| r.string("extensions"))
            .collect::<Result<_>>()?;
        for ext in extensions.split(' ') {
            let bare: String = ext.chars().filter(|c| *c != '.').collect();
            if bare.is_empty() || !bare.chars().all(char::is_alphanumeric) {
                return Err(Error::Generic(format!("No such {ext} file extension")));
            }
            let re = pg_regex(&format!(r"(\s|^){ext}(\s|$)"), true)?;
            if existing.iter().any(|e| re.is_match(e)) {
                return Err(Error::Generic(format!(
                    "file extension {ext} already exists"
                )));
            }
        }
        exec(
            &*tx,
            "INSERT INTO archivetypes (name, description, extensions, compression_type) \
             VALUES (?, ?, ?, ?)",
            params![
                name,
                description.to_string(),
                extensions.to_string(),
                compression.map(str::to_string)
            ],
        )
        .await?;
        tx.commit().await
    }

    /// `listBTypes(query=None, queryOpts=None)`: `{id, name}` of the build
    /// types, optionally only the one named or numbered in `query`.
    pub async fn list_btypes(&self, query: &Json, query_opts: &Json) -> Result<Json> {
        list_btypes_in(self.0.db().conn(), query, query_opts).await
    }

    /// `addBType(name)`: admin only.
    pub async fn add_btype(&self, caller: &Caller, name: &Json) -> Result<()> {
        caller.assert_perm("admin")?;
        let name = self.0.config().names.internal(name)?.to_string();
        let tx = self.0.db().begin().await?;
        let found = list_btypes_in(&*tx, &json!({"name": name}), &Json::Null).await?;
        if truthy(&found) {
            return Err(Error::generic("btype already exists"));
        }
        exec(&*tx, "INSERT INTO btype (name) VALUES (?)", params![name]).await?;
        tx.commit().await
    }

    /// `listArchiveFiles(archive_id, queryOpts=None, strict=False)`: the
    /// entries of a zip or tar archive (an unknown archive is an error
    /// whatever `strict`; an archive that is neither is `[]`, or an error
    /// with `strict`).
    pub async fn list_files(
        &self,
        archive_id: &Json,
        query_opts: &Json,
        strict: bool,
    ) -> Result<Json> {
        let opts = QueryOpts::parse(query_opts)?;
        let rows =
            archive_entries(self.0.db().conn(), &self.0.pathinfo(), archive_id, strict).await?;
        opts.apply_loose(rows)
    }

    /// `getArchiveFile(archive_id, filename, strict=False)`: the entry named
    /// `filename`, or `None` (an error with `strict`).
    pub async fn get_file(
        &self,
        archive_id: &Json,
        filename: &Json,
        strict: bool,
    ) -> Result<Option<Json>> {
        let rows =
            archive_entries(self.0.db().conn(), &self.0.pathinfo(), archive_id, strict).await?;
        if let Some(hit) = rows.into_iter().find(|r| &r["name"] == filename) {
            return Ok(Some(hit));
        }
        if strict {
            return Err(Error::Generic(format!(
                "No such file: {} in archive#{}",
                py_str(filename),
                py_str(archive_id)
            )));
        }
        Ok(None)
    }

    /// `importArchive(filepath, buildinfo, type, typeInfo)`: imports a file
    /// uploaded below `<topdir>/work` into a build. As upstream's hub (with
    /// `EnableMaven` and `EnableWin` off, its defaults) only `image` archives
    /// are accepted; they need `image-import`. The file moves to the build's
    /// `images` directory, leaving a relative symlink behind; the
    /// `archiveinfo` row gets its size and sha256. A failure leaves neither
    /// rows nor a moved file.
    pub async fn import(
        &self,
        caller: &Caller,
        filepath: &Json,
        buildinfo: &Json,
        kind: &Json,
        type_info: &Json,
    ) -> Result<()> {
        match kind.as_str() {
            Some("maven") => return Err(Error::generic("Maven support not enabled")),
            Some("win") => return Err(Error::generic("Windows support not enabled")),
            Some("image") => caller.assert_perm("image-import")?,
            _ => {
                return Err(Error::Generic(format!(
                    "unsupported archive type: {}",
                    py_str(kind)
                )))
            }
        }
        let kind = "image";
        let pathinfo = self.0.pathinfo();
        let tx = self.0.db().begin().await?;
        let build = get_build_in(&*tx, buildinfo, true)
            .await?
            .ok_or_else(|| Error::generic("No such build"))?;
        let rel = py_str(filepath);
        if rel.split('/').any(|c| c == "..") {
            return Err(py_exception(
                "ValueError",
                format!("Invalid path segment: {rel}"),
            ));
        }
        let src = PathBuf::from(format!("{}/{rel}", pathinfo.work(None).display()));
        if build.draft {
            return Err(Error::generic("Draft build not supported"));
        }
        let src_meta = match std::fs::symlink_metadata(&src) {
            Ok(m) if std::fs::metadata(&src).is_ok() => m,
            _ => return Err(Error::Generic(format!("No such file: {}", src.display()))),
        };
        // nothing is read through a symbolic link below the work directory
        assert_no_linked_dirs(&pathinfo.work(None), &rel)?;
        let filename = src
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let size = std::fs::metadata(&src)?.len() as i64;
        let sum_path = src.clone();
        let checksum = blocking(move || Ok(sha256_file(&sum_path)?)).await?;
        let atype = get_archive_type_in(
            &*tx,
            &Json::from(filename.as_str()),
            &Json::Null,
            &Json::Null,
            true,
        )
        .await?
        .unwrap_or_default();
        let btype = lookup_name(&*tx, "btype", &Json::from(kind), false, false)
            .await?
            .ok_or_else(|| Error::Build(format!("unsupported build type: {kind}")))?;
        if !build_type_names(&*tx, build.id)
            .await?
            .contains(&btype.name)
        {
            return Err(Error::Import(format!(
                "Build does not have type {}",
                btype.name
            )));
        }
        let arch = match info_get(type_info, "arch") {
            Some(a) => py_str(a),
            None if type_info.is_object() => {
                return Err(py_exception("KeyError", py_repr(&Json::from("arch"))))
            }
            None => {
                return Err(py_exception(
                    "TypeError",
                    format!("'{}' object is not subscriptable", py_type_of(type_info)),
                ))
            }
        };
        let row = fetch_one(
            &*tx,
            "INSERT INTO archiveinfo (type_id, btype_id, build_id, buildroot_id, filename, \
             size, checksum, checksum_type, metadata_only) \
             VALUES (?, ?, ?, NULL, ?, ?, ?, ?, FALSE) RETURNING id",
            params![
                atype["id"].as_i64().unwrap_or_default(),
                btype.id,
                build.id,
                filename.clone(),
                size,
                checksum,
                CHECKSUM_SHA256
            ],
        )
        .await?;
        let archive_id = row.int("id")?;
        exec(
            &*tx,
            "INSERT INTO image_archives (archive_id, arch) VALUES (?, ?)",
            params![archive_id, arch],
        )
        .await?;

        // the file last: a refusal here rolls the rows back
        let destdir = pathinfo.typedir(build.path(), kind);
        let dest = destdir.join(&filename);
        if dest.exists() || std::fs::symlink_metadata(&dest).is_ok() {
            return Err(Error::Generic(format!(
                "Error importing archive file, {} already exists",
                dest.display()
            )));
        }
        if src_meta.file_type().is_symlink() || !src_meta.is_file() {
            return Err(Error::Generic(format!(
                "Error importing archive file, {} is not a regular file",
                src.display()
            )));
        }
        assert_no_linked_dirs(&pathinfo.work(None), &rel)?;
        move_and_symlink(&src, &dest)?;
        if let Err(e) = tx.commit().await {
            // put the upload back where it was
            let _ = std::fs::remove_file(&src);
            let _ = std::fs::rename(&dest, &src);
            return Err(e);
        }
        Ok(())
    }
}

/// Refuses a `rel` path below `work` whose directories (every component
/// but the last, which the caller checks) include a symbolic link, as the
/// upload area does: an upload must not reach outside the work directory.
fn assert_no_linked_dirs(work: &Path, rel: &str) -> Result<()> {
    let comps: Vec<&str> = rel
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    let mut p = work.to_path_buf();
    for c in comps.iter().take(comps.len().saturating_sub(1)) {
        p.push(c);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                tracing::warn!(path = %p.display(), "archive import through a symbolic link refused");
                return Err(Error::Generic(format!(
                    "Error importing archive file, {} is a symbolic link",
                    p.display()
                )));
            }
            Ok(m) if m.is_dir() => {}
            _ => {
                return Err(Error::Generic(format!(
                    "Error importing archive file, {} is not a directory",
                    p.display()
                )))
            }
        }
    }
    Ok(())
}

/// Upstream's `list_btypes(query, queryOpts)` on any connection.
pub async fn list_btypes_in<C: ConnectionTrait>(
    c: &C,
    query: &Json,
    query_opts: &Json,
) -> Result<Json> {
    let opts = QueryOpts::parse(query_opts)?;
    let mut w = Where::new();
    match query {
        Json::Null => {}
        Json::Object(m) => {
            if let Some(name) = m.get("name") {
                w.and("btype.name = ?", params![py_str(name)]);
            }
            if let Some(id) = m.get("id") {
                w.and("btype.id = ?", vec![int_value(id)?]);
            }
        }
        other => {
            return Err(py_exception(
                "AttributeError",
                format!("'{}' object has no attribute 'copy'", py_type_of(other)),
            ))
        }
    }
    let sql = format!(
        "SELECT btype.id, btype.name FROM btype{} ORDER BY btype.id",
        w.sql()
    );
    let rows = fetch_all(c, &sql, w.params)
        .await?
        .iter()
        .map(|r| Ok(json!({"id": r.int("id")?, "name": r.string("name")?})))
        .collect::<Result<Vec<_>>>()?;
    opts.apply(rows, &Columns::sorted(&["id", "name"]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_links_climb_to_the_common_root() {
        assert_eq!(
            crate::hub::builds::relpath(
                Path::new("/k/packages/a/1/2/images/x.iso"),
                Path::new("/k/work/up")
            ),
            PathBuf::from("../../packages/a/1/2/images/x.iso")
        );
    }

    #[test]
    fn joinpath_refuses_escapes() {
        assert!(joinpath(Path::new("/k"), "../x").is_err());
        assert_eq!(
            joinpath(Path::new("/k"), "a/./b").unwrap(),
            PathBuf::from("/k/a/b")
        );
    }
}
