//! Mock configuration as upstream's `koji.genMockConfig` writes it: the
//! text a builder hands to `mock -r` for a buildroot of a tag's repo.
//!
//! [`MockConfig`] holds the options (upstream's keyword arguments, with
//! upstream's defaults); [`MockConfig::render`] gives the text, byte for
//! byte upstream's. [`MockConfig::from_tag_extra`] applies a build tag's
//! `mock.*`, `rpm.macro.*` and `rpm.env.*` settings as upstream's builder
//! does.
//!
//! One difference, on purpose: upstream's managed header names the last
//! Maven environment variable instead of the buildroot when `maven_envs` is
//! given (a reused loop variable); here it always names the buildroot.

use crate::error::{Error, Result};
use crate::util::{py_repr, py_str_repr};
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The options of one mock configuration.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// The mock root's name (`TAG-BUILDROOTID-REPOID` on a builder).
    pub name: String,
    /// The repo arch (the canonical arch of the buildroot).
    pub arch: String,
    /// Adds the `# Koji ...` header of a builder's buildroot.
    pub managed: bool,
    /// The repo id (upstream formats it with `%s`, so `latest` works).
    pub repo_id: String,
    pub tag_name: String,
    pub buildroot_id: Option<i64>,
    /// Where the repos are served; each gives one `baseurl` line. Empty:
    /// `file://` below `topdir`.
    pub topurls: Vec<String>,
    pub topdir: String,
    pub mockdir: String,
    /// The arch rpmbuild targets (`arch` when not given).
    pub target_arch: Option<String>,
    /// The comps group `mock --init` installs.
    pub install_group: String,
    /// The build host's resolver (and `/etc/hosts`, see `etc_hosts`).
    pub use_host_resolv: bool,
    /// The builder's `/etc/hosts`, copied in with `use_host_resolv`.
    pub etc_hosts: Option<String>,
    pub rpmbuild_timeout: i64,
    pub yum_proxy: Option<String>,
    pub vendor: String,
    pub packager: String,
    pub distribution: String,
    pub mockhost: String,
    /// Emitted as given (even `None`) when present.
    pub forcearch: Option<Json>,
    pub package_manager: Option<String>,
    pub bootstrap_image: Option<String>,
    pub use_bootstrap: Option<bool>,
    /// Emitted as given when present.
    pub module_setup_commands: Option<Json>,
    /// Emitted as given when present.
    pub releasever: Option<Json>,
    /// Emitted as given when present; bind mounts set it to `False`
    /// unless given.
    pub internal_dev_setup: Option<Json>,
    pub module_hotfixes: bool,
    /// `best=N` in the repo section when non-zero.
    pub yum_best: Option<i64>,
    /// Added to the default `plugin_conf` (values that are objects become
    /// one line per key).
    pub plugin_conf: Map<String, Json>,
    /// `bind_mount_opts`: kind (`dirs`, `files`) to `(source, dest)` pairs,
    /// in order.
    pub bind_opts: Vec<(String, Vec<(String, String)>)>,
    /// Macros (with their `%`), over `%vendor`, `%packager`,
    /// `%distribution`; `%_topdir`, `%_host_cpu`, `%_host` cannot be
    /// overridden.
    pub tag_macros: Map<String, Json>,
    /// `config_opts['environment']`.
    pub tag_envvars: Map<String, Json>,
    pub maven_opts: Vec<String>,
    pub maven_envs: Vec<(String, String)>,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            name: String::new(),
            arch: String::new(),
            managed: false,
            repo_id: String::new(),
            tag_name: String::new(),
            buildroot_id: None,
            topurls: vec![],
            topdir: "/mnt/koji".into(),
            mockdir: "/var/lib/mock".into(),
            target_arch: None,
            install_group: "build".into(),
            use_host_resolv: false,
            etc_hosts: None,
            rpmbuild_timeout: 86400,
            yum_proxy: None,
            vendor: "Koji".into(),
            packager: "Koji".into(),
            distribution: "Unknown".into(),
            mockhost: "koji-linux-gnu".into(),
            forcearch: None,
            package_manager: None,
            bootstrap_image: None,
            use_bootstrap: None,
            module_setup_commands: None,
            releasever: None,
            internal_dev_setup: None,
            module_hotfixes: false,
            yum_best: None,
            plugin_conf: Map::new(),
            bind_opts: vec![],
            tag_macros: Map::new(),
            tag_envvars: Map::new(),
            maven_opts: vec![],
            maven_envs: vec![],
        }
    }
}

