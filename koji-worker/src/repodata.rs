//! Repo metadata that a regeneration can update in proportion to the
//! change instead of the tag.
//!
//! createrepo_c makes every package's metadata (a full run, or a run over
//! just the packages a new repo adds). Its `primary`, `filelists` and
//! `other` files are then kept as *chunked* gzip files: a member for the
//! XML head, one member per chunk of about [`CHUNK_TARGET`] bytes of
//! `<package>` elements, a member for the tail. Concatenated gzip members
//! are one valid gzip file (RFC 1952; zlib's `gzread`, which libsolv,
//! createrepo_c and mergerepo_c use, and Python's `gzip` read them whole),
//! so clients see ordinary repodata. The chunk layout is recorded in
//! [`INDEX_NAME`] beside `repomd.xml`.
//!
//! The next repo of the tag ([`splice`]) copies every chunk whose packages
//! all stay byte for byte, recompresses chunks that lose a package (merged
//! with a neighbour when they become small), puts the new packages
//! (createrepo_c's entries for them) in the last chunk or a new one, and
//! writes a new head (the package count) and `repomd.xml`. The result holds exactly the `<package>` entries a full
//! createrepo_c run over the new package list would write; only their
//! order and the gzip framing differ.
//!
//! No sqlite databases: dnf reads the XML, and createrepo_c 1.0 no
//! longer makes them by default either.

