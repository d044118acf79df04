//! RPMs: importRPM, getRPM/listRPMs, headers, deps, files, changelogs,
//! signatures, signed copies and their checksums — on real RPMs built with
//! rpmbuild from `fixtures/kojitest.spec` and signed with rpmsign.

use koji_core::testing::{kw, TestHub};
use koji_core::Error;
use md5::Digest as _;
use serde_json::{json, Value as Json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

type R = Result<(), Error>;

/// The RPMs every test uses, built once per test binary.
struct Fixture {
    _dir: tempfile::TempDir,
    srpm: PathBuf,
    noarch: PathBuf,
    arch: PathBuf,
    /// The arch of `arch` (the build machine's).
    arch_name: String,
    /// `noarch`, signed.
    signed: PathBuf,
    /// The signing key's short id (last 8 hex digits), as koji names it.
    sigkey: String,
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path().join("rpmbuild");
        let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kojitest.spec");
        run(Command::new("rpmbuild")
            .arg("--define")
            .arg(format!("_topdir {}", top.display()))
            .arg("-ba")
            .arg(&spec));
        let srpm = top.join("SRPMS/kojitest-1.0-1.src.rpm");
        let noarch = top.join("RPMS/noarch/kojitest-doc-1.0-1.noarch.rpm");
        let arch = std::fs::read_dir(top.join("RPMS"))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| !p.ends_with("noarch"))
            .and_then(|d| std::fs::read_dir(d).ok()?.next()?.ok())
            .map(|e| e.path())
            .expect("an arch rpm");
        let arch_name = arch
            .parent()
            .and_then(|p| p.file_name())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap();
        // a throwaway key, and a signed copy of the noarch rpm
        let gnupg = dir.path().join("gnupg");
        std::fs::create_dir(&gnupg).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&gnupg, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        run(Command::new("gpg")
            .env("GNUPGHOME", &gnupg)
            .args(["--batch", "--passphrase", "", "--quick-gen-key"])
            .args([
                "Koji RS Test <koji-rs-test@example.com>",
                "rsa2048",
                "sign",
                "never",
            ]));
        let out = Command::new("gpg")
            .env("GNUPGHOME", &gnupg)
            .args(["--list-keys", "--with-colons"])
            .output()
            .unwrap();
        let listing = String::from_utf8_lossy(&out.stdout);
        let keyid = listing
            .lines()
            .find(|l| l.starts_with("pub:"))
            .and_then(|l| l.split(':').nth(4))
            .expect("a key")
            .to_lowercase();
        let sigkey = keyid[keyid.len() - 8..].to_string();
        let signed = dir
            .path()
            .join("signed")
            .join("kojitest-doc-1.0-1.noarch.rpm");
        std::fs::create_dir_all(signed.parent().unwrap()).unwrap();
        std::fs::copy(&noarch, &signed).unwrap();
        let gpg = String::from_utf8_lossy(
            &Command::new("sh")
                .args(["-c", "command -v gpg"])
                .output()
                .unwrap()
                .stdout,
        )
        .trim()
        .to_string();
        run(Command::new("rpmsign")
            .env("GNUPGHOME", &gnupg)
            .stdin(std::process::Stdio::null())
            .arg("--addsign")
            .arg("--define")
            .arg("_gpg_name koji-rs-test@example.com")
            .arg("--define")
            .arg(format!("__gpg {gpg}"))
            .arg(&signed));
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", &gnupg)
            .args(["--kill", "gpg-agent"])
            .output();
        Fixture {
            _dir: dir,
            srpm,
            noarch,
            arch,
            arch_name,
            signed,
            sigkey,
        }
    })
}

/// Puts `file` into the hub's upload area as the client would; returns
/// the `(path, basename)` arguments of `importRPM`.
fn upload(th: &TestHub, file: &Path, dir: &str) -> (String, String) {
    let base = file.file_name().unwrap().to_string_lossy().into_owned();
    let d = th.hub.config().topdir.join("work").join(dir);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::copy(file, d.join(&base)).unwrap();
    (dir.to_string(), base)
}

fn topdir(th: &TestHub) -> PathBuf {
    th.hub.config().topdir.clone()
}

fn md5_hex(b: &[u8]) -> String {
    hex(&md5::Md5::digest(b))
}

fn sha256_hex(b: &[u8]) -> String {
    hex(&sha2::Sha256::digest(b))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|c| format!("{c:02x}")).collect()
}

/// The raw signature header of an RPM file (lead of 96 bytes, then the
/// header, padded to 8).
fn sighdr(path: &Path) -> Vec<u8> {
    let b = std::fs::read(path).unwrap();
    let il = u32::from_be_bytes(b[104..108].try_into().unwrap()) as usize;
    let dl = u32::from_be_bytes(b[108..112].try_into().unwrap()) as usize;
    let mut size = 16 + 16 * il + dl;
    size += (8 - size % 8) % 8;
    b[96..96 + size].to_vec()
}

/// The SIGMD5 of an unsigned RPM as hex: the 16 bytes of the MD5 tag
/// (1004) of its signature header.
fn md5_of_sigmd5(path: &Path) -> String {
    let h = sighdr(path);
    let il = u32::from_be_bytes(h[8..12].try_into().unwrap()) as usize;
    for i in 0..il {
        let e = &h[16 + i * 16..32 + i * 16];
        let tag = u32::from_be_bytes(e[0..4].try_into().unwrap());
        let off = u32::from_be_bytes(e[8..12].try_into().unwrap()) as usize;
        if tag == 1004 {
            let at = 16 + il * 16 + off;
            return hex(&h[at..at + 16]);
        }
    }
    panic!("no MD5 tag")
}

