//! Notification mail (upstream's `tagNotification` and
//! `buildNotification` tasks): the hub names the recipients, the builder
//! writes the message and hands it to the SMTP server of `smtphost`
//! (`kojid.conf`; `host` or `host:port`, optionally with `smtp_user` and
//! `smtp_pass`), from `from_addr`. The headers (`Subject`, `X-Koji-*`)
//! are upstream's, which mail filters rely on.
//!
//! Unlike upstream's kojid, whose `smtphost` defaults to `example.com`, a
//! builder without `smtphost` closes these tasks without sending anything
//! and says so in the result: a hub with notifications on and no mail
//! server set up gets closed tasks, not failed ones.

use crate::client::kw;
use crate::runner::TaskCtx;
use anyhow::{anyhow, bail, Context as _, Result};
use serde_json::{json, Value as Json};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

/// Upstream's `koji.buildLabel`: `N-V-R` (no epoch).
fn nvr(build: &Json) -> String {
    format!(
        "{}-{}-{}",
        build["package_name"]
            .as_str()
            .or(build["name"].as_str())
            .unwrap_or_default(),
        build["version"].as_str().unwrap_or_default(),
        build["release"].as_str().unwrap_or_default()
    )
}

fn py_bool(v: &Json) -> &'static str {
    if koji_core::api::truthy(v) {
        "True"
    } else {
        "False"
    }
}

/// What happened to a build's tags, for the subject and body.
fn tag_operation(from: Option<&str>, into: Option<&str>) -> (String, String) {
    let action = match (from, into) {
        (Some(_), Some(_)) => "moved",
        (Some(_), None) => "untagged",
        _ => "tagged",
    };
    let mut operation = action.to_string();
    let mut details = format!("Tag Operation: {action}\r\n");
    if let Some(f) = from {
        operation.push_str(&format!(" from {f}"));
        details.push_str(&format!("From Tag: {f}\r\n"));
    }
    if let Some(t) = into {
        operation.push_str(&format!(" into {t}"));
        details.push_str(&format!("Into Tag: {t}\r\n"));
    }
    (operation, details)
}

async fn tag_name(ctx: &TaskCtx, info: &Json) -> Result<Option<String>> {
    if !koji_core::api::truthy(info) {
        return Ok(None);
    }
    let tag = ctx.hub.call("getTag", vec![info.clone()]).await?;
    Ok(Some(
        tag["name"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| koji_core::util::py_str(info)),
    ))
}

/// `tagNotification(recipients, is_successful, tag_info, from_info,
/// build_info, user_info, ignore_success=None, failure_msg='')`.
#[allow(clippy::too_many_arguments)]
pub async fn tag_notification(
    ctx: &TaskCtx,
    recipients: &Json,
    is_successful: &Json,
    tag_info: &Json,
    from_info: &Json,
    build_info: &Json,
    user_info: &Json,
    ignore_success: &Json,
    failure_msg: &Json,
) -> Result<Json> {
    let to = addresses(recipients);
    let successful = koji_core::api::truthy(is_successful);
    if to.is_empty() || (successful && koji_core::api::truthy(ignore_success)) {
        return Ok(Json::Null);
    }
    let build = ctx.hub.call("getBuild", vec![build_info.clone()]).await?;
    let user = ctx.hub.call("getUser", vec![user_info.clone()]).await?;
    let user_name = user["name"].as_str().unwrap_or_default().to_string();
    let pkg = build["package_name"].as_str().unwrap_or_default();
    let nvr = nvr(&build);
    let from_tag = tag_name(ctx, from_info).await?;
    let into_tag = tag_name(ctx, tag_info).await?;
    let (operation, details) = tag_operation(from_tag.as_deref(), into_tag.as_deref());
    let tag_headers: Vec<String> = [&from_tag, &into_tag]
        .into_iter()
        .flatten()
        .map(|t| format!("X-Koji-Tag: {t}"))
        .collect();
    let (result, status, failure) = if successful {
        ("successfully", "complete", String::new())
    } else {
        (
            "unsuccessfully",
            "failed",
            format!(
                "Operation failed with the error:\r\n    {}\r\n",
                koji_core::util::py_str(failure_msg)
            ),
        )
    };
    let summary = format!("{nvr} {result} {operation} by {user_name}");
    let message = format!(
        "From: {from}\r\nSubject: {summary}\r\nTo: {to_list}\r\nX-Koji-Package: {pkg}\r\n\
         X-Koji-NVR: {nvr}\r\nX-Koji-Draft: {draft}\r\nX-Koji-User: {user_name}\r\n\
         X-Koji-Status: {status}\r\n{tags}\r\n\r\nPackage: {pkg}\r\nNVR: {nvr}\r\n\
         User: {user_name}\r\nStatus: {status}\r\n{details}\r\n{summary}\r\n{failure}\r\n",
        from = ctx.cfg.from_addr,
        to_list = to.join(", "),
        draft = py_bool(&build["draft"]),
        tags = tag_headers.join("\r\n"),
    );
    let task = ctx.id;
    deliver(ctx, &to, &message).await.map(|sent| match sent {
        Some(()) => json!(format!(
            "sent notification of tag operation {task} to: {}",
            to.join(", ")
        )),
        None => json!(not_sent(&to)),
    })
}

