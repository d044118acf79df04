//! Real RPMs for the CLI tests, built once per test process with
//! `rpmbuild` from `tests/fixtures/hello.spec`, and a throwaway gpg key to
//! sign copies with `rpmsign`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// The RPMs of one build of the fixture package.
#[derive(Debug, Clone)]
pub struct Built {
    pub srpm: PathBuf,
    /// Binary RPMs: `NAME`, `NAME-doc` (noarch), `NAME-debuginfo`.
    pub rpms: Vec<PathBuf>,
}

impl Built {
    /// The binary RPM whose file name starts with `prefix`.
    pub fn rpm(&self, prefix: &str) -> &Path {
        self.rpms
            .iter()
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(prefix))
            })
            .unwrap_or_else(|| panic!("no rpm {prefix}* in {:?}", self.rpms))
    }
}

fn workdir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("tempdir").keep())
}

fn spec() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hello.spec")
}

/// `rpmbuild ARGS --define "_topdir TOP" SPEC`, which must succeed.
fn rpmbuild(top: &Path, args: &[&str], spec: &Path) {
    let out = Command::new("rpmbuild")
        .args(args)
        .arg("--define")
        .arg(format!("_topdir {}", top.display()))
        .arg(spec)
        .output()
        .expect("rpmbuild (apt-get install rpm)");
    assert!(
        out.status.success(),
        "rpmbuild {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What rpmbuild made under `top`: the source RPM and the binary RPMs of
/// the `arches` directories (sorted).
fn collect(top: &Path, arches: &[&str]) -> Built {
    let mut rpms = vec![];
    for arch in arches {
        let Ok(rd) = std::fs::read_dir(top.join("RPMS").join(arch)) else {
            continue;
        };
        rpms.extend(rd.flatten().map(|e| e.path()));
    }
    rpms.sort();
    let srpm = std::fs::read_dir(top.join("SRPMS"))
        .expect("SRPMS")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".src.rpm"))
        .expect("no source rpm built");
    Built { srpm, rpms }
}

/// The RPMs of `name-version-release` (source, arch, noarch, debuginfo).
pub fn build(name: &str, version: &str, release: &str) -> Built {
    static BUILT: OnceLock<Mutex<HashMap<String, Built>>> = OnceLock::new();
    let nvr = format!("{name}-{version}-{release}");
    let mut built = BUILT.get_or_init(Default::default).lock().unwrap();
    if let Some(b) = built.get(&nvr) {
        return b.clone();
    }
    let top = workdir().join(&nvr);
    let defines = [
        format!("pkg {name}"),
        format!("ver {version}"),
        format!("rel {release}"),
    ];
    let mut args = vec!["-ba"];
    for d in &defines {
        args.extend(["--define", d.as_str()]);
    }
    rpmbuild(&top, &args, &spec());
    let b = collect(&top, &["noarch", "x86_64", "aarch64"]);
    built.insert(nvr, b.clone());
    b
}

/// The RPMs of `tests/fixtures/libml.spec` built for x86_64 and for i686
/// (`rpmbuild --target`), and its source RPM: one build of two arches,
/// for the multilib tests.
#[allow(dead_code)]
pub fn build_multilib() -> Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let top = workdir().join("libml");
            let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/libml.spec");
            for args in [
                &["-bs"][..],
                &["-bb", "--target", "x86_64"][..],
                &["-bb", "--target", "i686"][..],
            ] {
                rpmbuild(&top, args, &spec);
            }
            collect(&top, &["noarch", "x86_64", "i686"])
        })
        .clone()
}

/// A gpg key made for this test process.
pub struct Key {
    pub gnupghome: PathBuf,
    /// upstream's sigkey: the last 8 hex digits of the key id, lower case
    pub sigkey: String,
}

