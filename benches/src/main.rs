//! koji-load: drives XML-RPC calls at a hub from N concurrent clients and
//! reports throughput and latency percentiles.
//!
//! ```text
//! koji-load setup --url URL --user admin --password PW [--tags 20 --packages 200]
//! koji-load run --url URL --clients 16 --seconds 10 --call 'getTag:["load-tag-19"]'
//! ```
//! `setup` makes a chain of tags (each inheriting the previous one) with
//! packages spread over them, so inherited calls walk real inheritance.
//!
//! ```text
//! koji-load dataset --db URL [--packages 30000 --builds-per-package 5 --rpms-per-build 10]
//! koji-load latency --db URL --repeat 20 [--cold] --call 'getLatestBuilds:["bench-candidate"]'
//! ```
//! `dataset` writes a Fedora-sized dataset (see [`dataset`]); `latency`
//! calls the API in-process, one call at a time, and reports latencies;
//! `--cold` invalidates the hub's result cache before every call;
//! `--encode` also writes the XML-RPC response, as `/kojihub` does.

mod dataset;
mod tasks;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand};
use koji_core::xmlrpc::{self, Response, Value};
use serde_json::{json, Value as Json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(name = "koji-load", about = "XML-RPC load generator for koji hubs")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Populate a hub with tags, inheritance and package lists.
    Setup {
        #[arg(long)]
        url: String,
        #[arg(long, default_value = "admin")]
        user: String,
        #[arg(long)]
        password: String,
        #[arg(long, default_value_t = 20)]
        tags: usize,
        #[arg(long, default_value_t = 200)]
        packages: usize,
    },
    /// Call methods as fast as N clients can, for a while.
    Run {
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 16)]
        clients: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// `method:JSON-array-of-params`; repeat to mix calls round-robin.
        #[arg(long, required = true)]
        call: Vec<String>,
    },
    /// Write a Fedora-sized dataset into a database (user admin must exist).
    Dataset {
        #[arg(long)]
        db: String,
        #[arg(long, default_value_t = 30_000)]
        packages: usize,
        #[arg(long, default_value_t = 5)]
        builds_per_package: usize,
        #[arg(long, default_value_t = 10)]
        rpms_per_build: usize,
    },
    /// Time scheduler passes in-process: N hosts, M free tasks.
    Scheduler {
        #[arg(long)]
        db: String,
        #[arg(long, default_value_t = 500)]
        hosts: usize,
        #[arg(long, default_value_t = 10_000)]
        tasks: usize,
        #[arg(long, default_value_t = 10)]
        repeat: usize,
    },
    /// Build SRPMs through a hub with a builder; time call -> start -> tagged.
    Builds {
        #[arg(long)]
        url: String,
        #[arg(long, default_value = "admin")]
        user: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        target: String,
        /// The target's destination tag (where builds end up tagged).
        #[arg(long)]
        dest_tag: String,
        /// SRPMs with distinct NVRs, built one after the other.
        #[arg(required = true)]
        srpm: Vec<std::path::PathBuf>,
    },
    /// Time calls in-process against a database, one at a time.
    Latency {
        #[arg(long)]
        db: String,
        #[arg(long, default_value_t = 20)]
        repeat: usize,
        /// Invalidate the result cache before every call.
        #[arg(long)]
        cold: bool,
        /// Also write the XML-RPC response, as `/kojihub` does (the time
        /// then covers all a call costs before the answer is sent).
        #[arg(long)]
        encode: bool,
        /// `method:JSON-array-of-params`; each is timed on its own.
        #[arg(long, required = true)]
        call: Vec<String>,
    },
}

struct Client {
    http: reqwest::Client,
    url: String,
    session: Option<(i64, String)>,
    callnum: i64,
    /// Parse responses (setup) or only check for faults (timing runs).
    parse: bool,
    /// Ask for gzip-compressed answers, as python-requests does
    /// (`KOJI_LOAD_GZIP=0` turns it off, for comparison).
    gzip: bool,
}

impl Client {
    fn new(url: &str) -> Result<Client> {
        Ok(Client {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()?,
            url: url.to_string(),
            session: None,
            callnum: 0,
            parse: true,
            gzip: std::env::var("KOJI_LOAD_GZIP").map_or(true, |v| v != "0"),
        })
    }

