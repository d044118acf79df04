//! Uploads into the work area: the raw upload (`fastUpload`'s POST body,
//! through `Uploads::raw_upload`), the legacy `uploadFile`, `checkUpload`,
//! and the confinement of every path below `topdir/work`.

use futures::stream;
use koji_core::db::exec;
use koji_core::hub::auth::Credentials;
use koji_core::hub::uploads::{hexdigest, RawUpload};
use koji_core::params;
use koji_core::testing::{kw, TestHub};
use koji_core::{Caller, Result};
use serde_json::{json, Value as Json};
use std::path::{Path, PathBuf};

async fn fault(th: &TestHub, who: &Caller, method: &str, params: Json) -> (i32, String) {
    match th.call(who, method, params).await {
        Ok(v) => panic!("{}: {method} should fail, answered {v}", th.label()),
        Err(e) => (e.fault_code(), e.to_string()),
    }
}

fn work(th: &TestHub) -> PathBuf {
    th.hub.config().topdir.join("work")
}

fn b64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn req(path: &str, name: &str, offset: i64, verify: &str, overwrite: bool) -> RawUpload {
    RawUpload {
        filename: name.into(),
        filepath: path.into(),
        fileverify: verify.into(),
        overwrite,
        offset,
        volume: "DEFAULT".into(),
    }
}

/// A raw upload of `chunks` as the request body.
async fn raw(th: &TestHub, who: &Caller, r: &RawUpload, chunks: &[&[u8]]) -> Result<Json> {
    let body: Vec<std::result::Result<Vec<u8>, std::io::Error>> =
        chunks.iter().map(|c| Ok(c.to_vec())).collect();
    th.hub
        .uploads()
        .raw_upload(who, r, stream::iter(body))
        .await
}

fn raw_fault(r: Result<Json>) -> (i32, String) {
    match r {
        Ok(v) => panic!("raw upload should fail, answered {v}"),
        Err(e) => (e.fault_code(), e.to_string()),
    }
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[tokio::test]
async fn raw_upload_writes_at_offsets_and_answers_upstreams_struct() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let r = raw(
            &th,
            &admin,
            &req("cli-build/1", "a.rpm", 0, "adler32", false),
            &[b"hello ", b"world"],
        )
        .await?;
        assert_eq!(
            r,
            json!({"size": 11, "fileverify": "adler32", "offset": 0,
                   "hexdigest": hexdigest("adler32", b"hello world")?})
        );
        // key order as upstream builds the struct
        let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["size", "fileverify", "offset", "hexdigest"]);
        let f = work(&th).join("cli-build/1/a.rpm");
        assert_eq!(read(&f), b"hello world");
        assert_eq!(read(&work(&th).join("cli-build/1/.user")), b"1");

        // offset N truncates there, then writes
        let r = raw(
            &th,
            &admin,
            &req("cli-build/1", "a.rpm", 6, "md5", false),
            &[b"there"],
        )
        .await?;
        assert_eq!(r["offset"], json!(6));
        assert_eq!(r["hexdigest"], json!(hexdigest("md5", b"there")?));
        assert_eq!(read(&f), b"hello there");
        let r = raw(
            &th,
            &admin,
            &req("cli-build/1", "a.rpm", 2, "sha256", false),
            &[b"y"],
        )
        .await?;
        assert_eq!(r["size"], json!(1));
        assert_eq!(read(&f), b"hey");
        // -1 appends and reports where it wrote
        let r = raw(
            &th,
            &admin,
            &req("cli-build/1", "a.rpm", -1, "adler32", false),
            &[b"!!"],
        )
        .await?;
        assert_eq!(r["offset"], json!(3));
        assert_eq!(read(&f), b"hey!!");

        // offset 0 on an existing file needs overwrite
        let (code, msg) = raw_fault(
            raw(
                &th,
                &admin,
                &req("cli-build/1", "a.rpm", 0, "adler32", false),
                &[b"x"],
            )
            .await,
        );
        assert_eq!(
            (code, msg),
            (1000, format!("upload path exists: {}", f.display()))
        );
        assert_eq!(read(&f), b"hey!!");
        raw(
            &th,
            &admin,
            &req("cli-build/1", "a.rpm", 0, "adler32", true),
            &[b"new"],
        )
        .await?;
        assert_eq!(read(&f), b"new");

        // an empty body still creates the file (fastUpload of an empty file)
        let r = raw(
            &th,
            &admin,
            &req("cli-build/1", "empty", 0, "adler32", false),
            &[],
        )
        .await?;
        assert_eq!(
            r,
            json!({"size": 0, "fileverify": "adler32", "offset": 0, "hexdigest": "00000001"})
        );
        assert!(work(&th).join("cli-build/1/empty").is_file());

        // the checksum kinds
        let (code, msg) = raw_fault(
            raw(
                &th,
                &admin,
                &req("cli-build/1", "b", 0, "sha1", false),
                &[b"x"],
            )
            .await,
        );
        assert_eq!(
            (code, msg.as_str()),
            (1000, "Unsupported verify type: sha1")
        );
        let (code, msg) =
            raw_fault(raw(&th, &admin, &req("cli-build/1", "b", 0, "", false), &[b"x"]).await);
        assert_eq!(
            (code, msg.as_str()),
            (1, "<class 'TypeError'>: 'NoneType' object is not callable")
        );
        assert!(!work(&th).join("cli-build/1/b").exists());

        // only logged-in users upload
        let anon = Caller::anonymous("127.0.0.1");
        let (code, msg) =
            raw_fault(raw(&th, &anon, &req("anon", "x", 0, "adler32", false), &[b"x"]).await);
        assert_eq!(
            (code, msg.as_str()),
            (1004, "you must be logged-in to upload a file")
        );
        assert!(!work(&th).join("anon").exists());
    }
    Ok(())
}

