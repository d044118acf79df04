//! RPMs (`rpminfo`), their signatures (`rpmsigs`), signed copies and their
//! checksums (`rpm_checksum`), and what is read from RPM files: headers,
//! dependencies, file lists and changelogs.
//!
//! Helpers other areas reuse, on any connection or inside the caller's
//! transaction:
//! - [`get_rpm_in`] — upstream's `get_rpm` (id, N-V-R.A[@location] string
//!   or map; with `multi`, every match);
//! - [`list_rpms_in`] — upstream's `list_rpms`.

pub mod header;
mod tagtable;

use super::builds::{
    get_build_in, lexists, new_build_in, parse_nvr, relpath, BuildInfo, NewBuild, Trash,
};
use super::names::NameRules;
use super::query_opts::{Columns, QueryOpts};
use super::tags::lookup_name;
use super::{Caller, Hub};
use crate::api::{py_type_of, truthy};
use crate::db::{exec, fetch_all, fetch_opt, RowExt, Tx, Value, Where};
use crate::error::{Error, Result};
use crate::model::BuildState;
use crate::params;
use crate::pathinfo::{check_component, PathInfo, RpmPath};
use crate::util::{py_repr, py_str};
use header::{hex, RawHeader, RpmHeaders};
use md5::Digest as _;
use sea_orm::{ConnectionTrait, QueryResult};
use serde::Serialize;
use serde_json::{json, Map, Value as Json};
use std::path::{Path, PathBuf};

pub struct Rpms<'a>(pub(super) &'a Hub);

/// An RPM as upstream's `getRPM` returns it (its query's columns, sorted
/// by alias).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RpmInfo {
    pub arch: String,
    pub build_id: Option<i64>,
    pub buildroot_id: Option<i64>,
    pub buildtime: i64,
    pub draft: Option<bool>,
    pub epoch: Option<i64>,
    pub external_repo_id: i64,
    pub external_repo_name: Option<String>,
    pub extra: Option<Json>,
    pub id: i64,
    pub metadata_only: bool,
    pub name: String,
    pub payloadhash: String,
    pub release: String,
    pub size: i64,
    pub version: String,
}

impl RpmInfo {
    pub fn path(&self) -> RpmPath<'_> {
        RpmPath {
            name: &self.name,
            version: &self.version,
            release: &self.release,
            arch: &self.arch,
        }
    }

    pub fn nvra(&self) -> String {
        format!(
            "{}-{}-{}.{}",
            self.name, self.version, self.release, self.arch
        )
    }

    pub fn to_json(&self) -> Json {
        serde_json::to_value(self).unwrap_or(Json::Null)
    }
}

const RPM_SELECT: &str = "SELECT rpminfo.id, rpminfo.build_id, rpminfo.buildroot_id, \
     rpminfo.name, rpminfo.version, rpminfo.release, rpminfo.epoch, rpminfo.arch, \
     rpminfo.draft, rpminfo.external_repo_id, external_repo.name AS external_repo_name, \
     rpminfo.payloadhash, rpminfo.size, rpminfo.buildtime, rpminfo.metadata_only, \
     rpminfo.extra FROM rpminfo";

fn rpm_from_row(r: &QueryResult) -> Result<RpmInfo> {
    let extra = match r.opt_string("extra")? {
        None => None,
        Some(s) => Some(
            serde_json::from_str(&s)
                .map_err(|e| Error::Generic(format!("Invalid rpm extra data: {e}")))?,
        ),
    };
    Ok(RpmInfo {
        arch: r.string("arch")?,
        build_id: r.opt_int("build_id")?,
        buildroot_id: r.opt_int("buildroot_id")?,
        buildtime: r.int("buildtime")?,
        draft: r.opt_bool("draft")?,
        epoch: r.opt_int("epoch")?,
        external_repo_id: r.int("external_repo_id")?,
        external_repo_name: r.opt_string("external_repo_name")?,
        extra,
        id: r.int("id")?,
        metadata_only: r.boolean("metadata_only")?,
        name: r.string("name")?,
        payloadhash: r.string("payloadhash")?,
        release: r.string("release")?,
        size: r.int("size")?,
        version: r.string("version")?,
    })
}

fn key_error(key: &str) -> Error {
    Error::Fault {
        code: 1,
        message: format!("<class 'KeyError'>: {}", py_repr(&Json::from(key))),
    }
}

/// Python's `int(str)` for the id-as-string form.
fn py_int(s: &str) -> Option<i64> {
    let t = s.trim().replace('_', "");
    t.parse().ok()
}

/// Upstream's `koji.parse_NVRA` as the map it returns.
pub fn parse_nvra_map(nvra: &str) -> Result<Map<String, Json>> {
    let (rest, location) = match nvra.split_once('@') {
        Some((n, l)) => (n, Some(l)),
        None => (nvra, None),
    };
    let rest = rest.strip_suffix(".rpm").unwrap_or(rest);
    let p3 = rest
        .rfind('.')
        .filter(|p| *p != rest.len() - 1)
        .ok_or_else(|| Error::Generic(format!("invalid format: {rest}")))?;
    let (n, v, r, e) = parse_nvr(&rest[..p3])?;
    let arch = &rest[p3 + 1..];
    let mut m = Map::new();
    m.insert("name".into(), n.into());
    m.insert("version".into(), v.into());
    m.insert("release".into(), r.into());
    m.insert("epoch".into(), e.into());
    m.insert("arch".into(), arch.into());
    m.insert("src".into(), Json::Bool(arch == "src"));
    if let Some(l) = location.filter(|l| !l.is_empty()) {
        m.insert("location".into(), l.into());
    }
    Ok(m)
}

fn sql_value(v: &Json) -> Value {
    match v {
        Json::Number(n) if n.is_i64() => n.as_i64().into(),
        Json::Bool(b) => (*b as i64).into(),
        other => py_str(other).into(),
    }
}

/// Upstream's `get_rpm`: with `multi`, every match (a list); otherwise
/// the preferred match (internal non-draft, newest draft, newest
/// external), or None, or with `strict` a GenericError.
pub async fn get_rpm_in<C: ConnectionTrait>(
    c: &C,
    info: &Json,
    strict: bool,
    multi: bool,
) -> Result<Json> {
    let (data, rpms) = find_rpms_in(c, info).await?;
    if multi {
        return Ok(Json::Array(rpms.iter().map(RpmInfo::to_json).collect()));
    }
    match pick_rpm(&data, rpms)? {
        Some(r) => Ok(r.to_json()),
        None if strict => Err(Error::Generic(format!(
            "No such rpm: {}",
            py_repr(&Json::Object(data))
        ))),
        None => Ok(Json::Null),
    }
}

/// [`get_rpm_in`] as an [`RpmInfo`] (never `multi`).
pub async fn get_rpm_info_in<C: ConnectionTrait>(
    c: &C,
    info: &Json,
    strict: bool,
) -> Result<Option<RpmInfo>> {
    let (data, rpms) = find_rpms_in(c, info).await?;
    match pick_rpm(&data, rpms)? {
        Some(r) => Ok(Some(r)),
        None if strict => Err(Error::Generic(format!(
            "No such rpm: {}",
            py_repr(&Json::Object(data))
        ))),
        None => Ok(None),
    }
}

fn pick_rpm(data: &Map<String, Json>, rpms: Vec<RpmInfo>) -> Result<Option<RpmInfo>> {
    if rpms.len() <= 1 {
        return Ok(rpms.into_iter().next());
    }
    let (mut nondraft, mut draft, mut external): (
        Option<RpmInfo>,
        Option<RpmInfo>,
        Option<RpmInfo>,
    ) = (None, None, None);
    for r in rpms {
        let slot = if r.external_repo_id != 0 {
            &mut external
        } else if r.draft == Some(true) {
            &mut draft
        } else {
            if nondraft.is_some() {
                return Err(Error::Generic(format!(
                    "Multiple nondraft rpm matches for: {}",
                    py_repr(&Json::Object(data.clone()))
                )));
            }
            &mut nondraft
        };
        if slot.as_ref().is_none_or(|s| r.id > s.id) {
            *slot = Some(r);
        }
    }
    Ok(nondraft.or(draft).or(external))
}

async fn find_rpms_in<C: ConnectionTrait>(
    c: &C,
    info: &Json,
) -> Result<(Map<String, Json>, Vec<RpmInfo>)> {
    let mut data = match info {
        Json::Number(n) if n.is_i64() => {
            let mut m = Map::new();
            m.insert("id".into(), info.clone());
            m
        }
        Json::String(s) => match py_int(s) {
            Some(id) => {
                let mut m = Map::new();
                m.insert("id".into(), id.into());
                m
            }
            None => parse_nvra_map(s)?,
        },
        Json::Object(m) => m.clone(),
        other => {
            return Err(Error::Generic(format!(
                "Invalid type for rpminfo: <class '{}'>",
                py_type_of(other)
            )))
        }
    };
    let mut w = Where::new();
    if let Some(id) = data.get("id") {
        w.and("rpminfo.id = ?", vec![sql_value(id)]);
    } else {
        let mut vals = vec![];
        for k in ["name", "version", "release", "arch"] {
            vals.push(sql_value(data.get(k).ok_or_else(|| key_error(k))?));
        }
        w.and(
            "rpminfo.name = ? AND rpminfo.version = ? AND rpminfo.release = ? AND rpminfo.arch = ?",
            vals,
        );
    }
    if let Some(loc) = data.get("location").cloned() {
        let repo = lookup_name(c, "external_repo", &loc, true, false)
            .await?
            .ok_or_else(|| Error::generic("no external repo"))?;
        data.insert("external_repo_id".into(), repo.id.into());
        w.and("rpminfo.external_repo_id = ?", params![repo.id]);
    }
    let rows = fetch_all(
        c,
        &format!(
            "{RPM_SELECT} JOIN external_repo ON rpminfo.external_repo_id = external_repo.id{} \
             ORDER BY rpminfo.id",
            w.sql()
        ),
        w.params,
    )
    .await?;
    let rpms = rows.iter().map(rpm_from_row).collect::<Result<Vec<_>>>()?;
    Ok((data, rpms))
}