use anyhow::{anyhow, bail, Context as _, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::{HashMap, HashSet};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

/// The chunk layout of a repodata directory, beside its `repomd.xml`.
pub const INDEX_NAME: &str = "koji-rs-chunks.json";
/// Bytes of uncompressed `primary` per chunk; deflate looks back 32 KiB,
/// so chunks this size compress as well as one stream.
pub const CHUNK_TARGET: usize = 256 * 1024;
const KINDS: [&str; 3] = ["primary", "filelists", "other"];
const VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Pkg {
    pub pkgid: String,
    /// As in the `location href` (relative to the repo directory, as in
    /// the pkglist createrepo_c was given).
    pub href: String,
    /// `<size package>` and `<time file>`, which createrepo_c `--update`
    /// compares with the file unless `--skip-stat`.
    pub size: u64,
    pub mtime: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Member {
    /// Offset and length of the gzip member in the file.
    offset: u64,
    len: u64,
}

impl Member {
    /// The member's bytes in `file`.
    fn bytes<'a>(&self, file: &'a [u8]) -> Result<&'a [u8]> {
        let end = self.offset.checked_add(self.len);
        end.and_then(|e| file.get(self.offset as usize..e as usize))
            .ok_or_else(|| anyhow!("{INDEX_NAME} does not match the files"))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Chunk {
    pkgs: Vec<Pkg>,
    /// One member per kind, in [`KINDS`] order.
    members: Vec<Member>,
    /// Uncompressed bytes of the chunk's primary.
    primary_len: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Index {
    version: u32,
    /// The file of each kind (name in `repodata/`) and its sha256.
    files: Vec<(String, String)>,
    chunks: Vec<Chunk>,
}

/// One metadata file split into its head, `<package>` elements and tail.
struct Split<'a> {
    head: &'a [u8],
    elems: Vec<&'a [u8]>,
    tail: &'a [u8],
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// Splits createrepo_c's XML into its parts. Text and attributes escape
/// `<`, so `<package` and `</package>` only occur as tags.
fn split(xml: &[u8]) -> Result<Split<'_>> {
    let start = |from: usize| -> Option<usize> {
        let mut at = from;
        while let Some(i) = find(&xml[at..], b"<package") {
            let i = at + i;
            if matches!(xml.get(i + 8), Some(b' ' | b'>' | b'\n' | b'\t')) {
                return Some(i);
            }
            at = i + 8;
        }
        None
    };
    let Some(first) = start(0) else {
        let close = xml
            .iter()
            .rposition(|&b| b == b'<')
            .ok_or_else(|| anyhow!("no XML"))?;
        return Ok(Split {
            head: &xml[..close],
            elems: vec![],
            tail: &xml[close..],
        });
    };
    let mut elems = vec![];
    let mut at = first;
    loop {
        let end = find(&xml[at..], b"</package>")
            .map(|e| at + e + b"</package>".len())
            .ok_or_else(|| anyhow!("unterminated <package>"))?;
        let end = if xml.get(end) == Some(&b'\n') {
            end + 1
        } else {
            end
        };
        elems.push(&xml[at..end]);
        match start(end) {
            Some(next) if xml[end..next].iter().all(u8::is_ascii_whitespace) => at = next,
            Some(_) => bail!("unexpected text between packages"),
            None => {
                return Ok(Split {
                    head: &xml[..first],
                    elems,
                    tail: &xml[end..],
                })
            }
        }
    }
}

fn attr<'a>(elem: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let i = find(elem, prefix)? + prefix.len();
    let len = elem[i..].iter().position(|&b| b == b'"')?;
    Some(&elem[i..i + len])
}

/// An attribute's text: XML's named and numeric character references.
fn unescape(s: &[u8]) -> String {
    let s = String::from_utf8_lossy(s);
    let mut out = String::with_capacity(s.len());
    let mut rest = &*s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else { break };
        let ent = &rest[1..end];
        let ch = match ent {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "amp" => Some('&'),
            _ => ent
                .strip_prefix("#x")
                .or_else(|| ent.strip_prefix("#X"))
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| ent.strip_prefix('#').map(str::parse))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The package a `primary` element describes.
fn primary_pkg(elem: &[u8]) -> Result<Pkg> {
    let bad = || anyhow!("unexpected primary entry");
    let i = find(elem, b"pkgid=\"YES\">").ok_or_else(bad)? + 12;
    let len = find(&elem[i..], b"<").ok_or_else(bad)?;
    let num = |prefix: &[u8]| -> Result<i64> {
        std::str::from_utf8(attr(elem, prefix).ok_or_else(bad)?)?
            .parse()
            .map_err(|_| bad())
    };
    Ok(Pkg {
        pkgid: String::from_utf8_lossy(&elem[i..i + len]).into_owned(),
        href: unescape(attr(elem, b"<location href=\"").ok_or_else(bad)?),
        size: num(b"<size package=\"")? as u64,
        mtime: num(b"<time file=\"")?,
    })
}

/// The `pkgid` of a `filelists` or `other` element.
fn other_pkgid(elem: &[u8]) -> Option<String> {
    attr(elem, b"<package pkgid=\"").map(|s| String::from_utf8_lossy(s).into_owned())
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 4 + 64),
        flate2::Compression::default(),
    );
    // writing to a Vec cannot fail
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

fn gunzip(data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() * 4);
    flate2::read::MultiGzDecoder::new(data).read_to_end(&mut out)?;
    Ok(out)
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The head with its `packages="N"` count set to `n`.
fn with_count(head: &[u8], n: usize) -> Vec<u8> {
    let key = b" packages=\"";
    match find(head, key) {
        Some(i) => {
            let from = i + key.len();
            let to = from
                + head[from..]
                    .iter()
                    .position(|&b| b == b'"')
                    .unwrap_or_default();
            let mut out = head[..from].to_vec();
            out.extend_from_slice(n.to_string().as_bytes());
            out.extend_from_slice(&head[to..]);
            out
        }
        None => head.to_vec(),
    }
}

/// One chunk as it goes into the new files: members copied from the old
/// files, or XML to compress.
enum Part {
    Old(Vec<Member>),
    New([Vec<u8>; 3]),
}

/// A `repomd.xml` `<data>` record of a metadata file.
struct Record {
    kind: &'static str,
    name: String,
    sha: String,
    size: u64,
    open_sha: String,
    open_size: u64,
}

/// One kind's new file, its open checksum and size, and its members.
type KindFile = (Vec<u8>, (Sha256, u64), Vec<Member>);

/// Writes the chunked files of one repo into `datadir`, the index, and
/// `repomd.xml` with the three records replaced in `base_repomd` (the
/// other records, e.g. comps, stay as createrepo_c wrote them).
fn write_repo(
    datadir: &Path,
    old_files: &[Vec<u8>],
    heads: &[Vec<u8>; 3],
    tails: &[Vec<u8>; 3],
    chunks: Vec<(Vec<Pkg>, u64, Part)>,
    base_repomd: &str,
) -> Result<()> {
    // new chunks compressed on two threads
    let work: Vec<Option<&[Vec<u8>; 3]>> = chunks
        .iter()
        .map(|(_, _, p)| match p {
            Part::New(xml) => Some(xml),
            Part::Old(_) => None,
        })
        .collect();
    let run = |w: &[Option<&[Vec<u8>; 3]>]| -> Vec<Option<[Vec<u8>; 3]>> {
        w.iter()
            .map(|x| x.map(|xml| [gzip(&xml[0]), gzip(&xml[1]), gzip(&xml[2])]))
            .collect()
    };
    let (a, b) = work.split_at(work.len() / 2);
    let compressed: Vec<Option<[Vec<u8>; 3]>> = std::thread::scope(|s| {
        let h = s.spawn(|| run(a));
        let mut second = run(b);
        let mut first = h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        first.append(&mut second);
        first
    });

    let count: usize = chunks.iter().map(|(p, _, _)| p.len()).sum();
    // each kind's file on a thread of its own (primary, the biggest, on
    // this one): the open checksum decompresses every old member
    let assemble = |k: usize| -> Result<KindFile> {
        let head = with_count(&heads[k], count);
        let mut file = gzip(&head);
        let mut open = (Sha256::new(), head.len() as u64);
        open.0.update(&head);
        let mut members = Vec::with_capacity(chunks.len());
        for ((_, _, part), fresh) in chunks.iter().zip(&compressed) {
            let at = file.len() as u64;
            match (part, fresh) {
                (Part::Old(m), _) => {
                    let src = m[k].bytes(&old_files[k])?;
                    let xml = gunzip(src)?;
                    open.0.update(&xml);
                    open.1 += xml.len() as u64;
                    file.extend_from_slice(src);
                }
                (Part::New(xml), Some(gz)) => {
                    open.0.update(&xml[k]);
                    open.1 += xml[k].len() as u64;
                    file.extend_from_slice(&gz[k]);
                }
                (Part::New(_), None) => unreachable!("every new chunk is compressed"),
            }
            members.push(Member {
                offset: at,
                len: file.len() as u64 - at,
            });
        }
        file.extend(gzip(&tails[k]));
        open.0.update(&tails[k]);
        open.1 += tails[k].len() as u64;
        Ok((file, open, members))
    };
    let (primary, (filelists, other)) = std::thread::scope(|s| {
        let h = s.spawn(|| (assemble(1), assemble(2)));
        let primary = assemble(0);
        (
            primary,
            h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
        )
    });
    let mut files = vec![];
    let mut open = vec![];
    let mut members: Vec<std::vec::IntoIter<Member>> = vec![];
    for (file, o, m) in [primary?, filelists?, other?] {
        files.push(file);
        open.push(o);
        members.push(m.into_iter());
    }
    let mut index = Index {
        version: VERSION,
        files: vec![],
        chunks: vec![],
    };
    for (pkgs, primary_len, _) in chunks {
        index.chunks.push(Chunk {
            pkgs,
            members: members.iter_mut().filter_map(Iterator::next).collect(),
            primary_len,
        });
    }
    let mut written = vec![];
    let res = write_files(datadir, files, open, index, base_repomd, &mut written);
    if res.is_err() {
        for p in written {
            let _ = std::fs::remove_file(p);
        }
    }
    res
}

/// The files of [`write_repo`]: each written aside and renamed into place,
/// `repomd.xml` last; `written` gets what a failure must take away.
fn write_files(
    datadir: &Path,
    files: Vec<Vec<u8>>,
    open: Vec<(Sha256, u64)>,
    mut index: Index,
    base_repomd: &str,
    written: &mut Vec<PathBuf>,
) -> Result<()> {
    let put = |name: &str, data: &[u8], written: &mut Vec<PathBuf>| -> Result<()> {
        let tmp = datadir.join(format!(".{name}.part"));
        written.push(tmp.clone());
        std::fs::write(&tmp, data)?;
        let path = datadir.join(name);
        std::fs::rename(&tmp, &path)?;
        written.push(path);
        Ok(())
    };
    let mut records = vec![];
    for (k, (data, (open_sha, open_size))) in files.iter().zip(open).enumerate() {
        let sha = hex(&Sha256::digest(data));
        let name = format!("{sha}-{}.xml.gz", KINDS[k]);
        put(&name, data, written)?;
        index.files.push((name.clone(), sha.clone()));
        records.push(Record {
            kind: KINDS[k],
            name,
            sha,
            size: data.len() as u64,
            open_sha: hex(&open_sha.finalize()),
            open_size,
        });
    }
    let repomd = repomd(base_repomd, &records)?;
    put(INDEX_NAME, &serde_json::to_vec(&index)?, written)?;
    // (repomd.xml replaced, not added: nothing to take away after this)
    let tmp = datadir.join(".repomd.xml.part");
    written.push(tmp.clone());
    std::fs::write(&tmp, repomd)?;
    std::fs::rename(&tmp, datadir.join("repomd.xml"))?;
    Ok(())
}

/// `base` (createrepo_c's `repomd.xml`) with the records of [`KINDS`]
/// replaced by `records`, in createrepo_c's layout.
fn repomd(base: &str, records: &[Record]) -> Result<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let start = base
        .find("  <data ")
        .ok_or_else(|| anyhow!("no data records in createrepo_c's repomd.xml"))?;
    let mut out = base[..start].to_string();
    for r in records {
        out.push_str(&format!(
            "  <data type=\"{kind}\">\n    <checksum type=\"sha256\">{sha}</checksum>\n    \
             <open-checksum type=\"sha256\">{osha}</open-checksum>\n    \
             <location href=\"repodata/{name}\"/>\n    <timestamp>{now}</timestamp>\n    \
             <size>{size}</size>\n    <open-size>{osize}</open-size>\n  </data>\n",
            kind = r.kind,
            sha = r.sha,
            osha = r.open_sha,
            name = r.name,
            size = r.size,
            osize = r.open_size,
        ));
    }
    // the other records as they were
    let mut rest = &base[start..];
    while let Some(i) = rest.find("  <data type=\"") {
        let end = rest[i..]
            .find("</data>\n")
            .map(|e| i + e + "</data>\n".len())
            .ok_or_else(|| anyhow!("unexpected repomd.xml"))?;
        let block = &rest[i..end];
        let kind = block["  <data type=\"".len()..]
            .split('"')
            .next()
            .unwrap_or_default();
        match kind {
            k if KINDS.contains(&k) => {}
            // the comps, which do not depend on the packages
            "group" | "group_gz" => out.push_str(block),
            // e.g. sqlite databases or zchunk files of the packages given
            // to createrepo_c, which would not describe the whole repo
            other => bail!("cannot splice metadata of type {other}"),
        }
        rest = &rest[end..];
    }
    out.push_str("</repomd>\n");
    Ok(out)
}