#[tokio::test]
async fn raw_upload_query_defaults() -> Result<()> {
    let r = RawUpload::from_query("filename=x.rpm&fileverify=adler32")?;
    assert_eq!(r, req("", "x.rpm", 0, "adler32", false));
    let r = RawUpload::from_query(
        "filename=x.rpm&filepath=a%2Fb&offset=-1&overwrite=1&volume=v1&session-id=3",
    )?;
    assert_eq!(r.filepath, "a/b");
    assert_eq!(r.offset, -1);
    assert!(r.overwrite);
    assert_eq!(r.volume, "v1");
    Ok(())
}

#[tokio::test]
async fn raw_upload_in_progress_locks_the_file() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let (tx, rx) =
            futures::channel::mpsc::unbounded::<std::result::Result<Vec<u8>, std::io::Error>>();
        let hub = th.hub.clone();
        let who = admin.clone();
        let first = tokio::spawn(async move {
            hub.uploads()
                .raw_upload(&who, &req("locks", "f", 0, "adler32", false), rx)
                .await
        });
        tx.unbounded_send(Ok(b"part".to_vec())).unwrap();
        // wait until the first upload holds the file
        let f = work(&th).join("locks/f");
        for _ in 0..200 {
            if std::fs::metadata(&f).is_ok_and(|m| m.len() == 4) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let (code, msg) = raw_fault(
            raw(
                &th,
                &admin,
                &req("locks", "f", 4, "adler32", false),
                &[b"x"],
            )
            .await,
        );
        assert_eq!(
            (code, msg.as_str()),
            (1001, "[Errno 11] Resource temporarily unavailable")
        );
        let (code, _) = fault(&th, &admin, "checkUpload", json!(["locks", "f"])).await;
        assert_eq!(code, 1001);
        drop(tx);
        let r = first.await.unwrap()?;
        assert_eq!(r["size"], json!(4));
        raw(
            &th,
            &admin,
            &req("locks", "f", 4, "adler32", false),
            &[b"!"],
        )
        .await?;
        assert_eq!(read(&f), b"part!");
    }
    Ok(())
}