/// The filters of upstream's `list_rpms`.
#[derive(Debug, Clone, Default)]
pub struct ListRpms {
    pub build_id: Option<i64>,
    pub buildroot_id: Option<i64>,
    pub image_id: Option<i64>,
    pub component_buildroot_id: Option<i64>,
    pub host_id: Option<i64>,
    /// None, a string or a list of arches.
    pub arches: Json,
    pub draft: Option<bool>,
}

const LIST_COLUMNS: &[&str] = &[
    "id",
    "name",
    "version",
    "release",
    "nvr",
    "arch",
    "epoch",
    "draft",
    "payloadhash",
    "size",
    "buildtime",
    "build_id",
    "buildroot_id",
    "external_repo_id",
    "external_repo_name",
    "metadata_only",
    "extra",
];

/// Upstream's `list_rpms`, with `queryOpts` applied.
pub async fn list_rpms_in<C: ConnectionTrait>(
    c: &C,
    f: &ListRpms,
    opts: &QueryOpts,
) -> Result<Json> {
    let mut joins =
        String::from(" LEFT JOIN external_repo ON rpminfo.external_repo_id = external_repo.id");
    let mut extra_cols = String::new();
    let mut w = Where::new();
    let mut names: Vec<&str> = LIST_COLUMNS.to_vec();
    if let Some(b) = f.build_id {
        w.and("rpminfo.build_id = ?", params![b]);
    }
    if let Some(b) = f.buildroot_id {
        w.and("rpminfo.buildroot_id = ?", params![b]);
    }
    if let Some(b) = f.component_buildroot_id {
        names.extend(["component_buildroot_id", "is_update"]);
        extra_cols.push_str(
            ", buildroot_listing.buildroot_id AS component_buildroot_id, \
             buildroot_listing.is_update",
        );
        joins.push_str(" JOIN buildroot_listing ON rpminfo.id = buildroot_listing.rpm_id");
        w.and("buildroot_listing.buildroot_id = ?", params![b]);
    }
    if let Some(i) = f.image_id {
        joins
            .push_str(" JOIN archive_rpm_components ON rpminfo.id = archive_rpm_components.rpm_id");
        w.and("archive_rpm_components.archive_id = ?", params![i]);
    }
    if let Some(h) = f.host_id {
        joins.push_str(
            " JOIN standard_buildroot ON rpminfo.buildroot_id = standard_buildroot.buildroot_id",
        );
        w.and("standard_buildroot.host_id = ?", params![h]);
    }
    match &f.arches {
        Json::Null => {}
        Json::String(a) => {
            w.and("rpminfo.arch = ?", params![a.clone()]);
        }
        Json::Array(list) if list.is_empty() => {
            w.and("1 = 0", vec![]);
        }
        Json::Array(list) => {
            let marks = vec!["?"; list.len()].join(", ");
            w.and(
                format!("rpminfo.arch IN ({marks})"),
                list.iter().map(sql_value).collect(),
            );
        }
        other => {
            return Err(Error::Generic(format!(
                "Invalid type for \"arches\" parameter: <class '{}'>",
                py_type_of(other)
            )))
        }
    }
    match f.draft {
        Some(true) => w.and("rpminfo.draft IS TRUE", vec![]),
        Some(false) => w.and("rpminfo.draft IS NOT TRUE", vec![]),
        None => &mut w,
    };
    let select = RPM_SELECT.replacen(" FROM rpminfo", &format!("{extra_cols} FROM rpminfo"), 1);
    let sql = format!("{select}{joins}{} ORDER BY rpminfo.id", w.sql());
    let rows = fetch_all(c, &sql, w.params).await?;
    let mut out = vec![];
    for r in &rows {
        let info = rpm_from_row(r)?;
        let mut m = match info.to_json() {
            Json::Object(m) => m,
            _ => Map::new(),
        };
        m.insert(
            "nvr".into(),
            format!("{}-{}-{}", info.name, info.version, info.release).into(),
        );
        if f.component_buildroot_id.is_some() {
            m.insert(
                "component_buildroot_id".into(),
                r.opt_int("component_buildroot_id")?.into(),
            );
            m.insert("is_update".into(), r.boolean("is_update")?.into());
        }
        let mut sorted: Vec<(String, Json)> = m.into_iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        out.push(Json::Object(sorted.into_iter().collect()));
    }
    let mut cols = Columns::sorted(&names);
    for n in LIST_COLUMNS {
        if *n != "nvr" && *n != "external_repo_name" {
            cols = cols.expr(&format!("rpminfo.{n}"), n);
        }
    }
    cols = cols.expr("external_repo.name", "external_repo_name");
    opts.apply(out, &cols)
}

/// Upstream's `set_tag_update(tag, 'IMPORT')` for every tag the build is in.
async fn note_import_in(tx: &mut Tx, build_id: i64, user_id: i64) -> Result<()> {
    let event = tx.event().await?;
    let tags = fetch_all(
        &**tx,
        "SELECT DISTINCT tag_id FROM tag_listing WHERE build_id = ? AND active = TRUE",
        params![build_id],
    )
    .await?;
    for t in tags {
        exec(
            &**tx,
            "INSERT INTO tag_updates (tag_id, update_event, updater_id, update_type) \
             VALUES (?, ?, ?, 1)",
            params![t.int("tag_id")?, event, user_id],
        )
        .await?;
    }
    Ok(())
}

/// Upstream's `new_typed_build(build, 'rpm')`.
pub(crate) async fn mark_rpm_build_in(tx: &Tx, build_id: i64) -> Result<()> {
    let btype = fetch_opt(&**tx, "SELECT id FROM btype WHERE name = 'rpm'", vec![])
        .await?
        .ok_or_else(|| Error::generic("No such entry in table btype: rpm"))?
        .int("id")?;
    let have = fetch_opt(
        &**tx,
        "SELECT build_id FROM build_types WHERE build_id = ? AND btype_id = ?",
        params![build_id, btype],
    )
    .await?;
    if have.is_none() {
        exec(
            &**tx,
            "INSERT INTO build_types (build_id, btype_id) VALUES (?, ?)",
            params![build_id, btype],
        )
        .await?;
    }
    Ok(())
}

/// The checksum types upstream's `koji.CHECKSUM_TYPES` knows, by number.
const CHECKSUM_TYPES: &[&str] = &["md5", "sha1", "sha256"];
/// Upstream's hub option `RPMDefaultChecksums`.
const DEFAULT_CHECKSUMS: &[&str] = &["md5", "sha256"];

fn checksum_num(name: &str) -> Option<i64> {
    CHECKSUM_TYPES
        .iter()
        .position(|t| *t == name)
        .map(|i| i as i64)
}

/// The name of a stored checksum type; an unknown number (a row written
/// by something else) is an error, not a panic.
fn checksum_name(num: i64) -> Result<&'static str> {
    usize::try_from(num)
        .ok()
        .and_then(|i| CHECKSUM_TYPES.get(i).copied())
        .ok_or_else(|| Error::Generic(format!("Unknown checksum type: {num}")))
}

/// Several digests of one stream (upstream's `MultiSum`).
struct MultiSum(Vec<(String, Hasher)>);

enum Hasher {
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

impl MultiSum {
    fn new(types: &[String]) -> MultiSum {
        MultiSum(
            types
                .iter()
                .map(|t| {
                    let h = match t.as_str() {
                        "md5" => Hasher::Md5(md5::Md5::new()),
                        "sha1" => Hasher::Sha1(sha1::Sha1::new()),
                        _ => Hasher::Sha256(sha2::Sha256::new()),
                    };
                    (t.clone(), h)
                })
                .collect(),
        )
    }

    fn update(&mut self, buf: &[u8]) {
        for (_, h) in &mut self.0 {
            match h {
                Hasher::Md5(x) => x.update(buf),
                Hasher::Sha1(x) => x.update(buf),
                Hasher::Sha256(x) => x.update(buf),
            }
        }
    }

