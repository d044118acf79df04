//! Multilib in dist repos: which packages of a 64-bit arch's repo get
//! their 32-bit build beside them (`koji dist-repo --multilib CONFIG`).
//!
//! The choice is the `devel` method of python-multilib, the one kojid's
//! `createdistrepo` uses: a package is chosen when its name is on the
//! `[devel]` white list (and not on its black list), or the `runtime`
//! method chooses it (the `[runtime]` lists, then libraries and plugins by
//! the directories of its files, a few tools that prefer 64 bits, the
//! kernel), or it is a `-devel` or `-static` package. The config file is
//! python-multilib's `multilib.conf`: sections `[runtime]` and `[devel]`,
//! each with `white` and `black` lists of package names.
//!
//! A list is tested as python-multilib tests it, `name in <the option's
//! text>`: a substring test, so `black = kdeutils-devel` also black-lists
//! `kdeutils` (and `libml`, `libml-devel` both). Kept, so that a config
//! gives the repos it gives with upstream's builders.

/// The white and black lists of a `multilib.conf`, each the option's text
/// (continuation lines joined with newlines, as configparser gives it).
#[derive(Debug, Default, Clone)]
pub struct Config {
    pub runtime_white: String,
    pub runtime_black: String,
    pub devel_white: String,
    pub devel_black: String,
}

/// python-multilib's list test: `name in text`.
fn listed(text: &str, name: &str) -> bool {
    text.contains(name)
}

impl Config {
    /// Reads a `multilib.conf` (an INI file, read as Python's configparser
    /// does: [`crate::ini`]). Both
    /// sections and their four lists must be there, as python-multilib
    /// requires; a list may be empty.
    pub fn parse(text: &str) -> Result<Config, String> {
        let sections = crate::ini::parse(text)?;
        let list = |sec: &str, opt: &str| -> Result<String, String> {
            let (_, s) = sections
                .iter()
                .find(|(name, _)| name == sec)
                .ok_or_else(|| format!("no section [{sec}]"))?;
            let (_, lines) = s
                .iter()
                .find(|(k, _)| k == opt)
                .ok_or_else(|| format!("no option '{opt}' in section [{sec}]"))?;
            let text: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
            Ok(text.join("\n"))
        };
        Ok(Config {
            runtime_white: list("runtime", "white")?,
            runtime_black: list("runtime", "black")?,
            devel_white: list("devel", "white")?,
            devel_black: list("devel", "black")?,
        })
    }
}

/// What the choice looks at: a package's name, arch, the names it
/// provides and its file paths.
#[derive(Debug, Clone, Default)]
pub struct Pkg {
    pub name: String,
    pub arch: String,
    pub provides: Vec<String>,
    pub files: Vec<String>,
}

/// Tools whose 64-bit build is wanted on a 64-bit system (python-multilib's
/// `PREFER_64`).
const PREFER_64: &[&str] = &[
    "gdb",
    "frysk",
    "systemtap",
    "systemtap-runtime",
    "ltrace",
    "strace",
];
const ROOT_LIBDIRS: &[&str] = &["/lib", "/lib64"];
const USR_LIBDIRS: &[&str] = &["/usr/lib", "/usr/lib64"];

/// The base method: a 64-bit build of a tool that prefers 64 bits, or of a
/// kernel.
fn select_base(p: &Pkg) -> bool {
    if p.arch.contains("64") {
        if PREFER_64.contains(&p.name.as_str()) {
            return true;
        }
        if p.name.starts_with("kernel")
            && p.provides
                .iter()
                .any(|n| n == "kernel" || n == "kernel-devel")
        {
            return true;
        }
    }
    false
}

