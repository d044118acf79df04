//! The tests a rule may use: upstream's generic ones (`koji/policy.py`) and
//! the hub's. Each test is parsed once, when its policy is loaded; facts it
//! needs from the database come through [`PolicyEnv`].
//!
//! Upstream checks a few arguments when the policy loads (`has`,
//! `compare`) and the rest only when the test runs; we keep that split, so a
//! policy upstream accepts loads here too.

use super::env::{BuildFact, PolicyEnv, TagFact, UserFact};
use super::eval::Eval;
use super::fnmatch::{fnmatch, multi_fnmatch};
use crate::api::truthy;
use crate::error::{Error, Result};
use crate::hub::tags::TagEvent;
use crate::model::UserType;
use crate::util::{py_repr, py_str, py_str_repr};
use serde_json::Value as Json;

/// A comparison of the `compare` test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Lt,
    Gt,
    Le,
    Ge,
    Eq,
    Ne,
}

impl CmpOp {
    fn parse(s: &str) -> Option<CmpOp> {
        Some(match s {
            "<" => CmpOp::Lt,
            ">" => CmpOp::Gt,
            "<=" => CmpOp::Le,
            ">=" => CmpOp::Ge,
            "=" => CmpOp::Eq,
            "!=" => CmpOp::Ne,
            _ => return None,
        })
    }

    fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Gt => ">",
            CmpOp::Le => "<=",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        }
    }
}

/// A number as Python's `int()`/`float()` read it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

/// Which test a [`Test`] is, with what was parsed at load time.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    True,
    False,
    Has(String),
    /// `bool FIELD`, or a fixed field (`is_child_task`: `parent`).
    Bool(Option<&'static str>),
    /// `match FIELD PATTERN...`, or a fixed field (`target`, `operation`,
    /// `method`, `vm_name`).
    Match(Option<&'static str>),
    MatchAny,
    MatchAll,
    Compare {
        field: String,
        op: CmpOp,
        value: Num,
    },
    IsNewPackage,
    Package,
    Version,
    Release,
    Volume,
    CgMatchAny,
    CgMatchAll,
    Tag,
    FromTag,
    HasTag,
    SkipTag,
    BuildTag,
    BuildTagInheritsFrom,
    BuildType,
    Imported,
    User,
    IsBuildOwner,
    IsDraft,
    UserInGroup,
    HasPerm,
    Source,
    Policy,
}

/// Every test name upstream's hub knows (without plugins).
pub const TEST_NAMES: &[&str] = &[
    "true",
    "all",
    "false",
    "none",
    "has",
    "bool",
    "match",
    "match_any",
    "match_all",
    "target",
    "compare",
    "operation",
    "is_new_package",
    "package",
    "version",
    "release",
    "volume",
    "cg_match_any",
    "cg_match_all",
    "tag",
    "fromtag",
    "hastag",
    "skip_tag",
    "buildtag",
    "buildtag_inherits_from",
    "buildtype",
    "imported",
    "is_child_task",
    "method",
    "user",
    "vm_name",
    "is_build_owner",
    "is_draft",
    "user_in_group",
    "has_perm",
    "source",
    "policy",
];

/// One test of a rule: its text as written (for `last_rule`), which test
/// it is, and its arguments (the words after its name).
#[derive(Debug)]
pub struct Test {
    pub text: String,
    pub kind: Kind,
    pub args: Vec<String>,
}

/// Python's `str.split(None, max)`: at most `max` splits; the rest keeps
/// its inner and trailing whitespace.
fn split_max(s: &str, max: usize) -> Vec<&str> {
    let mut out = vec![];
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        if out.len() == max {
            out.push(rest);
            break;
        }
        match rest.find(char::is_whitespace) {
            Some(i) => {
                out.push(&rest[..i]);
                rest = rest[i..].trim_start();
            }
            None => {
                out.push(rest);
                break;
            }
        }
    }
    out
}

/// Python's `int(s)`, falling back to `float(s)`.
fn parse_num(s: &str) -> Result<Num> {
    let t = s.trim();
    let plain = t.replace('_', "");
    if let Ok(i) = plain.parse::<i64>() {
        return Ok(Num::Int(i));
    }
    match plain.parse::<f64>() {
        Ok(f) if !t.starts_with('_') && !t.ends_with('_') => Ok(Num::Float(f)),
        _ => Err(Error::Generic(format!(
            "could not convert string to float: {}",
            py_str_repr(s)
        ))),
    }
}