    fn hexdigests(self) -> Vec<(String, String)> {
        self.0
            .into_iter()
            .map(|(t, h)| {
                let d = match h {
                    Hasher::Md5(x) => hex(&x.finalize()),
                    Hasher::Sha1(x) => hex(&x.finalize()),
                    Hasher::Sha256(x) => hex(&x.finalize()),
                };
                (t, d)
            })
            .collect()
    }
}

fn check_checksum_types(types: &[String]) -> Result<()> {
    for t in types {
        if checksum_num(t).is_none() {
            return Err(Error::Generic(format!("Checksum_type {t} isn't supported")));
        }
    }
    Ok(())
}

/// Upstream's `create_rpm_checksum`.
async fn create_rpm_checksum_in<C: ConnectionTrait>(
    c: &C,
    rpm_id: i64,
    sigkey: &str,
    sums: Vec<(String, String)>,
) -> Result<()> {
    let mut sums = sums;
    let nums: Vec<i64> = sums.iter().filter_map(|(t, _)| checksum_num(t)).collect();
    let marks = vec!["?"; nums.len()].join(", ");
    let mut p = params![sigkey.to_string(), rpm_id];
    p.extend(nums.iter().map(|n| Value::from(*n)));
    let rows = fetch_all(
        c,
        &format!(
            "SELECT checksum_type, checksum, sigkey, rpm_id FROM rpm_checksum \
             WHERE sigkey = ? AND rpm_id = ? AND checksum_type IN ({marks})"
        ),
        p,
    )
    .await?;
    if rows.len() == nums.len() {
        return Ok(());
    }
    for r in &rows {
        let t = checksum_name(r.int("checksum_type")?)?;
        let have = r.string("checksum")?;
        if let Some(pos) = sums.iter().position(|(n, _)| n == t) {
            if sums[pos].1 == have {
                sums.remove(pos);
            } else {
                return Err(Error::Generic(format!(
                    "Calculate checksum is different than checksum in DB for rpm ID {}, \
                     sigkey {} and checksum type {t}.",
                    r.int("rpm_id")?,
                    r.string("sigkey")?
                )));
            }
        }
    }
    sums.sort();
    for (t, sum) in sums {
        exec(
            c,
            "INSERT INTO rpm_checksum (rpm_id, sigkey, checksum, checksum_type) \
             VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            params![rpm_id, sigkey.to_string(), sum, checksum_num(&t)],
        )
        .await?;
    }
    Ok(())
}

/// Upstream's `koji.util.parseTime`: a `YYYY-MM-DD[ HH:MM:SS]` text
/// anywhere in the string, as UTC seconds.
fn parse_time(s: &str) -> Option<i64> {
    let re = regex::Regex::new(r"(\d+)-(\d+)-(\d+)").ok()?;
    let m = re.captures(s)?;
    let num = |i: usize| m.get(i).and_then(|g| g.as_str().parse::<u32>().ok());
    let (y, mo, d) = (num(1)?, num(2)?, num(3)?);
    let rest = s[m.get(0)?.end()..].trim();
    let tre = regex::Regex::new(r"(\d+):(\d+):(\d+)").ok()?;
    let (h, mi, se) = match tre.captures(rest) {
        Some(t) => {
            let n = |i: usize| t.get(i).and_then(|g| g.as_str().parse::<u32>().ok());
            (n(1)?, n(2)?, n(3)?)
        }
        None => (0, 0, 0),
    };
    let date = chrono::NaiveDate::from_ymd_opt(y as i32, mo, d)?;
    Some(date.and_hms_opt(h, mi, se)?.and_utc().timestamp())
}

/// A `before`/`after` argument of `getChangelogEntries`.
fn time_arg(name: &str, v: &Json) -> Result<Option<i64>> {
    if !truthy(v) {
        return Ok(None);
    }
    match v {
        Json::String(s) => Ok(parse_time(s)),
        Json::Number(n) if n.is_i64() => Ok(n.as_i64()),
        Json::Bool(b) => Ok(Some(*b as i64)),
        other => Err(Error::Generic(format!(
            "Invalid type for {name}: <class '{}'>",
            py_type_of(other)
        ))),
    }
}

fn destination_exists(dst: &Path) -> Error {
    Error::Generic(format!("Destination exists: {}", dst.display()))
}

/// Moves the uploaded file into place, leaving a relative symlink behind
/// (upstream's `move_and_symlink`). Like upstream's `safer_move` it never
/// replaces anything at `dst` (a dangling link included); on any failure
/// the file is back at `src`.
pub(crate) fn move_and_symlink(src: &Path, dst: &Path) -> Result<()> {
    use std::io::ErrorKind;
    if let Some(d) = dst.parent() {
        std::fs::create_dir_all(d)?;
    }
    if lexists(dst) {
        return Err(destination_exists(dst));
    }
    // a hard link, unlike rename, fails when dst appeared meanwhile
    match std::fs::hard_link(src, dst) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => return Err(destination_exists(dst)),
        Err(_) => {
            // another filesystem (or no hard links): copy into a new file
            if let Err(e) = copy_new(src, dst) {
                if !matches!(&e, Error::Generic(_)) {
                    let _ = std::fs::remove_file(dst);
                }
                return Err(e);
            }
        }
    }
    if let Err(e) = std::fs::remove_file(src) {
        let _ = std::fs::remove_file(dst);
        return Err(e.into());
    }
    let link = relpath(dst, src.parent().unwrap_or(Path::new("/")));
    if let Err(e) = std::os::unix::fs::symlink(&link, src) {
        undo_move(src, dst);
        return Err(e.into());
    }
    Ok(())
}

/// Copies `src` to `dst`, which must not exist yet.
fn copy_new(src: &Path, dst: &Path) -> Result<()> {
    let mut input = std::fs::File::open(src)?;
    let mut out = match std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(dst)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(destination_exists(dst))
        }
        Err(e) => return Err(e.into()),
    };
    std::io::copy(&mut input, &mut out)?;
    out.sync_all()?;
    std::fs::set_permissions(dst, input.metadata()?.permissions())?;
    Ok(())
}

/// Puts the file back where it was (a failed import): the link left at
/// `src` goes, the file moves back from `dst`.
fn undo_move(src: &Path, dst: &Path) {
    if std::fs::symlink_metadata(src).is_ok_and(|m| m.file_type().is_symlink()) {
        let _ = std::fs::remove_file(src);
    }
    if lexists(src) {
        tracing::error!(path = %src.display(), "cannot put an import back: its place is taken");
        return;
    }
    if std::fs::rename(dst, src).is_err() && copy_new(dst, src).is_ok() {
        let _ = std::fs::remove_file(dst);
    }
}

/// The file `importRPM(path, basename)` names: `<work>/<path>/<basename>`,
/// confined to the work directory. The joined path is normalised as
/// uploads are; a path leaving the work directory (`..`, absolute) is
/// refused, and so is a symbolic link at any step below it. Answers the
/// file and the name upstream shows in messages.
fn import_source(work: &Path, path: &Json, basename: &Json) -> Result<(PathBuf, String)> {
    let (path, basename) = (py_str(path), py_str(basename));
    let shown = format!("{}/{path}/{basename}", work.display());
    let missing = || Error::Generic(format!("No such file: {shown}"));
    if shown.contains('\0') {
        return Err(missing());
    }
    let rel = super::uploads::normpath(&format!("{path}/{basename}"));
    if rel.starts_with('/') || rel == ".." || rel.starts_with("../") {
        return Err(Error::Fault {
            code: 1,
            message: format!("<class 'ValueError'>: Invalid path segment: {path}/{basename}"),
        });
    }
    let comps: Vec<&str> = rel.split('/').collect();
    let mut p = work.to_path_buf();
    for (i, c) in comps.iter().enumerate() {
        p.push(c);
        let meta = match std::fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
            Err(e) => return Err(e.into()),
        };
        let last = i + 1 == comps.len();
        if !last {
            if meta.file_type().is_symlink() {
                tracing::warn!(path = %p.display(), "import through a symbolic link refused");
                return Err(Error::Generic(format!("Invalid upload directory: {path}")));
            }
            if !meta.is_dir() {
                return Err(missing());
            }
        } else if meta.file_type().is_symlink() || !meta.is_file() {
            if std::fs::metadata(&p).is_err() {
                return Err(missing());
            }
            return Err(Error::Generic(format!(
                "Error importing archive file, {shown} is not a regular file"
            )));
        }
    }
    Ok((p, shown))
}

/// Upstream's `filedigestAlgo`.
fn digest_algo(h: &RpmHeaders) -> String {
    let id = h.get(5011).as_int().filter(|i| *i != 0);
    match id {
        None | Some(1) => "md5",
        Some(2) => "sha1",
        Some(3) => "ripemd160",
        Some(8) => "sha256",
        Some(9) => "sha384",
        Some(10) => "sha512",
        Some(11) => "sha224",
        _ => "unknown",
    }
    .to_string()
}

/// The file rows of an RPM: `(name, digest, size, flags, user, group,
/// mtime, mode)` per file.
fn file_rows(h: &RpmHeaders) -> Result<Vec<[Json; 8]>> {
    let col = |n: &str| -> Result<Vec<Json>> {
        Ok(match h.field(n)?.to_json() {
            Json::Array(a) => a,
            Json::Null => vec![],
            other => vec![other],
        })
    };
    let names = col("filenames")?;
    let cols = [
        col("filemd5s")?,
        col("filesizes")?,
        col("fileflags")?,
        col("fileusername")?,
        col("filegroupname")?,
        col("filemtimes")?,
        col("filemodes")?,
    ];
    let n = cols.iter().map(Vec::len).fold(names.len(), usize::min);
    Ok((0..n)
        .map(|i| {
            [
                names[i].clone(),
                cols[0][i].clone(),
                cols[1][i].clone(),
                cols[2][i].clone(),
                cols[3][i].clone(),
                cols[4][i].clone(),
                cols[5][i].clone(),
                cols[6][i].clone(),
            ]
        })
        .collect())
}