/// Python's `time.strftime('%a, %d %b %Y %H:%M:%S %Z')` of a timestamp
/// (upstream's `koji.formatTimeLong`), in the builder's local time with
/// the zone's abbreviation (`UTC`, `CET`), as the C library gives it.
fn time_long(ts: &Json) -> String {
    let Some(ts) = ts.as_f64() else {
        return String::new();
    };
    let t = ts as libc::time_t;
    let mut buf = [0u8; 128];
    // SAFETY: localtime_r fills the zeroed `tm` we own; strftime writes at
    // most buf.len() bytes into `buf` and answers how many it wrote
    let n = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return String::new();
        }
        libc::strftime(
            buf.as_mut_ptr().cast(),
            buf.len(),
            c"%a, %d %b %Y %H:%M:%S %Z".as_ptr(),
            &tm,
        )
    };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Upstream's `koji._module_info`: `repository:revision` (or
/// `repository:module:revision`) of an SCM URL.
fn module_info(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let start = url[after_scheme..]
        .find('/')
        .map_or(after_scheme, |i| after_scheme + i);
    let hash = url.find('#').unwrap_or(url.len());
    let end = url.find('?').unwrap_or(hash).max(start);
    let rev = url.get(hash + 1..).unwrap_or_default();
    match url.find('?') {
        Some(q) if q + 1 < hash => format!("{}:{}:{rev}", &url[start..end], &url[q + 1..hash]),
        _ => format!("{}:{rev}", &url[start..end]),
    }
}

/// Upstream's `koji.taskLabel` for the tasks of a build: `method (extra)`,
/// else `method (arch)`.
fn task_label(method: &str, arch: &str, request: &Json) -> String {
    let p = |i: usize| request.get(i).cloned().unwrap_or(Json::Null);
    let name_of = |v: Json| match &v {
        Json::Object(m) => koji_core::util::py_str(&m.get("name").cloned().unwrap_or_default()),
        other => koji_core::util::py_str(other),
    };
    let base = |s: &str| s.rsplit('/').next().unwrap_or(s).to_string();
    let extra = match method {
        "build" => {
            let src = koji_core::util::py_str(&p(0));
            let module = if src.contains("://") {
                module_info(&src)
            } else {
                base(&src)
            };
            format!("{}, {module}", name_of(p(1)))
        }
        "buildSRPMFromSCM" => module_info(&koji_core::util::py_str(&p(0))),
        "buildArch" => {
            let pkg = match p(0) {
                Json::Object(m) => {
                    koji_core::util::py_str(&m.get("name").cloned().unwrap_or_default())
                }
                other => koji_core::util::py_str(&other),
            };
            format!("{}, {}", base(&pkg), koji_core::util::py_str(&p(2)))
        }
        "newRepo" | "distRepo" => name_of(p(0)),
        "createrepo" => koji_core::util::py_str(&p(1)),
        _ => String::new(),
    };
    if extra.is_empty() {
        format!("{method} ({arch})")
    } else {
        format!("{method} ({extra})")
    }
}

