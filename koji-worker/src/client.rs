//! A client of the hub's XML-RPC endpoint, as upstream's `ClientSession`
//! talks to it: session headers with a call number, keyword arguments in
//! a trailing `__starstar` struct, faults as typed errors, and uploads with
//! the raw POST upstream's `fastUpload` uses.

use anyhow::{anyhow, Context as _, Result};
use koji_core::xmlrpc::{self, Response, Value};
use serde_json::{json, Value as Json};
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};

/// A fault the hub answered, with upstream's code.
#[derive(Debug, Clone)]
pub struct Fault {
    pub code: i32,
    pub message: String,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for Fault {}

/// A logged-in (or anonymous) session with the hub.
pub struct Hub {
    http: reqwest::Client,
    url: String,
    session: Option<(i64, String)>,
    callnum: AtomicI64,
}

/// Keyword arguments for [`Hub::call`].
pub fn kw(v: Json) -> Json {
    let mut v = v;
    if let Json::Object(m) = &mut v {
        m.insert("__starstar".into(), json!(true));
    }
    v
}

impl Hub {
    /// A client of the hub at `url` (`.../kojihub`).
    pub fn new(url: &str) -> Result<Hub> {
        Ok(Hub {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(600))
                .build()?,
            url: url.trim_end_matches('/').to_string(),
            session: None,
            callnum: AtomicI64::new(0),
        })
    }

    /// A client on an existing session (a task's subsession).
    pub fn with_session(url: &str, id: i64, key: &str) -> Result<Hub> {
        let mut h = Hub::new(url)?;
        h.session = Some((id, key.to_string()));
        Ok(h)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The session id and key, if logged in.
    pub fn session(&self) -> Option<(i64, String)> {
        self.session.clone()
    }

    fn request(&self, content_type: &str) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .post(&self.url)
            .header("Content-Type", content_type);
        if let Some((id, key)) = &self.session {
            req = req
                .header("Koji-Session-Id", id.to_string())
                .header("Koji-Session-Key", key.as_str())
                .header(
                    "Koji-Session-Callnum",
                    self.callnum.fetch_add(1, Ordering::SeqCst).to_string(),
                );
        }
        req
    }

    /// Calls `method` with `params` (JSON values; use [`kw`] for keyword
    /// arguments). A fault comes back as a [`Fault`] error.
    pub async fn call(&self, method: &str, params: Vec<Json>) -> Result<Json> {
        let params: Vec<Value> = params.iter().map(Value::from_json).collect();
        let body = xmlrpc::write_call(method, &params);
        let resp = self
            .request("text/xml")
            .body(body)
            .send()
            .await
            .with_context(|| format!("{method}: cannot reach the hub at {}", self.url))?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        if !status.is_success() {
            return Err(anyhow!(
                "{method}: HTTP {status}: {}",
                String::from_utf8_lossy(&bytes)
            ));
        }
        match xmlrpc::parse_response(&bytes).map_err(|e| anyhow!("{method}: bad response: {e}"))? {
            Response::Value(v) => Ok(v.to_json()),
            Response::Fault { code, message } => Err(Fault { code, message }.into()),
        }
    }

    /// `login(user, password)`.
    pub async fn login(&mut self, user: &str, password: &str) -> Result<()> {
        let v = self
            .call("login", vec![json!(user), json!(password)])
            .await?;
        let id = v["session-id"]
            .as_i64()
            .ok_or_else(|| anyhow!("login: no session-id in {v}"))?;
        let key = v["session-key"].as_str().unwrap_or_default().to_string();
        self.session = Some((id, key));
        self.callnum.store(0, Ordering::SeqCst);
        Ok(())
    }

    /// `subsession()`: a new session for a task's own process.
    pub async fn subsession(&self) -> Result<(i64, String)> {
        let v = self.call("subsession", vec![]).await?;
        let id = v["session-id"]
            .as_i64()
            .ok_or_else(|| anyhow!("subsession: no session-id in {v}"))?;
        Ok((
            id,
            v["session-key"].as_str().unwrap_or_default().to_string(),
        ))
    }

    /// Uploads `local` to `<topdir>/work/<dir>/<name>` in 1 MiB pieces (the
    /// raw POST of upstream's `fastUpload`), from `offset` on; answers the
    /// new size of the file.
    pub async fn upload(&self, local: &Path, dir: &str, name: &str) -> Result<u64> {
        let meta = tokio::fs::symlink_metadata(local)
            .await
            .with_context(|| format!("reading {}", local.display()))?;
        if !meta.is_file() {
            return Err(anyhow!("{} is not a regular file", local.display()));
        }
        let data = tokio::fs::read(local)
            .await
            .with_context(|| format!("reading {}", local.display()))?;
        self.upload_bytes(&data, dir, name, 0).await?;
        Ok(data.len() as u64)
    }

    /// Uploads `data` at `offset` of `<dir>/<name>` (offset 0 replaces the
    /// file).
    pub async fn upload_bytes(
        &self,
        data: &[u8],
        dir: &str,
        name: &str,
        offset: u64,
    ) -> Result<()> {
        const CHUNK: usize = 1 << 20;
        let mut pos = 0usize;
        loop {
            let end = (pos + CHUNK).min(data.len());
            let chunk = &data[pos..end];
            let sum = adler32(chunk);
            let off = offset + pos as u64;
            let query = [
                ("filename", name.to_string()),
                ("filepath", dir.to_string()),
                ("offset", off.to_string()),
                ("fileverify", "adler32".to_string()),
                ("overwrite", "1".to_string()),
            ];
            let resp = self
                .request("application/octet-stream")
                .query(&query)
                .body(chunk.to_vec())
                .send()
                .await
                .context("upload: cannot reach the hub")?;
            let bytes = resp.bytes().await?;
            match xmlrpc::parse_response(&bytes)
                .map_err(|e| anyhow!("upload: bad response: {e}"))?
            {
                Response::Value(v) => {
                    let v = v.to_json();
                    if v["size"].as_u64() != Some(chunk.len() as u64)
                        || v["hexdigest"].as_str() != Some(&format!("{sum:08x}"))
                    {
                        return Err(anyhow!("upload of {name}: the hub got {v}"));
                    }
                }
                Response::Fault { code, message } => return Err(Fault { code, message }.into()),
            }
            pos = end;
            if pos >= data.len() {
                return Ok(());
            }
        }
    }

    /// `logout()`.
    pub async fn logout(&self) -> Result<()> {
        self.call("logout", vec![]).await.map(|_| ())
    }
}

/// Adler-32, the checksum upstream's uploads are verified with.
pub fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// The fault code of an error, if the hub answered one.
pub fn fault_code(e: &anyhow::Error) -> Option<i32> {
    e.downcast_ref::<Fault>().map(|f| f.code)
}

#[cfg(test)]
mod tests {
    #[test]
    fn adler32_known_values() {
        assert_eq!(super::adler32(b""), 1);
        assert_eq!(super::adler32(b"Wikipedia"), 0x11e6_0398);
    }
}