/// Directories whose files make a package multilib whatever their names
/// (sound, graphics drivers, GTK modules, Kerberos and SASL plugins,
/// VDPAU, PAM modules, LSB).
fn by_dir(dir: &str) -> bool {
    for lib in USR_LIBDIRS {
        if let Some(rest) = dir.strip_prefix(lib).and_then(|r| r.strip_prefix('/')) {
            if [
                "alsa-lib",
                "dri",
                "gtk-2.0/modules",
                "gtk-2.0/immodules",
                "krb5/plugins",
                "sasl2",
                "vdpau",
            ]
            .contains(&rest)
            {
                return true;
            }
        }
    }
    ROOT_LIBDIRS.iter().any(|l| dir == format!("{l}/security")) || dir == "/etc/lsb-release.d"
}

/// The runtime method: libraries and plugins, by their files.
fn select_runtime(c: &Config, p: &Pkg) -> bool {
    if listed(&c.runtime_black, &p.name) {
        return false;
    }
    if listed(&c.runtime_white, &p.name) {
        return true;
    }
    if select_base(p) {
        return true;
    }
    if p.name.starts_with("kernel") && p.provides.iter().any(|n| n == "kernel") {
        return false;
    }
    for file in &p.files {
        let Some((dir, name)) = file.rsplit_once('/') else {
            continue;
        };
        let in_libdirs = ROOT_LIBDIRS.contains(&dir) || USR_LIBDIRS.contains(&dir);
        if in_libdirs && fnmatch("*.so.*", name) {
            return true;
        }
        if by_dir(dir) {
            return true;
        }
        if dir == "/etc/ld.so.conf.d" && name.ends_with(".conf") {
            return true;
        }
        if ROOT_LIBDIRS.contains(&dir)
            && (name.starts_with("libnss_") || name.starts_with("libdb-"))
        {
            return true;
        }
        if !USR_LIBDIRS.iter().any(|l| dir.starts_with(l)) {
            continue;
        }
        if dir.starts_with("/usr/lib/gtk-2.0") || dir.starts_with("/usr/lib64/gtk-2.0") {
            if [
                "engines",
                "modules",
                "immodules",
                "loaders",
                "printbackends",
                "filesystems",
            ]
            .iter()
            .any(|leaf| fnmatch(&format!("/usr/lib*/gtk-2.0/*/{leaf}"), dir))
            {
                return true;
            }
            continue;
        }
        if dir.starts_with("/usr/lib/gstreamer-") || dir.starts_with("/usr/lib64/gstreamer-") {
            return true;
        }
        if [
            "/usr/lib*/qt*/plugins/*",
            "/usr/lib*/kde*/plugins/*",
            "/usr/lib*/qt5/qml/*",
            "/usr/lib*/gdk-pixbuf-2.0/*/loaders",
            "/usr/lib*/xine/plugins/*",
        ]
        .iter()
        .any(|pat| fnmatch(pat, dir))
        {
            return true;
        }
        let under = |leaf: &str| USR_LIBDIRS.iter().any(|l| dir == format!("{l}/{leaf}"));
        if under("oprofile") && fnmatch("*.so.*", name) {
            return true;
        }
        if under("wine") && name.ends_with(".so") {
            return true;
        }
        if under("sane") && name.starts_with("libsane-") {
            return true;
        }
    }
    false
}

/// The devel method (kojid's): whether `p` needs its 32-bit build in the
/// 64-bit repo.
pub fn select(c: &Config, p: &Pkg) -> bool {
    if listed(&c.devel_black, &p.name) {
        return false;
    }
    if listed(&c.devel_white, &p.name) {
        return true;
    }
    if select_runtime(c, p) {
        return true;
    }
    if p.name.starts_with("ghc-") {
        return false;
    }
    if p.name.starts_with("kernel") {
        for n in &p.provides {
            if n == "kernel-devel" {
                return false;
            }
            if n.ends_with("-devel") || n.ends_with("-static") {
                return true;
            }
        }
    }
    p.name.ends_with("-devel") || p.name.ends_with("-static")
}