#[tokio::test]
async fn upload_file_legacy_chunks_and_final_check() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let sha = |d: &[u8]| hexdigest("sha256", d).unwrap();
        // what uploadWrapper sends: chunks with ("sha256", digest), then
        // offset -1 with the whole size and digest and no data
        let ok = th
            .call(
                &admin,
                "uploadFile",
                json!([
                    "legacy/dir",
                    "x.log",
                    6,
                    ["sha256", sha(b"hello ")],
                    0,
                    b64(b"hello ")
                ]),
            )
            .await?;
        assert_eq!(ok, json!(true));
        let ok = th
            .call(
                &admin,
                "uploadFile",
                json!([
                    "legacy/dir",
                    "x.log",
                    "5",
                    ["sha256", sha(b"world")],
                    "6",
                    b64(b"world")
                ]),
            )
            .await?;
        assert_eq!(ok, json!(true));
        let ok = th
            .call(
                &admin,
                "uploadFile",
                json!([
                    "legacy/dir",
                    "x.log",
                    11,
                    ["sha256", sha(b"hello world")],
                    -1,
                    ""
                ]),
            )
            .await?;
        assert_eq!(ok, json!(true));
        let f = work(&th).join("legacy/dir/x.log");
        assert_eq!(read(&f), b"hello world");
        // the old md5sum string
        let ok = th
            .call(
                &admin,
                "uploadFile",
                json!([
                    "legacy/dir",
                    "m",
                    3,
                    hexdigest("md5", b"abc")?,
                    0,
                    b64(b"abc")
                ]),
            )
            .await?;
        assert_eq!(ok, json!(true));
        // keyword checksum wins over md5sum
        let ok = th
            .call(
                &admin,
                "uploadFile",
                json!([
                    "legacy/dir",
                    "k",
                    3,
                    null,
                    0,
                    b64(b"abc"),
                    kw(json!({"checksum": ["adler32", hexdigest("adler32", b"abc")?]}))
                ]),
            )
            .await?;
        assert_eq!(ok, json!(true));

        // a chunk that does not match its size or checksum: false, nothing written
        let bad = th
            .call(
                &admin,
                "uploadFile",
                json!([
                    "legacy/bad",
                    "y",
                    4,
                    ["sha256", sha(b"abc")],
                    0,
                    b64(b"abc")
                ]),
            )
            .await?;
        assert_eq!(bad, json!(false));
        let bad = th
            .call(
                &admin,
                "uploadFile",
                json!([
                    "legacy/bad",
                    "y",
                    3,
                    ["sha256", sha(b"abd")],
                    0,
                    b64(b"abc")
                ]),
            )
            .await?;
        assert_eq!(bad, json!(false));
        assert!(!work(&th).join("legacy/bad").exists());
        // a final check that fails
        th.call(
            &admin,
            "uploadFile",
            json!(["legacy/dir", "z", 3, null, 0, b64(b"abc")]),
        )
        .await?;
        let bad = th
            .call(
                &admin,
                "uploadFile",
                json!(["legacy/dir", "z", 3, ["md5", "0"], -1, ""]),
            )
            .await?;
        assert_eq!(bad, json!(false));

        // first chunk again: refused except for logs
        let (code, msg) = fault(
            &th,
            &admin,
            "uploadFile",
            json!(["legacy/dir", "m", 3, null, 0, b64(b"abc")]),
        )
        .await;
        assert_eq!(
            (code, msg),
            (
                1000,
                format!(
                    "file already exists: {}",
                    work(&th).join("legacy/dir/m").display()
                )
            )
        );
        th.call(
            &admin,
            "uploadFile",
            json!(["legacy/dir", "x.log", 2, null, 0, b64(b"hi")]),
        )
        .await?;
        assert_eq!(read(&f), b"hi");

        let (code, msg) = fault(
            &th,
            &admin,
            "uploadFile",
            json!(["legacy/dir", "q", 3, ["crc", "x"], 0, b64(b"abc")]),
        )
        .await;
        assert_eq!((code, msg.as_str()), (1000, "Unsupported verify type: crc"));
        let (code, msg) = fault(
            &th,
            &admin,
            "uploadFile",
            json!(["legacy/dir", "q", 3, null, 0, "YWJ"]),
        )
        .await;
        assert_eq!(
            (code, msg.as_str()),
            (1, "<class 'binascii.Error'>: Incorrect padding")
        );

        let anon = Caller::anonymous("127.0.0.1");
        let (code, msg) = fault(
            &th,
            &anon,
            "uploadFile",
            json!(["anon", "q", 3, null, 0, b64(b"abc")]),
        )
        .await;
        assert_eq!(
            (code, msg.as_str()),
            (1004, "you must be logged in for this operation")
        );
    }
    Ok(())
}