fn b64(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

async fn fault(th: &TestHub, caller: &koji_core::Caller, m: &str, p: Json) -> (i32, String) {
    match th.call(caller, m, p).await {
        Ok(v) => panic!("{m} succeeded on {}: {v}", th.label()),
        Err(e) => (e.fault_code(), e.to_string()),
    }
}

async fn count(th: &TestHub, table: &str) -> i64 {
    use koji_core::db::RowExt;
    koji_core::db::fetch_one(
        th.hub.db().conn(),
        &format!("SELECT COUNT(*) AS n FROM {table}"),
        vec![],
    )
    .await
    .unwrap()
    .int("n")
    .unwrap()
}

/// Imports the source rpm and both binaries; returns their ids.
async fn import_all(th: &TestHub, admin: &koji_core::Caller) -> Result<(i64, i64, i64), Error> {
    let f = fixture();
    let mut ids = vec![];
    for (i, file) in [&f.srpm, &f.noarch, &f.arch].into_iter().enumerate() {
        let (p, b) = upload(th, file, &format!("cli-import/{i}"));
        let r = th.call(admin, "importRPM", json!([p, b])).await?;
        ids.push(r["id"].as_i64().unwrap());
    }
    Ok((ids[0], ids[1], ids[2]))
}

#[tokio::test]
async fn import_source_then_binaries() -> R {
    let f = fixture();
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let (p, b) = upload(&th, &f.srpm, "cli-import/a");
        let r = th.call(&admin, "importRPM", json!([p, b])).await?;
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "name",
                "version",
                "release",
                "epoch",
                "sourcepackage",
                "arch",
                "buildtime",
                "sourcerpm",
                "draft",
                "id",
                "build_id",
                "size",
                "payloadhash",
                "buildroot_id",
                "external_repo_id",
                "build",
                "brootid"
            ]
        );
        assert_eq!(r["arch"], "src");
        assert_eq!(r["sourcepackage"], 1);
        assert_eq!(r["sourcerpm"], Json::Null);
        assert_eq!(r["epoch"], Json::Null);
        assert_eq!(r["external_repo_id"], 0);
        assert_eq!(r["size"], std::fs::metadata(&f.srpm)?.len());
        assert_eq!(r["build"]["nvr"], "kojitest-1.0-1");
        assert_eq!(r["build"]["state"], 1);
        assert_eq!(r["build"]["owner_name"], "admin");
        let srpm_id = r["id"].as_i64().unwrap();
        // the file moved into the build, a symlink left behind
        let builddir = topdir(&th).join("packages/kojitest/1.0/1");
        let stored = builddir.join("src/kojitest-1.0-1.src.rpm");
        assert!(stored.is_file(), "{}", th.label());
        let up = topdir(&th).join("work/cli-import/a/kojitest-1.0-1.src.rpm");
        // a relative link, as upstream's move_and_symlink leaves
        let link = std::fs::read_link(&up)?;
        assert!(link.is_relative(), "{}", link.display());
        assert_eq!(
            up.parent().unwrap().join(&link).canonicalize()?,
            stored.canonicalize()?
        );
        // unsigned: recorded with the empty sigkey, header cached
        let sigs = th.call(&admin, "queryRPMSigs", json!([srpm_id])).await?;
        assert_eq!(
            sigs,
            json!([{"rpm_id": srpm_id, "sighash": md5_hex(&sighdr(&f.srpm)), "sigkey": ""}])
        );
        assert!(builddir
            .join("data/sigcache/src/kojitest-1.0-1.src.rpm.sig")
            .is_file());
        let types = th
            .call(&admin, "getBuildType", json!([r["build_id"]]))
            .await;
        if let Ok(t) = types {
            assert!(t.get("rpm").is_some(), "{t}");
        }

        let (p, b) = upload(&th, &f.noarch, "cli-import/b");
        let n = th.call(&admin, "importRPM", json!([p, b])).await?;
        assert_eq!(n["build_id"], r["build_id"]);
        assert_eq!(n["sourcepackage"], Json::Null);
        assert_eq!(n["sourcerpm"], "kojitest-1.0-1.src.rpm");
        let (p, b) = upload(&th, &f.arch, "cli-import/c");
        let a = th.call(&admin, "importRPM", json!([p, b])).await?;
        assert_eq!(a["arch"], f.arch_name.as_str());

        // getRPM by id, N-V-R.A, map; strict and multi
        let got = th.call(&admin, "getRPM", json!([n["id"]])).await?;
        let keys: Vec<&str> = got
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(
            keys,
            [
                "arch",
                "build_id",
                "buildroot_id",
                "buildtime",
                "draft",
                "epoch",
                "external_repo_id",
                "external_repo_name",
                "extra",
                "id",
                "metadata_only",
                "name",
                "payloadhash",
                "release",
                "size",
                "version"
            ]
        );
        assert_eq!(got["name"], "kojitest-doc");
        assert_eq!(got["draft"], false);
        assert_eq!(got["external_repo_name"], "INTERNAL");
        assert_eq!(got["payloadhash"], n["payloadhash"]);
        assert_eq!(got["payloadhash"].as_str().unwrap().len(), 32);
        let by_nvra = th
            .call(&admin, "getRPM", json!(["kojitest-doc-1.0-1.noarch.rpm"]))
            .await?;
        assert_eq!(by_nvra, got);
        let by_str_id = th
            .call(&admin, "getRPM", json!([n["id"].to_string()]))
            .await?;
        assert_eq!(by_str_id, got);
        let by_map = th
            .call(
                &admin,
                "getRPM",
                json!([{"name": "kojitest-doc", "version": "1.0", "release": "1", "arch": "noarch"}]),
            )
            .await?;
        assert_eq!(by_map, got);
        let multi = th
            .call(
                &admin,
                "getRPM",
                json!(["kojitest-doc-1.0-1.noarch", kw(json!({"multi": true}))]),
            )
            .await?;
        assert_eq!(multi, json!([got]));
        assert_eq!(
            th.call(&admin, "getRPM", json!(["nope-1-1.noarch"]))
                .await?,
            Json::Null
        );
        assert_eq!(
            fault(&th, &admin, "getRPM", json!(["nope-1-1.noarch", true])).await,
            (
                1000,
                "No such rpm: {'name': 'nope', 'version': '1', 'release': '1', 'epoch': '', \
                 'arch': 'noarch', 'src': False}"
                    .into()
            )
        );
        assert_eq!(
            fault(&th, &admin, "getRPM", json!([[1]])).await,
            (1000, "Invalid type for rpminfo: <class 'list'>".into())
        );
        assert_eq!(
            fault(&th, &admin, "getRPM", json!([{"name": "x"}])).await,
            (1, "<class 'KeyError'>: 'version'".into())
        );

        // listRPMs / listBuildRPMs
        let all = th
            .call(&admin, "listBuildRPMs", json!(["kojitest-1.0-1"]))
            .await?;
        let names: Vec<&str> = all
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["arch"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["src", "noarch", f.arch_name.as_str()]);
        assert_eq!(all[0]["nvr"], "kojitest-1.0-1");
        let src = th
            .call(
                &admin,
                "listRPMs",
                kw(json!({"buildID": r["build_id"], "arches": "src"})),
            )
            .await?;
        assert_eq!(src.as_array().unwrap().len(), 1);
        let two = th
            .call(
                &admin,
                "listRPMs",
                kw(
                    json!({"buildID": r["build_id"], "arches": ["src", "noarch"],
                          "queryOpts": {"order": "-name", "asList": true}}),
                ),
            )
            .await?;
        assert_eq!(two.as_array().unwrap().len(), 2);
        assert_eq!(two[0][11], "kojitest-doc"); // name, in sorted column order
        let n_count = th
            .call(
                &admin,
                "listRPMs",
                kw(json!({"draft": false, "queryOpts": {"countOnly": true}})),
            )
            .await?;
        assert_eq!(n_count, 3);
        assert_eq!(
            th.call(&admin, "listRPMs", kw(json!({"draft": true})))
                .await?,
            json!([])
        );
        assert_eq!(
            fault(&th, &admin, "listRPMs", kw(json!({"arches": 5}))).await,
            (
                1000,
                "Invalid type for \"arches\" parameter: <class 'int'>".into()
            )
        );
        assert_eq!(
            fault(&th, &admin, "listBuildRPMs", json!(["nope-1-1"])).await,
            (1000, "No such build: 'nope-1-1'".into())
        );
    }
    Ok(())
}