    async fn call(&mut self, method: &str, params: &[Value]) -> Result<Value> {
        let body = xmlrpc::write_call(method, params);
        let mut req = self
            .http
            .post(&self.url)
            .header("Content-Type", "text/xml")
            .body(body);
        if self.gzip {
            // as python-requests (upstream's client) asks
            req = req.header("Accept-Encoding", "gzip, deflate");
        }
        if let Some((id, key)) = &self.session {
            req = req
                .header("Koji-Session-Id", id.to_string())
                .header("Koji-Session-Key", key.as_str())
                .header("Koji-Session-Callnum", self.callnum.to_string());
            self.callnum += 1;
        }
        let resp = req.send().await.context("request failed")?;
        let gzipped = resp
            .headers()
            .get("content-encoding")
            .is_some_and(|v| v.as_bytes() == b"gzip");
        let raw = resp.bytes().await?;
        let bytes: std::borrow::Cow<[u8]> = if gzipped {
            // the real client decodes every answer: so does this one
            use std::io::Read;
            let mut out = Vec::with_capacity(raw.len() * 4);
            flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut out)?;
            out.into()
        } else {
            raw[..].into()
        };
        if !self.parse {
            // timing runs: the client should not spend the shared CPU on
            // parsing; a fault is still recognised
            if bytes.windows(7).any(|w| w == b"<fault>") {
                bail!("{method}: fault");
            }
            return Ok(Value::Nil);
        }
        match xmlrpc::parse_response(&bytes).map_err(|e| anyhow!("bad response: {e}"))? {
            Response::Value(v) => Ok(v),
            Response::Fault { code, message } => bail!("{method}: fault {code}: {message}"),
        }
    }

    /// A raw upload (upstream's `fastUpload`) of `data` as `dir/name`.
    async fn upload(&mut self, dir: &str, name: &str, data: Vec<u8>) -> Result<()> {
        let Some((id, key)) = self.session.clone() else {
            bail!("upload: not logged in");
        };
        let url = format!(
            "{}?filename={name}&filepath={dir}&offset=0&overwrite=1&fileverify=adler32",
            self.url
        );
        let len = data.len();
        let resp = self
            .http
            .post(url)
            .header("Content-Type", "application/octet-stream")
            .header("Koji-Session-Id", id.to_string())
            .header("Koji-Session-Key", key)
            .header("Koji-Session-Callnum", self.callnum.to_string())
            .body(data)
            .send()
            .await
            .context("upload failed")?;
        self.callnum += 1;
        let bytes = resp.bytes().await?;
        match xmlrpc::parse_response(&bytes).map_err(|e| anyhow!("bad response: {e}"))? {
            Response::Value(v) if v.to_json()["size"].as_u64() == Some(len as u64) => Ok(()),
            Response::Value(v) => bail!("upload of {name}: the hub answered {}", v.to_json()),
            Response::Fault { code, message } => bail!("upload: fault {code}: {message}"),
        }
    }

    async fn login(&mut self, user: &str, password: &str) -> Result<()> {
        let v = self
            .call(
                "login",
                &[Value::from(json!(user)), Value::from(json!(password))],
            )
            .await?;
        let j = v.to_json();
        let id = j["session-id"]
            .as_i64()
            .ok_or_else(|| anyhow!("no session-id"))?;
        let key = j["session-key"].as_str().unwrap_or_default().to_string();
        self.session = Some((id, key));
        Ok(())
    }
}

fn kw(v: Json) -> Value {
    let mut v = v;
    if let Json::Object(m) = &mut v {
        m.insert("__starstar".into(), json!(true));
    }
    Value::from(v)
}

async fn setup(url: &str, user: &str, password: &str, tags: usize, packages: usize) -> Result<()> {
    let mut c = Client::new(url)?;
    c.login(user, password).await?;
    for i in 0..tags {
        let name = format!("load-tag-{i}");
        let mut params = vec![Value::from(json!(name))];
        if i > 0 {
            params.push(kw(
                json!({"parent": format!("load-tag-{}", i - 1), "arches": "x86_64"}),
            ));
        }
        c.call("createTag", &params).await?;
    }
    for p in 0..packages {
        let tag = format!("load-tag-{}", p % tags.max(1));
        c.call(
            "packageListAdd",
            &[
                Value::from(json!(tag)),
                Value::from(json!(format!("load-pkg-{p}"))),
                kw(json!({"owner": user})),
            ],
        )
        .await?;
    }
    println!("created {tags} tags and {packages} packages");
    Ok(())
}

fn parse_call(spec: &str) -> Result<(String, Vec<Value>)> {
    let (m, p) = spec.split_once(':').unwrap_or((spec, "[]"));
    let params: Json = serde_json::from_str(p).with_context(|| format!("bad params in {spec}"))?;
    let params = match params {
        Json::Array(a) => a.into_iter().map(Value::from).collect(),
        other => vec![Value::from(other)],
    };
    Ok((m.to_string(), params))
}