/// The signature key id in a signature header, or `""` when unsigned,
/// and the header's SIGMD5, checked against `rinfo` (upstream's
/// `add_rpm_sig` reading of the header).
fn sighdr_key(sighdr: &[u8], rinfo: &RpmInfo, rpm_path: &Path) -> Result<String> {
    let raw = RawHeader::new(sighdr)?;
    let md5 = raw.get_bin(header::SIGTAG_MD5).map(hex).unwrap_or_default();
    let packet: Option<Vec<u8>> = if md5 == rinfo.payloadhash {
        raw.sig_packet().map(<[u8]>::to_vec)
    } else {
        // read it again as rpm would, spliced with the package's headers
        if !rpm_path.exists() {
            return Err(Error::Generic(format!(
                "No such path: {}",
                rpm_path.display()
            )));
        }
        if !rpm_path.is_file() {
            return Err(Error::Generic(format!(
                "Not a regular file: {}",
                rpm_path.display()
            )));
        }
        let mut spliced = vec![];
        header::read_spliced(sighdr, rpm_path, |b| spliced.extend_from_slice(b))?;
        let tmp = tempfile::NamedTempFile::new()?;
        std::fs::write(tmp.path(), &spliced)?;
        let h = RpmHeaders::read(tmp.path())?;
        let md5 = h.sigmd5_hex();
        if md5 != rinfo.payloadhash {
            return Err(Error::Generic(format!(
                "wrong md5 for {}: {md5}",
                rinfo.nvra()
            )));
        }
        ["siggpg", "sigpgp", "dsaheader", "rsaheader"]
            .iter()
            .filter_map(|n| h.field(n).ok())
            .find_map(|v| v.as_bytes().filter(|b| !b.is_empty()).map(<[u8]>::to_vec))
    };
    match packet {
        None => Ok(String::new()),
        Some(p) => header::sigpacket_key_id(&p),
    }
}

/// Upstream's `add_rpm_sig` inside the caller's transaction: records the
/// signature and returns the signature-cache file to write (path and
/// bytes); the caller writes it once the rows are in.
async fn add_rpm_sig_in(
    tx: &Tx,
    pathinfo: &PathInfo,
    an_rpm: &Json,
    sighdr: &[u8],
) -> Result<(PathBuf, Vec<u8>)> {
    let rinfo = get_rpm_info_in(&**tx, an_rpm, true)
        .await?
        .ok_or_else(|| Error::generic("no rpm"))?;
    if rinfo.external_repo_id != 0 {
        return Err(Error::Generic(format!(
            "Not an internal rpm: {} (from {})",
            py_str(an_rpm),
            rinfo.external_repo_name.clone().unwrap_or_default()
        )));
    }
    let binfo = build_of(&**tx, &rinfo).await?;
    let builddir = binfo.dir(pathinfo);
    if !builddir.is_dir() {
        return Err(Error::Generic(format!(
            "No such directory: {}",
            builddir.display()
        )));
    }
    let rpm_path = builddir.join(PathInfo::rpm(rinfo.path()));
    let sigkey = sighdr_key(sighdr, &rinfo, &rpm_path)?;
    let sighash = hex(&md5::Md5::digest(sighdr));
    let dup = fetch_opt(
        &**tx,
        "SELECT rpm_id FROM rpmsigs WHERE rpm_id = ? AND sigkey = ?",
        params![rinfo.id, sigkey.clone()],
    )
    .await?;
    if dup.is_some() {
        return Err(Error::Generic(format!(
            "Signature already exists for package {}, key {sigkey}",
            rinfo.nvra()
        )));
    }
    exec(
        &**tx,
        "INSERT INTO rpmsigs (rpm_id, sigkey, sighash) VALUES (?, ?, ?)",
        params![rinfo.id, sigkey.clone(), sighash],
    )
    .await?;
    let sigpath = builddir.join(PathInfo::sighdr(rinfo.path(), &sigkey));
    Ok((sigpath, sighdr.to_vec()))
}

fn write_file(path: &Path, data: &[u8]) -> Result<()> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    std::fs::write(path, data)?;
    Ok(())
}

async fn build_of<C: ConnectionTrait>(c: &C, rinfo: &RpmInfo) -> Result<BuildInfo> {
    let id = rinfo.build_id.map_or(Json::Null, Json::from);
    get_build_in(c, &id, true)
        .await?
        .ok_or_else(|| Error::Generic(format!("No such build: {}", py_repr(&id))))
}

/// A path below a task's directory, refused when it escapes it.
fn task_file(pathinfo: &PathInfo, task_id: &Json, filepath: &Json) -> Result<PathBuf> {
    let filepath = match filepath {
        Json::String(s) if !s.is_empty() => s.clone(),
        v if !truthy(v) => return Err(Error::generic("filepath must be specified with taskID")),
        other => py_str(other),
    };
    if filepath.starts_with('/') || filepath.contains("../") {
        return Err(Error::Generic(format!("Invalid filepath: {filepath}")));
    }
    let id = match task_id {
        Json::Number(n) if n.is_i64() => n.as_i64().unwrap_or_default(),
        other => {
            return Err(Error::Fault {
                code: 1,
                message: format!(
                "<class 'TypeError'>: not all arguments converted during string formatting ({})",
                py_type_of(other)
            ),
            })
        }
    };
    Ok(pathinfo
        .work(None)
        .join(PathInfo::taskrelpath(id))
        .join(filepath))
}

/// The dependency kinds of `getRPMDeps`, in upstream's order, with
/// their `koji.DEP_*` numbers.
const DEP_TYPES: &[(&str, i64)] = &[
    ("REQUIRE", 0),
    ("PROVIDE", 1),
    ("CONFLICT", 3),
    ("OBSOLETE", 2),
    ("SUGGEST", 4),
    ("ENHANCE", 5),
    ("SUPPLEMENT", 6),
    ("RECOMMEND", 7),
];

fn as_list(v: Json) -> Vec<Json> {
    match v {
        Json::Array(a) => a,
        Json::Null => vec![],
        other => vec![other],
    }
}