/// Builds the test written as `text` (one `&&`-separated part of a rule).
pub(crate) fn parse_test(text: &str) -> Result<Test> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let Some(name) = words.first().copied() else {
        return Err(Error::generic("empty test in policy rule"));
    };
    let args: Vec<String> = words[1..].iter().map(|s| s.to_string()).collect();
    let kind = match name {
        "true" | "all" => Kind::True,
        "false" | "none" => Kind::False,
        "has" => match args.first() {
            Some(f) => Kind::Has(f.clone()),
            None => return Err(Error::generic("Invalid or missing field in policy test")),
        },
        "bool" => Kind::Bool(None),
        "match" => Kind::Match(None),
        "match_any" => Kind::MatchAny,
        "match_all" => Kind::MatchAll,
        "target" => Kind::Match(Some("target")),
        "compare" => {
            let parts = split_max(text, 3);
            if parts.len() != 4 {
                return Err(Error::Generic(format!(
                    "not enough values to unpack (expected 3, got {})",
                    parts.len().saturating_sub(1)
                )));
            }
            let op = CmpOp::parse(parts[2])
                .ok_or_else(|| Error::generic("Invalid comparison in test."))?;
            Kind::Compare {
                field: parts[1].to_string(),
                op,
                value: parse_num(parts[3])?,
            }
        }
        "operation" => Kind::Match(Some("operation")),
        "is_new_package" => Kind::IsNewPackage,
        "package" => Kind::Package,
        "version" => Kind::Version,
        "release" => Kind::Release,
        "volume" => Kind::Volume,
        "cg_match_any" => Kind::CgMatchAny,
        "cg_match_all" => Kind::CgMatchAll,
        "tag" => Kind::Tag,
        "fromtag" => Kind::FromTag,
        "hastag" => Kind::HasTag,
        "skip_tag" => Kind::SkipTag,
        "buildtag" => Kind::BuildTag,
        "buildtag_inherits_from" => Kind::BuildTagInheritsFrom,
        "buildtype" => Kind::BuildType,
        "imported" => Kind::Imported,
        "is_child_task" => Kind::Bool(Some("parent")),
        "method" => Kind::Match(Some("method")),
        "user" => Kind::User,
        "vm_name" => Kind::Match(Some("vm_name")),
        "is_build_owner" => Kind::IsBuildOwner,
        "is_draft" => Kind::IsDraft,
        "user_in_group" => Kind::UserInGroup,
        "has_perm" => Kind::HasPerm,
        "source" => Kind::Source,
        "policy" => Kind::Policy,
        other => return Err(Error::Generic(format!("missing test handler: {other}"))),
    };
    Ok(Test {
        text: text.to_string(),
        kind,
        args,
    })
}

// ---------------------------------------------------------------------------
// Reading the policy data
// ---------------------------------------------------------------------------

/// `data[key]`, when data is a map holding it.
fn get<'d>(data: &'d Json, key: &str) -> Option<&'d Json> {
    data.as_object().and_then(|m| m.get(key))
}

/// The Python type name of a value, for TypeError-like messages.
fn py_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "NoneType",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::String(_) => "str",
        Json::Array(_) => "list",
        Json::Object(_) => "dict",
    }
}

/// A value a glob is matched against: it must be a string, as Python's
/// `fnmatch` requires.
fn glob_subject(v: &Json) -> Result<&str> {
    match v {
        Json::String(s) => Ok(s),
        other => Err(Error::Generic(format!(
            "expected str, bytes or os.PathLike object, not {}",
            py_type(other)
        ))),
    }
}

/// `MatchTest.run` on a value already found: `None` matches nothing.
fn match_value(v: &Json, patterns: &[String]) -> Result<bool> {
    if v.is_null() {
        return Ok(false);
    }
    let s = glob_subject(v)?;
    Ok(patterns.iter().any(|p| fnmatch(s, p)))
}