async fn run(url: &str, clients: usize, seconds: f64, calls: &[String]) -> Result<()> {
    let calls: Arc<Vec<(String, Vec<Value>)>> =
        Arc::new(calls.iter().map(|c| parse_call(c)).collect::<Result<_>>()?);
    // one call each first, so a wrong method fails loudly before timing
    let mut probe = Client::new(url)?;
    for (m, p) in calls.iter() {
        probe.call(m, p).await?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut handles = vec![];
    for n in 0..clients {
        let (calls, stop, url) = (calls.clone(), stop.clone(), url.to_string());
        handles.push(tokio::spawn(async move {
            let mut c = Client::new(&url)?;
            c.parse = false;
            let mut lat = Vec::with_capacity(1 << 16);
            let mut errors = 0u64;
            let mut i = n;
            while !stop.load(Ordering::Relaxed) {
                let (m, p) = &calls[i % calls.len()];
                i += 1;
                let t = Instant::now();
                match c.call(m, p).await {
                    Ok(_) => lat.push(t.elapsed()),
                    Err(_) => errors += 1,
                }
            }
            anyhow::Ok((lat, errors))
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = vec![];
    let mut errors = 0;
    for h in handles {
        let (lat, e) = h.await??;
        all.extend(lat);
        errors += e;
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let ms: Vec<f64> = all.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    let pct = |q: f64| {
        if ms.is_empty() {
            0.0
        } else {
            percentile(&ms, q)
        }
    };
    let names: Vec<&str> = calls.iter().map(|(m, _)| m.as_str()).collect();
    println!(
        "calls={} clients={clients} seconds={elapsed:.1} ok={} errors={errors} rate={:.0}/s p50={:.2}ms p90={:.2}ms p99={:.2}ms max={:.2}ms",
        names.join("+"),
        all.len(),
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(1.0),
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Setup {
            url,
            user,
            password,
            tags,
            packages,
        } => setup(&url, &user, &password, tags, packages).await,
        Cmd::Run {
            url,
            clients,
            seconds,
            call,
        } => run(&url, clients, seconds, &call).await,
        Cmd::Dataset {
            db,
            packages,
            builds_per_package,
            rpms_per_build,
        } => {
            let spec = dataset::Spec {
                packages,
                builds_per_package,
                rpms_per_build,
            };
            dataset::generate(&db, &spec).await
        }
        Cmd::Scheduler {
            db,
            hosts,
            tasks,
            repeat,
        } => tasks::scheduler(&db, hosts, tasks, repeat).await,
        Cmd::Builds {
            url,
            user,
            password,
            target,
            dest_tag,
            srpm,
        } => {
            let mut c = Client::new(&url)?;
            c.login(&user, &password).await?;
            tasks::builds(&mut c, &target, &dest_tag, &srpm).await
        }
        Cmd::Latency {
            db,
            repeat,
            cold,
            encode,
            call,
        } => latency(&db, repeat, cold, encode, &call).await,
    }
}

async fn latency(
    db_url: &str,
    repeat: usize,
    cold: bool,
    encode: bool,
    calls: &[String],
) -> Result<()> {
    use koji_core::api::{Ctx, Registry};
    let hub = koji_core::Hub::open(db_url, koji_core::HubConfig::default()).await?;
    let caller = Arc::new(koji_core::Caller::anonymous("127.0.0.1"));
    for spec in calls {
        let (m, p) = spec.split_once(':').unwrap_or((spec, "[]"));
        let params: Json =
            serde_json::from_str(p).with_context(|| format!("bad params in {spec}"))?;
        let params = match params {
            Json::Array(a) => a,
            other => vec![other],
        };
        let mut lat = vec![];
        let mut size = 0usize;
        for _ in 0..repeat.max(1) {
            if cold {
                hub.db().bump_generation();
            }
            let ctx = Ctx {
                hub: hub.clone(),
                caller: caller.clone(),
            };
            let t = Instant::now();
            // as the XML-RPC endpoint calls it: the answer shared with the
            // result cache, not copied out of it
            let v = Registry::standard()
                .dispatch_shared(ctx, m, params.clone())
                .await
                .map_err(|e| anyhow!("{m}: {e}"))?;
            if encode {
                let body = koji_core::xmlrpc::write_json_response(&v);
                std::hint::black_box(body.len());
            }
            lat.push(t.elapsed());
            size = match &*v {
                Json::Array(a) => a.len(),
                Json::Null => 0,
                _ => 1,
            };
        }
        lat.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let lat: Vec<f64> = lat.into_iter().map(ms).collect();
        let p = |q: f64| percentile(&lat, q);
        println!(
            "{m}{} {}: n={} items={size} p50={:.1}ms p90={:.1}ms max={:.1}ms",
            match (cold, encode) {
                (true, true) => " (cold, encoded)",
                (true, false) => " (cold)",
                (false, true) => " (encoded)",
                (false, false) => "",
            },
            p_short(p_str(&params)),
            lat.len(),
            p(0.5),
            p(0.9),
            p(1.0),
        );
    }
    Ok(())
}

/// The `q` quantile (0..=1) of sorted values (NaN if there are none).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn p_str(params: &[Json]) -> String {
    Json::Array(params.to_vec()).to_string()
}

fn p_short(s: String) -> String {
    if s.len() > 80 {
        format!("{}...", &s[..77])
    } else {
        s
    }
}