#[tokio::test]
async fn import_refusals_leave_nothing_behind() -> R {
    let f = fixture();
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let work = topdir(&th).join("work");
        let (code, msg) = fault(&th, &admin, "importRPM", json!(["x", "nope.rpm"])).await;
        assert_eq!(code, 1000);
        assert_eq!(msg, format!("No such file: {}/x/nope.rpm", work.display()));

        // not an rpm, a truncated one
        let dir = work.join("bad");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("garbage.rpm"), b"not an rpm at all")?;
        let whole = std::fs::read(&f.noarch)?;
        std::fs::write(dir.join("trunc.rpm"), &whole[..2000])?;
        for name in ["garbage.rpm", "trunc.rpm"] {
            assert_eq!(
                fault(&th, &admin, "importRPM", json!(["bad", name])).await,
                (
                    1,
                    "<class '_rpm.error'>: error reading package header".into()
                ),
                "{name} on {}",
                th.label()
            );
            assert!(dir.join(name).is_file());
        }
        // a binary whose build does not exist
        let (p, b) = upload(&th, &f.noarch, "up1");
        assert_eq!(
            fault(&th, &admin, "importRPM", json!([p, b])).await,
            (1000, "No such build".into())
        );
        // a file not named N-V-R.A.rpm
        std::fs::copy(&f.srpm, dir.join("renamed.rpm"))?;
        assert_eq!(
            fault(&th, &admin, "importRPM", json!(["bad", "renamed.rpm"])).await,
            (
                1000,
                "bad filename: renamed.rpm (expected kojitest-1.0-1.src.rpm)".into()
            )
        );
        for t in ["build", "rpminfo", "rpmsigs", "build_types"] {
            assert_eq!(count(&th, t).await, 0, "{t} on {}", th.label());
        }
        assert!(!topdir(&th).join("packages").exists());
        // not admin
        let user = th.user("bob", "pw", &[]).await?;
        let (code, _) = fault(&th, &user, "importRPM", json!([p, b])).await;
        assert_eq!(code, 1004);

        // a duplicate: refused, the second upload stays where it was
        let (p, b) = upload(&th, &f.srpm, "up2");
        th.call(&admin, "importRPM", json!([p, b])).await?;
        let (p, b) = upload(&th, &f.srpm, "up3");
        let (code, msg) = fault(&th, &admin, "importRPM", json!([p, b])).await;
        assert_eq!(code, 1);
        assert!(
            msg.starts_with("<class 'psycopg2.errors.UniqueViolation'>: duplicate key value"),
            "{msg}"
        );
        assert!(work.join("up3/kojitest-1.0-1.src.rpm").is_file());
        assert!(!work.join("up3/kojitest-1.0-1.src.rpm").is_symlink());
        assert_eq!(count(&th, "rpminfo").await, 1);
        assert_eq!(count(&th, "rpmsigs").await, 1);
    }
    Ok(())
}