impl Rpms<'_> {
    /// `getRPM(rpminfo, strict=False, multi=False)`.
    pub async fn get(&self, info: &Json, strict: bool, multi: bool) -> Result<Json> {
        get_rpm_in(self.0.db().conn(), info, strict, multi).await
    }

    /// `listRPMs(...)`.
    pub async fn list(&self, f: &ListRpms, opts: &QueryOpts) -> Result<Json> {
        list_rpms_in(self.0.db().conn(), f, opts).await
    }

    /// `listBuildRPMs(build)`.
    pub async fn list_build_rpms(&self, build: &Json) -> Result<Json> {
        let c = self.0.db().conn();
        let id = match build {
            Json::Number(n) if n.is_i64() => n.as_i64(),
            other => super::builds::find_build_id_in(c, other, true).await?,
        };
        let f = ListRpms {
            build_id: id,
            ..Default::default()
        };
        list_rpms_in(c, &f, &QueryOpts::default()).await
    }

    /// `importRPM(path, basename)`: imports an uploaded RPM (admin).
    pub async fn import(&self, caller: &Caller, path: &Json, basename: &Json) -> Result<Json> {
        caller.assert_perm("admin")?;
        let pathinfo = self.0.pathinfo();
        let (fn_path, fname) = import_source(&pathinfo.work(None), path, basename)?;
        let user_id = caller.user_id()?;
        let mut tx = self.0.db().begin().await?;
        let imported = import_rpm_in(
            &mut tx,
            &self.0.config().names,
            caller,
            &pathinfo,
            &fn_path,
            &fname,
            None,
            None,
        )
        .await?;
        if let Err(e) = note_import_in(&mut tx, imported.build_id, user_id).await {
            imported.undo();
            return Err(e);
        }
        let committed = match imported.write_sighdr() {
            Ok(()) => tx.commit().await,
            Err(e) => Err(e),
        };
        if let Err(e) = committed {
            imported.undo();
            return Err(e);
        }
        Ok(imported.answer)
    }

    /// `addExternalRPM(rpminfo, external_repo, strict=True)` (admin).
    pub async fn add_external(
        &self,
        caller: &Caller,
        rpminfo: &Json,
        external_repo: &Json,
        strict: bool,
    ) -> Result<Json> {
        caller.assert_perm("admin")?;
        let Json::Object(given) = rpminfo else {
            return Err(Error::Fault {
                code: 1,
                message: format!(
                    "<class 'TypeError'>: argument of type '{}' is not iterable",
                    py_type_of(rpminfo)
                ),
            });
        };
        type Check = (&'static str, fn(&Json) -> bool);
        let checks: [Check; 8] = [
            ("name", |v| v.is_string()),
            ("version", |v| v.is_string()),
            ("release", |v| v.is_string()),
            ("epoch", |v| v.is_null() || v.is_i64() || v.is_boolean()),
            ("arch", |v| v.is_string()),
            ("payloadhash", |v| v.is_string()),
            ("size", |v| v.is_i64() || v.is_boolean()),
            ("buildtime", |v| v.is_i64() || v.is_boolean()),
        ];
        let mut data = Map::new();
        for (field, ok) in checks {
            let v = given.get(field).ok_or_else(|| {
                Error::Generic(format!("{field} field missing: {}", py_repr(rpminfo)))
            })?;
            if !ok(v) {
                return Err(Error::Generic(format!(
                    "Invalid value for {field}: {}",
                    py_repr(v)
                )));
            }
            data.insert(field.into(), v.clone());
        }
        let num = |v: &Json| match v {
            Json::Bool(b) => Some(*b as i64),
            other => other.as_i64(),
        };
        let mut tx = self.0.db().begin().await?;
        let check_dup = |prev: RpmInfo| -> Result<Json> {
            let disp = format!(
                "{}@{}",
                prev.nvra(),
                prev.external_repo_name.clone().unwrap_or_default()
            );
            if strict {
                return Err(Error::Generic(format!(
                    "external rpm already exists: {disp}"
                )));
            }
            let hash = py_str(&data["payloadhash"]);
            if hash != prev.payloadhash {
                return Err(Error::Generic(format!(
                    "hash changed for external rpm: {disp} ({} -> {hash})",
                    prev.payloadhash
                )));
            }
            Ok(prev.to_json())
        };
        let mut lookup = data.clone();
        lookup.insert("location".into(), external_repo.clone());
        if let Some(prev) = get_rpm_info_in(&*tx, &Json::Object(lookup), false).await? {
            return check_dup(prev).map(|_| Json::Null);
        }
        let repo = lookup_name(&*tx, "external_repo", external_repo, true, false)
            .await?
            .ok_or_else(|| Error::generic("no external repo"))?;
        tx.event().await?;
        exec(
            &*tx,
            "INSERT INTO rpminfo (build_id, buildroot_id, name, version, release, epoch, arch, \
             draft, external_repo_id, payloadhash, size, buildtime) \
             VALUES (NULL, NULL, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)",
            params![
                py_str(&data["name"]),
                py_str(&data["version"]),
                py_str(&data["release"]),
                num(&data["epoch"]),
                py_str(&data["arch"]),
                repo.id,
                py_str(&data["payloadhash"]),
                num(&data["size"]),
                num(&data["buildtime"])
            ],
        )
        .await?;
        tx.commit().await?;
        // upstream's call returns nothing
        Ok(Json::Null)
    }

    /// `addRPMSig(an_rpm, data)` (sign): `data` is the base64 signature header.
    pub async fn add_sig(&self, caller: &Caller, an_rpm: &Json, data: &Json) -> Result<()> {
        caller.assert_perm("sign")?;
        let sighdr = b64decode(data)?;
        let pathinfo = self.0.pathinfo();
        let mut tx = self.0.db().begin().await?;
        tx.event().await?;
        let (sigpath, bytes) = add_rpm_sig_in(&tx, &pathinfo, an_rpm, &sighdr).await?;
        write_file(&sigpath, &bytes)?;
        if let Err(e) = tx.commit().await {
            let _ = std::fs::remove_file(&sigpath);
            return Err(e);
        }
        Ok(())
    }

    /// `queryRPMSigs(rpm_id=None, sigkey=None, queryOpts=None)`.
    pub async fn query_sigs(&self, rpm_id: &Json, sigkey: &Json, opts: &QueryOpts) -> Result<Json> {
        query_rpm_sigs_in(self.0.db().conn(), rpm_id, sigkey, opts).await
    }

    /// `deleteRPMSig(rpminfo, sigkey=None, all_sigs=False)` (admin).
    pub async fn delete_sig(
        &self,
        caller: &Caller,
        rpminfo: &Json,
        sigkey: &Json,
        all_sigs: bool,
    ) -> Result<()> {
        caller.assert_perm("admin")?;
        let sigkey = if all_sigs {
            Json::Null
        } else if !truthy(sigkey) {
            return Err(Error::generic("No signature specified"));
        } else {
            sigkey.clone()
        };
        let pathinfo = self.0.pathinfo();
        let mut tx = self.0.db().begin().await?;
        let rinfo = get_rpm_info_in(&*tx, rpminfo, true)
            .await?
            .ok_or_else(|| Error::generic("no rpm"))?;
        let nvra = rinfo.nvra();
        if rinfo.external_repo_id != 0 {
            return Err(Error::Generic(format!(
                "Not an internal rpm: {} (from {})",
                py_str(rpminfo),
                rinfo.external_repo_name.clone().unwrap_or_default()
            )));
        }
        let found =
            query_rpm_sigs_in(&*tx, &json!(rinfo.id), &sigkey, &QueryOpts::default()).await?;
        let found: Vec<(String, String)> = found
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|r| (py_str(&r["sigkey"]), py_str(&r["sighash"])))
                    .collect()
            })
            .unwrap_or_default();
        if found.is_empty() {
            return Err(Error::Generic(format!(
                "{nvra} has no matching signatures to delete"
            )));
        }
        tx.event().await?;
        for (key, _) in &found {
            for table in ["rpmsigs", "rpm_checksum"] {
                exec(
                    &*tx,
                    &format!("DELETE FROM {table} WHERE rpm_id = ? AND sigkey = ?"),
                    params![rinfo.id, key.clone()],
                )
                .await?;
            }
        }
        let binfo = build_of(&*tx, &rinfo).await?;
        let builddir = binfo.dir(&pathinfo);
        // every file change is made now and undone if anything fails up to
        // the commit: backups are renames, deletions are set aside
        let mut renames = vec![];
        let mut deletes = vec![];
        for (key, hash) in &found {
            let hdr_path = builddir.join(PathInfo::sighdr(rinfo.path(), key));
            let backup = PathBuf::from(format!("{}.{hash}.save", hdr_path.display()));
            if !hdr_path.exists() {
                tracing::error!(path = %hdr_path.display(), "missing signature header file");
                continue;
            }
            if !hdr_path.is_file() {
                return Err(Error::Generic(format!(
                    "Not a regular file: {}",
                    hdr_path.display()
                )));
            }
            if backup.exists() {
                if std::fs::read(&hdr_path)? == std::fs::read(&backup)? {
                    deletes.push(hdr_path);
                } else {
                    return Err(Error::Generic(format!(
                        "Stray header backup file: {}",
                        backup.display()
                    )));
                }
            } else {
                renames.push((hdr_path, backup));
            }
        }
        let mut trash = Trash::default();
        let mut backed_up: Vec<(PathBuf, PathBuf)> = vec![];
        let undo = |trash: Trash, backed_up: &[(PathBuf, PathBuf)]| {
            for (from, to) in backed_up.iter().rev() {
                if let Err(e) = std::fs::rename(to, from) {
                    tracing::error!(error = %e, "cannot restore {}", from.display());
                }
            }
            trash.restore();
        };
        let mut files = || -> Result<()> {
            for (key, _) in &found {
                let signed = builddir.join(PathInfo::signed(rinfo.path(), key));
                if !signed.exists() {
                    continue;
                }
                if trash.set_aside(&signed).is_err() {
                    return Err(Error::Generic(format!(
                        "Failed to delete {}",
                        signed.display()
                    )));
                }
            }
            for (from, to) in &renames {
                match std::fs::rename(from, to) {
                    Ok(()) => backed_up.push((from.clone(), to.clone())),
                    Err(e) => tracing::error!(error = %e, "failed to back up {}", from.display()),
                }
            }
            for p in &deletes {
                if trash.set_aside(p).is_err() {
                    return Err(Error::Generic(format!("Failed to delete {}", p.display())));
                }
            }
            Ok(())
        };
        if let Err(e) = files() {
            undo(trash, &backed_up);
            return Err(e);
        }
        if let Err(e) = tx.commit().await {
            undo(trash, &backed_up);
            return Err(e);
        }
        trash.empty();
        Ok(())
    }

    /// `writeSignedRPM(an_rpm, sigkey, force=False)` (sign).
    pub async fn write_signed(
        &self,
        caller: &Caller,
        an_rpm: &Json,
        sigkey: &Json,
        force: bool,
    ) -> Result<()> {
        caller.assert_perm("sign")?;
        let types: Vec<String> = DEFAULT_CHECKSUMS.iter().map(|s| s.to_string()).collect();
        check_checksum_types(&types)?;
        let sigkey = py_str(sigkey).to_lowercase();
        let pathinfo = self.0.pathinfo();
        let mut tx = self.0.db().begin().await?;
        let rinfo = get_rpm_info_in(&*tx, an_rpm, true)
            .await?
            .ok_or_else(|| Error::generic("no rpm"))?;
        if rinfo.external_repo_id != 0 {
            return Err(Error::Generic(format!(
                "Not an internal rpm: {} (from {})",
                py_str(an_rpm),
                rinfo.external_repo_name.clone().unwrap_or_default()
            )));
        }
        let binfo = build_of(&*tx, &rinfo).await?;
        let nvra = rinfo.nvra();
        let builddir = binfo.dir(&pathinfo);
        let rpm_path = builddir.join(PathInfo::rpm(rinfo.path()));
        if !rpm_path.exists() {
            return Err(Error::Generic(format!(
                "No such path: {}",
                rpm_path.display()
            )));
        }
        if !rpm_path.is_file() {
            return Err(Error::Generic(format!(
                "Not a regular file: {}",
                rpm_path.display()
            )));
        }
        let have = fetch_opt(
            &*tx,
            "SELECT sighash FROM rpmsigs WHERE rpm_id = ? AND sigkey = ?",
            params![rinfo.id, sigkey.clone()],
        )
        .await?;
        if have.is_none() {
            return Err(Error::Generic(format!(
                "No cached signature for package {nvra}, key {sigkey}"
            )));
        }
        let signed = builddir.join(PathInfo::signed(rinfo.path(), &sigkey));
        tx.event().await?;
        if signed.exists() && !force {
            let mut sum = MultiSum::new(&types);
            read_file_chunks(&signed, |b| sum.update(b))?;
            create_rpm_checksum_in(&*tx, rinfo.id, &sigkey, sum.hexdigests()).await?;
            tx.commit().await?;
            return Ok(());
        }
        // the new copy is made in a temporary file beside its place; the
        // old one (with force) stays until the rows are in
        let sigpath = builddir.join(PathInfo::sighdr(rinfo.path(), &sigkey));
        let sighdr = std::fs::read(&sigpath)?;
        let mut sum = MultiSum::new(&types);
        let tmp = header::splice_sighdr_temp(&sighdr, &rpm_path, &signed, |b| sum.update(b))?;
        create_rpm_checksum_in(&*tx, rinfo.id, &sigkey, sum.hexdigests()).await?;
        // in place before the commit (the old copy set aside), undone if
        // the commit fails; the temporary file goes away on any error
        let mut trash = Trash::default();
        trash.set_aside(&signed)?;
        if let Err(e) = tmp.persist_noclobber(&signed) {
            trash.restore();
            return Err(Error::Io(e.error));
        }
        if let Err(e) = tx.commit().await {
            let _ = std::fs::remove_file(&signed);
            trash.restore();
            return Err(e);
        }
        trash.empty();
        Ok(())
    }

    /// `getRPMChecksums(rpm_id, checksum_types=None, cacheonly=False)`.
    pub async fn checksums(
        &self,
        rpm_id: &Json,
        checksum_types: &Json,
        cacheonly: bool,
    ) -> Result<Json> {
        let Some(id) = rpm_id.as_i64().filter(|_| rpm_id.is_i64()) else {
            return Err(Error::generic("rpm_id must be an integer"));
        };
        let c = self.0.db().conn();
        let rinfo = get_rpm_info_in(c, rpm_id, true)
            .await?
            .ok_or_else(|| Error::generic("no rpm"))?;
        let types: Vec<String> = if !truthy(checksum_types) {
            DEFAULT_CHECKSUMS.iter().map(|s| s.to_string()).collect()
        } else {
            match checksum_types {
                Json::Array(a) => a.iter().map(py_str).collect(),
                _ => return Err(Error::generic("checksum_type must be a list")),
            }
        };
        check_checksum_types(&types)?;
        let mut uniq: Vec<String> = vec![];
        for t in types {
            if !uniq.contains(&t) {
                uniq.push(t);
            }
        }
        let sigkeys: Vec<String> = fetch_all(
            c,
            "SELECT sigkey FROM rpmsigs WHERE rpm_id = ? ORDER BY sigkey",
            params![id],
        )
        .await?
        .iter()
        .map(|r| r.string("sigkey"))
        .collect::<Result<_>>()?;
        if sigkeys.is_empty() {
            return Ok(json!({}));
        }
        let read = |c| {
            let nums: Vec<i64> = uniq.iter().filter_map(|t| checksum_num(t)).collect();
            async move {
                let marks = vec!["?"; nums.len()].join(", ");
                let mut p = params![id];
                p.extend(nums.iter().map(|n| Value::from(*n)));
                fetch_all(
                    c,
                    &format!(
                        "SELECT checksum, checksum_type, sigkey FROM rpm_checksum \
                         WHERE rpm_id = ? AND checksum_type IN ({marks})"
                    ),
                    p,
                )
                .await
            }
        };
        let rows = read(c).await?;
        let output = |rows: &[QueryResult]| -> Result<Json> {
            let mut out = Map::new();
            for k in &sigkeys {
                let m: Map<String, Json> = uniq.iter().map(|t| (t.clone(), Json::Null)).collect();
                out.insert(k.clone(), Json::Object(m));
            }
            for r in rows {
                let t = checksum_name(r.int("checksum_type")?)?;
                if let Some(Json::Object(m)) = out.get_mut(&r.string("sigkey")?) {
                    m.insert(t.to_string(), r.string("checksum")?.into());
                }
            }
            Ok(Json::Object(out))
        };
        if rows.len() == uniq.len() * sigkeys.len() || cacheonly {
            return output(&rows);
        }
        let mut missing: Vec<(String, Vec<String>)> =
            sigkeys.iter().map(|k| (k.clone(), uniq.clone())).collect();
        for r in &rows {
            let t = checksum_name(r.int("checksum_type")?)?;
            let k = r.string("sigkey")?;
            if let Some((_, types)) = missing.iter_mut().find(|(s, _)| *s == k) {
                types.retain(|x| x != t);
            }
        }
        missing.retain(|(_, t)| !t.is_empty());
        let pathinfo = self.0.pathinfo();
        let binfo = build_of(c, &rinfo).await?;
        let builddir = binfo.dir(&pathinfo);
        let rpm_path = builddir.join(PathInfo::rpm(rinfo.path()));
        let mut tx = self.0.db().begin().await?;
        tx.event().await?;
        for (sigkey, types) in missing {
            let signed = builddir.join(PathInfo::signed(rinfo.path(), &sigkey));
            let mut sum = MultiSum::new(&types);
            if signed.exists() {
                read_file_chunks(&signed, |b| sum.update(b))?;
            } else {
                let sigpath = builddir.join(PathInfo::sighdr(rinfo.path(), &sigkey));
                let sighdr = std::fs::read(&sigpath)?;
                header::read_spliced(&sighdr, &rpm_path, |b| sum.update(b))?;
            }
            create_rpm_checksum_in(&*tx, id, &sigkey, sum.hexdigests()).await?;
        }
        tx.commit().await?;
        let rows = read(c).await?;
        output(&rows)
    }

    /// The path of an internal RPM's file, or why there is none.
    async fn internal_rpm_file(&self, rinfo: &RpmInfo) -> Result<PathBuf> {
        let binfo = build_of(self.0.db().conn(), rinfo).await?;
        Ok(binfo
            .dir(&self.0.pathinfo())
            .join(PathInfo::rpm(rinfo.path())))
    }

    /// `getRPMHeaders(rpmID=None, taskID=None, filepath=None, headers=None, strict=False)`.
    pub async fn headers(
        &self,
        rpm_id: &Json,
        task_id: &Json,
        filepath: &Json,
        headers: &Json,
        strict: bool,
    ) -> Result<Json> {
        let c = self.0.db().conn();
        let path = if truthy(rpm_id) {
            let Some(rinfo) = get_rpm_info_in(c, rpm_id, strict).await? else {
                return Ok(json!({}));
            };
            if rinfo.external_repo_id != 0 {
                if strict {
                    return Err(Error::Generic(format!("External rpm: {}", rinfo.id)));
                }
                return Ok(json!({}));
            }
            let binfo = build_of(c, &rinfo).await?;
            if binfo.state() == Some(BuildState::Deleted) {
                if strict {
                    return Err(Error::Generic(format!("Build {} is deleted", binfo.nvr)));
                }
                return Ok(json!({}));
            }
            let path = binfo
                .dir(&self.0.pathinfo())
                .join(PathInfo::rpm(rinfo.path()));
            if !path.exists() {
                if strict {
                    return Err(Error::Generic(format!(
                        "Missing rpm file: {}",
                        path.display()
                    )));
                }
                tracing::error!(path = %path.display(), "missing rpm file");
                return Ok(json!({}));
            }
            path
        } else if truthy(task_id) {
            let path = task_file(&self.0.pathinfo(), task_id, filepath)?;
            if !path.exists() {
                if strict {
                    return Err(Error::Generic(format!(
                        "Missing rpm file: {}",
                        path.display()
                    )));
                }
                return Ok(json!({}));
            }
            path
        } else {
            return Err(Error::generic(
                "either rpmID or taskID and filepath must be specified",
            ));
        };
        let names: Option<Vec<String>> = match headers {
            Json::Null => None,
            Json::Array(a) => Some(a.iter().map(py_str).collect()),
            Json::String(s) => Some(s.chars().map(String::from).collect()),
            other => {
                return Err(Error::Fault {
                    code: 1,
                    message: format!(
                        "<class 'TypeError'>: '{}' object is not iterable",
                        py_type_of(other)
                    ),
                })
            }
        };
        let hdr = RpmHeaders::read(&path)?;
        Ok(Json::Object(hdr.fields(names.as_deref())?))
    }

    /// `getRPMDeps(rpmID, depType=None, queryOpts=None, strict=False)`.
    pub async fn deps(
        &self,
        rpm_id: &Json,
        dep_type: &Json,
        opts: &QueryOpts,
        strict: bool,
    ) -> Result<Json> {
        let c = self.0.db().conn();
        let Some(rinfo) = get_rpm_info_in(c, rpm_id, strict).await? else {
            return opts.apply_loose(vec![]);
        };
        if rinfo.build_id.is_none() {
            if strict {
                return Err(Error::Generic(format!(
                    "Can not get dependencies, because RPM: {} is not internal",
                    py_str(rpm_id)
                )));
            }
            return opts.apply_loose(vec![]);
        }
        let path = self.internal_rpm_file(&rinfo).await?;
        if !path.exists() {
            if strict {
                return Err(Error::Generic(format!(
                    "RPM file of {} doesn't exist",
                    py_str(rpm_id)
                )));
            }
            return opts.apply_loose(vec![]);
        }
        let hdr = RpmHeaders::read(&path)?;
        let mut out = vec![];
        for (dep, id) in DEP_TYPES {
            if !dep_type.is_null() && dep_type.as_i64() != Some(*id) {
                continue;
            }
            let names = as_list(hdr.field(&format!("{dep}NAME"))?.to_json());
            let versions = as_list(hdr.field(&format!("{dep}VERSION"))?.to_json());
            let flags = as_list(hdr.field(&format!("{dep}FLAGS"))?.to_json());
            for ((n, v), f) in names.into_iter().zip(versions).zip(flags) {
                out.push(if opts.as_list {
                    json!([n, v, f, id])
                } else {
                    json!({"name": n, "version": v, "flags": f, "type": id})
                });
            }
        }
        opts.apply_loose(out)
    }

    /// `listRPMFiles(rpmID, queryOpts=None)`.
    pub async fn files(&self, rpm_id: &Json, opts: &QueryOpts) -> Result<Json> {
        let c = self.0.db().conn();
        let rinfo = match get_rpm_info_in(c, rpm_id, false).await? {
            Some(r) if r.build_id.is_some() => r,
            _ => return opts.apply_loose(vec![]),
        };
        let path = self.internal_rpm_file(&rinfo).await?;
        if !path.exists() {
            return opts.apply_loose(vec![]);
        }
        let hdr = RpmHeaders::read(&path)?;
        let algo = digest_algo(&hdr);
        let rows = file_rows(&hdr)?
            .into_iter()
            .map(|[name, digest, size, flags, user, group, mtime, mode]| {
                if opts.as_list {
                    json!([name, digest, size, flags, algo, user, group, mtime, mode])
                } else {
                    json!({"name": name, "digest": digest, "digest_algo": algo,
                           "md5": digest, "size": size, "flags": flags, "user": user,
                           "group": group, "mtime": mtime, "mode": mode})
                }
            })
            .collect();
        opts.apply_loose(rows)
    }

    /// `getRPMFile(rpmID, filename, strict=False)`.
    pub async fn file(&self, rpm_id: &Json, filename: &Json, strict: bool) -> Result<Json> {
        let c = self.0.db().conn();
        let Some(rinfo) = get_rpm_info_in(c, rpm_id, strict).await? else {
            return Ok(json!({}));
        };
        if rinfo.build_id.is_none() {
            if strict {
                return Err(Error::Generic(format!(
                    "Can not get RPM file, because RPM: {} is not internal",
                    py_str(rpm_id)
                )));
            }
            return Ok(json!({}));
        }
        let path = self.internal_rpm_file(&rinfo).await?;
        if !path.exists() {
            if strict {
                return Err(Error::Generic(format!(
                    "RPM package file of {} doesn't exist",
                    py_str(rpm_id)
                )));
            }
            return Ok(json!({}));
        }
        let hdr = RpmHeaders::read(&path)?;
        let algo = digest_algo(&hdr);
        for [name, digest, size, flags, user, group, mtime, mode] in file_rows(&hdr)? {
            if &name == filename {
                return Ok(json!({"rpm_id": rinfo.id, "name": name, "digest": digest,
                    "digest_algo": algo, "md5": digest, "size": size, "flags": flags,
                    "user": user, "group": group, "mtime": mtime, "mode": mode}));
            }
        }
        if strict {
            return Err(Error::Generic(format!(
                "No file: {} found in RPM: {}",
                py_str(filename),
                py_str(rpm_id)
            )));
        }
        Ok(json!({}))
    }

    /// `getChangelogEntries(buildID=None, taskID=None, filepath=None,
    /// author=None, before=None, after=None, queryOpts=None, strict=False)`.
    #[allow(clippy::too_many_arguments)]
    pub async fn changelog(
        &self,
        build_id: &Json,
        task_id: &Json,
        filepath: &Json,
        author: &Json,
        before: &Json,
        after: &Json,
        opts: &QueryOpts,
        strict: bool,
    ) -> Result<Json> {
        let mut opts = opts.clone();
        if let Some(o) = opts.order.as_deref() {
            if o == "date" || o == "-date" {
                opts.order = Some(o.replace("date", "date_ts"));
            }
        }
        let c = self.0.db().conn();
        let path = if truthy(build_id) {
            let Some(binfo) = get_build_in(c, build_id, false).await? else {
                if strict {
                    return Err(Error::Generic(format!(
                        "No such build: {}",
                        py_str(build_id)
                    )));
                }
                return opts.apply_loose(vec![]);
            };
            let f = ListRpms {
                build_id: Some(binfo.id),
                arches: json!("src"),
                ..Default::default()
            };
            let srpms = list_rpms_in(c, &f, &QueryOpts::default()).await?;
            let Some(srpm) = srpms.as_array().and_then(|a| a.first()).cloned() else {
                if strict {
                    return Err(Error::Generic(format!(
                        "Build {} doesn't have srpms",
                        py_str(build_id)
                    )));
                }
                return opts.apply_loose(vec![]);
            };
            let rp = RpmPath {
                name: srpm["name"].as_str().unwrap_or_default(),
                version: srpm["version"].as_str().unwrap_or_default(),
                release: srpm["release"].as_str().unwrap_or_default(),
                arch: srpm["arch"].as_str().unwrap_or_default(),
            };
            binfo.dir(&self.0.pathinfo()).join(PathInfo::rpm(rp))
        } else if truthy(task_id) {
            task_file(&self.0.pathinfo(), task_id, filepath)?
        } else {
            return Err(Error::generic(
                "either buildID or taskID and filepath must be specified",
            ));
        };
        if !path.exists() {
            if strict {
                return Err(Error::Generic(format!(
                    "SRPM {} doesn't exist",
                    path.display()
                )));
            }
            return opts.apply_loose(vec![]);
        }
        let before = time_arg("before", before)?;
        let after = time_arg("after", after)?;
        let hdr = RpmHeaders::read(&path)?;
        let times = hdr.field("changelogtime")?.list();
        let names = hdr.field("changelogname")?.list();
        let texts = hdr.field("changelogtext")?.list();
        let mut out = vec![];
        for ((t, n), x) in times.iter().zip(names.iter()).zip(texts.iter()) {
            let t = t.as_int().unwrap_or_default();
            let name = n.as_str().unwrap_or_default().to_string();
            let text = x.as_str().unwrap_or_default().to_string();
            if truthy(author) && py_str(author) != name {
                continue;
            }
            if before.is_some_and(|b| b != 0 && t >= b) {
                continue;
            }
            if after.is_some_and(|a| a != 0 && t <= a) {
                continue;
            }
            let date = chrono::DateTime::from_timestamp(t, 0)
                .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default();
            let (name, text) = (
                header::remove_nonprintable(&name),
                header::remove_nonprintable(&text),
            );
            out.push(if opts.as_list {
                json!([date, name, text])
            } else {
                json!({"date": date, "date_ts": t, "author": name, "text": text})
            });
        }
        opts.apply_loose(out)
    }
}

