//! `/kojihub`: upstream Koji's XML-RPC endpoint.
//!
//! Reads the body (bounded), finds the session in the `Koji-Session-*`
//! headers or the legacy query parameters, and hands the call to the
//! standard [`Registry`]. Every error becomes an XML-RPC fault with
//! upstream's code.

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{ConnectInfo, Extension, Query, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use koji_core::api::{Ctx, Registry};
use koji_core::hub::auth::{Auth, Credentials};
use koji_core::hub::cache::ResultCache;
use koji_core::xmlrpc;
use koji_core::{Caller, ClientTls, Error, Hub};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// The endpoint's state: the hub, and the encoded answers of cacheable
/// reads keyed by request body (valid for one database generation, like
/// the hub's own result cache).
#[derive(Clone)]
struct State_ {
    hub: Hub,
    encoded: Arc<ResultCache<Encoded, Vec<u8>>>,
}

/// A cached answer, and its gzip form once a client that accepts gzip
/// (python-requests, hence upstream's client) has asked for it.
struct Encoded {
    plain: Bytes,
    gzip: std::sync::OnceLock<Bytes>,
}

/// Answers smaller than this go out as they are; larger cached ones are
/// compressed once per cache entry when the client accepts gzip.
const GZIP_MIN: usize = 1024;
/// Compressing more than this at once would hold one answer back too long.
const GZIP_MAX: usize = 16 * 1024 * 1024;

/// Whether the request's `Accept-Encoding` allows gzip (not `gzip;q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let q_zero = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !q_zero
        })
}

fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 4),
        flate2::Compression::fast(),
    );
    enc.write_all(data)?;
    enc.finish()
}

/// A cached answer for this client: gzip-compressed (computed once per
/// entry, off the async threads) when it accepts that and it is worth it.
async fn cached_response(hit: Arc<Encoded>, gzip_ok: bool) -> Response {
    let size = hit.plain.len();
    if !gzip_ok || !(GZIP_MIN..=GZIP_MAX).contains(&size) {
        return xml(Bytes::clone(&hit.plain));
    }
    let body = match hit.gzip.get() {
        Some(z) => Some(z.clone()),
        None => {
            let entry = hit.clone();
            tokio::task::spawn_blocking(move || {
                gzip(&entry.plain)
                    .ok()
                    .map(|z| entry.gzip.get_or_init(|| Bytes::from(z)).clone())
            })
            .await
            .ok()
            .flatten()
        }
    };
    match body {
        Some(z) => (
            [
                (header::CONTENT_TYPE, "text/xml"),
                (header::CONTENT_ENCODING, "gzip"),
                (header::VARY, "Accept-Encoding"),
            ],
            z,
        )
            .into_response(),
        None => xml(Bytes::clone(&hit.plain)),
    }
}

pub fn router(hub: Hub) -> Router {
    let state = State_ {
        hub,
        // weights in KiB: at most 512 MiB of encoded answers, 128 MiB each
        encoded: Arc::new(ResultCache::with_max_weight(512 * 1024)),
    };
    Router::new()
        .route("/kojihub", post(handle).get(not_post))
        .route("/kojihub/", post(handle).get(not_post))
        // upstream's client sends sslLogin here (mod_ssl asks for the
        // client certificate on this location)
        .route("/kojihub/ssllogin", post(handle).get(not_post))
        .with_state(state)
}

async fn not_post() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(header::ALLOW, "POST")],
        "Method Not Allowed: XML-RPC needs POST\n",
    )
        .into_response()
}

fn xml(body: impl Into<Body>) -> Response {
    ([(header::CONTENT_TYPE, "text/xml")], body.into()).into_response()
}

fn fault(e: &Error) -> Response {
    xml(xmlrpc::write_fault(e.fault_code(), &e.to_string()))
}

