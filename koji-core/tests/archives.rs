//! Archives through upstream's API: archive types, build types,
//! listArchives/getArchive, the entries of zip and tar archives, and
//! importArchive.

use koji_core::db::exec;
use koji_core::params;
use koji_core::testing::{kw, TestHub};
use koji_core::Result;
use serde_json::{json, Value as Json};
use std::path::PathBuf;

fn fault(r: Result<Json>) -> (i32, String) {
    let e = r.expect_err("a fault");
    (e.fault_code(), e.to_string())
}

/// A build `pkg-1-1` and its directory.
async fn build(th: &TestHub, name: &str) -> Result<(i64, PathBuf)> {
    let admin = th.admin().await?;
    let id = th
        .call(&admin, "createEmptyBuild", json!([name, "1", "1", null]))
        .await?
        .as_i64()
        .unwrap();
    let dir = th
        .hub
        .config()
        .topdir
        .join("packages")
        .join(name)
        .join("1/1");
    Ok((id, dir))
}

/// Inserts an archive row (btype by name, archive type by name).
#[allow(clippy::too_many_arguments)]
async fn archive(
    th: &TestHub,
    build_id: i64,
    btype: &str,
    atype: &str,
    filename: &str,
    size: i64,
    checksum: &str,
    extra: Option<&str>,
) -> Result<i64> {
    let c = th.hub.db().conn();
    let r = koji_core::db::fetch_one(
        c,
        "INSERT INTO archiveinfo (type_id, btype_id, build_id, filename, size, checksum, \
         checksum_type, extra) VALUES ((SELECT id FROM archivetypes WHERE name = ?), \
         (SELECT id FROM btype WHERE name = ?), ?, ?, ?, ?, 0, ?) RETURNING id",
        params![
            atype,
            btype,
            build_id,
            filename,
            size,
            checksum,
            extra.map(str::to_string)
        ],
    )
    .await?;
    use koji_core::db::RowExt;
    r.int("id")
}

#[tokio::test]
async fn archive_types() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let all = th.call(&admin, "getArchiveTypes", json!([])).await?;
        let all = all.as_array().unwrap();
        assert!(all.len() > 70, "{}", th.label());
        assert_eq!(
            all[0],
            json!({"compression_type": "zip", "description": "Jar file",
                   "extensions": "jar war rar ear sar jdocbook jdocbook-style",
                   "id": 1, "name": "jar"})
        );
        let keys: Vec<&str> = all[0]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(
            keys,
            [
                "compression_type",
                "description",
                "extensions",
                "id",
                "name"
            ]
        );
        let t = |v: Json| th.call(&admin, "getArchiveType", v);
        assert_eq!(t(json!(["foo-1.0.tar.gz"])).await?["name"], json!("tar"));
        assert_eq!(
            t(json!(["disk.QCOW2.xz"])).await?["name"],
            json!("qcow2-compressed")
        );
        assert_eq!(t(json!(["app.war"])).await?["name"], json!("jar"));
        assert_eq!(t(json!(["config.yml"])).await?["name"], json!("yaml"));
        assert_eq!(t(json!(["foo.weird"])).await?, Json::Null);
        assert_eq!(
            fault(t(kw(json!({"filename": "foo.weird", "strict": true}))).await),
            (1000, "unsupported file extension: foo.weird".into())
        );
        assert_eq!(t(kw(json!({"type_name": "zip"}))).await?["id"], json!(2));
        assert_eq!(t(kw(json!({"type_id": 4}))).await?["name"], json!("tar"));
        assert_eq!(t(kw(json!({"type_id": 9999}))).await?, Json::Null);
        assert_eq!(
            fault(t(kw(json!({"type_name": "nope", "strict": true}))).await),
            (1000, "query returned no rows".into())
        );
        assert_eq!(
            fault(t(json!([])).await),
            (
                1000,
                "one of filename, type_name, or type_id must be specified".into()
            )
        );
        assert_eq!(
            fault(t(json!([5])).await),
            (
                1019,
                "Invalid type for value '5': <class 'int'>, expected type <class 'str'>".into()
            )
        );
    }
    Ok(())
}