/// The `location href` of each record of a `repomd.xml`, by type.
fn locations(repomd: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for block in repomd.split("<data type=\"").skip(1) {
        let kind = block.split('"').next().unwrap_or_default();
        if let Some(i) = block.find("<location href=\"") {
            let href = block[i + 16..].split('"').next().unwrap_or_default();
            out.insert(kind.to_string(), href.to_string());
        }
    }
    out
}

/// createrepo_c's output in `repodir` (`repodata/` inside it): the
/// decompressed primary, filelists and other, and the repomd text.
fn read_createrepo(repodir: &Path) -> Result<([Vec<u8>; 3], String)> {
    let repomd = std::fs::read_to_string(repodir.join("repodata/repomd.xml"))?;
    let locs = locations(&repomd);
    let mut xml: [Vec<u8>; 3] = Default::default();
    for (k, kind) in KINDS.iter().enumerate() {
        let href = locs
            .get(*kind)
            .ok_or_else(|| anyhow!("no {kind} in repomd.xml"))?;
        if !href.ends_with(".gz") {
            bail!("{href} is not gzip");
        }
        xml[k] = gunzip(&std::fs::read(repodir.join(href))?)?;
    }
    Ok((xml, repomd))
}

/// The packages of createrepo_c's three files, checked to be in the
/// same order in each: per package its `Pkg` and three elements.
type Entries<'a> = Vec<(Pkg, [&'a [u8]; 3])>;