#[tokio::test]
async fn create_build_then_import_binaries() -> R {
    // `koji import --create-build` without the srpm: createEmptyBuild, then
    // importRPM of each binary
    let f = fixture();
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let bid = th
            .call(
                &admin,
                "createEmptyBuild",
                json!(["kojitest", "1.0", "1", null]),
            )
            .await?;
        for (i, file) in [&f.noarch, &f.arch].into_iter().enumerate() {
            let (p, b) = upload(&th, file, &format!("cli-import/{i}"));
            let r = th.call(&admin, "importRPM", json!([p, b])).await?;
            assert_eq!(r["build_id"], bid);
        }
        let rpms = th.call(&admin, "listBuildRPMs", json!([bid])).await?;
        assert_eq!(rpms.as_array().unwrap().len(), 2);
        // the srpm can still come later
        let (p, b) = upload(&th, &f.srpm, "cli-import/s");
        let r = th.call(&admin, "importRPM", json!([p, b])).await?;
        assert_eq!(r["build_id"], bid);
        // a canceled build refuses more
        koji_core::db::exec(th.hub.db().conn(), "UPDATE build SET state = 4", vec![]).await?;
        let (p, b) = upload(&th, &f.signed, "cli-import/x");
        assert_eq!(
            fault(&th, &admin, "importRPM", json!([p, b])).await,
            (1000, "Build is CANCELED: kojitest-1.0-1".into())
        );
    }
    Ok(())
}

#[tokio::test]
async fn headers_deps_files_changelog() -> R {
    let f = fixture();
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let (srpm_id, noarch_id, arch_id) = import_all(&th, &admin).await?;
        let h = th
            .call(
                &admin,
                "getRPMHeaders",
                kw(
                    json!({"rpmID": arch_id, "headers": ["name", "Version", "requirename",
                    "filenames", "epoch", "sourcerpm", "sourcepackage", "nosource", "changelogname",
                    "size", "requirenevrs", "nevra"]}),
                ),
            )
            .await?;
        assert_eq!(
            h,
            json!({"name": "kojitest", "Version": "1.0",
                "requirename": ["/bin/sh", "bash", "rpmlib(CompressedFileNames)",
                    "rpmlib(FileDigests)", "rpmlib(PayloadFilesHavePrefix)"],
                "filenames": ["/usr/bin/kojitest"], "epoch": null,
                "sourcerpm": "kojitest-1.0-1.src.rpm", "sourcepackage": null, "nosource": [],
                "changelogname": ["Second Packager <second@example.com> - 1.0-1",
                    "First Packager <first@example.com> - 0.9-1"],
                "size": 21,
                "requirenevrs": ["/bin/sh", "bash >= 4.0", "rpmlib(CompressedFileNames) <= 3.0.4-1",
                    "rpmlib(FileDigests) <= 4.6.0-1", "rpmlib(PayloadFilesHavePrefix) <= 4.0-1"],
                "nevra": format!("kojitest-1.0-1.{}", f.arch_name)})
        );
        let all = th.call(&admin, "getRPMHeaders", json!([srpm_id])).await?;
        let keys: Vec<&str> = all
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(
            &keys[..6],
            [
                "HEADERI18NTABLE",
                "SIGSIZE",
                "SIGMD5",
                "SHA1HEADER",
                "SHA256HEADER",
                "NAME"
            ]
        );
        assert_eq!(all["SOURCEPACKAGE"], 1);
        assert!(!keys.contains(&"HEADERIMMUTABLE"));
        assert_eq!(
            fault(
                &th,
                &admin,
                "getRPMHeaders",
                kw(json!({"rpmID": srpm_id, "headers": ["bogus"]}))
            )
            .await,
            (1000, "No such rpm header field: BOGUS".into())
        );
        assert_eq!(
            th.call(&admin, "getRPMHeaders", json!([9999])).await?,
            json!({})
        );
        assert_eq!(
            fault(&th, &admin, "getRPMHeaders", json!([])).await,
            (
                1000,
                "either rpmID or taskID and filepath must be specified".into()
            )
        );
        assert_eq!(
            fault(&th, &admin, "getRPMHeaders", kw(json!({"taskID": 5}))).await,
            (1000, "filepath must be specified with taskID".into())
        );
        assert_eq!(
            fault(
                &th,
                &admin,
                "getRPMHeaders",
                kw(json!({"taskID": 5, "filepath": "../x"}))
            )
            .await,
            (1000, "Invalid filepath: ../x".into())
        );
        // a task's output
        let task_dir = topdir(&th).join("work/tasks/5/5");
        std::fs::create_dir_all(&task_dir)?;
        std::fs::copy(&f.noarch, task_dir.join("x.rpm"))?;
        let t = th
            .call(
                &admin,
                "getRPMHeaders",
                kw(json!({"taskID": 5, "filepath": "x.rpm", "headers": ["name"]})),
            )
            .await?;
        assert_eq!(t, json!({"name": "kojitest-doc"}));

        // dependencies
        let deps = th.call(&admin, "getRPMDeps", json!([arch_id])).await?;
        let isa = deps[6]["name"].as_str().unwrap().to_string();
        assert!(isa.starts_with("kojitest("), "{isa}");
        assert_eq!(
            deps,
            json!([
                {"name": "/bin/sh", "version": "", "flags": 16384, "type": 0},
                {"name": "bash", "version": "4.0", "flags": 12, "type": 0},
                {"name": "rpmlib(CompressedFileNames)", "version": "3.0.4-1", "flags": 16777226, "type": 0},
                {"name": "rpmlib(FileDigests)", "version": "4.6.0-1", "flags": 16777226, "type": 0},
                {"name": "rpmlib(PayloadFilesHavePrefix)", "version": "4.0-1", "flags": 16777226, "type": 0},
                {"name": "kojitest", "version": "1.0-1", "flags": 8, "type": 1},
                {"name": isa, "version": "1.0-1", "flags": 8, "type": 1},
                {"name": "kojitest-tool", "version": "1.0", "flags": 8, "type": 1},
                {"name": "kojitest-old", "version": "0.5", "flags": 2, "type": 3},
                {"name": "kojitest-legacy", "version": "0.9", "flags": 10, "type": 2},
                {"name": "vim", "version": "", "flags": 0, "type": 4},
                {"name": "kojitest-plugin", "version": "2", "flags": 4, "type": 5},
                {"name": "kojitest-extra", "version": "", "flags": 0, "type": 6},
                {"name": "less", "version": "", "flags": 0, "type": 7}
            ])
        );
        let conflicts = th
            .call(&admin, "getRPMDeps", json!([arch_id, 3, {"asList": true}]))
            .await?;
        assert_eq!(conflicts, json!([["kojitest-old", "0.5", 2, 3]]));
        let counted = th
            .call(
                &admin,
                "getRPMDeps",
                json!([arch_id, null, {"countOnly": true}]),
            )
            .await?;
        assert_eq!(counted, 14);
        assert_eq!(
            th.call(&admin, "getRPMDeps", json!([9999])).await?,
            json!([])
        );

        // files
        let files = th.call(&admin, "listRPMFiles", json!([arch_id])).await?;
        let mtime = files[0]["mtime"].clone();
        let digest = "bfdeaeb08cffb6a36438bcd12dda25417e3cdd36f1e7e482a2849d539225288b";
        let row = json!({"name": "/usr/bin/kojitest", "digest": digest, "digest_algo": "sha256",
            "md5": digest, "size": 21, "flags": 0, "user": "root", "group": "root",
            "mtime": mtime, "mode": 33261});
        assert_eq!(files, json!([row]));
        let listed = th
            .call(&admin, "listRPMFiles", json!([arch_id, {"asList": true}]))
            .await?;
        assert_eq!(
            listed,
            json!([[
                "/usr/bin/kojitest",
                digest,
                21,
                0,
                "sha256",
                "root",
                "root",
                mtime,
                33261
            ]])
        );
        let one = th
            .call(&admin, "getRPMFile", json!([arch_id, "/usr/bin/kojitest"]))
            .await?;
        let mut expect = json!({"rpm_id": arch_id});
        expect
            .as_object_mut()
            .unwrap()
            .extend(row.as_object().unwrap().clone());
        assert_eq!(one, expect);
        assert_eq!(
            th.call(&admin, "getRPMFile", json!([arch_id, "/nope"]))
                .await?,
            json!({})
        );
        assert_eq!(
            fault(&th, &admin, "getRPMFile", json!([arch_id, "/nope", true])).await,
            (1000, format!("No file: /nope found in RPM: {arch_id}"))
        );
        let doc = th.call(&admin, "listRPMFiles", json!([noarch_id])).await?;
        assert_eq!(doc[0]["name"], "/usr/share/doc/kojitest/README");
        assert_eq!(doc[0]["flags"], 2);

        // changelog of the build's srpm
        let cl = th
            .call(
                &admin,
                "getChangelogEntries",
                json!([srpm_id_build(&th, srpm_id).await?]),
            )
            .await?;
        assert_eq!(
            cl,
            json!([
                {"date": "2024-01-02 12:00:00", "date_ts": 1704196800,
                 "author": "Second Packager <second@example.com> - 1.0-1", "text": "- Second entry"},
                {"date": "2024-01-01 12:00:00", "date_ts": 1704110400,
                 "author": "First Packager <first@example.com> - 0.9-1", "text": "- First entry"}
            ])
        );
        let older = th
            .call(
                &admin,
                "getChangelogEntries",
                kw(json!({"buildID": "kojitest-1.0-1",
                "before": "2024-01-02", "queryOpts": {"asList": true}})),
            )
            .await?;
        assert_eq!(
            older,
            json!([[
                "2024-01-01 12:00:00",
                "First Packager <first@example.com> - 0.9-1",
                "- First entry"
            ]])
        );
        let newer = th
            .call(
                &admin,
                "getChangelogEntries",
                kw(json!({"buildID": "kojitest-1.0-1",
                "after": 1704110400, "author": "Second Packager <second@example.com> - 1.0-1"})),
            )
            .await?;
        assert_eq!(newer.as_array().unwrap().len(), 1);
        let ordered = th
            .call(
                &admin,
                "getChangelogEntries",
                kw(json!({"buildID": "kojitest-1.0-1",
                "queryOpts": {"order": "date", "limit": 1}})),
            )
            .await?;
        assert_eq!(ordered[0]["date_ts"], 1704110400);
        assert_eq!(
            th.call(&admin, "getChangelogEntries", json!(["nope-1-1"]))
                .await?,
            json!([])
        );
        assert_eq!(
            fault(
                &th,
                &admin,
                "getChangelogEntries",
                kw(json!({"buildID": "nope-1-1", "strict": true}))
            )
            .await,
            (1000, "No such build: nope-1-1".into())
        );
        assert_eq!(
            fault(
                &th,
                &admin,
                "getChangelogEntries",
                kw(json!({"buildID": "kojitest-1.0-1", "before": 1.5}))
            )
            .await,
            (1000, "Invalid type for before: <class 'float'>".into())
        );
    }
    Ok(())
}