/// The items of a list given in the policy data (Python iterates it).
fn items<'d>(v: &'d Json, key: &str) -> Result<&'d [Json]> {
    match v {
        Json::Array(a) => Ok(a),
        other => Err(Error::Generic(format!(
            "policy data {key} must be a list, not {}",
            py_type(other)
        ))),
    }
}

fn push_unique<T: PartialEq>(out: &mut Vec<T>, v: T) {
    if !out.contains(&v) {
        out.push(v);
    }
}

fn missing_build(info: &Json) -> Error {
    Error::Generic(format!("No such build: {}", py_str(info)))
}

/// The user the policy is about: `user_id` from the data, else the caller.
async fn policy_user(env: &dyn PolicyEnv, data: &Json) -> Result<Option<UserFact>> {
    match get(data, "user_id") {
        Some(u) => env.user(u).await,
        None => Ok(env.caller_user()),
    }
}

/// The package named by `package` (maybe not existing yet: id `None`) or
/// by `build`.
async fn policy_pkg(env: &dyn PolicyEnv, data: &Json) -> Result<(Option<i64>, String)> {
    if let Some(p) = get(data, "package") {
        return match env.package(p).await? {
            Some((id, name)) => Ok((Some(id), name)),
            None => match p {
                Json::String(s) => Ok((None, s.clone())),
                other => Err(Error::Generic(format!(
                    "No such package: {}",
                    py_str(other)
                ))),
            },
        };
    }
    if let Some(b) = get(data, "build") {
        let b = strict_build(env, b).await?;
        return Ok((Some(b.package_id), b.name));
    }
    Err(Error::generic("policy requires package data"))
}

async fn strict_build(env: &dyn PolicyEnv, info: &Json) -> Result<BuildFact> {
    env.build(info, true)
        .await?
        .ok_or_else(|| missing_build(info))
}

/// A build looked up without `strict`, whose absence upstream then trips
/// over: an error either way.
async fn loose_build(env: &dyn PolicyEnv, info: &Json) -> Result<BuildFact> {
    env.build(info, false)
        .await?
        .ok_or_else(|| missing_build(info))
}

/// `version` or `release` from the data, else from the build.
async fn policy_nvr_part(env: &dyn PolicyEnv, data: &Json, key: &str) -> Result<Json> {
    if let Some(v) = get(data, key) {
        return Ok(v.clone());
    }
    if let Some(b) = get(data, "build") {
        let b = strict_build(env, b).await?;
        return Ok(Json::from(if key == "version" {
            b.version
        } else {
            b.release
        }));
    }
    Err(Error::Generic(format!("policy requires {key} data")))
}

/// The buildroots of the data (`buildroots`), else of the build's rpms and
/// archives; `null` stands for a component without a buildroot.
async fn policy_brs(env: &dyn PolicyEnv, data: &Json) -> Result<Vec<Json>> {
    let mut out = vec![];
    if let Some(brs) = get(data, "buildroots") {
        for b in items(brs, "buildroots")? {
            push_unique(&mut out, b.clone());
        }
    } else if let Some(b) = get(data, "build") {
        let b = strict_build(env, b).await?;
        for br in env.build_buildroots(b.id).await? {
            push_unique(&mut out, br.map(Json::from).unwrap_or(Json::Null));
        }
    }
    Ok(out)
}

/// The content generators involved (`None`: a component without one).
async fn policy_cgs(env: &dyn PolicyEnv, data: &Json) -> Result<Vec<Option<String>>> {
    let mut out = vec![];
    if let Some(list) = get(data, "cg_list") {
        for cg in items(list, "cg_list")? {
            push_unique(&mut out, Some(env.content_generator(cg).await?));
        }
        return Ok(out);
    }
    for br in policy_brs(env, data).await? {
        if br.is_null() {
            push_unique(&mut out, None);
        } else {
            push_unique(&mut out, env.buildroot(&br).await?.cg_name);
        }
    }
    Ok(out)
}