#[tokio::test]
async fn add_archive_type() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let bob = th.user("bob", "pw", &[]).await?;
        let add = |who, v: Json| th.call(who, "addArchiveType", v);
        assert_eq!(
            fault(add(&bob, json!(["foo", "Foo file", "foo"])).await),
            (1004, "admin permission required (logged in as bob)".into())
        );
        assert_eq!(
            add(&admin, json!(["foo", "Foo file", "foo fooz", "zip"])).await?,
            Json::Null
        );
        assert_eq!(
            th.call(&admin, "getArchiveType", json!(["x.fooz"])).await?,
            json!({"compression_type": "zip", "description": "Foo file",
                   "extensions": "foo fooz", "id": all_types(&th).await? , "name": "foo"})
        );
        let cases = [
            (
                json!(["foo", "again", "bar"]),
                1000,
                "archivetype foo already exists",
            ),
            (
                json!(["bar", "Bar", "bar", "rar"]),
                1000,
                "Unsupported compression type rar",
            ),
            (
                json!(["bar", "Bar", "a-b"]),
                1000,
                "No such a-b file extension",
            ),
            (
                json!(["bar", "Bar", "bar yml"]),
                1000,
                "file extension yml already exists",
            ),
            (
                json!(["bar", "Bar", "FOOZ"]),
                1000,
                "file extension FOOZ already exists",
            ),
            (
                json!(["bar", null, "bar"]),
                1019,
                "Invalid type, expected type <class 'str'>",
            ),
            (
                json!(["bad name", "Bar", "bar"]),
                1000,
                "Name bad name does not match RegexNameInternal value",
            ),
        ];
        for (args, code, msg) in cases {
            assert_eq!(
                fault(add(&admin, args.clone()).await),
                (code, msg.to_string()),
                "{} {args}",
                th.label()
            );
        }
        // nothing was added by the refusals
        assert_eq!(
            th.call(&admin, "getArchiveType", kw(json!({"type_name": "bar"})))
                .await?,
            Json::Null
        );
    }
    Ok(())
}

async fn all_types(th: &TestHub) -> Result<Json> {
    let admin = th.admin().await?;
    let all = th.call(&admin, "getArchiveTypes", json!([])).await?;
    Ok(all.as_array().unwrap().last().unwrap()["id"].clone())
}

#[tokio::test]
async fn build_types() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let bob = th.user("bob", "pw", &[]).await?;
        assert_eq!(
            th.call(&admin, "listBTypes", json!([])).await?,
            json!([{"id": 1, "name": "rpm"}, {"id": 2, "name": "maven"},
                   {"id": 3, "name": "win"}, {"id": 4, "name": "image"}])
        );
        assert_eq!(
            th.call(&admin, "listBTypes", json!([{"name": "win"}]))
                .await?,
            json!([{"id": 3, "name": "win"}])
        );
        assert_eq!(
            th.call(&admin, "listBTypes", json!([{"id": 99}])).await?,
            json!([])
        );
        assert_eq!(
            fault(th.call(&bob, "addBType", json!(["remote-sources"])).await),
            (1004, "admin permission required (logged in as bob)".into())
        );
        th.call(&admin, "addBType", json!(["remote-sources"]))
            .await?;
        assert_eq!(
            fault(th.call(&admin, "addBType", json!(["remote-sources"])).await),
            (1000, "btype already exists".into())
        );
        assert_eq!(
            th.call(
                &admin,
                "listBTypes",
                kw(json!({"queryOpts": {"order": "-id", "limit": 1}}))
            )
            .await?,
            json!([{"id": 5, "name": "remote-sources"}])
        );
        assert_eq!(
            th.call(
                &admin,
                "listBTypes",
                kw(json!({"queryOpts": {"countOnly": true}}))
            )
            .await?,
            json!(5)
        );
    }
    Ok(())
}

