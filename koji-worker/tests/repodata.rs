//! Chunked repo metadata (`koji_worker::repodata`) against createrepo_c:
//! a repo spliced from the previous one holds exactly the package entries
//! a full createrepo_c run writes, in valid gzip with correct repomd
//! checksums, and splices chain.

use sha2::{Digest as _, Sha256};
use std::io::Read as _;
use std::path::Path;
use std::process::Command;

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `count` noarch subpackages of `name` with some files, requires and a
/// changelog; answers the RPMs' file names.
fn build(top: &Path, name: &str, release: &str, count: usize) -> Vec<String> {
    let mut spec = format!(
        "%global debug_package %{{nil}}\nName: {name}\nVersion: 1.0\nRelease: {release}\n\
         Summary: {name} & <co>\nLicense: MIT\nBuildArch: noarch\n%description\n{name}\n"
    );
    for i in 0..count {
        spec += &format!(
            "%package p{i}\nSummary: part {i} of {name}\nRequires(pre): /bin/sh\n\
             Provides: {name}-feature{i} = 1.0\n%description p{i}\nThe part {i} of {name}, \
             described at some length so that a few of them fill a chunk.\n"
        );
    }
    spec += "%install\n";
    for i in 0..count {
        spec += &format!(
            "mkdir -p %{{buildroot}}/usr/share/{name}/p{i} %{{buildroot}}/usr/bin\n\
             echo {i} > %{{buildroot}}/usr/share/{name}/p{i}/data\n\
             echo {i} > %{{buildroot}}/usr/bin/{name}-p{i}\n"
        );
    }
    for i in 0..count {
        spec += &format!("%files p{i}\n/usr/share/{name}/p{i}/data\n/usr/bin/{name}-p{i}\n");
    }
    spec += "%changelog\n* Mon Dec 07 2026 Some One <one@example.com> - 1.0-1\n- first\n";
    let specfile = top.join(format!("{name}-{release}.spec"));
    std::fs::write(&specfile, spec).unwrap();
    let rb = top.join(format!("rpmbuild-{name}-{release}"));
    run(Command::new("rpmbuild")
        .arg("-bb")
        .arg("--define")
        .arg(format!("_topdir {}", rb.display()))
        .arg(&specfile));
    let mut names = vec![];
    for e in std::fs::read_dir(rb.join("RPMS/noarch")).unwrap().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        std::fs::rename(e.path(), top.join("pkgs").join(&n)).unwrap();
        names.push(format!("pkgs/{n}"));
    }
    names.sort();
    names
}

fn createrepo(out: &Path, list: &[String], dir: &Path, comps: Option<&Path>) {
    std::fs::create_dir_all(out).unwrap();
    let mut cmd = Command::new("createrepo_c");
    // as kojid runs it for chunked metadata
    cmd.args([
        "--error-exit-val",
        "-q",
        "--no-database",
        "--general-compress-type=gz",
        "-o",
    ])
    .arg(out);
    if let Some(c) = comps {
        cmd.arg("-g").arg(c);
    }
    if list.is_empty() {
        // nothing to index: an empty directory (as kojid does)
        let empty = out.join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        return run(cmd.arg(empty));
    }
    let listfile = out.join("list");
    std::fs::write(&listfile, list.join("\n") + "\n").unwrap();
    run(cmd.arg("-i").arg(&listfile).arg(dir));
}

