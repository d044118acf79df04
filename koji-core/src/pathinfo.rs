//! Upstream's content-store layout (`koji.pathinfo`): where a build, its
//! RPMs, signed copies, logs, task output and repos live below `topdir`.
//!
//! Shared by the hub (which writes the store), `/kojifiles/` (which serves
//! it) and the builder (which reads it), so every path is spelled once.

use std::path::{Path, PathBuf};

/// The volume that is `topdir` itself.
pub const DEFAULT_VOLUME: &str = "DEFAULT";

/// Refuses a value that cannot stand as one directory or file name in the
/// content store: empty, `.`, `..`, or holding `/` or NUL. `what` names
/// the value in the message ("build release", "rpm arch", ...).
pub fn check_component(what: &str, value: &str) -> crate::Result<()> {
    let bad = value.is_empty()
        || value == "."
        || value == ".."
        || value.contains('/')
        || value.contains('\0');
    if bad {
        return Err(crate::Error::Generic(format!(
            "Invalid {what}: {} (not usable in a file path)",
            crate::util::py_str_repr(value)
        )));
    }
    Ok(())
}

/// Refuses a value that cannot stand as a relative path of directories
/// in the content store (a tag name may hold `/`): empty, absolute, or
/// with an empty, `.` or `..` component, or NUL.
pub fn check_relpath(what: &str, value: &str) -> crate::Result<()> {
    let bad = value.is_empty()
        || value.contains('\0')
        || value
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..");
    if bad {
        return Err(crate::Error::Generic(format!(
            "Invalid {what}: {} (not usable in a file path)",
            crate::util::py_str_repr(value)
        )));
    }
    Ok(())
}

/// The fields of a build its paths depend on.
#[derive(Debug, Clone, Copy)]
pub struct BuildPath<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub release: &'a str,
    /// `None` or `"DEFAULT"`: the main volume.
    pub volume: Option<&'a str>,
}

impl BuildPath<'_> {
    /// [`check_component`] on name, version, release and volume.
    pub fn check(&self) -> crate::Result<()> {
        check_component("build name", self.name)?;
        check_component("build version", self.version)?;
        check_component("build release", self.release)?;
        if let Some(v) = self.volume {
            check_component("volume name", v)?;
        }
        Ok(())
    }
}

/// The fields of an RPM its paths depend on.
#[derive(Debug, Clone, Copy)]
pub struct RpmPath<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub release: &'a str,
    pub arch: &'a str,
}

#[derive(Debug, Clone)]
pub struct PathInfo {
    topdir: PathBuf,
}

impl PathInfo {
    pub fn new(topdir: impl Into<PathBuf>) -> PathInfo {
        PathInfo {
            topdir: topdir.into(),
        }
    }

    pub fn topdir(&self) -> &Path {
        &self.topdir
    }

    /// `topdir` for the default volume, else `topdir/vol/NAME`.
    pub fn volumedir(&self, volume: Option<&str>) -> PathBuf {
        match volume {
            None | Some(DEFAULT_VOLUME) => self.topdir.clone(),
            Some(v) => self.topdir.join("vol").join(v),
        }
    }

    /// `packages/N/V/R` on the build's volume.
    pub fn build(&self, b: BuildPath<'_>) -> PathBuf {
        self.volumedir(b.volume)
            .join("packages")
            .join(b.name)
            .join(b.version)
            .join(b.release)
    }

    /// `ARCH/N-V-R.ARCH.rpm`, relative to the build directory.
    pub fn rpm(r: RpmPath<'_>) -> String {
        format!(
            "{a}/{n}-{v}-{r}.{a}.rpm",
            a = r.arch,
            n = r.name,
            v = r.version,
            r = r.release
        )
    }

    /// A signed copy, relative to the build directory.
    pub fn signed(r: RpmPath<'_>, sigkey: &str) -> String {
        format!("data/signed/{sigkey}/{}", Self::rpm(r))
    }

    /// A cached signature header, relative to the build directory.
    pub fn sighdr(r: RpmPath<'_>, sigkey: &str) -> String {
        format!("data/sigcache/{sigkey}/{}.sig", Self::rpm(r))
    }

    /// The build's logs directory.
    pub fn build_logs(&self, b: BuildPath<'_>) -> PathBuf {
        self.build(b).join("data").join("logs")
    }