async fn srpm_id_build(th: &TestHub, srpm_id: i64) -> Result<Json, Error> {
    let admin = th.admin().await?;
    let r = th.call(&admin, "getRPM", json!([srpm_id])).await?;
    Ok(r["build_id"].clone())
}

#[tokio::test]
async fn signatures_signed_copies_and_checksums() -> R {
    let f = fixture();
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let (_, noarch_id, arch_id) = import_all(&th, &admin).await?;
        let builddir = topdir(&th).join("packages/kojitest/1.0/1");
        let key = f.sigkey.clone();
        let signed_hdr = sighdr(&f.signed);
        let signer = th.user("signer", "pw", &["sign"]).await?;
        let nobody = th.user("nobody", "pw", &[]).await?;
        assert_eq!(
            fault(
                &th,
                &nobody,
                "addRPMSig",
                json!([noarch_id, b64(&signed_hdr)])
            )
            .await
            .0,
            1004
        );
        th.call(&signer, "addRPMSig", json!([noarch_id, b64(&signed_hdr)]))
            .await?;
        let sigs = th
            .call(&admin, "queryRPMSigs", kw(json!({"rpm_id": noarch_id})))
            .await?;
        assert_eq!(
            sigs,
            json!([
                {"rpm_id": noarch_id, "sighash": md5_hex(&sighdr(&f.noarch)), "sigkey": ""},
                {"rpm_id": noarch_id, "sighash": md5_hex(&signed_hdr), "sigkey": key}
            ])
        );
        let by_key = th
            .call(
                &admin,
                "queryRPMSigs",
                kw(json!({"sigkey": key.to_uppercase()})),
            )
            .await?;
        assert_eq!(by_key.as_array().unwrap().len(), 1);
        let by_nvra = th
            .call(&admin, "queryRPMSigs", json!(["kojitest-doc-1.0-1.noarch"]))
            .await?;
        assert_eq!(by_nvra, sigs);
        let cached = builddir.join(format!(
            "data/sigcache/{key}/noarch/kojitest-doc-1.0-1.noarch.rpm.sig"
        ));
        assert_eq!(std::fs::read(&cached)?, signed_hdr);
        assert_eq!(
            fault(
                &th,
                &signer,
                "addRPMSig",
                json!([noarch_id, b64(&signed_hdr)])
            )
            .await,
            (
                1000,
                format!(
                    "Signature already exists for package kojitest-doc-1.0-1.noarch, key {key}"
                )
            )
        );
        assert_eq!(
            fault(
                &th,
                &signer,
                "addRPMSig",
                json!([noarch_id, b64(b"abcdef")])
            )
            .await,
            (1000, "Invalid rpm header: bad magic: b'abc'".into())
        );
        // another package's header: its MD5 does not match
        let other = sighdr(&f.arch);
        let (code, msg) = fault(&th, &signer, "addRPMSig", json!([noarch_id, b64(&other)])).await;
        assert_eq!(code, 1000);
        assert!(
            msg.starts_with("wrong md5 for kojitest-doc-1.0-1.noarch: "),
            "{msg}"
        );

        // the signed copy is the rpmsign'd file, byte for byte
        assert_eq!(
            fault(&th, &signer, "writeSignedRPM", json!([arch_id, key])).await,
            (
                1000,
                format!(
                    "No cached signature for package kojitest-1.0-1.{}, key {key}",
                    f.arch_name
                )
            )
        );
        th.call(
            &signer,
            "writeSignedRPM",
            json!([noarch_id, key.to_uppercase()]),
        )
        .await?;
        let signed_path = builddir.join(format!(
            "data/signed/{key}/noarch/kojitest-doc-1.0-1.noarch.rpm"
        ));
        let signed_bytes = std::fs::read(&signed_path)?;
        assert_eq!(signed_bytes, std::fs::read(&f.signed)?);
        // again: only its checksums are (re)checked
        th.call(&signer, "writeSignedRPM", json!([noarch_id, key]))
            .await?;
        th.call(&signer, "writeSignedRPM", json!([noarch_id, key, true]))
            .await?;
        let unsigned = std::fs::read(&f.noarch)?;
        let sums = th
            .call(&admin, "getRPMChecksums", json!([noarch_id]))
            .await?;
        assert_eq!(
            sums,
            json!({
                "": {"md5": md5_hex(&unsigned), "sha256": sha256_hex(&unsigned)},
                key.clone(): {"md5": md5_hex(&signed_bytes), "sha256": sha256_hex(&signed_bytes)}
            })
        );
        let cached_only = th
            .call(
                &admin,
                "getRPMChecksums",
                json!([noarch_id, ["sha1"], true]),
            )
            .await?;
        assert_eq!(
            cached_only,
            json!({"": {"sha1": null}, key.clone(): {"sha1": null}})
        );
        assert_eq!(
            fault(&th, &admin, "getRPMChecksums", json!([noarch_id, ["crc"]])).await,
            (1000, "Checksum_type crc isn't supported".into())
        );
        assert_eq!(
            fault(&th, &admin, "getRPMChecksums", json!(["x"])).await,
            (1000, "rpm_id must be an integer".into())
        );
        assert_eq!(count(&th, "rpm_checksum").await, 4);

        // deleting: rows gone, signed copy removed, header kept aside
        assert_eq!(
            fault(&th, &admin, "deleteRPMSig", json!([noarch_id])).await,
            (1000, "No signature specified".into())
        );
        assert_eq!(
            fault(&th, &signer, "deleteRPMSig", json!([noarch_id, key]))
                .await
                .0,
            1004
        );
        th.call(&admin, "deleteRPMSig", json!([noarch_id, key]))
            .await?;
        assert!(!signed_path.exists());
        assert!(!cached.exists());
        let saved = PathBuf::from(format!(
            "{}.{}.save",
            cached.display(),
            md5_hex(&signed_hdr)
        ));
        assert!(saved.is_file());
        assert_eq!(count(&th, "rpm_checksum").await, 2);
        assert_eq!(
            fault(&th, &admin, "deleteRPMSig", json!([noarch_id, key])).await,
            (
                1000,
                "kojitest-doc-1.0-1.noarch has no matching signatures to delete".into()
            )
        );
        th.call(
            &admin,
            "deleteRPMSig",
            kw(json!({"rpminfo": noarch_id, "all_sigs": true})),
        )
        .await?;
        assert_eq!(
            th.call(&admin, "queryRPMSigs", json!([noarch_id])).await?,
            json!([])
        );
        assert_eq!(
            th.call(&admin, "getRPMChecksums", json!([noarch_id]))
                .await?,
            json!({})
        );
        // and it can be signed again
        th.call(&signer, "addRPMSig", json!([noarch_id, b64(&signed_hdr)]))
            .await?;
    }
    Ok(())
}