fn entries<'a>(splits: &[Split<'a>; 3]) -> Result<Entries<'a>> {
    let n = splits[0].elems.len();
    if splits.iter().any(|s| s.elems.len() != n) {
        bail!("primary, filelists and other differ in their number of packages");
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let pkg = primary_pkg(splits[0].elems[i])?;
        for s in &splits[1..] {
            if other_pkgid(s.elems[i]).as_deref() != Some(pkg.pkgid.as_str()) {
                bail!("primary, filelists and other list packages in different orders");
            }
        }
        out.push((
            pkg,
            [splits[0].elems[i], splits[1].elems[i], splits[2].elems[i]],
        ));
    }
    Ok(out)
}

/// Groups entries into new chunks of about `target` bytes of primary.
fn new_chunks(entries: Entries<'_>, target: usize, out: &mut Vec<(Vec<Pkg>, u64, Part)>) {
    let mut cur: (Vec<Pkg>, [Vec<u8>; 3]) = Default::default();
    let flush = |cur: &mut (Vec<Pkg>, [Vec<u8>; 3]), out: &mut Vec<(Vec<Pkg>, u64, Part)>| {
        if !cur.0.is_empty() {
            let (pkgs, xml) = std::mem::take(cur);
            out.push((pkgs, xml[0].len() as u64, Part::New(xml)));
        }
    };
    for (pkg, elems) in entries {
        cur.0.push(pkg);
        for (buf, e) in cur.1.iter_mut().zip(elems) {
            buf.extend_from_slice(e);
        }
        if cur.1[0].len() >= target {
            flush(&mut cur, out);
        }
    }
    flush(&mut cur, out);
}