fn truthy(v: Option<&Json>) -> bool {
    v.is_some_and(crate::api::truthy)
}

impl MockConfig {
    /// Applies a build tag's extra settings as upstream's builder does:
    /// `mock.forcearch`, `mock.package_manager`, `mock.yum.module_hotfixes`,
    /// `mock.yum.best`, the sign plugin (`mock.plugin_conf.sign_enable` with
    /// `.sign_opts.cmd` and `.sign_opts.opts`), `mock.module_setup_commands`,
    /// `mock.releasever`, `mock.use_bootstrap`, `mock.bootstrap_image` (when
    /// `allow_bootstrap_image`), `rpm.macro.NAME` and `rpm.env.NAME`.
    pub fn from_tag_extra(
        mut self,
        extra: &Map<String, Json>,
        allow_bootstrap_image: bool,
    ) -> Result<MockConfig> {
        if truthy(extra.get("mock.forcearch")) {
            self.forcearch = Some(Json::from(self.target_arch().to_string()));
        }
        if let Some(v) = extra.get("mock.package_manager") {
            self.package_manager = v.as_str().map(str::to_owned);
        }
        if let Some(v) = extra.get("mock.yum.module_hotfixes") {
            self.module_hotfixes = crate::api::truthy(v);
        }
        if let Some(v) = extra.get("mock.yum.best") {
            let n = match v {
                Json::Bool(b) => *b as i64,
                Json::String(s) => s.trim().parse().map_err(|_| {
                    Error::Generic(format!(
                        "invalid literal for int() with base 10: {}",
                        py_str_repr(s)
                    ))
                })?,
                other => other.as_f64().unwrap_or(0.0) as i64,
            };
            self.yum_best = Some(n);
        }
        if let Some(v) = extra.get("mock.plugin_conf.sign_enable") {
            let cmd = extra.get("mock.plugin_conf.sign_opts.cmd");
            let opts = extra.get("mock.plugin_conf.sign_opts.opts");
            let (Some(cmd), Some(opts)) = (cmd, opts) else {
                return Err(Error::generic(
                    "Tag is not configured properly for mock's sign plugin'",
                ));
            };
            self.plugin_conf.insert("sign_enable".into(), v.clone());
            self.plugin_conf.insert(
                "sign_opts".into(),
                serde_json::json!({"cmd": cmd, "opts": opts}),
            );
        }
        if let Some(v) = extra.get("mock.module_setup_commands") {
            self.module_setup_commands = Some(v.clone());
        }
        if let Some(v) = extra.get("mock.releasever") {
            self.releasever = Some(v.clone());
        }
        if let Some(v) = extra.get("mock.use_bootstrap") {
            self.use_bootstrap = Some(crate::api::truthy(v));
        }
        if allow_bootstrap_image {
            if let Some(v) = extra.get("mock.bootstrap_image").and_then(Json::as_str) {
                self.bootstrap_image = Some(v.to_owned());
            }
        }
        for (k, v) in extra {
            if let Some(m) = k.strip_prefix("rpm.macro.") {
                self.tag_macros.insert(format!("%{m}"), v.clone());
            } else if let Some(e) = k.strip_prefix("rpm.env.") {
                self.tag_envvars.insert(e.to_owned(), v.clone());
            }
        }
        Ok(self)
    }

    fn target_arch(&self) -> &str {
        self.target_arch.as_deref().unwrap_or(&self.arch)
    }

    /// The repo URLs the `[build]` repo lists.
    pub fn repo_urls(&self) -> Vec<String> {
        let path = format!("repos/{}/{}/{}", self.tag_name, self.repo_id, self.arch);
        if self.topurls.is_empty() {
            vec![format!("file://{}/{path}", self.topdir)]
        } else {
            self.topurls.iter().map(|u| format!("{u}/{path}")).collect()
        }
    }