#[tokio::test]
async fn list_and_get_archives() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let (b1, _) = build(&th, "pkg").await?;
        let (b2, _) = build(&th, "other").await?;
        let c = th.hub.db().conn();
        let jar = archive(&th, b1, "maven", "jar", "foo-1.0.jar", 10, "aa", None).await?;
        exec(
            c,
            "INSERT INTO maven_archives (archive_id, group_id, artifact_id, version) \
             VALUES (?, 'org.foo', 'foo', '1.0')",
            params![jar],
        )
        .await?;
        let exe = archive(&th, b1, "win", "exe", "setup.exe", 20, "bb", None).await?;
        exec(
            c,
            "INSERT INTO win_archives (archive_id, relpath, platforms, flags) \
             VALUES (?, 'bin', 'w2k3 w2k8', 'chk')",
            params![exe],
        )
        .await?;
        let iso = archive(
            &th,
            b2,
            "image",
            "iso",
            "disk.iso",
            30,
            "cc",
            Some(r#"{"k": [1, 2]}"#),
        )
        .await?;
        exec(
            c,
            "INSERT INTO image_archives (archive_id, arch) VALUES (?, 'x86_64')",
            params![iso],
        )
        .await?;

        let all = th.call(&admin, "listArchives", json!([])).await?;
        assert_eq!(all.as_array().unwrap().len(), 3, "{}", th.label());
        let first = &all[0];
        assert_eq!(
            first,
            &json!({
                "btype": "maven", "btype_id": 2, "build_id": b1, "buildroot_id": null,
                "checksum": "aa", "checksum_type": 0, "compression_type": "zip",
                "extra": null, "filename": "foo-1.0.jar", "id": jar,
                "metadata_only": false, "size": 10,
                "type_description": "Jar file",
                "type_extensions": "jar war rar ear sar jdocbook jdocbook-style",
                "type_id": 1, "type_name": "jar"
            })
        );
        let keys: Vec<&str> = first
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);

        let ids = |v: &Json| -> Vec<i64> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_i64().unwrap())
                .collect()
        };
        let list = |v: Json| th.call(&admin, "listArchives", v);
        assert_eq!(ids(&list(kw(json!({"buildID": b1}))).await?), [jar, exe]);
        assert_eq!(
            ids(&list(kw(json!({"filename": "disk.iso"}))).await?),
            [iso]
        );
        assert_eq!(ids(&list(kw(json!({"size": 20}))).await?), [exe]);
        assert_eq!(
            ids(&list(kw(json!({"checksum": "cc", "checksum_type": 0}))).await?),
            [iso]
        );
        assert_eq!(ids(&list(kw(json!({"archiveID": exe}))).await?), [exe]);
        let maven = list(kw(
            json!({"type": "maven", "typeInfo": {"group_id": "org.foo"}}),
        ))
        .await?;
        assert_eq!(ids(&maven), [jar]);
        assert_eq!(maven[0]["artifact_id"], json!("foo"));
        assert_eq!(
            list(kw(json!({"type": "maven", "typeInfo": {"version": "2"}}))).await?,
            json!([])
        );
        let win = list(kw(
            json!({"type": "win", "typeInfo": {"platforms": "w2k8"}}),
        ))
        .await?;
        assert_eq!(ids(&win), [exe], "{}", th.label());
        assert_eq!(win[0]["relpath"], json!("bin"));
        assert_eq!(win[0]["flags"], json!("chk"));
        assert_eq!(
            list(kw(
                json!({"type": "win", "typeInfo": {"platforms": ["w2k"]}})
            ))
            .await?,
            json!([]),
            "{}",
            th.label()
        );
        let img = list(kw(json!({"type": "image", "typeInfo": {"arch": "x86_64"}}))).await?;
        assert_eq!(ids(&img), [iso]);
        assert_eq!(img[0]["arch"], json!("x86_64"));
        assert_eq!(img[0]["extra"], json!({"k": [1, 2]}));
        assert_eq!(
            ids(&list(kw(json!({"type": "image", "typeInfo": {"arch": "s390x"}}))).await?),
            Vec::<i64>::new()
        );
        // a btype name filters on the archive's btype
        assert_eq!(ids(&list(kw(json!({"type": "win"}))).await?), [exe]);
        assert_eq!(list(kw(json!({"type": "rpm"}))).await?, json!([]));
        assert_eq!(
            fault(list(kw(json!({"type": "bogus"}))).await),
            (1000, "unsupported archive type: bogus".into())
        );
        assert_eq!(
            fault(list(kw(json!({"type": "rpm", "typeInfo": {"a": 1}}))).await),
            (1000, "typeInfo queries not supported for type rpm".into())
        );
        assert_eq!(
            fault(list(kw(json!({"buildID": 999, "strict": true}))).await),
            (1000, "No archives found.".into())
        );
        assert_eq!(
            list(kw(json!({"queryOpts": {"countOnly": true}}))).await?,
            json!(3)
        );
        assert_eq!(
            ids(&list(kw(json!({"queryOpts": {"order": "-size", "limit": 2}}))).await?),
            [iso, exe]
        );
        assert_eq!(
            ids(&list(kw(json!({"queryOpts": {"order": "archiveinfo.filename"}}))).await?),
            [iso, jar, exe]
        );
        assert_eq!(
            list(kw(json!({"buildID": b2, "queryOpts": {"asList": true}})))
                .await?
                .as_array()
                .unwrap()[0]
                .as_array()
                .unwrap()
                .len(),
            16
        );

        // components and buildroots
        exec(
            c,
            "INSERT INTO archive_components (archive_id, component_id) VALUES (?, ?)",
            params![iso, jar],
        )
        .await?;
        assert_eq!(ids(&list(kw(json!({"imageID": iso}))).await?), [jar]);
        assert_eq!(
            list(kw(json!({"componentBuildrootID": 1}))).await?,
            json!([])
        );
        assert_eq!(list(kw(json!({"hostID": 1}))).await?, json!([]));

        // getArchive adds the per-type keys after the sorted ones
        let a = th.call(&admin, "getArchive", json!([jar])).await?;
        let keys: Vec<&str> = a.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(
            &keys[keys.len() - 3..],
            ["artifact_id", "group_id", "version"]
        );
        assert_eq!(a["group_id"], json!("org.foo"));
        let a = th.call(&admin, "getArchive", json!([exe])).await?;
        assert_eq!(
            (&a["flags"], &a["platforms"], &a["relpath"]),
            (&json!("chk"), &json!("w2k3 w2k8"), &json!("bin"))
        );
        let a = th.call(&admin, "getArchive", json!([iso])).await?;
        let keys: Vec<&str> = a.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(&keys[keys.len() - 2..], ["arch", "rootid"]);
        assert_eq!(a["rootid"], json!(false));
        assert_eq!(
            th.call(&admin, "getArchive", json!([999])).await?,
            Json::Null
        );
        assert_eq!(
            fault(th.call(&admin, "getArchive", json!([999, true])).await),
            (1000, "No such archive: 999".into())
        );
    }
    Ok(())
}