#[tokio::test]
async fn check_upload_reports_size_and_digest_for_resume() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let anon = Caller::anonymous("127.0.0.1");
        assert_eq!(
            th.call(&anon, "checkUpload", json!(["nowhere", "f"]))
                .await?,
            Json::Null
        );
        let data = b"0123456789abcdef";
        // an upload interrupted after 10 bytes...
        raw(
            &th,
            &admin,
            &req("resume", "f.rpm", 0, "adler32", false),
            &[&data[..10]],
        )
        .await?;
        let info = th
            .call(
                &admin,
                "checkUpload",
                json!(["resume", "f.rpm", kw(json!({"verify": "adler32"}))]),
            )
            .await?;
        assert_eq!(info["size"], json!(10));
        assert_eq!(info["sumlength"], json!(10));
        assert_eq!(info["hexdigest"], json!(hexdigest("adler32", &data[..10])?));
        assert!(info["mtime"].is_f64());
        let keys: Vec<&String> = info.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["size", "mtime", "sumlength", "hexdigest"]);
        // ...goes on where checkUpload says it stopped
        let at = info["size"].as_i64().unwrap();
        raw(
            &th,
            &admin,
            &req("resume", "f.rpm", at, "adler32", false),
            &[&data[10..]],
        )
        .await?;
        let info = th
            .call(&admin, "checkUpload", json!(["resume", "f.rpm", "md5", 6]))
            .await?;
        assert_eq!(info["size"], json!(16));
        assert_eq!(info["sumlength"], json!(6));
        assert_eq!(info["hexdigest"], json!(hexdigest("md5", b"abcdef")?));
        assert_eq!(read(&work(&th).join("resume/f.rpm")), data);
        // without verify: size and mtime only
        let info = th
            .call(&anon, "checkUpload", json!(["resume", "f.rpm"]))
            .await?;
        let keys: Vec<&String> = info.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["size", "mtime"]);

        let (code, msg) = fault(
            &th,
            &admin,
            "checkUpload",
            json!(["resume", "f.rpm", "md5", -1]),
        )
        .await;
        assert_eq!((code, msg.as_str()), (1000, "Invalid tail value: -1"));
        let (code, msg) = fault(
            &th,
            &admin,
            "checkUpload",
            json!(["resume", "f.rpm", "sha1"]),
        )
        .await;
        assert_eq!(
            (code, msg.as_str()),
            (1000, "Unsupported verify type: sha1")
        );
        let (code, msg) = fault(&th, &admin, "checkUpload", json!(["resume", "."])).await;
        assert_eq!((code, msg.as_str()), (1000, "Invalid upload filename: ."));
        std::fs::create_dir_all(work(&th).join("resume/sub"))?;
        let (code, msg) = fault(&th, &admin, "checkUpload", json!(["resume", "sub"])).await;
        assert_eq!(
            (code, msg),
            (
                1000,
                format!("Not a regular file: {}/resume/sub", work(&th).display())
            )
        );
    }
    Ok(())
}