/// One task of a build's tree, as the body lists it.
struct TaskLine {
    id: i64,
    arch: String,
    state: String,
    host: Option<String>,
    label: String,
    result: String,
    arch_dir: String,
    logs: Vec<(String, String)>,
    rpms: Vec<String>,
    srpms: Vec<String>,
    misc: Vec<(String, String)>,
}

async fn task_tree(ctx: &TaskCtx, root: i64) -> Result<Vec<TaskLine>> {
    let mut out = vec![];
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        let info = ctx.hub.call("getTaskInfo", vec![json!(id)]).await?;
        if info.is_null() {
            continue;
        }
        let host = match info["host_id"].as_i64() {
            Some(h) => ctx.hub.call("getHost", vec![json!(h)]).await?["name"]
                .as_str()
                .map(str::to_owned),
            None => None,
        };
        let result = match ctx.hub.call("getTaskResult", vec![json!(id)]).await {
            Ok(v) if koji_core::api::truthy(&v) => koji_core::util::py_str(&v),
            Ok(_) => "Unknown".to_string(),
            Err(e) => match e.downcast_ref::<crate::client::Fault>() {
                Some(f) => f.message.trim().to_string(),
                None => format!("{e:#}"),
            },
        };
        let files = ctx
            .hub
            .call(
                "listTaskOutput",
                vec![json!(id), kw(json!({"all_volumes": true}))],
            )
            .await?;
        let (mut logs, mut rpms, mut srpms, mut misc) = (vec![], vec![], vec![], vec![]);
        if let Json::Object(files) = &files {
            for (name, vols) in files {
                let vols: Vec<String> = vols
                    .as_array()
                    .map(|v| {
                        v.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                if name.ends_with(".log") {
                    logs.extend(vols.into_iter().map(|v| (v, name.clone())));
                } else if name.ends_with(".src.rpm") {
                    srpms.push(name.clone());
                } else if name.ends_with(".rpm") {
                    rpms.push(name.clone());
                } else {
                    misc.extend(vols.into_iter().map(|v| (v, name.clone())));
                }
            }
        }
        logs.sort();
        misc.sort();
        rpms.sort();
        let method = info["method"].as_str().unwrap_or_default();
        let arch = info["arch"].as_str().unwrap_or_default();
        let label = info["label"].as_str().unwrap_or_default();
        let request = ctx.hub.call("getTaskRequest", vec![json!(id)]).await?;
        out.push(TaskLine {
            id,
            arch: arch.to_string(),
            state: koji_core::hub::tasks::TaskState::from_i64(info["state"].as_i64().unwrap_or(-1))
                .map(|s| s.name().to_lowercase())
                .unwrap_or_default(),
            host,
            label: task_label(method, arch, &request),
            result,
            arch_dir: label.to_string(),
            logs,
            rpms,
            srpms,
            misc,
        });
        let kids = ctx.hub.call("getTaskChildren", vec![json!(id)]).await?;
        for k in kids.as_array().into_iter().flatten().rev() {
            if let Some(k) = k["id"].as_i64() {
                stack.push(k);
            }
        }
    }
    Ok(out)
}

/// Upstream's `koji.util.formatChangelog` of the last three entries.
async fn changelog(ctx: &TaskCtx, build_id: i64) -> Result<String> {
    let entries = ctx
        .hub
        .call(
            "getChangelogEntries",
            vec![json!(build_id), kw(json!({"queryOpts": {"limit": 3}}))],
        )
        .await?;
    let mut text = String::new();
    for e in entries.as_array().into_iter().flatten() {
        let date = e["date"].as_str().unwrap_or_default();
        let date = chrono::NaiveDateTime::parse_from_str(date, "%Y-%m-%d %H:%M:%S")
            .map(|d| d.format("%a %b %d %Y").to_string())
            .unwrap_or_else(|_| date.to_string());
        text.push_str(&format!(
            "* {date} {}\n{}\n\n",
            e["author"].as_str().unwrap_or_default(),
            e["text"].as_str().unwrap_or_default()
        ));
    }
    Ok(text)
}

/// `buildNotification(recipients, build, target, weburl)`.
pub async fn build_notification(
    ctx: &TaskCtx,
    recipients: &Json,
    build: &Json,
    target: &Json,
    weburl: &Json,
) -> Result<Json> {
    let to = addresses(recipients);
    if to.is_empty() {
        return Ok(Json::Null);
    }
    let weburl = koji_core::util::py_str(weburl);
    let pkg = build["package_name"].as_str().unwrap_or_default();
    let nvr = nvr(build);
    let build_id = build["id"].as_i64().unwrap_or_default();
    let owner = build["owner_name"].as_str().unwrap_or_default();
    let dest_tag = target["dest_tag_name"]
        .as_str()
        .unwrap_or("None")
        .to_string();
    let state = build["state"].as_i64().unwrap_or(-1);
    let status = koji_core::model::BuildState::from_i64(state)
        .map(|s| s.name().to_lowercase())
        .unwrap_or_default();
    let task_id = build["task_id"].as_i64().unwrap_or_default();
    let tasks = task_tree(ctx, task_id).await?;
    let mut failure = String::new();
    if state == koji_core::model::BuildState::Canceled as i64 {
        let me = ctx.hub.call("getTaskInfo", vec![json!(ctx.id)]).await?;
        if let Some(o) = me["owner"].as_i64() {
            let u = ctx.hub.call("getUser", vec![json!(o)]).await?;
            failure = format!(
                "\r\nCanceled by: {}",
                u["name"].as_str().unwrap_or_default()
            );
        }
    }
    let cancel_info = failure.clone();
    if state == koji_core::model::BuildState::Failed as i64 {
        let top = tasks
            .iter()
            .find(|t| t.id == task_id)
            .map(|t| t.result.clone())
            .unwrap_or_default();
        let hosts: Vec<String> = tasks
            .iter()
            .filter(|t| t.state == "failed")
            .filter_map(|t| t.host.as_ref().map(|h| format!("{h} ({})", t.arch)))
            .collect();
        failure = format!(
            "\r\n{nvr} ({build_id}) failed on {}:\r\n  {top}",
            hosts.join(", ")
        );
    }
    let mut srpms: Vec<&String> = tasks.iter().flat_map(|t| &t.srpms).collect();
    srpms.sort();
    srpms.dedup();
    let mut output = String::new();
    if !srpms.is_empty() {
        output.push_str("SRPMS:\r\n");
        for s in srpms {
            output.push_str(&format!("  {s}"));
        }
        output.push_str("\r\n\r\n");
    }
    // upstream's pathinfo.build(build) under topurl, with the volume's
    // `vol/NAME` prefix for a build off the default volume
    let mut topurl = ctx.cfg.topurl.clone().unwrap_or_default();
    match build["volume_name"].as_str() {
        Some(v) if v != "DEFAULT" => topurl.push_str(&format!("/vol/{v}")),
        _ => {}
    }
    let buildurl = format!(
        "{topurl}/packages/{pkg}/{}/{}",
        build["version"].as_str().unwrap_or_default(),
        build["release"].as_str().unwrap_or_default()
    );
    for state in ["failed", "canceled", "closed"] {
        let these: Vec<&TaskLine> = tasks.iter().filter(|t| t.state == state).collect();
        if these.is_empty() {
            continue;
        }
        let mut title = state.to_string();
        title[..1].make_ascii_uppercase();
        output.push_str(&format!(
            "{title} tasks:\r\n{}-------\r\n\r\n",
            "-".repeat(state.len())
        ));
        for t in these {
            output.push_str(&format!("Task {}", t.id));
            match &t.host {
                Some(h) => output.push_str(&format!(" on {h}\r\n")),
                None => output.push_str("\r\n"),
            }
            output.push_str(&format!("Task Type: {}\r\n", t.label));
            if !t.logs.is_empty() {
                output.push_str("logs:\r\n");
                for (vol, f) in &t.logs {
                    output.push_str(&format!(
                        " {weburl}/getfile?taskID={}&name={f}&volume={vol}\r\n",
                        t.id
                    ));
                }
            }
            if !t.rpms.is_empty() {
                output.push_str("rpms:\r\n");
                for f in &t.rpms {
                    output.push_str(&format!(" {buildurl}/{}/{f}\r\n", t.arch_dir));
                }
            }
            if !t.misc.is_empty() {
                output.push_str("misc:\r\n");
                for (vol, f) in &t.misc {
                    output.push_str(&format!(
                        " {weburl}/getfile?taskID={}&name={f}&volume={vol}\r\n",
                        t.id
                    ));
                }
            }
            output.push_str("\r\n");
        }
        output.push_str("\r\n");
    }
    let mut log = changelog(ctx, build_id).await?.replace('\n', "\r\n");
    if !log.is_empty() {
        log = format!("Changelog:\r\n{log}");
    }
    let subject = format!("Package: {nvr} Tag: {dest_tag} Status: {status} Built by: {owner}");
    let message = format!(
        "From: {from}\r\nSubject: {subject}\r\nTo: {to_list}\r\nX-Koji-Tag: {dest_tag}\r\n\
         X-Koji-Package: {pkg}\r\nX-Koji-Builder: {owner}\r\nX-Koji-Status: {status}\r\n\
         X-Koji-Draft: {draft}\r\n\r\nPackage: {nvr}\r\nTag: {dest_tag}\r\n\
         Status: {status}{cancel_info}\r\nBuilt by: {owner}\r\nID: {build_id}\r\n\
         Started: {started}\r\nFinished: {finished}\r\n{log}\r\n{failure_text}\r\n{output}\r\n\
         Task Info: {weburl}/taskinfo?taskID={task_id}\r\n\
         Build Info: {weburl}/buildinfo?buildID={build_id}\r\n",
        from = ctx.cfg.from_addr,
        to_list = to.join(", "),
        draft = py_bool(&build["draft"]),
        started = time_long(&build["creation_ts"]),
        finished = time_long(&build["completion_ts"]),
        failure_text = if state == koji_core::model::BuildState::Failed as i64 {
            failure.as_str()
        } else {
            cancel_info.as_str()
        },
    );
    deliver(ctx, &to, &message).await.map(|sent| match sent {
        Some(()) => json!(format!(
            "sent notification of build {build_id} to: {}",
            to.join(", ")
        )),
        None => json!(not_sent(&to)),
    })
}

fn addresses(recipients: &Json) -> Vec<String> {
    recipients
        .as_array()
        .map(|a| a.iter().map(koji_core::util::py_str).collect())
        .unwrap_or_default()
}

fn not_sent(to: &[String]) -> String {
    format!(
        "not sent (no smtphost is configured on this builder); recipients: {}",
        to.join(", ")
    )
}

/// Sends `message` when the builder has a mail server; `None` when it has
/// none.
async fn deliver(ctx: &TaskCtx, to: &[String], message: &str) -> Result<Option<()>> {
    let Some(host) = ctx.cfg.smtphost.as_deref().filter(|h| !h.is_empty()) else {
        tracing::info!(task = ctx.id, "no smtphost: notification not sent");
        return Ok(None);
    };
    let auth = match (&ctx.cfg.smtp_user, &ctx.cfg.smtp_pass) {
        (Some(u), Some(p)) => Some((u.as_str(), p.as_str())),
        _ => None,
    };
    send_mail(host, auth, &ctx.cfg.from_addr, to, message).await?;
    Ok(Some(()))
}

/// The address inside `Name <addr>` (what Python's smtplib puts in
/// `MAIL FROM`), or the text itself.
fn bare_address(a: &str) -> &str {
    match (a.rfind('<'), a.rfind('>')) {
        (Some(l), Some(r)) if l < r => &a[l + 1..r],
        _ => a.trim(),
    }
}

/// This machine's name for EHLO (Python's `socket.getfqdn()` in smtplib;
/// some servers refuse `localhost` from elsewhere).
fn local_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into `buf`
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let name = buf.split(|b| *b == 0).next().unwrap_or_default();
    match (ok, std::str::from_utf8(name)) {
        (true, Ok(n)) if !n.is_empty() => n.to_string(),
        _ => "localhost".to_string(),
    }
}