fn write_zip(path: &std::path::Path) {
    use std::io::Write;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let when = zip::DateTime::from_date_and_time(2024, 1, 2, 3, 4, 6).unwrap();
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(when);
    z.add_directory("META-INF/", opts).unwrap();
    z.start_file("META-INF/MANIFEST.MF", opts).unwrap();
    z.write_all(b"Manifest-Version: 1.0\n").unwrap();
    z.finish().unwrap();
}

fn write_tgz(path: &std::path::Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::fast(),
    );
    let mut t = tar::Builder::new(gz);
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_path("src/").unwrap();
    h.set_mode(0o755);
    h.set_mtime(1_700_000_000);
    h.set_size(0);
    h.set_username("alice").unwrap();
    h.set_groupname("staff").unwrap();
    h.set_cksum();
    t.append(&h, std::io::empty()).unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_path("src/hello.c").unwrap();
    h.set_mode(0o644);
    h.set_mtime(1_700_000_001);
    h.set_size(5);
    h.set_username("alice").unwrap();
    h.set_groupname("staff").unwrap();
    h.set_cksum();
    t.append(&h, &b"hello"[..]).unwrap();
    t.into_inner().unwrap().finish().unwrap();
}

#[tokio::test]
async fn archive_files() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        th.call(&admin, "addBType", json!(["remote-sources"]))
            .await?;
        let (b, dir) = build(&th, "pkg").await?;
        let jar = archive(&th, b, "maven", "jar", "foo-1.0.jar", 1, "aa", None).await?;
        exec(
            th.hub.db().conn(),
            "INSERT INTO maven_archives (archive_id, group_id, artifact_id, version) \
             VALUES (?, 'org.foo', 'foo', '1.0')",
            params![jar],
        )
        .await?;
        write_zip(&dir.join("maven/org/foo/foo/1.0/foo-1.0.jar"));
        let tgz = archive(&th, b, "remote-sources", "tar", "src.tar.gz", 1, "bb", None).await?;
        write_tgz(&dir.join("files/remote-sources/src.tar.gz"));
        let txt = archive(&th, b, "remote-sources", "txt", "notes.txt", 1, "cc", None).await?;
        let gone = archive(&th, b, "remote-sources", "zip", "gone.zip", 1, "dd", None).await?;

        let mtime = {
            use chrono::TimeZone;
            let naive = chrono::NaiveDate::from_ymd_opt(2024, 1, 2)
                .unwrap()
                .and_hms_opt(3, 4, 6)
                .unwrap();
            chrono::Local
                .from_local_datetime(&naive)
                .earliest()
                .unwrap()
                .timestamp()
        };
        assert_eq!(
            th.call(&admin, "listArchiveFiles", json!([jar])).await?,
            json!([
                {"archive_id": jar, "name": "META-INF/", "size": 0, "mtime": mtime},
                {"archive_id": jar, "name": "META-INF/MANIFEST.MF", "size": 22, "mtime": mtime},
            ]),
            "{}",
            th.label()
        );
        assert_eq!(
            th.call(&admin, "listArchiveFiles", json!([tgz])).await?,
            json!([
                {"archive_id": tgz, "name": "src", "size": 0, "mtime": 1_700_000_000,
                 "mode": 0o755, "user": "alice", "group": "staff"},
                {"archive_id": tgz, "name": "src/hello.c", "size": 5, "mtime": 1_700_000_001,
                 "mode": 0o644, "user": "alice", "group": "staff"},
            ])
        );
        assert_eq!(
            th.call(
                &admin,
                "listArchiveFiles",
                json!([tgz, {"order": "-name", "limit": 1}])
            )
            .await?[0]["name"],
            json!("src/hello.c")
        );
        assert_eq!(
            th.call(
                &admin,
                "listArchiveFiles",
                json!([tgz, {"countOnly": true}])
            )
            .await?,
            json!(2)
        );
        assert_eq!(
            th.call(&admin, "listArchiveFiles", json!([txt])).await?,
            json!([])
        );
        assert_eq!(
            fault(
                th.call(&admin, "listArchiveFiles", json!([txt, null, true]))
                    .await
            ),
            (1000, "Unsupported archive type: txt".into())
        );
        assert_eq!(
            th.call(&admin, "listArchiveFiles", json!([gone])).await?,
            json!([])
        );
        assert_eq!(
            fault(th.call(&admin, "listArchiveFiles", json!([999])).await),
            (1000, "No such archive: 999".into())
        );
        assert_eq!(
            th.call(&admin, "getArchiveFile", json!([tgz, "src/hello.c"]))
                .await?["size"],
            json!(5)
        );
        assert_eq!(
            th.call(&admin, "getArchiveFile", json!([tgz, "nope"]))
                .await?,
            Json::Null
        );
        assert_eq!(
            fault(
                th.call(&admin, "getArchiveFile", json!([tgz, "nope", true]))
                    .await
            ),
            (1000, format!("No such file: nope in archive#{tgz}"))
        );
    }
    Ok(())
}