/// The build tags: `build_tag`, `build_tags`, the target's build tag, or
/// the tags of the buildroots, keyed by name like upstream's dict.
async fn policy_build_tags(
    env: &dyn PolicyEnv,
    data: &Json,
) -> Result<Vec<(Option<String>, Option<TagFact>)>> {
    fn put(
        out: &mut Vec<(Option<String>, Option<TagFact>)>,
        key: Option<String>,
        val: Option<TagFact>,
    ) {
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = val,
            None => out.push((key, val)),
        }
    }
    async fn strict_tag(env: &dyn PolicyEnv, info: &Json, at: TagEvent) -> Result<TagFact> {
        env.tag(info, true, at)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such tagInfo: {}", py_repr(info))))
    }
    let mut out = vec![];
    if let Some(bt) = get(data, "build_tag") {
        let t = strict_tag(env, bt, TagEvent::Auto).await?;
        put(&mut out, Some(t.name.clone()), Some(t));
    } else if let Some(bts) = get(data, "build_tags") {
        for bt in items(bts, "build_tags")? {
            let t = strict_tag(env, bt, TagEvent::Auto).await?;
            put(&mut out, Some(t.name.clone()), Some(t));
        }
    }
    if out.is_empty() {
        if let Some(target) = get(data, "target").filter(|t| truthy(t)) {
            if let Some(tag_id) = env.target_build_tag(target).await? {
                let t = strict_tag(env, &Json::from(tag_id), TagEvent::Auto).await?;
                put(&mut out, Some(t.name.clone()), Some(t));
            }
        }
    }
    if out.is_empty() {
        for br in policy_brs(env, data).await? {
            if br.is_null() {
                put(&mut out, None, None);
                continue;
            }
            let info = env.buildroot(&br).await?;
            if let Some(name) = info.tag_name {
                let t = strict_tag(
                    env,
                    &Json::from(name.clone()),
                    TagEvent::At(info.repo_create_event),
                )
                .await?;
                put(&mut out, Some(name), Some(t));
            }
        }
    }
    Ok(out)
}

/// The build types: `btypes` from the data, else the build's.
async fn policy_btypes(env: &dyn PolicyEnv, data: &Json) -> Result<Vec<Json>> {
    let mut out = vec![];
    if let Some(bt) = get(data, "btypes") {
        for t in items(bt, "btypes")? {
            push_unique(&mut out, t.clone());
        }
    } else if let Some(b) = get(data, "build") {
        let b = strict_build(env, b).await?;
        for t in env.build_types(&b).await? {
            push_unique(&mut out, Json::from(t));
        }
    }
    Ok(out)
}

/// Upstream's `extract_build_task`: the build's task, or the legacy OSBS
/// one recorded in its extra data.
fn build_task(b: &BuildFact) -> Option<i64> {
    b.task_id.or_else(|| {
        b.extra
            .as_ref()
            .and_then(|e| e.get("container_koji_task_id"))
            .and_then(Json::as_i64)
    })
}

/// The field test of `bool`/`match`: the first argument unless fixed.
fn field_and_patterns<'t>(
    test: &'t Test,
    fixed: Option<&'static str>,
) -> Result<(&'t str, &'t [String])> {
    match fixed {
        Some(f) => Ok((f, &test.args)),
        None => match test.args.split_first() {
            Some((f, rest)) => Ok((f, rest)),
            None => Err(Error::Generic(format!(
                "missing field name in policy test: {}",
                test.text.trim()
            ))),
        },
    }
}

fn as_num(v: &Json) -> Option<Num> {
    match v {
        Json::Bool(b) => Some(Num::Int(*b as i64)),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Some(Num::Int(i)),
            None => n.as_f64().map(Num::Float),
        },
        _ => None,
    }
}

fn compare(a: &Json, op: CmpOp, b: Num) -> Result<bool> {
    let Some(a_num) = as_num(a) else {
        return match op {
            CmpOp::Eq => Ok(false),
            CmpOp::Ne => Ok(true),
            _ => Err(Error::Generic(format!(
                "'{}' not supported between instances of '{}' and '{}'",
                op.symbol(),
                py_type(a),
                match b {
                    Num::Int(_) => "int",
                    Num::Float(_) => "float",
                }
            ))),
        };
    };
    let ord = match (a_num, b) {
        (Num::Int(x), Num::Int(y)) => x.partial_cmp(&y),
        (x, y) => x.as_f64().partial_cmp(&y.as_f64()),
    };
    use std::cmp::Ordering::*;
    Ok(match op {
        CmpOp::Lt => ord == Some(Less),
        CmpOp::Gt => ord == Some(Greater),
        CmpOp::Le => matches!(ord, Some(Less | Equal)),
        CmpOp::Ge => matches!(ord, Some(Greater | Equal)),
        CmpOp::Eq => ord == Some(Equal),
        CmpOp::Ne => ord != Some(Equal),
    })
}

