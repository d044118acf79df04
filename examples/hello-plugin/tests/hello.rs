//! The plugin runs through a real hub and a real builder: a hub served
//! on a random port (SQLite and PostgreSQL), `kojid-hello` logged in as a
//! host over HTTP, tasks made with `makeTask` as upstream's admin would.

use base64::Engine as _;
use koji_core::testing::{kw, TestHub};
use serde_json::{json, Value as Json};
use std::time::{Duration, Instant};

/// A kojid-hello process, stopped (SIGTERM) when dropped.
struct Kojid(std::process::Child);

impl Drop for Kojid {
    fn drop(&mut self) {
        // SAFETY: signals our own child process
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        let _ = self.0.wait();
    }
}

async fn finished(th: &TestHub, admin: &koji_core::Caller, id: i64, log: &std::path::Path) -> Json {
    let start = Instant::now();
    loop {
        let t = th
            .call(admin, "getTaskInfo", json!([id]))
            .await
            .expect("getTaskInfo");
        if matches!(t["state"].as_i64(), Some(2 | 3 | 5)) {
            return t;
        }
        if start.elapsed() > Duration::from_secs(90) {
            panic!(
                "[{}] task {id} did not finish: {t}\n--- kojid log\n{}",
                th.label(),
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn fault(r: koji_core::Result<Json>) -> (i32, String) {
    let e = r.expect_err("a fault");
    (e.fault_code(), e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_plugin_runs_through_hub_and_builder() {
    for th in TestHub::each().await.expect("test hubs") {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(koji_server::serve(th.hub.clone(), listener, async {
            let _ = stopped.await;
        }));

        let admin = th.admin().await.expect("admin");
        th.call(&admin, "addHost", json!(["plug1", ["x86_64", "aarch64"]]))
            .await
            .expect("addHost");
        th.hub
            .auth()
            .set_password("plug1", "pw1")
            .await
            .expect("password");

        let dir = tempfile::tempdir().expect("tmp");
        let log = dir.path().join("kojid.log");
        let kojid = Kojid(
            std::process::Command::new(env!("CARGO_BIN_EXE_kojid-hello"))
                .args(["--server", &format!("http://{addr}/kojihub")])
                .args([
                    "--user",
                    "plug1",
                    "--password",
                    "pw1",
                    "--buildroot",
                    "none",
                ])
                .args(["--topurl", &format!("http://{addr}/kojifiles")])
                .arg("--workdir")
                .arg(dir.path().join("work"))
                .args(["--sleeptime", "1", "--log-level", "info"])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::fs::File::create(&log).expect("log"))
                .spawn()
                .expect("kojid-hello"),
        );

        // a parent with two subtasks, uploads and streamed logs
        let id = th
            .call(
                &admin,
                "makeTask",
                json!(["hello", ["world", kw(json!({"count": 2}))]]),
            )
            .await
            .expect("makeTask")
            .as_i64()
            .expect("task id");
        let t = finished(&th, &admin, id, &log).await;
        assert_eq!(t["state"], json!(2), "[{}] {t}", th.label());
        let result = th
            .call(&admin, "getTaskResult", json!([id]))
            .await
            .expect("result");
        assert_eq!(
            result["greeting"],
            json!("Hello, world!"),
            "[{}] {result}",
            th.label()
        );
        assert_eq!(result["api_version"], json!(1));
        let children = th
            .call(&admin, "getTaskChildren", json!([id]))
            .await
            .expect("children");
        let children = children.as_array().expect("list");
        assert_eq!(children.len(), 2, "[{}] {children:?}", th.label());
        for (i, c) in children.iter().enumerate() {
            assert_eq!(c["method"], json!("helloPart"));
            assert_eq!(c["state"], json!(2), "[{}] {c}", th.label());
            assert_eq!(c["label"], json!(format!("part{i}")));
            let cid = c["id"].as_i64().expect("id");
            assert_eq!(
                result["parts"][i],
                json!({"index": i, "file": format!("tasks/{}/{cid}/part-{i}.txt", cid % 10000)}),
                "[{}] {result}",
                th.label()
            );
            let out = th
                .call(&admin, "listTaskOutput", json!([cid]))
                .await
                .expect("listTaskOutput");
            let mut names: Vec<&str> = out
                .as_array()
                .expect("list")
                .iter()
                .filter_map(Json::as_str)
                .collect();
            names.sort();
            assert_eq!(names, vec![format!("part-{i}.txt").as_str(), "part.log"]);
            let data = th
                .call(
                    &admin,
                    "downloadTaskOutput",
                    json!([cid, format!("part-{i}.txt")]),
                )
                .await
                .expect("download");
            let text = base64::engine::general_purpose::STANDARD
                .decode(data.as_str().expect("base64 text"))
                .expect("base64");
            assert_eq!(
                String::from_utf8_lossy(&text),
                format!("part {i} of world\n")
            );
        }
        // the parent's log reached the hub in full
        let data = th
            .call(&admin, "downloadTaskOutput", json!([id, "hello.log"]))
            .await
            .expect("hello.log");
        let text = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().expect("base64 text"))
            .expect("base64");
        let text = String::from_utf8_lossy(&text);
        assert!(text.starts_with("greeting world in 2 parts\n"), "{text}");
        assert!(text.ends_with("all 2 parts done\n"), "{text}");

        // the builder told the hub which methods it runs: plugin and built-ins
        let host = th
            .call(&admin, "getHost", json!(["plug1"]))
            .await
            .expect("getHost");
        let data = th
            .call(
                &admin,
                "scheduler.getHostData",
                json!([kw(json!({"hostID": host["id"]}))]),
            )
            .await
            .expect("host data");
        let methods = &data[0]["data"]["methods"];
        for m in ["hello", "helloPart", "build", "buildArch"] {
            assert!(
                methods.as_array().is_some_and(|a| a.contains(&json!(m))),
                "[{}] {m} not in {data}",
                th.label()
            );
        }

        // a handler's error fails the task with its fault
        let failed = |request: Json| {
            let (th, admin, log) = (&th, &admin, &log);
            async move {
                let id = th
                    .call(admin, "makeTask", json!(["hello", request]))
                    .await
                    .expect("makeTask")
                    .as_i64()
                    .expect("id");
                let t = finished(th, admin, id, log).await;
                assert_eq!(t["state"], json!(5), "[{}] {t}", th.label());
                fault(th.call(admin, "getTaskResult", json!([id])).await)
            }
        };
        assert_eq!(
            failed(json!(["nobody", kw(json!({"fail": true}))])).await,
            (1005, "nobody refused to be greeted".to_string())
        );
        // a request that does not fit the signature: upstream's ParameterError
        assert_eq!(
            failed(json!([])).await,
            (
                1019,
                "hello() missing 1 required positional argument: 'name'".to_string()
            )
        );

        drop(kojid);
        let _ = stop.send(());
        let _ = server.await;
    }
}
