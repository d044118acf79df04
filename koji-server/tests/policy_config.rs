//! The hub's config file: a policy that does not parse stops `koji-hub
//! serve` at start, naming the policy and the line, as does a name pattern
//! that does not compile; configured policies reach `evalPolicy`.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn hub() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_koji-hub"));
    cmd.env_remove("KOJI_HUB_CONFIG")
        .env_remove("KOJI_HUB_DB")
        .env_remove("KOJI_HUB_TOPDIR")
        .env_remove("KOJI_HUB_LISTEN");
    cmd
}

fn write_config(dir: &Path, policy: &str) -> std::path::PathBuf {
    let conf = dir.join("hub.conf");
    let text = format!(
        "[hub]\nDBURL = sqlite://{db}\nKojiDir = {top}\nListen = 127.0.0.1:0\n\n[policy]\n{policy}",
        db = dir.join("koji.db").display(),
        top = dir.join("topdir").display(),
    );
    std::fs::write(&conf, text).unwrap();
    conf
}

/// Runs `koji-hub serve --config CONF`, which must exit by itself.
fn serve_expecting_exit(conf: &Path) -> Output {
    let mut child = hub()
        .arg("serve")
        .arg("--config")
        .arg(conf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn koji-hub");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "koji-hub serve did not stop on a bad policy: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn bad_policy_stops_the_hub_naming_policy_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write_config(
        dir.path(),
        "tag =\n    has_perm admin :: allow\n    # fine so far\n    bogus_test x :: deny\n",
    );
    let out = serve_expecting_exit(&conf);
    assert!(!out.status.success(), "exit status {:?}", out.status);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}: policy \"tag\", line 10: missing test handler: bogus_test",
            conf.display()
        )),
        "stderr: {stderr}"
    );
    assert!(out.stdout.is_empty(), "the hub must not start listening");
}

#[test]
fn bad_name_pattern_stops_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write_config(dir.path(), "");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(
        &conf,
        text.replace("[hub]\n", "[hub]\nRegexUserName = ^[a-z+$\n"),
    )
    .unwrap();
    let out = serve_expecting_exit(&conf);
    assert!(!out.status.success(), "exit status {:?}", out.status);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}: RegexUserName = ^[a-z+$: <class 're.error'>:",
            conf.display()
        )),
        "stderr: {stderr}"
    );
    assert!(out.stdout.is_empty(), "the hub must not start listening");
}

#[test]
fn unbalanced_block_stops_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write_config(
        dir.path(),
        "volume = all :: DEFAULT\n\
         package_list =\n  has_perm admin :: {\n    all :: allow\n",
    );
    let out = serve_expecting_exit(&conf);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("policy \"package_list\", line 9: nesting error in rule set"),
        "stderr: {stderr}"
    );
}

/// One XML-RPC call over plain HTTP/1.0; the response body.
fn xmlrpc(base: &str, body: &str) -> String {
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /kojihub HTTP/1.0\r\nHost: {addr}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or(out)
}

#[test]
fn configured_policies_reach_eval_policy() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write_config(
        dir.path(),
        "volume =\n    match name big* :: archive\n    all :: DEFAULT\n",
    );
    let mut child = hub()
        .arg("serve")
        .arg("--config")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn koji-hub");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let _ = stdout.read_line(&mut line);
    let result = (|| {
        let base = line
            .trim_end()
            .strip_prefix("listening on ")
            .ok_or_else(|| format!("hub printed {line:?}"))?
            .to_string();
        let call = |data: &str| {
            xmlrpc(
                &base,
                &format!(
                    "<?xml version='1.0'?><methodCall><methodName>evalPolicy</methodName><params>\
                     <param><value><string>volume</string></value></param>\
                     <param><value><struct>{data}</struct></value></param></params></methodCall>"
                ),
            )
        };
        let big = call("<member><name>name</name><value><string>bigfile</string></value></member>");
        let small = call("<member><name>name</name><value><string>tiny</string></value></member>");
        // the defaults stay for what the file does not set
        let channel = xmlrpc(
            &base,
            "<?xml version='1.0'?><methodCall><methodName>evalPolicy</methodName><params>\
             <param><value><string>channel</string></value></param>\
             <param><value><struct></struct></value></param></params></methodCall>",
        );
        Ok::<_, String>((big, small, channel))
    })();
    let _ = child.kill();
    let _ = child.wait();
    let (big, small, channel) = result.unwrap();
    assert!(big.contains("<string>archive</string>"), "{big}");
    assert!(small.contains("<string>DEFAULT</string>"), "{small}");
    assert!(
        channel.contains("<string>use default</string>"),
        "{channel}"
    );
}

/// `koji-hub migrate --db URL` creates upstream's schema (with its seed
/// rows) on a fresh database, says so, and is a no-op the second time.
#[test]
fn migrate_creates_the_schema_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    for _ in 0..2 {
        let out = hub().args(["migrate", "--db", &url]).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "schema is current\n");
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = koji_core::db::Db::connect(&url).await.unwrap();
        let rows = koji_core::db::fetch_all(
            db.conn(),
            "SELECT name FROM permissions WHERE name = 'admin'",
            vec![],
        )
        .await
        .unwrap();
        assert_eq!(rows.len(), 1, "upstream's seed permissions");
        let rows = koji_core::db::fetch_all(db.conn(), "SELECT build_id FROM tag_listing", vec![])
            .await
            .unwrap();
        assert!(rows.is_empty());
    });
}