#[tokio::test]
async fn import_archive() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let bob = th.user("bob", "pw", &[]).await?;
        let (b, dir) = build(&th, "pkg").await?;
        let work = th.hub.config().topdir.join("work");
        std::fs::create_dir_all(work.join("up"))?;
        std::fs::write(work.join("up/disk.iso"), b"iso-data")?;
        std::fs::write(work.join("up/x.weird"), b"?")?;
        let import = |who, v: Json| th.call(who, "importArchive", v);
        let arch = json!({"arch": "x86_64"});
        let cases = [
            (
                &bob,
                json!(["up/disk.iso", b, "image", arch]),
                1004,
                "image-import permission required (logged in as bob)".to_string(),
            ),
            (
                &admin,
                json!(["up/disk.iso", b, "rpm", arch]),
                1000,
                "unsupported archive type: rpm".into(),
            ),
            (
                &admin,
                json!(["up/disk.iso", b, "maven", arch]),
                1000,
                "Maven support not enabled".into(),
            ),
            (
                &admin,
                json!(["up/disk.iso", 999, "image", arch]),
                1000,
                "No such build: 999".into(),
            ),
            (
                &admin,
                json!(["up/disk.iso", b, "image", arch]),
                1020,
                "Build does not have type image".into(),
            ),
        ];
        for (who, args, code, msg) in cases {
            assert_eq!(
                fault(import(who, args.clone()).await),
                (code, msg),
                "{} {args}",
                th.label()
            );
        }
        exec(
            th.hub.db().conn(),
            "INSERT INTO build_types (build_id, btype_id) VALUES (?, 4)",
            params![b],
        )
        .await?;
        let missing = work.join("up/missing.iso");
        let cases = [
            (
                json!(["up/missing.iso", b, "image", arch]),
                1000,
                format!("No such file: {}", missing.display()),
            ),
            (
                json!(["up/x.weird", b, "image", arch]),
                1000,
                "unsupported file extension: x.weird".into(),
            ),
            (
                json!(["up/disk.iso", b, "image", {}]),
                1,
                "<class 'KeyError'>: 'arch'".into(),
            ),
        ];
        for (args, code, msg) in cases {
            assert_eq!(
                fault(import(&admin, args).await),
                (code, msg),
                "{}",
                th.label()
            );
        }
        assert_eq!(
            th.call(&admin, "listArchives", json!([])).await?,
            json!([]),
            "refusals write nothing"
        );

        assert_eq!(
            import(&admin, json!(["up/disk.iso", "pkg-1-1", "image", arch])).await?,
            Json::Null
        );
        let rows = th.call(&admin, "listArchives", json!([b])).await?;
        let a = &rows[0];
        assert_eq!(a["filename"], json!("disk.iso"));
        assert_eq!(a["size"], json!(8));
        assert_eq!(a["btype"], json!("image"));
        assert_eq!(a["type_name"], json!("iso"));
        assert_eq!(a["checksum_type"], json!(2));
        let sum: String = {
            use sha2::Digest;
            sha2::Sha256::digest(b"iso-data")
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        assert_eq!(a["checksum"], json!(sum));
        let full = th
            .call(&admin, "getArchive", json!([a["id"].clone()]))
            .await?;
        assert_eq!(full["arch"], json!("x86_64"));
        let dest = dir.join("images/disk.iso");
        assert_eq!(std::fs::read(&dest)?, b"iso-data");
        let link = std::fs::read_link(work.join("up/disk.iso"))?;
        assert_eq!(
            link,
            PathBuf::from("../../packages/pkg/1/1/images/disk.iso")
        );

        // a second file of the same name: refused, nothing written
        std::fs::create_dir_all(work.join("up2"))?;
        std::fs::write(work.join("up2/disk.iso"), b"other")?;
        assert_eq!(
            fault(import(&admin, json!(["up2/disk.iso", b, "image", arch])).await),
            (
                1000,
                format!(
                    "Error importing archive file, {} already exists",
                    dest.display()
                )
            )
        );
        assert_eq!(
            th.call(
                &admin,
                "listArchives",
                kw(json!({"queryOpts": {"countOnly": true}}))
            )
            .await?,
            json!(1)
        );
        assert_eq!(std::fs::read(work.join("up2/disk.iso"))?, b"other");
        assert_eq!(
            fault(import(&admin, json!(["../x.iso", b, "image", arch])).await).0,
            1
        );
    }
    Ok(())
}

