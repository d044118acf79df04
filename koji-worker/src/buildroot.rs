//! Buildroots from a tag's repo.
//!
//! A buildroot is this builder's own system (seen read-only through
//! bubblewrap) with the packages of the build tag's repo that the build
//! needs laid over it: the repo's `build` group and the SRPM's
//! BuildRequires, with their dependencies, resolved against the repo's
//! metadata (`primary.xml`) and unpacked into a private root. What the
//! repo cannot provide is taken from the builder's system and said so in
//! `root.log` (the builder's system stands where mock would install a
//! distribution's base packages).
//!
//! The layering: directories that exist on the builder and gain files
//! from the packages are rebuilt as directories of symlinks (to the
//! builder's own files, reachable inside the sandbox under a private
//! mount point, and to the unpacked packages) and bound over the
//! originals.

use anyhow::{anyhow, bail, Context as _, Result};
use std::collections::{HashMap, HashSet};
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// A dependency (`rpm:entry`): a name and an optional version condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Dep {
    pub name: String,
    /// EQ, LT, GT, LE, GE
    pub flags: Option<String>,
    pub epoch: Option<String>,
    pub ver: Option<String>,
    pub rel: Option<String>,
}

impl Dep {
    pub fn named(name: &str) -> Dep {
        Dep {
            name: name.to_string(),
            flags: None,
            epoch: None,
            ver: None,
            rel: None,
        }
    }
}

/// A package of a repo's `primary.xml`.
#[derive(Debug, Clone, Default)]
pub struct RepoPkg {
    pub name: String,
    pub arch: String,
    pub epoch: String,
    pub version: String,
    pub release: String,
    /// Relative to the repo's arch directory (`toplink/packages/...`).
    pub href: String,
    pub provides: Vec<Dep>,
    pub requires: Vec<Dep>,
    pub files: Vec<String>,
}

impl RepoPkg {
    pub fn nvra(&self) -> String {
        format!(
            "{}-{}-{}.{}",
            self.name, self.version, self.release, self.arch
        )
    }
}

/// Reads `repodata/repomd.xml` and the primary metadata it names.
pub fn read_repo(archdir: &Path) -> Result<Vec<RepoPkg>> {
    let repomd = std::fs::read_to_string(archdir.join("repodata/repomd.xml"))
        .with_context(|| format!("no repo metadata in {}", archdir.display()))?;
    let href = primary_href(&repomd)
        .ok_or_else(|| anyhow!("no primary metadata in {}", archdir.display()))?;
    let raw = std::fs::read(archdir.join(&href)).with_context(|| format!("cannot read {href}"))?;
    let xml = if href.ends_with(".gz") {
        let mut out = vec![];
        // every member: chunked metadata is a series of gzip members
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .with_context(|| format!("cannot decompress {href}"))?;
        out
    } else if href.ends_with(".zst") {
        // createrepo_c 1.0's default; frame after frame
        let mut out = vec![];
        let mut input = &raw[..];
        while !input.is_empty() {
            let mut dec = ruzstd::decoding::StreamingDecoder::new(&mut input)
                .map_err(|e| anyhow!("cannot decompress {href}: {e}"))?;
            dec.read_to_end(&mut out)
                .with_context(|| format!("cannot decompress {href}"))?;
        }
        out
    } else if href.ends_with(".xml") {
        raw
    } else {
        bail!("unsupported compression of {href} (gzip and zstd are read)");
    };
    parse_primary(&xml)
}

/// The `location href` of the `primary` data in a `repomd.xml`.
pub fn primary_href(repomd: &str) -> Option<String> {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_str(repomd);
    let mut in_primary = false;
    loop {
        match r.read_event().ok()? {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                b"data" => {
                    in_primary = attr(&e, b"type").as_deref() == Some("primary");
                }
                b"location" if in_primary => return attr(&e, b"href"),
                _ => {}
            },
            Event::Eof => return None,
            _ => {}
        }
    }
}