impl Test {
    /// Runs the test against `data`.
    pub(crate) async fn run<'a>(&'a self, ev: &mut Eval<'a>, data: &Json) -> Result<bool> {
        let env = ev.env;
        let args = &self.args;
        match &self.kind {
            Kind::True => Ok(true),
            Kind::False => Ok(false),
            Kind::Has(field) => Ok(get(data, field).is_some()),
            Kind::Bool(fixed) => {
                let (field, _) = field_and_patterns(self, *fixed)?;
                Ok(get(data, field).is_some_and(truthy))
            }
            Kind::Match(fixed) => {
                let (field, patterns) = field_and_patterns(self, *fixed)?;
                match get(data, field) {
                    None => Ok(false),
                    Some(v) => match_value(v, patterns),
                }
            }
            Kind::MatchAny | Kind::MatchAll => {
                let (field, patterns) = field_and_patterns(self, None)?;
                let list = match get(data, field) {
                    Some(Json::Array(a)) if !a.is_empty() => a,
                    _ => return Ok(false),
                };
                let hit = |v: &Json| !v.is_null() && multi_fnmatch(&py_str(v), patterns);
                Ok(if self.kind == Kind::MatchAny {
                    list.iter().any(hit)
                } else {
                    list.iter().all(hit)
                })
            }
            Kind::Compare { field, op, value } => match get(data, field) {
                None => Ok(false),
                Some(v) => compare(v, *op, *value),
            },
            Kind::IsNewPackage => Ok(policy_pkg(env, data).await?.0.is_none()),
            Kind::Package => {
                let (_, name) = policy_pkg(env, data).await?;
                match_value(&Json::from(name), args)
            }
            Kind::Version => match_value(&policy_nvr_part(env, data, "version").await?, args),
            Kind::Release => match_value(&policy_nvr_part(env, data, "release").await?, args),
            Kind::Volume => {
                let name = if let Some(v) = get(data, "volume") {
                    env.volume(v).await?
                } else if let Some(b) = get(data, "build") {
                    Some(loose_build(env, b).await?.volume_name)
                } else {
                    None
                };
                match name {
                    None => Ok(false),
                    Some(n) => match_value(&Json::from(n), args),
                }
            }
            Kind::CgMatchAny => {
                let cgs = policy_cgs(env, data).await?;
                Ok(cgs.iter().flatten().any(|cg| multi_fnmatch(cg, args)))
            }
            Kind::CgMatchAll => {
                let cgs = policy_cgs(env, data).await?;
                if cgs.is_empty() {
                    return Ok(false);
                }
                Ok(cgs
                    .iter()
                    .all(|cg| cg.as_deref().is_some_and(|c| multi_fnmatch(c, args))))
            }
            Kind::Tag | Kind::FromTag => {
                let key = if self.kind == Kind::Tag {
                    "tag"
                } else {
                    "fromtag"
                };
                let info = match get(data, key) {
                    None | Some(Json::Null) => return Ok(false),
                    Some(v) => v,
                };
                match env.tag(info, false, TagEvent::At(None)).await? {
                    None => Ok(false),
                    Some(t) => match_value(&Json::from(t.name), args),
                }
            }
            Kind::HasTag => {
                let Some(b) = get(data, "build") else {
                    return Ok(false);
                };
                let b = loose_build(env, b).await?;
                let tags = env.build_tag_names(b.id).await?;
                Ok(tags.iter().any(|t| multi_fnmatch(t, args)))
            }
            Kind::SkipTag => Ok(get(data, "skip_tag").is_some_and(truthy)),
            Kind::BuildTag => {
                let tags = policy_build_tags(env, data).await?;
                Ok(tags
                    .iter()
                    .filter_map(|(name, _)| name.as_deref())
                    .any(|n| multi_fnmatch(n, args)))
            }
            Kind::BuildTagInheritsFrom => {
                for (_, tag) in policy_build_tags(env, data).await? {
                    let Some(tag) = tag else { continue };
                    let parents = env.tag_ancestors(tag.id, tag.query_event).await?;
                    if parents.iter().any(|p| multi_fnmatch(p, args)) {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Kind::BuildType => {
                for t in policy_btypes(env, data).await? {
                    if multi_fnmatch(glob_subject(&t)?, args) {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Kind::Imported => {
                let b = match get(data, "build") {
                    Some(b) if truthy(b) => b,
                    _ => return Err(Error::generic("policy data must contain a build")),
                };
                let b = strict_build(env, b).await?;
                Ok(env.build_buildroots(b.id).await?.contains(&None))
            }
            Kind::User => match policy_user(env, data).await? {
                None => Ok(false),
                Some(u) => match_value(&Json::from(u.name), args),
            },
            Kind::IsBuildOwner => {
                let Some(b) = get(data, "build") else {
                    return Err(Error::generic("policy data must contain a build"));
                };
                let b = loose_build(env, b).await?;
                let owner = env
                    .user(&Json::from(b.owner_id))
                    .await?
                    .ok_or_else(|| Error::Generic(format!("No such user: {}", b.owner_id)))?;
                let Some(user) = policy_user(env, data).await? else {
                    return Ok(false);
                };
                if owner.id == user.id {
                    return Ok(true);
                }
                if owner.usertype == UserType::Group as i64 {
                    let groups = env.user_groups(user.id).await?;
                    return Ok(groups.iter().any(|(id, _)| *id == owner.id));
                }
                Ok(false)
            }
            Kind::IsDraft => {
                if let Some(d) = get(data, "draft") {
                    return Ok(truthy(d));
                }
                if let Some(b) = get(data, "build") {
                    return Ok(loose_build(env, b).await?.draft);
                }
                Ok(false)
            }
            Kind::UserInGroup => {
                let Some(user) = policy_user(env, data).await? else {
                    return Ok(false);
                };
                let groups = env.user_groups(user.id).await?;
                Ok(groups
                    .iter()
                    .any(|(_, g)| args.iter().any(|p| fnmatch(g, p))))
            }
            Kind::HasPerm => {
                let Some(user) = policy_user(env, data).await? else {
                    return Ok(false);
                };
                let perms = env.user_perms(user.id).await?;
                Ok(perms.iter().any(|p| args.iter().any(|pat| fnmatch(p, pat))))
            }
            Kind::Source => {
                let source = if let Some(s) = get(data, "source") {
                    s.clone()
                } else if let Some(b) = get(data, "build") {
                    let b = loose_build(env, b).await?;
                    let task_id = build_task(&b);
                    if let Some(s) = b.source {
                        Json::from(s)
                    } else if let Some(task_id) = task_id {
                        match env.task_source(task_id).await? {
                            Some(s) => Json::from(s),
                            None => return Ok(false),
                        }
                    } else {
                        return Ok(false);
                    }
                } else {
                    return Ok(false);
                };
                match_value(&source, args)
            }
            Kind::Policy => {
                let Some(name) = args.first() else {
                    return Err(Error::Generic(format!(
                        "missing policy name in policy test: {}",
                        self.text.trim()
                    )));
                };
                let result = ev.apply_nested(self, name, data).await?;
                Ok(result
                    .is_some_and(|r| matches!(r.to_lowercase().as_str(), "yes" | "true" | "allow")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_split_with_max() {
        assert_eq!(split_max("compare a < 5 ", 3), ["compare", "a", "<", "5 "]);
        assert_eq!(split_max("  x   y ", 3), ["x", "y"]);
        assert_eq!(split_max("a b c d e", 2), ["a", "b", "c d e"]);
    }

    #[test]
    fn numbers_parse_like_python() {
        assert_eq!(parse_num("5").unwrap(), Num::Int(5));
        assert_eq!(parse_num(" -3 ").unwrap(), Num::Int(-3));
        assert_eq!(parse_num("1_000").unwrap(), Num::Int(1000));
        assert_eq!(parse_num("2.5").unwrap(), Num::Float(2.5));
        assert_eq!(parse_num("1e3").unwrap(), Num::Float(1000.0));
        assert_eq!(
            parse_num("x").unwrap_err().to_string(),
            "could not convert string to float: 'x'"
        );
    }
}