/// Turns createrepo_c's output in `repodir/repodata` into chunked files
/// (replacing its primary, filelists and other, and its `repomd.xml`).
pub fn chunk(repodir: &Path) -> Result<()> {
    chunk_sized(repodir, CHUNK_TARGET)
}

/// [`chunk`] with chunks of about `target` bytes of primary.
pub fn chunk_sized(repodir: &Path, target: usize) -> Result<()> {
    let datadir = repodir.join("repodata");
    let (xml, repomd_text) = read_createrepo(repodir)?;
    let splits = [split(&xml[0])?, split(&xml[1])?, split(&xml[2])?];
    let all = entries(&splits)?;
    let mut chunks = vec![];
    new_chunks(all, target, &mut chunks);
    let heads = splits.each_ref().map(|s| s.head.to_vec());
    let tails = splits.each_ref().map(|s| s.tail.to_vec());
    let old_names: Vec<String> = locations(&repomd_text)
        .into_iter()
        .filter(|(k, _)| KINDS.contains(&k.as_str()))
        .map(|(_, href)| href)
        .collect();
    write_repo(&datadir, &[], &heads, &tails, chunks, &repomd_text)?;
    for href in old_names {
        let _ = std::fs::remove_file(repodir.join(href));
    }
    Ok(())
}

/// What [`plan`] found: the old repo's chunks and which of its packages
/// stay, and the package list's entries it does not have.
pub struct Plan {
    old_datadir: PathBuf,
    index: Index,
    keep: HashSet<String>,
    /// pkglist lines to give createrepo_c, in pkglist order.
    pub added: Vec<String>,
    /// Bytes of primary per chunk ([`CHUNK_TARGET`]).
    pub target: usize,
}