async fn handle(
    State(State_ { hub, encoded }): State<State_>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    tls: Option<Extension<Arc<ClientTls>>>,
    Query(query): Query<HashMap<String, String>>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if is_raw_upload(&headers) {
        let hostip = peer.ip().to_string();
        let raw_query = raw_query.unwrap_or_default();
        return match raw_upload(&hub, &headers, &query, &raw_query, &hostip, body).await {
            Ok(v) => xml(xmlrpc::write_json_response(&v)),
            Err(e) => {
                tracing::debug!(code = e.fault_code(), error = %e, "upload fault");
                fault(&e)
            }
        };
    }
    let limit = hub.config().max_request_length;
    let bytes = match to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => return fault(&Error::Generic("Request too long".into())),
    };
    let call = match xmlrpc::parse_call(&bytes) {
        Ok(c) => c,
        Err(e) => {
            return xml(xmlrpc::write_fault(
                1,
                &format!("<class 'xml.parsers.expat.ExpatError'>: {e}"),
            ))
        }
    };
    let hostip = peer.ip().to_string();
    let caller = match authenticate(&hub, &headers, &query, &hostip, &call.name).await {
        Ok(c) => Caller {
            tls: tls.map(|Extension(t)| t),
            ..c
        },
        Err(e) => return fault(&e),
    };
    let gzip_ok = accepts_gzip(&headers);
    let registry = Registry::standard();
    let cacheable = registry.get(&call.name).is_some_and(|m| m.cacheable)
        && Auth::enforce_lock(&caller, &call.name).is_ok();
    let generation = hub.db().generation();
    if cacheable {
        if let Some(hit) = encoded.get(bytes.as_ref(), generation) {
            return cached_response(hit, gzip_ok).await;
        }
    }
    let ctx = Ctx {
        hub,
        caller: Arc::new(caller),
    };
    let params = call
        .params
        .into_iter()
        .map(serde_json::Value::from)
        .collect();
    match registry.dispatch_shared(ctx, &call.name, params).await {
        Ok(v) => {
            let body = Bytes::from(xmlrpc::write_json_response(&v));
            if cacheable {
                let weight = body.len() / 1024;
                let entry = Arc::new(Encoded {
                    plain: body,
                    gzip: Default::default(),
                });
                encoded.put_weighted(bytes.to_vec(), generation, entry.clone(), weight);
                return cached_response(entry, gzip_ok).await;
            }
            xml(body)
        }
        Err(e) => {
            tracing::debug!(method = %call.name, code = e.fault_code(), error = %e, "fault");
            fault(&e)
        }
    }
}

/// Upstream routes a POST by its content type alone: an
/// `application/octet-stream` body is a raw upload (`fastUpload`).
fn is_raw_upload(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/octet-stream")
}

/// A raw upload: the file's name, directory, offset and checksum kind are
/// in the query string, the chunk is the body (streamed to the file, not
/// bounded by `max_request_length`, as upstream). The session is checked
/// as for any call (upstream's method name is `None` here); the answer is
/// an XML-RPC response holding `{size, fileverify, offset, hexdigest}`.
async fn raw_upload(
    hub: &Hub,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    raw_query: &str,
    hostip: &str,
    body: Body,
) -> Result<serde_json::Value, Error> {
    let caller = authenticate(hub, headers, query, hostip, "None").await?;
    Auth::enforce_lock(&caller, "None")?;
    let req = koji_core::hub::uploads::RawUpload::from_query(raw_query)?;
    hub.uploads()
        .raw_upload(&caller, &req, body.into_data_stream())
        .await
}

/// Reads session credentials from the headers (preferred) or, when the hub
/// allows it, the legacy `session-id`/`session-key`/`callnum` query
/// parameters, and validates them.
async fn authenticate(
    hub: &Hub,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    hostip: &str,
    method: &str,
) -> Result<Caller, Error> {
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let creds = if let Some(id) = h("Koji-Session-Id") {
        Credentials {
            session_id: id
                .trim()
                .parse()
                .map_err(|_| Error::Auth(format!("Invalid session id: {id}")))?,
            session_key: h("Koji-Session-Key").unwrap_or_default().to_string(),
            callnum: parse_callnum(h("Koji-Session-Callnum").or(h("Koji-Callnum")))?,
        }
    } else if hub.config().url_sessions && query.contains_key("session-id") {
        let id = &query["session-id"];
        Credentials {
            session_id: id
                .trim()
                .parse()
                .map_err(|_| Error::Auth(format!("Invalid session id: {id}")))?,
            session_key: query
                .get("session-key")
                .cloned()
                .ok_or_else(|| Error::Auth("'session-key' not specified in session args".into()))?,
            callnum: parse_callnum(query.get("callnum").map(String::as_str))?,
        }
    } else {
        return Ok(Caller::anonymous(hostip));
    };
    hub.auth().authenticate(&creds, hostip, method).await
}

fn parse_callnum(v: Option<&str>) -> Result<Option<i64>, Error> {
    match v {
        None => Ok(None),
        Some(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| Error::Auth(format!("Invalid callnum: '{s}'"))),
    }
}