fn attr(e: &quick_xml::events::BytesStart<'_>, name: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// Parses `primary.xml`.
pub fn parse_primary(xml: &[u8]) -> Result<Vec<RepoPkg>> {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_reader(xml);
    let mut buf = vec![];
    let mut out = vec![];
    let mut cur: Option<RepoPkg> = None;
    // where rpm:entry elements go, and which text element is open
    let mut section: &'static str = "";
    let mut text_of: &'static str = "";
    loop {
        let ev = r
            .read_event_into(&mut buf)
            .map_err(|e| anyhow!("bad primary.xml: {e}"))?;
        match ev {
            Event::Start(e) | Event::Empty(e) => {
                let name = e.local_name();
                match name.as_ref() {
                    b"package" => cur = Some(RepoPkg::default()),
                    b"name" if section.is_empty() => text_of = "name",
                    b"arch" => text_of = "arch",
                    b"file" => text_of = "file",
                    b"version" => {
                        if let Some(p) = cur.as_mut() {
                            p.epoch = attr(&e, b"epoch").unwrap_or_else(|| "0".into());
                            p.version = attr(&e, b"ver").unwrap_or_default();
                            p.release = attr(&e, b"rel").unwrap_or_default();
                        }
                    }
                    b"location" => {
                        if let Some(p) = cur.as_mut() {
                            p.href = attr(&e, b"href").unwrap_or_default();
                        }
                    }
                    b"provides" => section = "provides",
                    b"requires" => section = "requires",
                    b"conflicts" | b"obsoletes" | b"suggests" | b"recommends" | b"supplements"
                    | b"enhances" => section = "other",
                    b"entry" => {
                        let dep = Dep {
                            name: attr(&e, b"name").unwrap_or_default(),
                            flags: attr(&e, b"flags"),
                            epoch: attr(&e, b"epoch"),
                            ver: attr(&e, b"ver"),
                            rel: attr(&e, b"rel"),
                        };
                        if let Some(p) = cur.as_mut() {
                            match section {
                                "provides" => p.provides.push(dep),
                                "requires" => p.requires.push(dep),
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
            Event::Text(t) => {
                if let (Some(p), false) = (cur.as_mut(), text_of.is_empty()) {
                    let s = t.decode().map(|c| c.into_owned()).unwrap_or_default();
                    match text_of {
                        "name" => p.name.push_str(&s),
                        "arch" => p.arch.push_str(&s),
                        "file" => p.files.push(s),
                        _ => {}
                    }
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                b"package" => {
                    if let Some(p) = cur.take() {
                        out.push(p);
                    }
                }
                b"provides" | b"requires" | b"conflicts" | b"obsoletes" | b"suggests"
                | b"recommends" | b"supplements" | b"enhances" => section = "",
                _ => text_of = "",
            },
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

/// The `packagereq` names of group `id` in a comps document.
pub fn comps_group(comps: &str, id: &str) -> Vec<String> {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_str(comps);
    let mut out = vec![];
    let mut in_group = false;
    let mut group_id = String::new();
    let mut pkgs: Vec<String> = vec![];
    let mut text_of = "";
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) => match e.local_name().as_ref() {
                b"group" => {
                    in_group = true;
                    group_id.clear();
                    pkgs.clear();
                }
                b"id" if in_group => text_of = "id",
                b"packagereq" if in_group => text_of = "pkg",
                _ => text_of = "",
            },
            Ok(Event::Text(t)) => {
                let s = t.decode().map(|c| c.into_owned()).unwrap_or_default();
                match text_of {
                    "id" => group_id.push_str(&s),
                    "pkg" => pkgs.push(s),
                    _ => {}
                }
            }
            Ok(Event::End(e)) => {
                if e.local_name().as_ref() == b"group" {
                    in_group = false;
                    if group_id == id {
                        out = pkgs.clone();
                    }
                }
                text_of = "";
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}

/// rpm's version comparison (`rpmvercmp`).
pub fn rpmvercmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    if a == b {
        return Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    loop {
        while i < a.len() && !a[i].is_ascii_alphanumeric() && a[i] != b'~' && a[i] != b'^' {
            i += 1;
        }
        while j < b.len() && !b[j].is_ascii_alphanumeric() && b[j] != b'~' && b[j] != b'^' {
            j += 1;
        }
        // tilde sorts before everything
        let (ta, tb) = (a.get(i) == Some(&b'~'), b.get(j) == Some(&b'~'));
        if ta || tb {
            if !(ta && tb) {
                return if ta { Less } else { Greater };
            }
            i += 1;
            j += 1;
            continue;
        }
        // caret sorts after the end, before anything else
        let (ca, cb) = (a.get(i) == Some(&b'^'), b.get(j) == Some(&b'^'));
        if ca || cb {
            if i >= a.len() {
                return Less;
            }
            if j >= b.len() {
                return Greater;
            }
            if !(ca && cb) {
                return if ca { Less } else { Greater };
            }
            i += 1;
            j += 1;
            continue;
        }
        if i >= a.len() || j >= b.len() {
            break;
        }
        let numeric = a[i].is_ascii_digit();
        let take = |s: &[u8], mut k: usize| {
            let start = k;
            while k < s.len()
                && (if numeric {
                    s[k].is_ascii_digit()
                } else {
                    s[k].is_ascii_alphabetic()
                })
            {
                k += 1;
            }
            (start, k)
        };
        let (sa, ea) = take(a, i);
        let (sb, eb) = take(b, j);
        if sb == eb {
            // different kinds: a number is newer than letters
            return if numeric { Greater } else { Less };
        }
        let (mut x, mut y) = (&a[sa..ea], &b[sb..eb]);
        if numeric {
            while x.first() == Some(&b'0') {
                x = &x[1..];
            }
            while y.first() == Some(&b'0') {
                y = &y[1..];
            }
            match x.len().cmp(&y.len()) {
                Equal => {}
                o => return o,
            }
        }
        match x.cmp(y) {
            Equal => {}
            o => return o,
        }
        i = ea;
        j = eb;
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Equal,
        (true, false) => Less,
        _ => Greater,
    }
}

fn evr_cmp(
    (e1, v1, r1): (&str, &str, Option<&str>),
    (e2, v2, r2): (&str, &str, Option<&str>),
) -> std::cmp::Ordering {
    let e = |s: &str| s.parse::<u64>().unwrap_or(0);
    e(e1)
        .cmp(&e(e2))
        .then_with(|| rpmvercmp(v1, v2))
        .then_with(|| match (r1, r2) {
            (Some(a), Some(b)) => rpmvercmp(a, b),
            _ => std::cmp::Ordering::Equal,
        })
}

/// Whether `provide` (of `pkg`) satisfies `req`.
fn satisfies(provide: &Dep, req: &Dep) -> bool {
    if provide.name != req.name {
        return false;
    }
    let (Some(flags), Some(rver)) = (&req.flags, &req.ver) else {
        return true;
    };
    let Some(pver) = &provide.ver else {
        return true;
    };
    let o = evr_cmp(
        (
            provide.epoch.as_deref().unwrap_or("0"),
            pver,
            provide.rel.as_deref(),
        ),
        (
            req.epoch.as_deref().unwrap_or("0"),
            rver,
            req.rel.as_deref(),
        ),
    );
    use std::cmp::Ordering::*;
    match flags.as_str() {
        "EQ" => o == Equal,
        "LT" => o == Less,
        "LE" => o != Greater,
        "GT" => o == Greater,
        "GE" => o != Less,
        _ => true,
    }
}

fn provides(p: &RepoPkg, req: &Dep) -> bool {
    if req.name.starts_with('/') && p.files.contains(&req.name) {
        return true;
    }
    let own = Dep {
        name: p.name.clone(),
        flags: Some("EQ".into()),
        epoch: Some(p.epoch.clone()),
        ver: Some(p.version.clone()),
        rel: Some(p.release.clone()),
    };
    satisfies(&own, req) || p.provides.iter().any(|d| satisfies(d, req))
}

/// What a buildroot gets: packages from the repo (indexes into the
/// package list), and the requirements left to the builder's system.
#[derive(Debug, Default)]
pub struct Resolution {
    pub install: Vec<usize>,
    pub from_host: Vec<String>,
}

/// Resolves `wanted` (and, transitively, what the chosen packages
/// require) against `pkgs` for `arch`: a package named as asked wins,
/// then the newest; requirements no package provides are left to the
/// builder's system.
pub fn resolve(pkgs: &[RepoPkg], wanted: &[Dep], arch: &str) -> Resolution {
    resolve_among(pkgs, &[], wanted, &[arch])
}

/// [`resolve`] with packages already chosen (`start`, indexes into
/// `pkgs`, whose requirements are resolved too) and a list of arches,
/// best first (noarch is always usable, and comes last).
pub fn resolve_among(
    pkgs: &[RepoPkg],
    start: &[usize],
    wanted: &[Dep],
    arches: &[&str],
) -> Resolution {
    let rank = |a: &str| {
        arches
            .iter()
            .position(|x| *x == a)
            .map_or(0, |p| arches.len() - p)
    };
    let usable: Vec<usize> = (0..pkgs.len())
        .filter(|&i| arches.contains(&pkgs[i].arch.as_str()) || pkgs[i].arch == "noarch")
        .collect();
    let mut chosen: Vec<usize> = vec![];
    let mut chosen_set = HashSet::new();
    let mut from_host: Vec<String> = vec![];
    let mut queue: std::collections::VecDeque<Dep> = std::collections::VecDeque::new();
    for &i in start {
        if chosen_set.insert(i) {
            chosen.push(i);
            queue.extend(pkgs[i].requires.iter().cloned());
        }
    }
    queue.extend(wanted.iter().cloned());
    let mut seen_req: HashSet<String> = HashSet::new();
    while let Some(req) = queue.pop_front() {
        if req.name.starts_with("rpmlib(") || req.name.starts_with('(') {
            continue;
        }
        let key = format!("{:?}", (&req.name, &req.flags, &req.ver, &req.rel));
        if !seen_req.insert(key) {
            continue;
        }
        if chosen.iter().any(|&i| provides(&pkgs[i], &req)) {
            continue;
        }
        let best = usable
            .iter()
            .copied()
            .filter(|&i| provides(&pkgs[i], &req))
            .max_by(|&a, &b| {
                let (pa, pb) = (&pkgs[a], &pkgs[b]);
                (pa.name == req.name)
                    .cmp(&(pb.name == req.name))
                    .then_with(|| {
                        evr_cmp(
                            (&pa.epoch, &pa.version, Some(&pa.release)),
                            (&pb.epoch, &pb.version, Some(&pb.release)),
                        )
                    })
                    .then_with(|| rank(&pa.arch).cmp(&rank(&pb.arch)))
            });
        match best {
            Some(i) => {
                if chosen_set.insert(i) {
                    chosen.push(i);
                    queue.extend(pkgs[i].requires.iter().cloned());
                }
            }
            None => {
                if !from_host.contains(&req.name) {
                    from_host.push(req.name.clone());
                }
            }
        }
    }
    Resolution {
        install: chosen,
        from_host,
    }
}

/// Unpacks `rpm` into `root` (rpm2archive | tar; no scripts run, no
/// root needed). Each package is unpacked into a fresh directory of its
/// own first and then moved into `root` without ever following a
/// symlink already there, so a link one package ships cannot send
/// another package's files out of the buildroot.
pub fn unpack(rpm: &Path, root: &Path) -> Result<()> {
    use std::process::{Command, Stdio};
    std::fs::create_dir_all(root)?;
    let stage = root.with_file_name(format!(
        ".stage-{}",
        rpm.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let _ = std::fs::remove_dir_all(&stage);
    std::fs::create_dir_all(&stage)?;
    let mut conv = Command::new("rpm2archive")
        .arg("-")
        .stdin(std::fs::File::open(rpm).with_context(|| format!("cannot open {}", rpm.display()))?)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("rpm2archive (apt-get install rpm)")?;
    let out = conv
        .stdout
        .take()
        .ok_or_else(|| anyhow!("rpm2archive: no output"))?;
    let status = Command::new("tar")
        .args(["-xzf", "-", "--no-same-owner", "-C"])
        .arg(&stage)
        .stdin(out)
        .stderr(Stdio::null())
        .status()
        .context("tar")?;
    let conv_status = conv.wait()?;
    if !status.success() || !conv_status.success() {
        let _ = std::fs::remove_dir_all(&stage);
        bail!("cannot unpack {}", rpm.display());
    }
    let moved = move_into(&stage, root);
    let _ = std::fs::remove_dir_all(&stage);
    moved
}

/// Moves the entries of `src` into directory `dst`: new entries are
/// renamed in; a directory already there (a real one, never a symlink)
/// is merged into; anything else already there is replaced, unless it is
/// a directory.
fn move_into(src: &Path, dst: &Path) -> Result<()> {
    for e in std::fs::read_dir(src)?.flatten() {
        let from = e.path();
        let to = dst.join(e.file_name());
        let from_dir = e.file_type()?.is_dir();
        match std::fs::symlink_metadata(&to) {
            Err(_) => std::fs::rename(&from, &to)?,
            Ok(m) if m.is_dir() && from_dir => move_into(&from, &to)?,
            Ok(m) if m.is_dir() => {
                // a file where a directory is: the directory stays
            }
            Ok(_) if from_dir => {
                // a directory where a file or link is: the link is not
                // followed; the package's directory replaces it
                std::fs::remove_file(&to)?;
                std::fs::rename(&from, &to)?;
            }
            Ok(_) => {
                std::fs::remove_file(&to)?;
                std::fs::rename(&from, &to)?;
            }
        }
    }
    Ok(())
}

/// For top-level directories that are symlinks on this system (`/bin`
/// → `usr/bin`, ...), moves what the packages put there to the target,
/// so the layering sees one directory. Nothing in `root` is followed.
fn fold_symlinked_dirs(root: &Path, host: &Path) -> Result<()> {
    for e in std::fs::read_dir(root)?.flatten() {
        let name = e.file_name();
        let host_path = host.join(&name);
        let Ok(target) = std::fs::read_link(&host_path) else {
            continue;
        };
        if !e.file_type()?.is_dir() || target.is_absolute() {
            continue;
        }
        if target
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            continue;
        }
        // the target directory, made of real directories only
        let mut dest = root.to_path_buf();
        let mut ok = true;
        for c in target.components() {
            dest.push(c);
            match std::fs::symlink_metadata(&dest) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    ok = false;
                    break;
                }
                Err(_) => std::fs::create_dir(&dest)?,
            }
        }
        if !ok {
            continue;
        }
        move_into(&e.path(), &dest)?;
        std::fs::remove_dir_all(e.path())?;
    }
    Ok(())
}

/// Builds `out` as the union of `host_dir` (entries as symlinks to
/// `hostref` + their path) and `pkg_dir` (entries as symlinks to
/// themselves), merging directories present in both.
fn merge(host_dir: &Path, rel: &Path, hostref: &Path, pkg_dir: &Path, out: &Path) -> Result<usize> {
    std::fs::create_dir_all(out)?;
    let mut n = 0;
    let pkg_entries: HashMap<std::ffi::OsString, std::fs::DirEntry> = std::fs::read_dir(pkg_dir)?
        .flatten()
        .map(|e| (e.file_name(), e))
        .collect();
    if let Ok(rd) = std::fs::read_dir(host_dir) {
        for e in rd.flatten() {
            let name = e.file_name();
            let host_is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
            match pkg_entries.get(&name) {
                Some(p) if host_is_dir && p.file_type().map(|t| t.is_dir()).unwrap_or(false) => {
                    n += merge(
                        &e.path(),
                        &rel.join(&name),
                        hostref,
                        &p.path(),
                        &out.join(&name),
                    )?;
                }
                Some(_) => {}
                None => {
                    std::os::unix::fs::symlink(hostref.join(rel).join(&name), out.join(&name))?;
                    n += 1;
                }
            }
        }
    }
    for (name, p) in &pkg_entries {
        let dst = out.join(name);
        if dst.symlink_metadata().is_err() {
            std::os::unix::fs::symlink(p.path(), &dst)?;
            n += 1;
        }
    }
    Ok(n)
}

/// `(directory made, path it is bound over)` pairs.
pub type Binds = Vec<(PathBuf, PathBuf)>;

/// The layered view of `root` over this system: `(directory made, path
/// it is bound over)` pairs, and the mount point under which the system
/// itself is visible. Top-level directories the system lacks cannot be
/// added (the root is read-only) and are reported in the second list.
pub fn layer(root: &Path, view: &Path, hostref: &Path) -> Result<(Binds, Vec<String>)> {
    let host = Path::new("/");
    fold_symlinked_dirs(root, host)?;
    let mut binds = vec![];
    let mut skipped = vec![];
    let mut tops: Vec<_> = std::fs::read_dir(root)?.flatten().collect();
    tops.sort_by_key(|e| e.file_name());
    for e in tops {
        let name = e.file_name();
        let host_path = host.join(&name);
        let meta = std::fs::symlink_metadata(&host_path);
        match meta {
            Ok(m) if m.is_dir() && e.file_type()?.is_dir() => {
                let out = view.join(&name);
                merge(&host_path, Path::new(&name), hostref, &e.path(), &out)?;
                binds.push((out, host_path));
            }
            _ => skipped.push(format!("/{}", name.to_string_lossy())),
        }
    }
    Ok((binds, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering::*;

    #[test]
    fn versions_compare_as_rpm_does() {
        for (a, b, o) in [
            ("1.0", "1.0", Equal),
            ("1.0", "1.1", Less),
            ("1.10", "1.9", Greater),
            ("1.0a", "1.0", Greater),
            ("1.0~rc1", "1.0", Less),
            ("1.0^git1", "1.0", Greater),
            ("1.0^git1", "1.0.1", Less),
            ("2", "10", Less),
            ("a", "1", Less),
            ("1.001", "1.1", Equal),
        ] {
            assert_eq!(rpmvercmp(a, b), o, "{a} vs {b}");
        }
    }

    const PRIMARY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="4">
<package type="rpm"><name>liba</name><arch>x86_64</arch><version epoch="0" ver="1.0" rel="1"/>
  <location href="toplink/packages/liba/1.0/1/x86_64/liba-1.0-1.x86_64.rpm"/>
  <format><rpm:provides><rpm:entry name="liba" flags="EQ" epoch="0" ver="1.0" rel="1"/><rpm:entry name="liba.so()(64bit)"/></rpm:provides>
  <rpm:requires><rpm:entry name="libc.so.6()(64bit)"/><rpm:entry name="rpmlib(CompressedFileNames)" flags="LE" epoch="0" ver="3.0.4" rel="1"/></rpm:requires>
  <file>/usr/lib64/liba.so</file></format></package>
<package type="rpm"><name>liba</name><arch>x86_64</arch><version epoch="0" ver="2.0" rel="1"/>
  <location href="toplink/packages/liba/2.0/1/x86_64/liba-2.0-1.x86_64.rpm"/>
  <format><rpm:provides><rpm:entry name="liba" flags="EQ" epoch="0" ver="2.0" rel="1"/></rpm:provides></format></package>
<package type="rpm"><name>liba-devel</name><arch>x86_64</arch><version epoch="0" ver="2.0" rel="1"/>
  <location href="toplink/x.rpm"/>
  <format><rpm:requires><rpm:entry name="liba" flags="EQ" epoch="0" ver="2.0" rel="1"/><rpm:entry name="/usr/bin/tool"/></rpm:requires></format></package>
<package type="rpm"><name>tools</name><arch>noarch</arch><version epoch="0" ver="1" rel="1"/>
  <location href="toplink/t.rpm"/>
  <format><file>/usr/bin/tool</file></format></package>
<package type="rpm"><name>other-arch</name><arch>ppc64le</arch><version epoch="0" ver="1" rel="1"/><location href="o.rpm"/></package>
</metadata>"#;

    #[test]
    fn primary_is_read_and_dependencies_resolved() {
        let pkgs = parse_primary(PRIMARY.as_bytes()).unwrap();
        assert_eq!(pkgs.len(), 5);
        assert_eq!(pkgs[0].nvra(), "liba-1.0-1.x86_64");
        assert_eq!(pkgs[0].provides.len(), 2);
        assert_eq!(pkgs[0].requires.len(), 2);
        assert_eq!(pkgs[0].files, ["/usr/lib64/liba.so"]);
        assert_eq!(pkgs[3].href, "toplink/t.rpm");

        let r = resolve(
            &pkgs,
            &[Dep::named("liba-devel"), Dep::named("gcc")],
            "x86_64",
        );
        let names: Vec<String> = r.install.iter().map(|&i| pkgs[i].nvra()).collect();
        // the devel package pulls the newest liba (the one it asks for) and
        // the file dependency; gcc is not in the repo
        assert_eq!(
            names,
            [
                "liba-devel-2.0-1.x86_64",
                "liba-2.0-1.x86_64",
                "tools-1-1.noarch"
            ]
        );
        assert_eq!(r.from_host, ["gcc"]);
        // a versioned requirement picks the matching one
        let mut old = Dep::named("liba");
        old.flags = Some("LT".into());
        old.ver = Some("2.0".into());
        let r = resolve(&pkgs, &[old], "x86_64");
        assert_eq!(pkgs[r.install[0]].nvra(), "liba-1.0-1.x86_64");
        assert_eq!(r.from_host, ["libc.so.6()(64bit)"]);
        // other arches are not usable
        let r = resolve(&pkgs, &[Dep::named("other-arch")], "x86_64");
        assert!(r.install.is_empty());
    }

    #[test]
    fn zstd_and_gzip_primaries_are_read() {
        let t = tempfile::tempdir().unwrap();
        for (name, data) in [
            (
                "p-primary.xml.zst",
                // the document in two frames, as a multi-frame writer makes it
                PRIMARY
                    .as_bytes()
                    .chunks(PRIMARY.len() / 2 + 1)
                    .flat_map(|b| {
                        ruzstd::encoding::compress_to_vec(
                            b,
                            ruzstd::encoding::CompressionLevel::Fastest,
                        )
                    })
                    .collect::<Vec<u8>>(),
            ),
            ("p-primary.xml", PRIMARY.as_bytes().to_vec()),
        ] {
            let dir = t.path().join(name);
            std::fs::create_dir_all(dir.join("repodata")).unwrap();
            std::fs::write(dir.join("repodata").join(name), &data).unwrap();
            std::fs::write(
                dir.join("repodata/repomd.xml"),
                format!("<repomd><data type=\"primary\"><location href=\"repodata/{name}\"/></data></repomd>"),
            )
            .unwrap();
            let pkgs = read_repo(&dir).unwrap();
            assert_eq!(pkgs.len(), 5, "{name}");
            assert_eq!(pkgs[0].nvra(), "liba-1.0-1.x86_64");
        }
        let dir = t.path().join("bz");
        std::fs::create_dir_all(dir.join("repodata")).unwrap();
        std::fs::write(
            dir.join("repodata/repomd.xml"),
            "<repomd><data type=\"primary\"><location href=\"repodata/p.xml.bz2\"/></data></repomd>",
        )
        .unwrap();
        std::fs::write(dir.join("repodata/p.xml.bz2"), b"x").unwrap();
        let err = read_repo(&dir).unwrap_err().to_string();
        assert!(err.contains("unsupported compression"), "{err}");
    }

    #[test]
    fn packages_chosen_first_bring_their_requirements_from_the_listed_arches() {
        let mut pkgs = parse_primary(PRIMARY.as_bytes()).unwrap();
        // the same liba 2.0 for i686 and i586: the first listed arch wins
        for arch in ["i586", "i686"] {
            let mut p = pkgs[1].clone();
            p.arch = arch.into();
            pkgs.push(p);
        }
        let devel = 2;
        let r = resolve_among(&pkgs, &[devel], &[], &["i686", "i586"]);
        let names: Vec<String> = r.install.iter().map(|&i| pkgs[i].nvra()).collect();
        assert_eq!(
            names,
            [
                "liba-devel-2.0-1.x86_64",
                "liba-2.0-1.i686",
                "tools-1-1.noarch"
            ]
        );
        assert!(r.from_host.is_empty(), "{:?}", r.from_host);
    }

    #[test]
    fn comps_groups_and_repomd() {
        let comps = "<comps><group><id>srpm-build</id><packagelist><packagereq type=\"mandatory\">git</packagereq></packagelist></group>\
                     <group><id>build</id><name>build</name><packagelist>\
                     <packagereq type=\"mandatory\">bash</packagereq><!-- Expanding Group: x -->\
                     <packagereq type=\"default\">hello</packagereq></packagelist></group></comps>";
        assert_eq!(comps_group(comps, "build"), ["bash", "hello"]);
        assert_eq!(comps_group(comps, "srpm-build"), ["git"]);
        assert!(comps_group(comps, "none").is_empty());
        let repomd = "<repomd><data type=\"other\"><location href=\"repodata/o.xml.gz\"/></data>\
                      <data type=\"primary\"><checksum>x</checksum><location href=\"repodata/p-primary.xml.gz\"/></data></repomd>";
        assert_eq!(
            primary_href(repomd).as_deref(),
            Some("repodata/p-primary.xml.gz")
        );
    }

    #[test]
    fn a_link_one_package_ships_is_not_followed_by_the_next() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        let outside = t.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        // package A: usr/share/x -> outside
        let a = t.path().join("a");
        std::fs::create_dir_all(a.join("usr/share")).unwrap();
        std::os::unix::fs::symlink(&outside, a.join("usr/share/x")).unwrap();
        // package B: usr/share/x/evil
        let b = t.path().join("b");
        std::fs::create_dir_all(b.join("usr/share/x")).unwrap();
        std::fs::write(b.join("usr/share/x/evil"), "x").unwrap();
        std::fs::create_dir_all(&root).unwrap();
        move_into(&a, &root).unwrap();
        move_into(&b, &root).unwrap();
        assert!(!outside.join("evil").exists());
        assert!(root.join("usr/share/x/evil").is_file());
        assert!(!std::fs::symlink_metadata(root.join("usr/share/x"))
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn layering_merges_directories() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        std::fs::create_dir_all(root.join("usr/share/hello-koji-test")).unwrap();
        std::fs::write(root.join("usr/share/hello-koji-test/x"), "x").unwrap();
        std::fs::create_dir_all(root.join("nonexistent-top")).unwrap();
        let view = t.path().join("view");
        let hostref = Path::new("/HOST");
        let (binds, skipped) = layer(&root, &view, hostref).unwrap();
        assert_eq!(binds, [(view.join("usr"), PathBuf::from("/usr"))]);
        assert_eq!(skipped, ["/nonexistent-top"]);
        // the system's entries point into the system, the package's at it
        assert_eq!(
            std::fs::read_link(view.join("usr/bin")).unwrap(),
            Path::new("/HOST/usr/bin")
        );
        assert_eq!(
            std::fs::read_link(view.join("usr/share/hello-koji-test")).unwrap(),
            root.join("usr/share/hello-koji-test")
        );
        assert!(view.join("usr/share").is_dir());
        assert_eq!(
            std::fs::read_link(view.join("usr/share/doc")).unwrap(),
            Path::new("/HOST/usr/share/doc")
        );
    }
}