/// Compares the old repo's chunk index with the new pkglist. `None` when
/// the old repodata has no usable index (then createrepo_c `--update`
/// does the work). Unless `skip_stat`, a package whose file's size or
/// mtime differ from its metadata counts as new, as createrepo_c does.
pub fn plan(
    old_datadir: &Path,
    repodir: &Path,
    pkglist: &[String],
    skip_stat: bool,
) -> Result<Option<Plan>> {
    let Ok(raw) = std::fs::read(old_datadir.join(INDEX_NAME)) else {
        return Ok(None);
    };
    let index: Index = match serde_json::from_slice(&raw) {
        Ok(
            i @ Index {
                version: VERSION, ..
            },
        ) => i,
        _ => return Ok(None),
    };
    // the index must describe the files the old repomd.xml names (not
    // files an update in place left behind), three members per chunk
    let repomd = std::fs::read_to_string(old_datadir.join("repomd.xml")).unwrap_or_default();
    let locs = locations(&repomd);
    let named = KINDS.iter().map(|k| {
        locs.get(*k)
            .and_then(|h| Path::new(h).file_name())
            .map(|n| n.to_string_lossy().into_owned())
    });
    if index.files.len() != 3
        || !named
            .zip(&index.files)
            .all(|(n, f)| n.as_ref() == Some(&f.0))
        || index.chunks.iter().any(|c| c.members.len() != 3)
    {
        return Ok(None);
    }
    let mut old: HashMap<&str, &Pkg> = HashMap::new();
    for p in index.chunks.iter().flat_map(|c| &c.pkgs) {
        if old.insert(p.href.as_str(), p).is_some() {
            return Ok(None);
        }
    }
    let mut keep = HashSet::new();
    let mut added = vec![];
    let mut seen = HashSet::new();
    for line in pkglist {
        if !seen.insert(line.as_str()) {
            // a package listed twice: leave it to createrepo_c
            return Ok(None);
        }
        let unchanged = old.get(line.as_str()).is_some_and(|p| {
            skip_stat || {
                std::fs::metadata(repodir.join(line)).is_ok_and(|m| {
                    use std::os::unix::fs::MetadataExt as _;
                    m.len() == p.size && m.mtime() == p.mtime
                })
            }
        });
        if unchanged {
            keep.insert(line.clone());
        } else {
            added.push(line.clone());
        }
    }
    Ok(Some(Plan {
        old_datadir: old_datadir.to_path_buf(),
        index,
        keep,
        added,
        target: CHUNK_TARGET,
    }))
}

/// The old repo's three files, checked against the index's checksums.
fn read_old(plan: &Plan) -> Result<Vec<Vec<u8>>> {
    let mut out = vec![];
    for (name, sha) in &plan.index.files {
        let data = std::fs::read(plan.old_datadir.join(name))
            .with_context(|| format!("reading {name}"))?;
        if hex(&Sha256::digest(&data)) != *sha {
            bail!("{name} does not match {INDEX_NAME}");
        }
        out.push(data);
    }
    if out.len() != 3 {
        bail!("{INDEX_NAME} does not name three files");
    }
    Ok(out)
}

/// A member of an old file, decompressed.
fn old_member(file: &[u8], m: &Member) -> Result<Vec<u8>> {
    gunzip(m.bytes(file)?)
}

/// A chunk's XML, decompressed from the old files when it is theirs.
fn part_xml(part: Part, old: &[Vec<u8>]) -> Result<[Vec<u8>; 3]> {
    Ok(match part {
        Part::New(xml) => xml,
        Part::Old(m) => [
            old_member(&old[0], &m[0])?,
            old_member(&old[1], &m[1])?,
            old_member(&old[2], &m[2])?,
        ],
    })
}