/// Upstream's `query_rpm_sigs`.
pub async fn query_rpm_sigs_in<C: ConnectionTrait>(
    c: &C,
    rpm_id: &Json,
    sigkey: &Json,
    opts: &QueryOpts,
) -> Result<Json> {
    let mut w = Where::new();
    let id = match rpm_id {
        Json::Null => None,
        Json::Number(n) if n.is_i64() => n.as_i64(),
        other => match get_rpm_info_in(c, other, false).await? {
            Some(r) => Some(r.id),
            None => return Ok(json!([])),
        },
    };
    if let Some(id) = id {
        w.and("rpm_id = ?", params![id]);
    }
    if !sigkey.is_null() {
        w.and("sigkey = ?", params![py_str(sigkey).to_lowercase()]);
    }
    let rows = fetch_all(
        c,
        &format!(
            "SELECT rpm_id, sigkey, sighash FROM rpmsigs{} ORDER BY rpm_id, sigkey",
            w.sql()
        ),
        w.params,
    )
    .await?;
    let rows = rows
        .iter()
        .map(|r| {
            Ok(
                json!({"rpm_id": r.int("rpm_id")?, "sighash": r.string("sighash")?,
                      "sigkey": r.string("sigkey")?}),
            )
        })
        .collect::<Result<Vec<_>>>()?;
    opts.apply(rows, &Columns::sorted(&["rpm_id", "sigkey", "sighash"]))
}