pub fn key() -> &'static Key {
    static KEY: OnceLock<Key> = OnceLock::new();
    KEY.get_or_init(|| {
        let home = workdir().join("gnupg");
        std::fs::create_dir_all(&home).expect("mkdir gnupg");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700));
        }
        let gpg = |args: &[&str]| {
            let out = Command::new("gpg")
                .env("GNUPGHOME", &home)
                .arg("--batch")
                .args(args)
                .output()
                .expect("gpg (apt-get install gnupg)");
            assert!(
                out.status.success(),
                "gpg {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        gpg(&[
            "--passphrase",
            "",
            "--quick-gen-key",
            "koji-rs test <test@example.com>",
            "rsa2048",
            "sign",
            "never",
        ]);
        let listing = gpg(&["--list-keys", "--with-colons"]);
        let keyid = listing
            .lines()
            .find(|l| l.starts_with("pub:"))
            .and_then(|l| l.split(':').nth(4))
            .expect("key id")
            .to_lowercase();
        Key {
            gnupghome: home,
            sigkey: keyid[keyid.len() - 8..].to_string(),
        }
    })
}

/// A signed copy of `rpm` (in a directory of its own, same file name).
pub fn signed_copy(rpm: &Path) -> PathBuf {
    let k = key();
    let dir = workdir().join(format!("signed-{}", k.sigkey));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let dest = dir.join(rpm.file_name().expect("file name"));
    if dest.exists() {
        return dest;
    }
    std::fs::copy(rpm, &dest).expect("copy rpm");
    let out = Command::new("rpmsign")
        .env("GNUPGHOME", &k.gnupghome)
        .arg("--addsign")
        .args(["--define", "__gpg /usr/bin/gpg"])
        .args(["--define", "_gpg_name koji-rs test"])
        .arg("--define")
        .arg(format!("_gpg_path {}", k.gnupghome.display()))
        .args([
            "--define",
            "_gpg_sign_cmd_extra_args --batch --pinentry-mode loopback --passphrase ''",
        ])
        .arg(&dest)
        .output()
        .expect("rpmsign (apt-get install rpm)");
    assert!(
        out.status.success(),
        "rpmsign: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dest
}

/// The fixture spec naming `name-version-release` itself (so a builder
/// rebuilding it gets the same N-V-R); with `broken`, `%install` fails.
#[allow(dead_code)]
pub fn self_contained_spec(name: &str, version: &str, release: &str, broken: bool) -> String {
    let text = std::fs::read_to_string(spec()).expect("hello.spec");
    let mut text = text
        .replace(
            "%{!?pkg: %global pkg hello}",
            &format!("%global pkg {name}"),
        )
        .replace(
            "%{!?ver: %global ver 1.0}",
            &format!("%global ver {version}"),
        )
        .replace("%{!?rel: %global rel 1}", &format!("%global rel {release}"));
    if broken {
        text = text.replace(
            "%install\n",
            "%install\necho 'this package does not build' >&2\nexit 1\n",
        );
    }
    text
}

/// A source RPM of [`self_contained_spec`].
#[allow(dead_code)]
pub fn self_contained_srpm(name: &str, version: &str, release: &str, broken: bool) -> PathBuf {
    let nvr = format!(
        "{name}-{version}-{release}{}",
        if broken { "-broken" } else { "" }
    );
    srpm_of(
        &nvr,
        name,
        &self_contained_spec(name, version, release, broken),
    )
}

/// A source RPM of [`self_contained_spec`] whose `%install` first sleeps
/// `seconds` (a build that is still running when a test acts on it).
#[allow(dead_code)]
pub fn slow_srpm(name: &str, version: &str, release: &str, seconds: u32) -> PathBuf {
    let spec = self_contained_spec(name, version, release, false)
        .replace("%install\n", &format!("%install\nsleep {seconds}\n"));
    srpm_of(&format!("{name}-{version}-{release}-slow"), name, &spec)
}

/// `rpmbuild -bs` of `spec` in a directory of its own named after `label`.
#[allow(dead_code)]
pub fn srpm_of(label: &str, name: &str, spec: &str) -> PathBuf {
    let top = workdir().join(format!("srpm-{label}"));
    std::fs::create_dir_all(&top).expect("mkdir");
    let spec_path = top.join(format!("{name}.spec"));
    std::fs::write(&spec_path, spec).expect("write spec");
    rpmbuild(&top, &["-bs"], &spec_path);
    collect(&top, &[]).srpm
}