    /// The `yum.conf` text of the configuration.
    fn yum_conf(&self) -> String {
        let mut s = String::from("[main]\n");
        if let Some(p) = self.yum_proxy.as_deref().filter(|p| !p.is_empty()) {
            let _ = writeln!(s, "proxy={p}");
        }
        s.push_str(
            "cachedir=/var/cache/yum\ndebuglevel=1\nlogfile=/var/log/yum.log\n\
             reposdir=/dev/null\nretries=20\nobsoletes=1\ngpgcheck=0\nassumeyes=1\n\
             keepcache=1\ninstall_weak_deps=0\nstrict=1\n\n# repos\n\n[build]\nname=build\n",
        );
        for (i, url) in self.repo_urls().iter().enumerate() {
            if i == 0 {
                let _ = writeln!(s, "baseurl={url}");
            } else {
                let _ = writeln!(s, "        {url}");
            }
        }
        if self.module_hotfixes {
            s.push_str("module_hotfixes=1\n");
        }
        if let Some(b) = self.yum_best.filter(|b| *b != 0) {
            let _ = writeln!(s, "best={b}");
        }
        s
    }

    /// The configuration's text.
    pub fn render(&self) -> Result<String> {
        if self.repo_id.is_empty() || self.tag_name.is_empty() {
            return Err(Error::generic("please provide a repo and tag"));
        }
        let target = self.target_arch().to_string();
        let s = |v: &str| Json::from(v);
        let mut opts: BTreeMap<&str, Json> = BTreeMap::new();
        opts.insert("root", s(&self.name));
        opts.insert("basedir", s(&self.mockdir));
        opts.insert("target_arch", s(&target));
        opts.insert("chroothome", s("/builddir"));
        opts.insert(
            "chroot_setup_cmd",
            s(&format!("install @{}", self.install_group)),
        );
        opts.insert("rpmbuild_networking", Json::from(self.use_host_resolv));
        opts.insert("use_host_resolv", Json::from(self.use_host_resolv));
        opts.insert("rpmbuild_timeout", Json::from(self.rpmbuild_timeout));
        opts.insert("dnf_warning", Json::from(false));
        if let Some(v) = &self.forcearch {
            opts.insert("forcearch", v.clone());
        }
        if let Some(v) = self.package_manager.as_deref().filter(|v| !v.is_empty()) {
            opts.insert("package_manager", s(v));
        }
        match self.bootstrap_image.as_deref().filter(|v| !v.is_empty()) {
            Some(img) => {
                opts.insert("use_bootstrap_image", Json::from(true));
                opts.insert("bootstrap_image", s(img));
            }
            None => {
                opts.insert("use_bootstrap_image", Json::from(false));
            }
        }
        if let Some(v) = self.use_bootstrap {
            opts.insert("use_bootstrap", Json::from(v));
        }
        if let Some(v) = &self.module_setup_commands {
            opts.insert("module_setup_commands", v.clone());
        }
        if let Some(v) = &self.releasever {
            opts.insert("releasever", v.clone());
        }
        let internal_dev_setup = match &self.internal_dev_setup {
            Some(v) => Some(v.clone()),
            None if !self.bind_opts.is_empty() => Some(Json::from(false)),
            None => None,
        };
        if let Some(v) = internal_dev_setup {
            opts.insert("internal_dev_setup", v);
        }
        opts.insert("yum.conf", Json::from(self.yum_conf()));

        let mut plugin: BTreeMap<String, Json> = [
            ("ccache_enable", false),
            ("yum_cache_enable", false),
            ("root_cache_enable", false),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), Json::from(v)))
        .collect();
        for (k, v) in &self.plugin_conf {
            plugin.insert(k.clone(), v.clone());
        }

        let mut macros: BTreeMap<String, Json> = BTreeMap::new();
        macros.insert(
            "%_rpmfilename".into(),
            s("%%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm"),
        );
        macros.insert("%vendor".into(), s(&self.vendor));
        macros.insert("%packager".into(), s(&self.packager));
        macros.insert("%distribution".into(), s(&self.distribution));
        for (k, v) in &self.tag_macros {
            macros.insert(k.clone(), v.clone());
        }
        macros.insert("%_topdir".into(), s("/builddir/build"));
        macros.insert("%_host_cpu".into(), s(&target));
        macros.insert("%_host".into(), s(&format!("{target}-{}", self.mockhost)));

        let mut files: BTreeMap<&str, String> = BTreeMap::new();
        if self.use_host_resolv {
            if let Some(h) = &self.etc_hosts {
                files.insert("etc/hosts", h.clone());
            }
        }
        if !self.maven_opts.is_empty() || !self.maven_envs.is_empty() {
            let mut rc = String::new();
            if !self.maven_opts.is_empty() {
                let _ = writeln!(rc, "export MAVEN_OPTS=\"{}\"", self.maven_opts.join(" "));
            }
            for (k, v) in &self.maven_envs {
                let _ = writeln!(rc, "export {k}=\"{v}\"");
            }
            files.insert("etc/mavenrc", rc);
        }

        let mut out = String::from("# Auto-generated by the Koji build system\n");
        if self.managed {
            let id = self
                .buildroot_id
                .map_or_else(|| "None".to_string(), |i| i.to_string());
            let _ = write!(
                out,
                "\n# Koji buildroot id: {id}\n# Koji buildroot name: {}\n# Koji repo id: {}\n\
                 # Koji tag: {}\n",
                self.name, self.repo_id, self.tag_name
            );
        }
        out.push('\n');
        for (k, v) in &opts {
            let _ = writeln!(out, "config_opts[{}] = {}", py_str_repr(k), py_repr(v));
        }
        out.push('\n');
        for (k, v) in &plugin {
            match v {
                Json::Object(m) => {
                    let _ = writeln!(out, "config_opts['plugin_conf'][{}] = {{}}", py_str_repr(k));
                    let sorted: BTreeMap<&String, &Json> = m.iter().collect();
                    for (k2, v2) in sorted {
                        let _ = writeln!(
                            out,
                            "config_opts['plugin_conf'][{}][{}] = {}",
                            py_str_repr(k),
                            py_str_repr(k2),
                            py_repr(v2)
                        );
                    }
                }
                v => {
                    let _ = writeln!(
                        out,
                        "config_opts['plugin_conf'][{}] = {}",
                        py_str_repr(k),
                        py_repr(v)
                    );
                }
            }
        }
        out.push('\n');
        if !self.bind_opts.is_empty() {
            for (kind, pairs) in &self.bind_opts {
                for (src, dest) in pairs {
                    let _ = writeln!(
                        out,
                        "config_opts['plugin_conf']['bind_mount_opts'][{}].append(({}, {}))",
                        py_str_repr(kind),
                        py_str_repr(src),
                        py_str_repr(dest)
                    );
                }
            }
            out.push('\n');
        }
        for (k, v) in &macros {
            let _ = writeln!(
                out,
                "config_opts['macros'][{}] = {}",
                py_str_repr(k),
                py_repr(v)
            );
        }
        out.push('\n');
        if !self.tag_envvars.is_empty() {
            let sorted: BTreeMap<&String, &Json> = self.tag_envvars.iter().collect();
            for (k, v) in sorted {
                let _ = writeln!(
                    out,
                    "config_opts['environment'][{}] = {}",
                    py_str_repr(k),
                    py_repr(v)
                );
            }
            out.push('\n');
        }
        for (k, v) in &files {
            let _ = writeln!(
                out,
                "config_opts['files'][{}] = {}",
                py_str_repr(k),
                py_str_repr(v)
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/mock")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn obj(v: Json) -> Map<String, Json> {
        match v {
            Json::Object(m) => m,
            _ => unreachable!(),
        }
    }

    /// As upstream's builder calls it with kojid.conf's defaults.
    fn kojid_base() -> MockConfig {
        MockConfig {
            name: "f40-build-1-2".into(),
            arch: "x86_64".into(),
            managed: true,
            repo_id: "2".into(),
            tag_name: "f40-build".into(),
            buildroot_id: Some(1),
            topurls: vec!["http://hub/kojifiles".into()],
            target_arch: Some("x86_64".into()),
            distribution: "Koji".into(),
            ..MockConfig::default()
        }
    }

    // The fixtures are upstream's `koji.genMockConfig` output (koji 1.36.1)
    // for the same options.

    #[test]
    fn unmanaged_config_equals_upstreams() {
        let c = MockConfig {
            name: "f40-build-1-2".into(),
            arch: "x86_64".into(),
            repo_id: "2".into(),
            tag_name: "f40-build".into(),
            topurls: vec!["http://hub/kojifiles".into()],
            ..MockConfig::default()
        };
        assert_eq!(c.render().unwrap(), fixture("ex1_unmanaged.cfg"));
    }

    #[test]
    fn builder_config_equals_upstreams() {
        assert_eq!(
            kojid_base().render().unwrap(),
            fixture("ex2_kojid_managed.cfg")
        );
    }

    #[test]
    fn tag_extras_shape_the_config_as_upstreams() {
        let base = MockConfig {
            name: "f40-build-7-5".into(),
            repo_id: "5".into(),
            buildroot_id: Some(7),
            topurls: vec![
                "http://hub1/kojifiles".into(),
                "http://hub2/kojifiles".into(),
            ],
            yum_proxy: Some("http://proxy:3128".into()),
            internal_dev_setup: Some(json!(true)),
            ..kojid_base()
        };
        let extra = obj(json!({
            "mock.package_manager": "dnf",
            "mock.yum.module_hotfixes": true,
            "mock.yum.best": 1,
            "mock.use_bootstrap": true,
            "mock.module_setup_commands": [["enable", "nodejs:20"], ["install", "perl:5.30"]],
            "mock.releasever": "40",
            "mock.forcearch": true,
            "rpm.macro.dist": ".fc40",
            "rpm.macro.vendor": "Fedora Project",
            "rpm.macro._topdir": "/ignored",
            "rpm.env.LANG": "C.UTF-8",
            "rpm.env.SOURCE_DATE_EPOCH": "0",
            "mock.plugin_conf.sign_enable": true,
            "mock.plugin_conf.sign_opts.cmd": "rpmsign",
            "mock.plugin_conf.sign_opts.opts": "--addsign %(rpms)s",
            "mock.bootstrap_image": "registry.fedoraproject.org/fedora:40",
            "unrelated": "x",
        }));
        let c = base.clone().from_tag_extra(&extra, true).unwrap();
        assert_eq!(c.render().unwrap(), fixture("ex3_kojid_extras.cfg"));
        // a builder that does not allow bootstrap images ignores the tag's
        let c = base.clone().from_tag_extra(&extra, false).unwrap();
        let text = c.render().unwrap();
        assert!(text.contains("config_opts['use_bootstrap_image'] = False\n"));
        assert!(!text.contains("bootstrap_image'] = 'registry"));
        // the sign plugin needs its command and options
        let mut half = extra.clone();
        half.remove("mock.plugin_conf.sign_opts.opts");
        assert_eq!(
            base.from_tag_extra(&half, true).unwrap_err().to_string(),
            "Tag is not configured properly for mock's sign plugin'"
        );
    }

    #[test]
    fn maven_and_bind_mounts_equal_upstreams() {
        let hosts = "127.0.0.1 localhost\n127.0.0.1 runsc\n127.0.0.1 vm\n";
        let c = MockConfig {
            name: "f40-build-3-2".into(),
            arch: "noarch".into(),
            buildroot_id: Some(3),
            topurls: vec![],
            target_arch: Some("noarch".into()),
            install_group: "maven-build".into(),
            use_host_resolv: true,
            etc_hosts: Some(hosts.into()),
            maven_opts: vec!["-Xmx2048m".into()],
            maven_envs: vec![("JAVA_HOME".into(), "/usr/lib/jvm/java".into())],
            bind_opts: vec![("dirs".into(), vec![("/dev".into(), "/dev".into())])],
            distribution: "My Dist".into(),
            ..kojid_base()
        };
        // upstream names the last Maven variable in the header (a bug)
        let expected = fixture("ex4_maven_bind.cfg").replace(
            "# Koji buildroot name: JAVA_HOME\n",
            "# Koji buildroot name: f40-build-3-2\n",
        );
        assert_eq!(c.render().unwrap(), expected);
    }

    #[test]
    fn file_urls_without_topurl_and_target_arch_as_upstreams() {
        let c = MockConfig {
            name: "f40-build-repo_2".into(),
            arch: "armhfp".into(),
            repo_id: "2".into(),
            tag_name: "f40-build".into(),
            target_arch: Some("armv7hl".into()),
            ..MockConfig::default()
        };
        assert_eq!(c.render().unwrap(), fixture("ex5_topdir_file.cfg"));
        let c = MockConfig {
            repo_id: String::new(),
            ..c
        };
        assert_eq!(
            c.render().unwrap_err().to_string(),
            "please provide a repo and tag"
        );
    }

    #[test]
    fn falsy_options_add_nothing() {
        let c = MockConfig {
            yum_best: Some(0),
            module_hotfixes: false,
            package_manager: Some(String::new()),
            forcearch: Some(Json::Null),
            releasever: Some(json!(40)),
            use_bootstrap: Some(false),
            ..kojid_base()
        };
        let text = c.render().unwrap();
        assert!(!text.contains("best="), "{text}");
        assert!(!text.contains("package_manager"), "{text}");
        assert!(text.contains("config_opts['forcearch'] = None\n"), "{text}");
        assert!(text.contains("config_opts['releasever'] = 40\n"), "{text}");
        assert!(
            text.contains("config_opts['use_bootstrap'] = False\n"),
            "{text}"
        );
    }
}