    /// Where files of a build type other than rpm live.
    pub fn typedir(&self, b: BuildPath<'_>, btype: &str) -> PathBuf {
        let dir = self.build(b);
        match btype {
            "maven" => dir.join("maven"),
            "win" => dir.join("win"),
            "image" => dir.join("images"),
            other => dir.join("files").join(other),
        }
    }

    /// The work directory (uploads, task output) of a volume.
    pub fn work(&self, volume: Option<&str>) -> PathBuf {
        self.volumedir(volume).join("work")
    }

    /// `tasks/ID%10000/ID`, relative to the work directory.
    pub fn taskrelpath(task_id: i64) -> String {
        format!("tasks/{}/{}", task_id % 10000, task_id)
    }

    pub fn task(&self, task_id: i64, volume: Option<&str>) -> PathBuf {
        self.work(volume).join(Self::taskrelpath(task_id))
    }

    /// A tag's repo: `repos/TAG/ID`.
    pub fn repo(&self, repo_id: i64, tag: &str) -> PathBuf {
        self.topdir
            .join("repos")
            .join(tag)
            .join(repo_id.to_string())
    }

    pub fn distrepo(&self, repo_id: i64, tag: &str, volume: Option<&str>) -> PathBuf {
        self.volumedir(volume)
            .join("repos-dist")
            .join(tag)
            .join(repo_id.to_string())
    }

    /// Where a dist repo arch directory holds an RPM file:
    /// `Packages/<first letter, lower case>/<file>`.
    pub fn dist_package(file: &str) -> String {
        let letter: String = file.chars().take(1).flat_map(char::to_lowercase).collect();
        format!("Packages/{letter}/{file}")
    }

    pub fn scratch(&self) -> PathBuf {
        self.topdir.join("scratch")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_components_are_checked() {
        for ok in ["bash", "5.2", "1.fc40", "a..b", ".hidden", "x,draft_7"] {
            assert!(check_component("build release", ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "/", "../x", "a\0b"] {
            let e = check_component("build release", bad).unwrap_err();
            assert_eq!(e.fault_code(), 1000, "{bad}");
            assert!(e.to_string().starts_with("Invalid build release: "), "{e}");
        }
        let b = BuildPath {
            name: "bash",
            version: "5.2",
            release: "..",
            volume: None,
        };
        assert_eq!(
            b.check().unwrap_err().to_string(),
            "Invalid build release: '..' (not usable in a file path)"
        );
        let v = BuildPath {
            release: "1",
            volume: Some("a/b"),
            ..b
        };
        assert_eq!(
            v.check().unwrap_err().to_string(),
            "Invalid volume name: 'a/b' (not usable in a file path)"
        );
    }

    #[test]
    fn upstream_layout() {
        let p = PathInfo::new("/mnt/koji");
        let b = BuildPath {
            name: "bash",
            version: "5.2",
            release: "1.fc40",
            volume: None,
        };
        assert_eq!(
            p.build(b),
            PathBuf::from("/mnt/koji/packages/bash/5.2/1.fc40")
        );
        let on_vol = BuildPath {
            volume: Some("archive"),
            ..b
        };
        assert_eq!(
            p.build(on_vol),
            PathBuf::from("/mnt/koji/vol/archive/packages/bash/5.2/1.fc40")
        );
        let r = RpmPath {
            name: "bash-doc",
            version: "5.2",
            release: "1.fc40",
            arch: "noarch",
        };
        assert_eq!(PathInfo::rpm(r), "noarch/bash-doc-5.2-1.fc40.noarch.rpm");
        assert_eq!(
            PathInfo::signed(r, "abcd1234"),
            "data/signed/abcd1234/noarch/bash-doc-5.2-1.fc40.noarch.rpm"
        );
        assert_eq!(
            PathInfo::sighdr(r, "abcd1234"),
            "data/sigcache/abcd1234/noarch/bash-doc-5.2-1.fc40.noarch.rpm.sig"
        );
        assert_eq!(PathInfo::taskrelpath(123456), "tasks/3456/123456");
        assert_eq!(
            p.typedir(b, "maven"),
            PathBuf::from("/mnt/koji/packages/bash/5.2/1.fc40/maven")
        );
        assert_eq!(
            p.typedir(b, "operator-manifests"),
            PathBuf::from("/mnt/koji/packages/bash/5.2/1.fc40/files/operator-manifests")
        );
        assert_eq!(
            p.repo(7, "f40-build"),
            PathBuf::from("/mnt/koji/repos/f40-build/7")
        );
    }
}