/// One SMTP reply: its code and its lines.
async fn reply<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R) -> Result<(u16, String)> {
    let mut text = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            bail!("the SMTP server closed the connection");
        }
        let code: u16 = line
            .get(..3)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| anyhow!("not an SMTP reply: {}", line.trim_end()))?;
        text.push_str(line.get(4..).unwrap_or_default().trim_end());
        text.push('\n');
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok((code, text));
        }
    }
}

/// One reply, which must have one of the `want` codes.
async fn expect<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
    want: &[u16],
    what: &str,
) -> Result<(u16, String)> {
    let (code, text) = reply(r).await?;
    if !want.contains(&code) {
        bail!("SMTP {what}: {code} {}", text.trim_end());
    }
    Ok((code, text))
}

/// Sends one message by SMTP (no TLS), as Python's `smtplib.SMTP(host)`
/// then `login` (when `auth` is given) and `sendmail` do: `host` is a
/// name or `name:port` (port 25 by default). A recipient the server
/// refuses is skipped; all of them refused is an error.
pub async fn send_mail(
    host: &str,
    auth: Option<(&str, &str)>,
    from: &str,
    to: &[String],
    message: &str,
) -> Result<()> {
    let addr = if host
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        host.to_string()
    } else {
        format!("{host}:25")
    };
    let io = async {
        let stream = tokio::net::TcpStream::connect(&addr)
            .await
            .with_context(|| format!("cannot connect to the SMTP server {addr}"))?;
        let (rd, mut wr) = stream.into_split();
        let mut rd = BufReader::new(rd);
        expect(&mut rd, &[220], "greeting").await?;
        let me = local_name();
        wr.write_all(format!("EHLO {me}\r\n").as_bytes()).await?;
        let (_, ehlo) = match expect(&mut rd, &[250], "EHLO").await {
            Ok(r) => r,
            Err(_) => {
                wr.write_all(format!("HELO {me}\r\n").as_bytes()).await?;
                expect(&mut rd, &[250], "HELO").await?
            }
        };
        if let Some((user, pass)) = auth {
            use base64::Engine as _;
            let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
            let mechs = ehlo
                .lines()
                .find_map(|l| l.strip_prefix("AUTH").map(|m| m.to_ascii_uppercase()))
                .unwrap_or_default();
            if mechs.split_whitespace().any(|m| m == "PLAIN") {
                let token = b64(format!("\0{user}\0{pass}").as_bytes());
                wr.write_all(format!("AUTH PLAIN {token}\r\n").as_bytes())
                    .await?;
                expect(&mut rd, &[235], "AUTH PLAIN").await?;
            } else if mechs.split_whitespace().any(|m| m == "LOGIN") {
                wr.write_all(b"AUTH LOGIN\r\n").await?;
                expect(&mut rd, &[334], "AUTH LOGIN").await?;
                wr.write_all(format!("{}\r\n", b64(user.as_bytes())).as_bytes())
                    .await?;
                expect(&mut rd, &[334], "AUTH LOGIN").await?;
                wr.write_all(format!("{}\r\n", b64(pass.as_bytes())).as_bytes())
                    .await?;
                expect(&mut rd, &[235], "AUTH LOGIN").await?;
            } else {
                bail!("SMTP AUTH extension not supported by server.");
            }
        }
        wr.write_all(format!("MAIL FROM:<{}>\r\n", bare_address(from)).as_bytes())
            .await?;
        expect(&mut rd, &[250], "MAIL FROM").await?;
        let mut accepted = 0;
        let mut refused = vec![];
        for r in to {
            wr.write_all(format!("RCPT TO:<{}>\r\n", bare_address(r)).as_bytes())
                .await?;
            let (code, text) = reply(&mut rd).await?;
            if code == 250 || code == 251 {
                accepted += 1;
            } else {
                refused.push(format!("{r}: {code} {}", text.trim_end()));
            }
        }
        if accepted == 0 {
            bail!(
                "SMTP server refused every recipient: {}",
                refused.join("; ")
            );
        }
        wr.write_all(b"DATA\r\n").await?;
        expect(&mut rd, &[354], "DATA").await?;
        let mut data = String::with_capacity(message.len() + 64);
        // CRLF line ends (a bare CR or LF ends a line too), as smtplib sends
        for line in message
            .replace("\r\n", "\n")
            .replace('\r', "\n")
            .split('\n')
        {
            if line.starts_with('.') {
                data.push('.');
            }
            data.push_str(line);
            data.push_str("\r\n");
        }
        if message.ends_with('\n') {
            // the split gave a last empty line for the final newline
            data.truncate(data.len() - 2);
        }
        data.push_str(".\r\n");
        wr.write_all(data.as_bytes()).await?;
        expect(&mut rd, &[250], "end of DATA").await?;
        wr.write_all(b"QUIT\r\n").await?;
        let _ = reply(&mut rd).await;
        Ok::<_, anyhow::Error>(())
    };
    tokio::time::timeout(Duration::from_secs(60), io)
        .await
        .map_err(|_| anyhow!("the SMTP server {addr} did not answer within 60 s"))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt as _;

    /// A one-message SMTP server: answers as a real one and hands back
    /// what the client said.
    async fn fake_server(auth: bool) -> (String, tokio::task::JoinHandle<String>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let h = tokio::spawn(async move {
            let (s, _) = l.accept().await.unwrap();
            let (rd, mut wr) = s.into_split();
            let mut rd = BufReader::new(rd);
            let mut said = String::new();
            wr.write_all(b"220 test ESMTP\r\n").await.unwrap();
            let mut in_data = false;
            loop {
                let mut line = String::new();
                if rd.read_line(&mut line).await.unwrap() == 0 {
                    break;
                }
                said.push_str(&line);
                if in_data {
                    if line == ".\r\n" {
                        in_data = false;
                        wr.write_all(b"250 queued\r\n").await.unwrap();
                    }
                    continue;
                }
                let reply: &[u8] = if line.starts_with("EHLO") {
                    if auth {
                        b"250-test\r\n250-AUTH LOGIN PLAIN\r\n250 8BITMIME\r\n"
                    } else {
                        b"250-test\r\n250 8BITMIME\r\n"
                    }
                } else if line.starts_with("AUTH") {
                    b"235 ok\r\n"
                } else if line.starts_with("RCPT TO:<nobody") {
                    b"550 no such user\r\n"
                } else if line.starts_with("DATA") {
                    in_data = true;
                    b"354 go ahead\r\n"
                } else if line.starts_with("QUIT") {
                    wr.write_all(b"221 bye\r\n").await.unwrap();
                    break;
                } else {
                    b"250 ok\r\n"
                };
                wr.write_all(reply).await.unwrap();
            }
            let mut rest = String::new();
            let _ = rd.read_to_string(&mut rest).await;
            said
        });
        (addr, h)
    }

    #[tokio::test]
    async fn sends_as_smtplib_does() {
        let (addr, server) = fake_server(true).await;
        let to = vec![
            "a@example.com".to_string(),
            "nobody@example.com".to_string(),
        ];
        send_mail(
            &addr,
            Some(("u", "p")),
            "Koji Build System <buildsys@example.com>",
            &to,
            "Subject: x\r\n\r\n.dot line\r\nend\r\n",
        )
        .await
        .unwrap();
        let said = server.await.unwrap();
        assert!(said.contains("AUTH PLAIN AHUAcA==\r\n"), "{said}");
        assert!(
            said.contains("MAIL FROM:<buildsys@example.com>\r\n"),
            "{said}"
        );
        assert!(said.contains("RCPT TO:<a@example.com>\r\n"), "{said}");
        // dot-stuffed, ended by a lone dot
        assert!(
            said.contains("Subject: x\r\n\r\n..dot line\r\nend\r\n.\r\nQUIT\r\n"),
            "{said}"
        );
    }

    #[tokio::test]
    async fn every_recipient_refused_is_an_error() {
        let (addr, _server) = fake_server(false).await;
        let to = vec!["nobody@example.com".to_string()];
        let e = send_mail(&addr, None, "k@example.com", &to, "x\r\n")
            .await
            .unwrap_err();
        assert!(
            format!("{e:#}").contains("refused every recipient"),
            "{e:#}"
        );
    }

    #[tokio::test]
    async fn login_without_auth_support_fails() {
        let (addr, _server) = fake_server(false).await;
        let to = vec!["a@example.com".to_string()];
        let e = send_mail(&addr, Some(("u", "p")), "k@example.com", &to, "x\r\n")
            .await
            .unwrap_err();
        assert!(
            format!("{e:#}").contains("AUTH extension not supported"),
            "{e:#}"
        );
    }

    #[test]
    fn task_labels_as_upstream() {
        assert_eq!(
            module_info("git+https://src.example.org/rpms/bash.git?#abc123"),
            "/rpms/bash.git:abc123"
        );
        assert_eq!(module_info("git://h/repo?mod/x#rev"), "/repo:mod/x:rev");
        assert_eq!(
            module_info("git://h/rpms/bash.git#main"),
            "/rpms/bash.git:main"
        );
        assert_eq!(
            task_label(
                "build",
                "noarch",
                &json!(["work/1/hello-2.0-1.src.rpm", "f40-candidate", {}])
            ),
            "build (f40-candidate, hello-2.0-1.src.rpm)"
        );
        assert_eq!(
            task_label(
                "buildArch",
                "x86_64",
                &json!(["tasks/2/hello-2.0-1.src.rpm", 3, "x86_64", true, {}])
            ),
            "buildArch (hello-2.0-1.src.rpm, x86_64)"
        );
        assert_eq!(
            task_label("tagBuild", "noarch", &json!([1, 2])),
            "tagBuild (noarch)"
        );
    }

    #[test]
    fn long_times_name_the_zone() {
        // (the test process's zone: TZ unset is the machine's, usually UTC)
        let t = time_long(&json!(0.0));
        assert!(
            t.starts_with("Thu, 01 Jan 1970") || t.starts_with("Wed, 31 Dec 1969"),
            "{t}"
        );
        assert!(!t.ends_with("+00:00"), "{t}");
    }

    #[test]
    fn tag_operations() {
        assert_eq!(
            tag_operation(None, Some("f40")).0,
            "tagged into f40".to_string()
        );
        assert_eq!(tag_operation(Some("f40"), None).0, "untagged from f40");
        let (op, details) = tag_operation(Some("a"), Some("b"));
        assert_eq!(op, "moved from a into b");
        assert_eq!(
            details,
            "Tag Operation: moved\r\nFrom Tag: a\r\nInto Tag: b\r\n"
        );
    }
}