/// Python's `base64.b64decode` of a str (characters outside the alphabet
/// are dropped; bad padding is an error).
fn b64decode(data: &Json) -> Result<Vec<u8>> {
    let text = match data {
        Json::String(s) => s.clone(),
        other => {
            return Err(Error::Fault {
                code: 1,
                message: format!(
                    "<class 'TypeError'>: argument should be a bytes-like object or ASCII \
                     string, not '{}'",
                    py_type_of(other)
                ),
            })
        }
    };
    let clean: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
        .collect();
    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, clean.as_bytes()).map_err(
        |_| Error::Fault {
            code: 1,
            message: "<class 'binascii.Error'>: Incorrect padding".into(),
        },
    )
}

fn read_file_chunks(path: &Path, mut each: impl FnMut(&[u8])) -> Result<()> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)
        .map_err(|e| Error::Generic(format!("File {} cannot be read -- {e}", path.display())))?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        each(&buf[..n]);
    }
}

/// One RPM file imported inside a transaction (upstream's `import_rpm`
/// and `import_rpm_file`): its rows are written and the file has moved
/// into its build; the signature header still has to be written
/// ([`ImportedRpm::write_sighdr`]) and, if the transaction does not
/// commit, everything undone ([`ImportedRpm::undo`]).
pub(crate) struct ImportedRpm {
    pub build_id: i64,
    /// What `importRPM` answers.
    pub answer: Json,
    moved_from: PathBuf,
    moved_to: PathBuf,
    sighdr: (PathBuf, Vec<u8>),
}

impl ImportedRpm {
    pub(crate) fn write_sighdr(&self) -> Result<()> {
        write_file(&self.sighdr.0, &self.sighdr.1)
    }

    /// Puts the file back where it came from and drops the signature
    /// header (after a failed commit).
    pub(crate) fn undo(&self) {
        let _ = std::fs::remove_file(&self.sighdr.0);
        undo_move(&self.moved_from, &self.moved_to);
    }
}