#[tokio::test]
async fn importing_a_signed_rpm_records_its_key() -> R {
    let f = fixture();
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        th.call(
            &admin,
            "createEmptyBuild",
            json!(["kojitest", "1.0", "1", null]),
        )
        .await?;
        let (p, b) = upload(&th, &f.signed, "signed");
        let r = th.call(&admin, "importRPM", json!([p, b])).await?;
        let sigs = th.call(&admin, "queryRPMSigs", json!([r["id"]])).await?;
        assert_eq!(
            sigs,
            json!([{"rpm_id": r["id"], "sighash": md5_hex(&sighdr(&f.signed)), "sigkey": f.sigkey}])
        );
        // the signed file's payload hash is the unsigned one's
        assert_eq!(r["payloadhash"], md5_of_sigmd5(&f.noarch));
    }
    Ok(())
}

#[tokio::test]
async fn external_rpms() -> R {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        koji_core::db::exec(
            th.hub.db().conn(),
            "INSERT INTO external_repo (name) VALUES ('extrepo')",
            vec![],
        )
        .await?;
        let info = json!({"name": "ext", "version": "2", "release": "3", "epoch": null,
            "arch": "x86_64", "payloadhash": "abc", "size": 10, "buildtime": 100});
        assert_eq!(
            th.call(&admin, "addExternalRPM", json!([info, "extrepo"]))
                .await?,
            Json::Null
        );
        let got = th
            .call(&admin, "getRPM", json!(["ext-2-3.x86_64@extrepo"]))
            .await?;
        assert_eq!(got["external_repo_name"], "extrepo");
        assert_eq!(got["build_id"], Json::Null);
        assert_eq!(got["draft"], Json::Null);
        assert_eq!(
            fault(&th, &admin, "addExternalRPM", json!([info, "extrepo"])).await,
            (
                1000,
                "external rpm already exists: ext-2-3.x86_64@extrepo".into()
            )
        );
        th.call(&admin, "addExternalRPM", json!([info, "extrepo", false]))
            .await?;
        let mut changed = info.clone();
        changed["payloadhash"] = json!("def");
        assert_eq!(
            fault(
                &th,
                &admin,
                "addExternalRPM",
                json!([changed, "extrepo", false])
            )
            .await,
            (
                1000,
                "hash changed for external rpm: ext-2-3.x86_64@extrepo (abc -> def)".into()
            )
        );
        let mut bad = info.clone();
        bad["size"] = json!("10");
        assert_eq!(
            fault(&th, &admin, "addExternalRPM", json!([bad, "extrepo"])).await,
            (1000, "Invalid value for size: '10'".into())
        );
        assert_eq!(
            fault(&th, &admin, "getRPM", json!(["ext-2-3.x86_64@nowhere"])).await,
            (1000, "No such entry in table external_repo: nowhere".into())
        );
        let id = got["id"].clone();
        assert_eq!(th.call(&admin, "getRPMDeps", json!([id])).await?, json!([]));
        assert_eq!(
            fault(&th, &admin, "getRPMDeps", json!([id, null, null, true])).await,
            (
                1000,
                format!("Can not get dependencies, because RPM: {id} is not internal")
            )
        );
        assert_eq!(
            fault(
                &th,
                &admin,
                "getRPMHeaders",
                kw(json!({"rpmID": id, "strict": true}))
            )
            .await,
            (1000, format!("External rpm: {id}"))
        );
        assert_eq!(
            fault(&th, &admin, "addRPMSig", json!([id, "AAAA"])).await,
            (1000, format!("Not an internal rpm: {id} (from extrepo)"))
        );
    }
    Ok(())
}