/// Writes the new repo's chunked metadata into `datadir` from the old
/// repo's (per `plan`) and `fresh`, createrepo_c's output over the added
/// packages; its other records (the comps) and their files are taken as
/// they are.
pub fn splice(plan: Plan, fresh: &Path, datadir: &Path) -> Result<()> {
    let (xml, repomd_text) = read_createrepo(fresh)?;
    let splits = [split(&xml[0])?, split(&xml[1])?, split(&xml[2])?];
    let mut added = entries(&splits)?;
    let want: HashSet<&str> = plan.added.iter().map(String::as_str).collect();
    if added.len() != want.len() || added.iter().any(|(p, _)| !want.contains(p.href.as_str())) {
        bail!("createrepo_c did not write the packages it was given");
    }
    let old = read_old(&plan)?;
    let mut chunks: Vec<(Vec<Pkg>, u64, Part)> = vec![];
    let mut rebuilt = 0;
    for c in &plan.index.chunks {
        let keep: Vec<bool> = c.pkgs.iter().map(|p| plan.keep.contains(&p.href)).collect();
        let kept: Vec<Pkg> = c
            .pkgs
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(p, _)| p.clone())
            .collect();
        if kept.len() == c.pkgs.len() {
            chunks.push((kept, c.primary_len, Part::Old(c.members.clone())));
            continue;
        }
        if kept.is_empty() {
            continue;
        }
        // the chunk loses packages: the others (its elements are in the
        // order of its packages), recompressed
        rebuilt += 1;
        let mut xml: [Vec<u8>; 3] = Default::default();
        for (k, out) in xml.iter_mut().enumerate() {
            let text = old_member(&old[k], &c.members[k])?;
            let elems = split(&text)?.elems;
            if elems.len() != c.pkgs.len() {
                bail!("{INDEX_NAME} does not match the files");
            }
            for ((e, p), k2) in elems.iter().zip(&c.pkgs).zip(&keep) {
                let id = if k == 0 {
                    Some(primary_pkg(e)?.pkgid)
                } else {
                    other_pkgid(e)
                };
                if id.as_deref() != Some(p.pkgid.as_str()) {
                    bail!("{INDEX_NAME} does not match the files");
                }
                if *k2 {
                    out.extend_from_slice(e);
                }
            }
        }
        chunks.push((kept, xml[0].len() as u64, Part::New(xml)));
    }
    // a chunk grown small merges with its neighbour
    let mut merged: Vec<(Vec<Pkg>, u64, Part)> = vec![];
    for c in chunks {
        let small = |len: u64| (len as usize) < plan.target / 2;
        match merged.last_mut() {
            Some(prev)
                if (small(prev.1) || small(c.1)) && (prev.1 + c.1) as usize <= plan.target =>
            {
                let mut xml = part_xml(std::mem::replace(&mut prev.2, Part::Old(vec![])), &old)?;
                for (buf, more) in xml.iter_mut().zip(part_xml(c.2, &old)?) {
                    buf.extend(more);
                }
                prev.0.extend(c.0);
                prev.1 = xml[0].len() as u64;
                prev.2 = Part::New(xml);
            }
            _ => merged.push(c),
        }
    }
    let mut chunks = merged;
    tracing::debug!(
        "splice: {rebuilt} chunks rebuilt, {} packages added",
        added.len()
    );
    // the new packages fill up the last chunk while it has room
    let last_has_room = chunks
        .last()
        .is_some_and(|(_, len, _)| (*len as usize) < plan.target);
    if last_has_room && !added.is_empty() {
        if let Some((mut pkgs, _, part)) = chunks.pop() {
            let mut xml = part_xml(part, &old)?;
            let mut rest = added.into_iter();
            for (pkg, elems) in rest.by_ref() {
                pkgs.push(pkg);
                for (buf, e) in xml.iter_mut().zip(elems) {
                    buf.extend_from_slice(e);
                }
                if xml[0].len() >= plan.target {
                    break;
                }
            }
            added = rest.collect();
            chunks.push((pkgs, xml[0].len() as u64, Part::New(xml)));
        }
    }
    new_chunks(added, plan.target, &mut chunks);
    let heads = splits.each_ref().map(|s| s.head.to_vec());
    let tails = splits.each_ref().map(|s| s.tail.to_vec());
    write_repo(datadir, &old, &heads, &tails, chunks, &repomd_text)?;
    for (kind, href) in locations(&repomd_text) {
        if KINDS.contains(&kind.as_str()) {
            continue;
        }
        let name = Path::new(&href)
            .file_name()
            .ok_or_else(|| anyhow!("unexpected location {href}"))?;
        std::fs::copy(fresh.join(&href), datadir.join(name))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_text_unescaped() {
        assert_eq!(
            unescape(b"a&amp;b&lt;&#38;&#x26;&#10;&bogus;&"),
            "a&b<&&\n&bogus;&"
        );
        let elem = b"<package type=\"rpm\">\n  <checksum type=\"sha256\" pkgid=\"YES\">abc</checksum>\n  \
                     <time file=\"7\" build=\"8\"/>\n  <size package=\"9\" installed=\"1\" archive=\"2\"/>\n  \
                     <location href=\"a&amp;b/x&#x2B;y.rpm\"/>\n</package>\n";
        let p = primary_pkg(elem).unwrap();
        assert_eq!(
            p,
            Pkg {
                pkgid: "abc".into(),
                href: "a&b/x+y.rpm".into(),
                size: 9,
                mtime: 7
            }
        );
        let xml = b"<head>\n<package a=\"1\"><packager>p</packager>x</package>\n<package>y</package>\n</t>";
        let s = split(xml).unwrap();
        assert_eq!(s.elems.len(), 2);
        assert_eq!(s.elems[1], b"<package>y</package>\n");
        assert!(split(b"<h>\n<package>x</package>\ntext<package>y</package>\n</t>").is_err());
        assert_eq!(s.head, b"<head>\n");
        assert_eq!(s.tail, b"</t>");
    }
}