/// Shell-style matching as Python's `fnmatch` (case-sensitive on POSIX):
/// `*` any run of characters (`/` included), `?` one character, `[...]`
/// a set (`!` negates); anything else literally.
pub fn fnmatch(pattern: &str, s: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = s.chars().collect();
    // classic backtracking over the last `*`
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class(&p, pi, t[ti]) {
                        if matched {
                            pi = next;
                            ti += 1;
                            continue;
                        }
                    } else if t[ti] == '[' {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
                ch if ch == t[ti] => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// A `[...]` set at `p[start]` tested against `ch`: whether it matched and
/// where the pattern goes on; None when the `[` opens no set (literal).
fn class(p: &[char], start: usize, ch: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = i < p.len() && p[i] == '!';
    if negate {
        i += 1;
    }
    let first = i;
    let mut matched = false;
    while i < p.len() && (p[i] != ']' || i == first) {
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= ch && ch <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == ch {
                matched = true;
            }
            i += 1;
        }
    }
    if i >= p.len() {
        return None;
    }
    Some((matched != negate, i + 1))
}

/// For a 64-bit dist repo arch, the arch in its 32-bit RPMs' file names
/// (kojid's `archmap`) and the dist repo directory holding them.
pub fn ml_arch(arch: &str) -> Option<(&'static str, &'static str)> {
    match arch {
        "x86_64" => Some(("i686", "i386")),
        "s390x" => Some(("s390", "s390")),
        "ppc64" => Some(("ppc", "ppc")),
        _ => None,
    }
}

/// Whether `arch` (a canonical arch) is a multilib arch (koji's
/// `isMultiLibArch`): the arches whose repos take 32-bit packages.
pub fn is_multilib_arch(arch: &str) -> bool {
    ["x86_64", "ppc64", "s390x", "sparc64", "sparc64v"].contains(&arch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = "\
# Used with the Runtime multilib method.
[runtime]
white = libflashsupport
    valgrind
    wine
black = httpd
    php

[devel]
white =
black = httpd-devel
    php-devel
; another comment
";

    fn pkg(name: &str, arch: &str, files: &[&str]) -> Pkg {
        Pkg {
            name: name.into(),
            arch: arch.into(),
            provides: vec![name.into()],
            files: files.iter().map(|f| f.to_string()).collect(),
        }
    }

    #[test]
    fn config_lists_with_continuation_lines() {
        let c = Config::parse(CONF).unwrap();
        assert_eq!(c.runtime_white, "libflashsupport\nvalgrind\nwine");
        assert_eq!(c.runtime_black, "httpd\nphp");
        assert_eq!(c.devel_white, "");
        assert_eq!(c.devel_black, "httpd-devel\nphp-devel");
        let err = Config::parse("[runtime]\nwhite = a\nblack = b\n").unwrap_err();
        assert!(err.contains("[devel]"), "{err}");
        let err = Config::parse("[runtime]\nwhite = a\n[devel]\nwhite=\nblack=\n").unwrap_err();
        assert!(
            err.contains("'black'") && err.contains("[runtime]"),
            "{err}"
        );
        assert!(Config::parse("white = a\n").is_err());
    }

    #[test]
    fn devel_method_chooses_libraries_devel_and_listed_packages() {
        let c = Config::parse(CONF).unwrap();
        let yes = |p: Pkg| assert!(select(&c, &p), "{p:?} should be chosen");
        let no = |p: Pkg| assert!(!select(&c, &p), "{p:?} should not be chosen");
        yes(pkg("libfoo", "x86_64", &["/usr/lib64/libfoo.so.1"]));
        yes(pkg("libbar", "x86_64", &["/lib64/libbar.so.2.3"]));
        no(pkg("libfoo-tools", "x86_64", &["/usr/bin/foo"]));
        // a bare .so is a development link, not a runtime library
        no(pkg("plugin", "x86_64", &["/usr/lib64/plugin.so"]));
        yes(pkg("foo-devel", "x86_64", &["/usr/include/foo.h"]));
        yes(pkg("foo-static", "x86_64", &["/usr/lib64/libfoo.a"]));
        yes(pkg("foo-doc-devel", "noarch", &[]));
        // lists
        no(pkg("php-devel", "x86_64", &["/usr/include/php.h"]));
        no(pkg("httpd", "x86_64", &["/usr/lib64/libhttpd.so.1"]));
        yes(pkg("wine", "x86_64", &["/usr/bin/wine"]));
        // lists are tested as upstream does, by substring: `http` is in
        // "httpd", so a library named so is black-listed
        no(pkg("http", "x86_64", &["/usr/lib64/libhttp.so.1"]));
        yes(pkg("httpx", "x86_64", &["/usr/lib64/libhttpx.so.1"]));
        no(pkg(
            "ph",
            "x86_64",
            &["/usr/include/ph.h", "/usr/lib64/libph.so.1"],
        ));
        // by directory, and the 64-bit preferring tools
        yes(pkg("pam_x", "x86_64", &["/lib64/security/pam_x.so"]));
        yes(pkg("mesa-dri", "x86_64", &["/usr/lib64/dri/x_dri.so"]));
        yes(pkg(
            "gst-x",
            "x86_64",
            &["/usr/lib64/gstreamer-1.0/libx.so"],
        ));
        yes(pkg(
            "qt-x",
            "x86_64",
            &["/usr/lib64/qt5/plugins/styles/x.so"],
        ));
        yes(pkg(
            "gtk-eng",
            "x86_64",
            &["/usr/lib64/gtk-2.0/2.10.0/engines/x.so"],
        ));
        no(pkg(
            "gtk-other",
            "x86_64",
            &["/usr/lib64/gtk-2.0/2.10.0/other/x.so"],
        ));
        yes(pkg("nss", "x86_64", &["/lib64/libnss_files.so"]));
        yes(pkg("ldconf", "x86_64", &["/etc/ld.so.conf.d/x.conf"]));
        yes(pkg("gdb", "x86_64", &["/usr/bin/gdb"]));
        no(pkg("gdb", "i686", &["/usr/bin/gdb"]));
        yes(pkg("sane-x", "x86_64", &["/usr/lib64/sane/libsane-x.so"]));
        no(pkg("ghc-foo", "x86_64", &["/usr/lib64/ghc/x"]));
        // kernels: the kernel itself by PREFER_64's rule, its -devel not
        let mut k = pkg("kernel", "x86_64", &["/boot/vmlinuz"]);
        yes(k.clone());
        k.arch = "i686".into();
        no(k);
        let mut kh = pkg("kernel-headers", "x86_64", &["/usr/include/linux/x.h"]);
        kh.provides.push("kernel-headers-devel".into());
        yes(kh);
    }

    #[test]
    fn fnmatch_as_python() {
        assert!(fnmatch("*.so.*", "libfoo.so.1"));
        assert!(!fnmatch("*.so.*", "libfoo.so"));
        assert!(fnmatch(
            "/usr/lib*/qt*/plugins/*",
            "/usr/lib64/qt5/plugins/a/b"
        ));
        assert!(!fnmatch(
            "/usr/lib*/qt*/plugins/*",
            "/usr/lib64/qt5/plugins"
        ));
        assert!(fnmatch("a?c", "abc"));
        assert!(fnmatch("[ab]x", "bx"));
        assert!(!fnmatch("[!ab]x", "bx"));
        assert!(fnmatch("[a-c]", "b"));
        assert!(fnmatch("[", "["));
        assert!(fnmatch("*", ""));
        assert!(!fnmatch("a", ""));
    }

    #[test]
    fn multilib_arches() {
        assert_eq!(ml_arch("x86_64"), Some(("i686", "i386")));
        assert!(is_multilib_arch("s390x"));
        assert!(!is_multilib_arch("i386"));
        assert!(!is_multilib_arch("aarch64"));
        assert!(!is_multilib_arch("ppc64le"));
        assert_eq!(ml_arch("sparc64"), None);
    }
}