/// Makes the next commit that ran `op` on `table` with `cond` true fail at
/// COMMIT (a deferred constraint on PostgreSQL, a deferred foreign key on
/// SQLite).
async fn fail_commit_when(th: &TestHub, name: &str, table: &str, op: &str, cond: &str) -> R {
    let c = th.hub.db().conn();
    let qs = match th.backend {
        koji_core::db::Backend::Sqlite => vec![
            "CREATE TABLE IF NOT EXISTS inj_parent (id INTEGER PRIMARY KEY)".to_string(),
            "CREATE TABLE IF NOT EXISTS inj_child (pid INTEGER REFERENCES inj_parent (id) \
             DEFERRABLE INITIALLY DEFERRED)"
                .to_string(),
            format!(
                "CREATE TRIGGER inj_fail_{name} AFTER {op} ON {table} WHEN {cond} \
                 BEGIN INSERT INTO inj_child VALUES (999); END"
            ),
        ],
        koji_core::db::Backend::Postgres => vec![
            "CREATE OR REPLACE FUNCTION inj_fail() RETURNS trigger AS $$ \
             BEGIN RAISE EXCEPTION 'injected commit failure'; END $$ LANGUAGE plpgsql"
                .to_string(),
            format!(
                "CREATE CONSTRAINT TRIGGER inj_fail_{name} AFTER {op} ON {table} \
                 DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ({cond}) \
                 EXECUTE FUNCTION inj_fail()"
            ),
        ],
    };
    for q in qs {
        koji_core::db::exec(c, &q, vec![]).await?;
    }
    Ok(())
}

async fn clear_fail(th: &TestHub, name: &str, table: &str) -> R {
    let q = match th.backend {
        koji_core::db::Backend::Sqlite => format!("DROP TRIGGER IF EXISTS inj_fail_{name}"),
        koji_core::db::Backend::Postgres => {
            format!("DROP TRIGGER IF EXISTS inj_fail_{name} ON {table}")
        }
    };
    koji_core::db::exec(th.hub.db().conn(), &q, vec![]).await?;
    Ok(())
}

#[tokio::test]
async fn import_refuses_to_replace_a_dangling_link() -> R {
    let f = fixture();
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let dest = topdir(&th).join("packages/kojitest/1.0/1/src/kojitest-1.0-1.src.rpm");
        std::fs::create_dir_all(dest.parent().unwrap())?;
        std::os::unix::fs::symlink("/nonexistent/target", &dest)?;
        let (p, b) = upload(&th, &f.srpm, "dl");
        assert_eq!(
            fault(&th, &admin, "importRPM", json!([p, b])).await,
            (
                1000,
                format!(
                    "Error importing archive file, {} already exists",
                    dest.display()
                )
            )
        );
        let up = topdir(&th).join("work/dl/kojitest-1.0-1.src.rpm");
        assert!(up.is_file() && !up.is_symlink(), "{}", th.label());
        assert_eq!(
            std::fs::read_link(&dest)?,
            PathBuf::from("/nonexistent/target")
        );
        for t in ["build", "rpminfo", "rpmsigs"] {
            assert_eq!(count(&th, t).await, 0, "{t} on {}", th.label());
        }
    }
    Ok(())
}