#[tokio::test]
async fn paths_stay_in_the_work_directory() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let outside = tempfile::tempdir()?;
        let up = |dir: &str, name: &str| json!([dir, name, 1, null, 0, b64(b"x")]);
        for (dir, name, code, msg) in [
            ("d", "../x", 1000, "Invalid upload filename: ../x"),
            ("d", "a/b", 1000, "Invalid upload filename: a/b"),
            (
                "d",
                "/etc/passwd",
                1000,
                "Invalid upload filename: /etc/passwd",
            ),
            ("d", ".user", 1000, "Invalid upload filename: .user"),
            ("d", ".hidden", 1000, "Invalid upload filename: .hidden"),
            ("..", "x", 1000, "Invalid upload directory: .."),
            ("../x", "x", 1000, "Invalid upload directory: ../x"),
            (
                "a/../../x",
                "x",
                1000,
                "Invalid upload directory: a/../../x",
            ),
            ("..foo", "x", 1000, "Invalid upload directory: ..foo"),
            (
                "/etc",
                "x",
                1,
                "<class 'ValueError'>: Invalid path segment: /etc",
            ),
            (
                "/../etc",
                "x",
                1,
                "<class 'ValueError'>: Invalid path segment: /etc",
            ),
            ("d", "a\0b", 1, "<class 'ValueError'>: embedded null byte"),
        ] {
            let got = fault(&th, &admin, "uploadFile", up(dir, name)).await;
            assert_eq!(got, (code, msg.to_string()), "uploadFile {dir:?} {name:?}");
            let got =
                raw_fault(raw(&th, &admin, &req(dir, name, 0, "adler32", false), &[b"x"]).await);
            assert_eq!(got, (code, msg.to_string()), "raw {dir:?} {name:?}");
            let got = fault(&th, &admin, "checkUpload", json!([dir, name])).await;
            assert_eq!(got, (code, msg.to_string()), "checkUpload {dir:?} {name:?}");
        }
        // upstream normalises: a/./b//c/.. is a/b
        th.call(&admin, "uploadFile", up("a/./b//c/..", "n"))
            .await?;
        assert!(work(&th).join("a/b/n").is_file());

        // a directory of the path that is a symbolic link (to outside)
        std::fs::create_dir_all(work(&th))?;
        std::os::unix::fs::symlink(outside.path(), work(&th).join("evil"))?;
        let (code, msg) = fault(&th, &admin, "uploadFile", up("evil", "x")).await;
        assert_eq!(
            (code, msg.as_str()),
            (1000, "Invalid upload directory: evil")
        );
        let (code, msg) = raw_fault(
            raw(
                &th,
                &admin,
                &req("evil/sub", "x", 0, "adler32", false),
                &[b"x"],
            )
            .await,
        );
        assert_eq!(
            (code, msg.as_str()),
            (1000, "Invalid upload directory: evil/sub")
        );
        let (code, _) = fault(&th, &admin, "checkUpload", json!(["evil", "x"])).await;
        assert_eq!(code, 1000);
        // the target itself a symbolic link
        std::fs::create_dir_all(work(&th).join("t"))?;
        let secret = outside.path().join("secret");
        std::fs::write(&secret, "keep")?;
        std::os::unix::fs::symlink(&secret, work(&th).join("t/link"))?;
        let shown = format!("{}/t/link", work(&th).display());
        let (code, msg) =
            raw_fault(raw(&th, &admin, &req("t", "link", 0, "adler32", true), &[b"x"]).await);
        assert_eq!(
            (code, msg),
            (1000, format!("destination not a file: {shown}"))
        );
        let (code, msg) =
            raw_fault(raw(&th, &admin, &req("t", "link", 4, "adler32", false), &[b"x"]).await);
        assert_eq!(
            (code, msg),
            (1000, format!("destination not a file: {shown}"))
        );
        let (code, msg) = fault(&th, &admin, "uploadFile", up("t", "link")).await;
        assert_eq!(
            (code, msg),
            (1000, format!("destination not a file: {shown}"))
        );
        let (code, msg) = fault(&th, &admin, "checkUpload", json!(["t", "link", "md5"])).await;
        assert_eq!((code, msg), (1000, format!("Not a regular file: {shown}")));
        // a dangling link is not followed either
        std::os::unix::fs::symlink(outside.path().join("new"), work(&th).join("t/dangling"))?;
        raw_fault(
            raw(
                &th,
                &admin,
                &req("t", "dangling", 0, "adler32", false),
                &[b"x"],
            )
            .await,
        );
        // nothing was written outside
        assert_eq!(std::fs::read_to_string(&secret)?, "keep");
        let names: Vec<_> = std::fs::read_dir(outside.path())?.collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }
    Ok(())
}

#[tokio::test]
async fn directories_belong_to_their_first_uploader() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let bob = th.user("bob", "pw", &[]).await?;
        let bob_id = bob.user_id()?;
        raw(&th, &admin, &req("mine", "a", 0, "adler32", false), &[b"a"]).await?;
        let (code, msg) =
            raw_fault(raw(&th, &bob, &req("mine", "b", 0, "adler32", false), &[b"b"]).await);
        assert_eq!(
            (code, msg.as_str()),
            (1000, "Invalid upload directory, not owner: mine")
        );
        let (code, msg) = fault(
            &th,
            &bob,
            "uploadFile",
            json!(["./mine/", "b", 1, null, 0, b64(b"b")]),
        )
        .await;
        assert_eq!(
            (code, msg.as_str()),
            (1000, "Invalid upload directory, not owner: ./mine/")
        );
        assert!(!work(&th).join("mine/b").exists());
        // a subdirectory is a directory of its own
        raw(
            &th,
            &bob,
            &req("mine/bob", "b", 0, "adler32", false),
            &[b"b"],
        )
        .await?;
        assert_eq!(
            read(&work(&th).join("mine/bob/.user")),
            bob_id.to_string().as_bytes()
        );
        // anyone may ask about a file
        let info = th.call(&bob, "checkUpload", json!(["mine", "a"])).await?;
        assert_eq!(info["size"], json!(1));
    }
    Ok(())
}