/// Imports the RPM at `fn_path` (below the work directory) in `tx`. A
/// source RPM makes its build unless `into` names it; a binary RPM joins
/// the build of its source RPM (which must be `into` when given).
/// `buildroot` is the buildroot it was built in.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn import_rpm_in(
    tx: &mut Tx,
    names: &NameRules,
    caller: &Caller,
    pathinfo: &PathInfo,
    fn_path: &Path,
    fname: &str,
    into: Option<&BuildInfo>,
    buildroot: Option<i64>,
) -> Result<ImportedRpm> {
    let hdr = RpmHeaders::read(fn_path)?;
    let field = |n: &str| hdr.field(n);
    let name = field("name")?.to_json();
    let version = field("version")?.to_json();
    let release = field("release")?.to_json();
    let epoch = field("epoch")?.to_json();
    let sourcepackage = field("sourcepackage")?.to_json();
    let mut arch = field("arch")?.to_json();
    let buildtime = field("buildtime")?.to_json();
    let sourcerpm = field("sourcerpm")?.to_json();
    let is_src = sourcepackage == json!(1);
    if is_src {
        arch = json!("src");
    }
    let base = fn_path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let expected = format!(
        "{}-{}-{}.{}.rpm",
        py_str(&name),
        py_str(&version),
        py_str(&release),
        py_str(&arch)
    );
    if base != expected {
        return Err(Error::Generic(format!(
            "bad filename: {base} (expected {expected})"
        )));
    }
    // they become directory and file names (ARCH/N-V-R.ARCH.rpm)
    for (what, v) in [
        ("rpm name", &name),
        ("rpm version", &version),
        ("rpm release", &release),
        ("rpm arch", &arch),
    ] {
        check_component(what, &py_str(v))?;
    }
    let nvr_map = json!({"name": name, "version": version, "release": release});
    let build = if let Some(b) = into {
        let srpm_nvr = format!(
            "{}-{}-{}",
            py_str(&name),
            py_str(&version),
            py_str(&release)
        );
        let matches = if is_src {
            srpm_nvr == b.nvr
        } else {
            sourcerpm.as_str().and_then(|s| s.strip_suffix(".src.rpm")) == Some(b.nvr.as_str())
        };
        if !matches {
            return Err(Error::Generic(format!(
                "srpm mismatch for {}: {} (build {})",
                base,
                if is_src { srpm_nvr } else { py_str(&sourcerpm) },
                b.nvr
            )));
        }
        b.clone()
    } else if is_src {
        match get_build_in(&**tx, &nvr_map, false).await? {
            Some(b) => b,
            None => {
                let data = NewBuild {
                    name: Some(name.clone()),
                    version: py_str(&version),
                    release: py_str(&release),
                    epoch: epoch.as_i64(),
                    ..Default::default()
                };
                let id = new_build_in(tx, names, caller, &data, false).await?;
                get_build_in(&**tx, &json!(id), true)
                    .await?
                    .ok_or_else(|| Error::generic("build vanished"))?
            }
        }
    } else {
        let Json::String(srpm) = &sourcerpm else {
            return Err(Error::Fault {
                code: 1,
                message: "<class 'AttributeError'>: 'NoneType' object has no attribute 'split'"
                    .into(),
            });
        };
        let srpm_info = Json::Object(parse_nvra_map(srpm)?);
        get_build_in(&**tx, &srpm_info, false)
            .await?
            .ok_or_else(|| Error::generic("No such build"))?
    };
    if let Some(s @ (BuildState::Failed | BuildState::Canceled | BuildState::Deleted)) =
        build.state()
    {
        return Err(Error::Generic(format!(
            "Build is {}: {}",
            s.name(),
            build.nvr
        )));
    }
    mark_rpm_build_in(tx, build.id).await?;
    let size = std::fs::metadata(fn_path)?.len() as i64;
    let payloadhash = hdr.sigmd5_hex();
    let dup = fetch_opt(
        &**tx,
        "SELECT id FROM rpminfo WHERE name = ? AND version = ? AND release = ? AND arch = ? \
         AND external_repo_id = 0 AND draft IS NOT TRUE",
        params![
            py_str(&name),
            py_str(&version),
            py_str(&release),
            py_str(&arch)
        ],
    )
    .await?;
    if dup.is_some() {
        return Err(Error::Fault {
            code: 1,
            message: format!(
                "<class 'psycopg2.errors.UniqueViolation'>: duplicate key value violates \
                 unique constraint \"rpminfo_unique_nvra_not_draft\"\nDETAIL:  Key (name, \
                 version, release, arch, external_repo_id)=({}, {}, {}, {}, 0) already exists.\n",
                py_str(&name),
                py_str(&version),
                py_str(&release),
                py_str(&arch)
            ),
        });
    }
    let row = crate::db::fetch_one(
        &**tx,
        "INSERT INTO rpminfo (build_id, buildroot_id, name, version, release, epoch, arch, \
         draft, external_repo_id, payloadhash, size, buildtime) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?) RETURNING id",
        params![
            build.id,
            buildroot,
            py_str(&name),
            py_str(&version),
            py_str(&release),
            epoch.as_i64(),
            py_str(&arch),
            build.draft,
            payloadhash.clone(),
            size,
            buildtime.as_i64().unwrap_or_default()
        ],
    )
    .await?;
    let rpm_id = row.int("id")?;
    // the file's place in the build (upstream's import_rpm_file)
    let destdir = build.dir(pathinfo).join(py_str(&arch));
    let final_path = destdir.join(&base);
    if lexists(&final_path) {
        return Err(Error::Generic(format!(
            "Error importing archive file, {} already exists",
            final_path.display()
        )));
    }
    let meta = std::fs::symlink_metadata(fn_path)?;
    if meta.file_type().is_symlink() || !meta.is_file() {
        return Err(Error::Generic(format!(
            "Error importing archive file, {fname} is not a regular file"
        )));
    }
    move_and_symlink(fn_path, &final_path)?;
    let (sigpath, bytes) = match add_rpm_sig_in(tx, pathinfo, &json!(rpm_id), &hdr.sighdr).await {
        Ok(v) => v,
        Err(e) => {
            undo_move(fn_path, &final_path);
            return Err(e);
        }
    };
    let mut out = Map::new();
    out.insert("name".into(), name);
    out.insert("version".into(), version);
    out.insert("release".into(), release);
    out.insert("epoch".into(), epoch);
    out.insert("sourcepackage".into(), sourcepackage);
    out.insert("arch".into(), arch);
    out.insert("buildtime".into(), buildtime);
    out.insert("sourcerpm".into(), sourcerpm);
    out.insert("draft".into(), Json::Bool(false));
    out.insert("id".into(), rpm_id.into());
    out.insert("build_id".into(), build.id.into());
    out.insert("size".into(), size.into());
    out.insert("payloadhash".into(), payloadhash.into());
    out.insert("buildroot_id".into(), Json::from(buildroot));
    out.insert("external_repo_id".into(), 0.into());
    out.insert("build".into(), build.to_json());
    out.insert("brootid".into(), Json::from(buildroot));
    Ok(ImportedRpm {
        build_id: build.id,
        answer: Json::Object(out),
        moved_from: fn_path.to_path_buf(),
        moved_to: final_path,
        sighdr: (sigpath, bytes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvra_maps_like_upstream() {
        let m = parse_nvra_map("foo-1.0-1.noarch.rpm@repo").unwrap();
        assert_eq!(
            py_repr(&Json::Object(m)),
            "{'name': 'foo', 'version': '1.0', 'release': '1', 'epoch': '', 'arch': 'noarch', \
             'src': False, 'location': 'repo'}"
        );
        assert!(parse_nvra_map("foo").is_err());
    }

    #[test]
    fn unknown_checksum_types_are_errors() {
        assert_eq!(checksum_name(0).unwrap(), "md5");
        assert_eq!(checksum_name(2).unwrap(), "sha256");
        for bad in [3, -1, i64::MAX] {
            assert_eq!(
                checksum_name(bad).unwrap_err().to_string(),
                format!("Unknown checksum type: {bad}")
            );
        }
    }

    #[test]
    fn move_and_symlink_never_replaces() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("work/up/f.rpm");
        let dst = d.path().join("packages/a/f.rpm");
        std::fs::create_dir_all(src.parent().unwrap()).unwrap();
        std::fs::write(&src, b"rpm").unwrap();
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink("/nonexistent", &dst).unwrap();
        let e = move_and_symlink(&src, &dst).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("Destination exists: {}", dst.display())
        );
        assert_eq!(std::fs::read(&src).unwrap(), b"rpm");
        std::fs::remove_file(&dst).unwrap();
        move_and_symlink(&src, &dst).unwrap();
        assert_eq!(
            std::fs::read_link(&src).unwrap(),
            PathBuf::from("../../packages/a/f.rpm")
        );
        assert_eq!(std::fs::read(&src).unwrap(), b"rpm");
        undo_move(&src, &dst);
        assert!(!src.is_symlink());
        assert_eq!(std::fs::read(&src).unwrap(), b"rpm");
        assert!(!dst.exists());
    }

    #[test]
    fn times_parse_as_utc() {
        assert_eq!(parse_time("2024-01-02"), Some(1704153600));
        assert_eq!(parse_time("2024-01-02 12:00:00"), Some(1704196800));
        assert_eq!(parse_time("yesterday"), None);
    }
}