#[tokio::test]
async fn import_source_is_confined_to_the_work_directory() -> R {
    let f = fixture();
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let top = topdir(&th);
        let work = top.join("work");
        let base = "kojitest-1.0-1.src.rpm";
        // a file outside work
        let outside = top.join("outside");
        std::fs::create_dir_all(&outside)?;
        std::fs::copy(&f.srpm, outside.join(base))?;
        std::fs::create_dir_all(&work)?;
        for path in ["../outside", "a/../../outside"] {
            assert_eq!(
                fault(&th, &admin, "importRPM", json!([path, base])).await,
                (
                    1,
                    format!("<class 'ValueError'>: Invalid path segment: {path}/{base}")
                ),
                "{path}"
            );
        }
        assert_eq!(
            fault(
                &th,
                &admin,
                "importRPM",
                json!([".", format!("../outside/{base}")])
            )
            .await,
            (
                1,
                format!("<class 'ValueError'>: Invalid path segment: ./../outside/{base}")
            )
        );
        // an absolute path
        let abs = outside.display().to_string();
        assert_eq!(
            fault(&th, &admin, "importRPM", json!([abs, base])).await,
            (
                1,
                format!("<class 'ValueError'>: Invalid path segment: {abs}/{base}")
            )
        );
        // a directory link below work leading out
        std::os::unix::fs::symlink(&outside, work.join("sneaky"))?;
        assert_eq!(
            fault(&th, &admin, "importRPM", json!(["sneaky", base])).await,
            (1000, "Invalid upload directory: sneaky".into())
        );
        // the file itself a link
        std::fs::create_dir_all(work.join("ln"))?;
        std::os::unix::fs::symlink(outside.join(base), work.join("ln").join(base))?;
        assert_eq!(
            fault(&th, &admin, "importRPM", json!(["ln", base])).await,
            (
                1000,
                format!(
                    "Error importing archive file, {}/ln/{base} is not a regular file",
                    work.display()
                )
            )
        );
        for t in ["build", "rpminfo"] {
            assert_eq!(count(&th, t).await, 0, "{t} on {}", th.label());
        }
        assert!(outside.join(base).is_file());
        assert!(!top.join("packages").exists());
        // a normalised path inside work is fine
        let (p, b) = upload(&th, &f.srpm, "ok/x");
        th.call(&admin, "importRPM", json!([format!("{p}/../x"), b]))
            .await?;
    }
    Ok(())
}

#[tokio::test]
async fn signed_copies_and_sig_deletion_follow_their_rows() -> R {
    let f = fixture();
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let (_, noarch_id, _) = import_all(&th, &admin).await?;
        let builddir = topdir(&th).join("packages/kojitest/1.0/1");
        let key = f.sigkey.clone();
        th.call(
            &admin,
            "addRPMSig",
            json!([noarch_id, b64(&sighdr(&f.signed))]),
        )
        .await?;
        th.call(&admin, "writeSignedRPM", json!([noarch_id, key]))
            .await?;
        let signed = builddir.join(format!(
            "data/signed/{key}/noarch/kojitest-doc-1.0-1.noarch.rpm"
        ));
        let good = std::fs::read(&signed)?;
        // an old copy that differs: with force and a failing commit it stays
        std::fs::write(&signed, b"old copy")?;
        koji_core::db::exec(th.hub.db().conn(), "DELETE FROM rpm_checksum", vec![]).await?;
        fail_commit_when(&th, "t1", "rpm_checksum", "INSERT", "1 = 1").await?;
        assert!(
            th.call(&admin, "writeSignedRPM", json!([noarch_id, key, true]))
                .await
                .is_err(),
            "{l}"
        );
        assert_eq!(std::fs::read(&signed)?, b"old copy", "{l}");
        let sdir = signed.parent().unwrap();
        let names: Vec<_> = std::fs::read_dir(sdir)?.filter_map(|e| e.ok()).collect();
        assert_eq!(names.len(), 1, "{l}: no temporary files left");
        clear_fail(&th, "t1", "rpm_checksum").await?;
        th.call(&admin, "writeSignedRPM", json!([noarch_id, key, true]))
            .await?;
        assert_eq!(std::fs::read(&signed)?, good, "{l}");

        // deleteRPMSig: a failing commit keeps the signed copy and header
        let hdr = builddir.join(format!(
            "data/sigcache/{key}/noarch/kojitest-doc-1.0-1.noarch.rpm.sig"
        ));
        fail_commit_when(
            &th,
            "t2",
            "rpmsigs",
            "DELETE",
            &format!("OLD.sigkey = '{key}'"),
        )
        .await?;
        assert!(
            th.call(&admin, "deleteRPMSig", json!([noarch_id, key]))
                .await
                .is_err(),
            "{l}"
        );
        clear_fail(&th, "t2", "rpmsigs").await?;
        assert_eq!(std::fs::read(&signed)?, good, "{l}");
        assert_eq!(std::fs::read(&hdr)?, sighdr(&f.signed), "{l}");
        assert_eq!(
            std::fs::read_dir(hdr.parent().unwrap())?.count(),
            1,
            "{l}: no backup left"
        );
        assert_eq!(
            std::fs::read_dir(sdir)?.count(),
            1,
            "{l}: nothing set aside left"
        );
        th.call(&admin, "deleteRPMSig", json!([noarch_id, key]))
            .await?;
        assert!(!signed.exists(), "{l}");
        assert!(!hdr.exists(), "{l}");
        assert_eq!(std::fs::read_dir(sdir)?.count(), 0, "{l}");
    }
    Ok(())
}