#[tokio::test]
async fn task_directories_are_for_the_task_host() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let host_id = th
            .call(&admin, "addHost", json!(["builder1", ["x86_64"]]))
            .await?
            .as_i64()
            .unwrap();
        th.call(&admin, "addHost", json!(["builder2", ["x86_64"]]))
            .await?;
        th.hub.auth().set_password("builder1", "pw").await?;
        let db = th.hub.db().conn();
        for (id, host) in [(7, host_id), (8, host_id + 1)] {
            exec(
                db,
                "INSERT INTO task (id, state, channel_id, host_id, owner, method, arch) \
                 VALUES (?, 1, 1, ?, 1, 'build', 'noarch')",
                params![id as i64, host],
            )
            .await?;
        }
        let up = |dir: &str| req(dir, "out.log", 0, "adler32", false);

        let (code, msg) = raw_fault(raw(&th, &admin, &up("tasks/7/7"), &[b"x"]).await);
        assert_eq!(
            (code, msg),
            (1002, format!("User {} is not a host", admin.user_id()?))
        );
        let (code, msg) = raw_fault(raw(&th, &admin, &up("tasks/7"), &[b"x"]).await);
        assert_eq!(
            (code, msg.as_str()),
            (1000, "Invalid task upload directory: tasks/7")
        );
        let (code, msg) = raw_fault(raw(&th, &admin, &up("tasks/7/x"), &[b"x"]).await);
        assert_eq!(
            (code, msg.as_str()),
            (1000, "Invalid task upload directory: tasks/7/x")
        );

        let builder = th.login("builder1", "pw").await?;
        let (code, msg) = raw_fault(raw(&th, &builder, &up("tasks/7/7"), &[b"x"]).await);
        assert_eq!(
            (code, msg.as_str()),
            (1002, "This method requires an exclusive session")
        );
        th.call(&builder, "exclusiveSession", json!([])).await?;
        let builder = same_session(&th, &builder).await?;
        raw(&th, &builder, &up("tasks/7/7"), &[b"log"]).await?;
        assert_eq!(read(&work(&th).join("tasks/7/7/out.log")), b"log");
        assert!(!work(&th).join("tasks/7/7/.user").exists());
        let (code, msg) = raw_fault(raw(&th, &builder, &up("tasks/8/8"), &[b"x"]).await);
        assert_eq!(
            (code, msg),
            (1004, format!("host {host_id} does not own task 8"))
        );
        let (code, msg) = raw_fault(raw(&th, &builder, &up("tasks/9/9"), &[b"x"]).await);
        assert_eq!((code, msg.as_str()), (1000, "No such task: 9"));
    }
    Ok(())
}

/// `who`'s session as the hub sees it now (after exclusiveSession).
async fn same_session(th: &TestHub, who: &Caller) -> Result<Caller> {
    let s = who.session.as_ref().expect("logged in");
    let creds = Credentials {
        session_id: s.id,
        session_key: s.key.clone(),
        callnum: None,
    };
    th.hub.auth().authenticate(&creds, "127.0.0.1", "x").await
}

#[tokio::test]
async fn volumes() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let mut r = req("v", "f", 0, "adler32", false);
        r.volume = "nope".into();
        let (code, msg) = raw_fault(raw(&th, &admin, &r, &[b"x"]).await);
        assert_eq!(
            (code, msg.as_str()),
            (1000, "No such entry in table volume: nope")
        );
        let (code, msg) = fault(
            &th,
            &admin,
            "checkUpload",
            json!(["v", "f", kw(json!({"volume": "nope"}))]),
        )
        .await;
        assert_eq!(
            (code, msg.as_str()),
            (1000, "No such entry in table volume: nope")
        );
        exec(
            th.hub.db().conn(),
            "INSERT INTO volume (name) VALUES (?)",
            params!["vol1"],
        )
        .await?;
        r.volume = "vol1".into();
        raw(&th, &admin, &r, &[b"x"]).await?;
        let f = th.hub.config().topdir.join("vol/vol1/work/v/f");
        assert_eq!(read(&f), b"x");
        let info = th
            .call(
                &admin,
                "checkUpload",
                json!(["v", "f", kw(json!({"volume": "vol1"}))]),
            )
            .await?;
        assert_eq!(info["size"], json!(1));
        assert_eq!(
            th.call(&admin, "checkUpload", json!(["v", "f"])).await?,
            Json::Null
        );
    }
    Ok(())
}