#[tokio::test]
async fn import_archive_refuses_linked_directories() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let (b, dir) = build(&th, "pkg").await?;
        exec(
            th.hub.db().conn(),
            "INSERT INTO build_types (build_id, btype_id) VALUES (?, 4)",
            params![b],
        )
        .await?;
        let topdir = th.hub.config().topdir.clone();
        let work = topdir.join("work");
        let outside = topdir.join("outside");
        std::fs::create_dir_all(outside.join("deep"))?;
        std::fs::write(outside.join("disk.iso"), b"secret")?;
        std::fs::write(outside.join("deep/disk.iso"), b"secret")?;
        std::fs::create_dir_all(work.join("up"))?;
        // a link right below work, and one further down
        std::os::unix::fs::symlink(&outside, work.join("evil"))?;
        std::os::unix::fs::symlink(&outside, work.join("up/evil"))?;
        let arch = json!({"arch": "x86_64"});
        for (rel, link) in [
            ("evil/disk.iso", work.join("evil")),
            ("evil/deep/disk.iso", work.join("evil")),
            ("up/evil/disk.iso", work.join("up/evil")),
            ("up/./evil/deep/disk.iso", work.join("up/evil")),
        ] {
            assert_eq!(
                fault(
                    th.call(&admin, "importArchive", json!([rel, b, "image", arch]))
                        .await
                ),
                (
                    1000,
                    format!(
                        "Error importing archive file, {} is a symbolic link",
                        link.display()
                    )
                ),
                "{l}: {rel}"
            );
        }
        assert_eq!(std::fs::read(outside.join("disk.iso"))?, b"secret", "{l}");
        assert_eq!(
            std::fs::read(outside.join("deep/disk.iso"))?,
            b"secret",
            "{l}"
        );
        assert!(
            std::fs::symlink_metadata(outside.join("disk.iso"))?.is_file(),
            "{l}: not replaced by a link"
        );
        assert!(!dir.join("images/disk.iso").exists(), "{l}");
        assert_eq!(
            th.call(&admin, "listArchives", json!([])).await?,
            json!([]),
            "{l}: refusals write nothing"
        );
    }
    Ok(())
}