/// The records of a repomd.xml: type -> (href, checksum, open-checksum,
/// size, open-size).
fn records(dir: &Path) -> Vec<(String, String, String, String, String, String)> {
    let text = std::fs::read_to_string(dir.join("repodata/repomd.xml")).unwrap();
    let tag = |b: &str, t: &str| -> String {
        b.split(&format!("<{t}"))
            .nth(1)
            .and_then(|r| r.split_once('>'))
            .map(|(_, r)| r.split('<').next().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    text.split("<data type=\"")
        .skip(1)
        .map(|b| {
            let kind = b.split('"').next().unwrap().to_string();
            let href = b
                .split("<location href=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_string();
            (
                kind,
                href,
                tag(b, "checksum"),
                tag(b, "open-checksum"),
                tag(b, "size"),
                tag(b, "open-size"),
            )
        })
        .collect()
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks every record's checksums and sizes, and answers each package
/// kind's decompressed XML and how many gzip members its file has.
fn metadata(dir: &Path) -> Vec<(String, String, usize)> {
    let mut out = vec![];
    for (kind, href, sha, osha, size, osize) in records(dir) {
        let raw = std::fs::read(dir.join(&href)).unwrap();
        assert_eq!(hex(&Sha256::digest(&raw)), sha, "{kind} checksum");
        assert_eq!(raw.len().to_string(), size, "{kind} size");
        if !href.ends_with(".gz") {
            continue;
        }
        let mut xml = String::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_string(&mut xml)
            .unwrap();
        assert_eq!(hex(&Sha256::digest(xml.as_bytes())), osha, "{kind} open");
        assert_eq!(xml.len().to_string(), osize, "{kind} open-size");
        let mut members = 0;
        let mut d = flate2::bufread::GzDecoder::new(&raw[..]);
        loop {
            let mut sink = vec![];
            d.read_to_end(&mut sink).unwrap();
            members += 1;
            let rest = d.into_inner();
            if rest.is_empty() {
                break;
            }
            d = flate2::bufread::GzDecoder::new(rest);
        }
        out.push((kind, xml, members));
    }
    out
}

/// Each package entry of a kind (sorted), and the text around them.
fn entries(xml: &str) -> (String, Vec<String>, String) {
    let first = xml.find("<package").unwrap_or(xml.rfind('<').unwrap());
    let last = xml.rfind("</package>\n").map(|i| i + 11).unwrap_or(first);
    let mut all: Vec<String> = xml[first..last]
        .split_inclusive("</package>\n")
        .map(str::to_owned)
        .collect();
    all.sort();
    (xml[..first].to_string(), all, xml[last..].to_string())
}

/// Each chunk of a chunked repo: its packages' hrefs, its primary
/// member's bytes and its uncompressed primary's length.
fn chunk_members(dir: &Path) -> Vec<(Vec<String>, Vec<u8>, u64)> {
    let data = dir.join("repodata");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("koji-rs-chunks.json")).unwrap()).unwrap();
    let primary = std::fs::read(data.join(index["files"][0][0].as_str().unwrap())).unwrap();
    index["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let hrefs = c["pkgs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["href"].as_str().unwrap().to_string())
                .collect();
            let m = &c["members"][0];
            let off = m["offset"].as_u64().unwrap() as usize;
            let len = m["len"].as_u64().unwrap() as usize;
            (
                hrefs,
                primary[off..off + len].to_vec(),
                c["primary_len"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Our metadata and createrepo_c's for the same packages: the same
/// records, the same package entries, heads and tails.
fn same_packages(ours: &Path, theirs: &Path) -> usize {
    let a = metadata(ours);
    let b = metadata(theirs);
    let kinds = |m: &[(String, String, usize)]| m.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
    assert_eq!(kinds(&a), kinds(&b));
    let mut members = 0;
    for ((kind, x, n), (_, y, _)) in a.iter().zip(&b) {
        if kind.starts_with("group") {
            assert_eq!(x, y);
            continue;
        }
        let (ha, ea, ta) = entries(x);
        let (hb, eb, tb) = entries(y);
        assert_eq!(ha, hb, "{kind} head");
        assert_eq!(ta, tb, "{kind} tail");
        assert_eq!(ea.len(), eb.len(), "{kind}");
        assert!(ea == eb, "{kind}: the same package entries, each once");
        if kind == "primary" {
            members = *n;
        }
    }
    members
}

/// The repo of `list` spliced from `old` (chunks of about 4 KiB) and
/// checked against a full createrepo_c run over `list`: answers it and
/// the packages createrepo_c ran over.
fn next_repo(
    top: &Path,
    old: &Path,
    list: &[String],
    skip_stat: bool,
    comps: Option<&Path>,
    name: &str,
) -> (std::path::PathBuf, Vec<String>) {
    let mut plan = koji_worker::repodata::plan(&old.join("repodata"), top, list, skip_stat)
        .unwrap()
        .expect("an index to splice from");
    plan.target = 4096;
    let added = plan.added.clone();
    let fresh = top.join(format!("{name}-added"));
    createrepo(&fresh, &added, top, comps);
    let repo = top.join(name);
    std::fs::create_dir_all(repo.join("repodata")).unwrap();
    koji_worker::repodata::splice(plan, &fresh, &repo.join("repodata")).unwrap();
    let whole = top.join(format!("{name}-whole"));
    createrepo(&whole, list, top, comps);
    same_packages(&repo, &whole);
    (repo, added)
}

#[test]
fn spliced_metadata_equals_a_full_createrepo_run() {
    let top = tempfile::tempdir().unwrap();
    let top = top.path();
    std::fs::create_dir_all(top.join("pkgs")).unwrap();
    let many = build(top, "many", "1", 40);
    let extra = build(top, "extra", "1", 3);
    let extra2 = build(top, "extra", "2", 3);
    let comps = top.join("comps.xml");
    std::fs::write(
        &comps,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<comps>\n  <group>\n    <id>build</id>\n    \
         <name>build</name>\n    <packagelist>\n      \
         <packagereq type=\"mandatory\">many-p1</packagereq>\n    </packagelist>\n  </group>\n</comps>\n",
    )
    .unwrap();

    // a full run, chunked: about 4 packages per chunk
    let mut list1: Vec<String> = many.iter().chain(&extra).cloned().collect();
    list1.sort();
    let repo1 = top.join("repo1");
    createrepo(&repo1, &list1, top, Some(&comps));
    koji_worker::repodata::chunk_sized(&repo1, 4096).unwrap();
    let whole1 = top.join("whole1");
    createrepo(&whole1, &list1, top, Some(&comps));
    let members = same_packages(&repo1, &whole1);
    assert!(members > 8, "chunked: {members} members");

    // the next repo: eight of many in a row go (a whole chunk among
    // them), one more, and three of every four of many[20..36] (chunks
    // grown small, to be merged); extra's new build replaces the old
    let mut gone: Vec<String> = many[10..18].to_vec();
    gone.push(many[4].clone());
    gone.extend((20..36).filter(|i| i % 4 != 3).map(|i| many[i].clone()));
    let list2: Vec<String> = many
        .iter()
        .filter(|p| !gone.contains(p))
        .chain(&extra2)
        .cloned()
        .collect();
    let (repo2, added) = next_repo(top, &repo1, &list2, true, Some(&comps), "repo2");
    assert_eq!(added, extra2);
    // chunks whose packages all stay keep the old repo's bytes; chunks
    // grown small are merged
    let before = chunk_members(&repo1);
    let after = chunk_members(&repo2);
    let copied = after.iter().filter(|c| before.contains(c)).count();
    assert!(copied >= 1, "{copied} chunks copied of {}", after.len());
    // no two neighbours that would fit in one chunk while one is under
    // half of it
    for w in after.windows(2) {
        let (a, b) = (w[0].2, w[1].2);
        assert!(
            !((a < 2048 || b < 2048) && a + b <= 4096),
            "chunks of {a} and {b} bytes not merged"
        );
    }

    // and the one after, from the spliced repo: nothing new, one gone
    let list3: Vec<String> = list2[1..].to_vec();
    let (_, added) = next_repo(top, &repo2, &list3, true, None, "repo3a");
    assert!(added.is_empty(), "{added:?}");

    // a file whose mtime changed counts as new unless stat is skipped
    let touched = top.join(&list3[0]);
    let f = std::fs::File::options()
        .append(true)
        .open(&touched)
        .unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(60))
        .unwrap();
    let plan = koji_worker::repodata::plan(&repo2.join("repodata"), top, &list3, true)
        .unwrap()
        .unwrap();
    assert!(plan.added.is_empty(), "{:?}", plan.added);
    let (repo3, added) = next_repo(top, &repo2, &list3, false, None, "repo3");
    assert_eq!(added, vec![list3[0].clone()]);

    // createrepo_c --update reads chunked metadata as its own: a package
    // whose file is gone can only come from the old metadata
    let away = top.join("away.rpm");
    std::fs::rename(top.join(&list3[5]), &away).unwrap();
    let upd = top.join("upd");
    std::fs::create_dir_all(upd.join("repodata")).unwrap();
    for e in std::fs::read_dir(repo3.join("repodata")).unwrap().flatten() {
        std::fs::copy(e.path(), upd.join("repodata").join(e.file_name())).unwrap();
    }
    let listfile = top.join("list3");
    std::fs::write(&listfile, list3.join("\n") + "\n").unwrap();
    run(Command::new("createrepo_c")
        .args([
            "--error-exit-val",
            "-q",
            "--no-database",
            "--update",
            "--skip-stat",
            "-o",
        ])
        .arg(&upd)
        .arg("-i")
        .arg(&listfile)
        .arg(top));
    std::fs::rename(&away, top.join(&list3[5])).unwrap();
    same_packages(&upd, &top.join("repo3-whole"));
}

#[test]
fn no_index_or_a_damaged_one_is_not_spliced() {
    let top = tempfile::tempdir().unwrap();
    let top = top.path();
    std::fs::create_dir_all(top.join("pkgs")).unwrap();
    let pkgs = build(top, "few", "1", 3);
    let repo = top.join("repo");
    createrepo(&repo, &pkgs, top, None);
    let data = repo.join("repodata");
    // createrepo_c's own output has no index: createrepo_c --update it is
    assert!(koji_worker::repodata::plan(&data, top, &pkgs, true)
        .unwrap()
        .is_none());
    koji_worker::repodata::chunk(&repo).unwrap();
    // a package listed twice is left to createrepo_c
    let twice = vec![pkgs[0].clone(), pkgs[0].clone()];
    assert!(koji_worker::repodata::plan(&data, top, &twice, true)
        .unwrap()
        .is_none());
    // files that do not match the index are refused, nothing is written
    let primary = records(&repo)
        .into_iter()
        .find(|r| r.0 == "primary")
        .unwrap()
        .1;
    std::fs::write(repo.join(&primary), b"not gzip").unwrap();
    let plan = koji_worker::repodata::plan(&data, top, &pkgs[1..], true)
        .unwrap()
        .unwrap();
    let fresh = top.join("fresh");
    createrepo(&fresh, &[], top, None);
    let out = top.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let err = koji_worker::repodata::splice(plan, &fresh, &out).unwrap_err();
    assert!(format!("{err:#}").contains("does not match"), "{err:#}");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
}
