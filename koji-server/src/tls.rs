//! HTTPS for the hub (what Apache's mod_ssl does for upstream's): rustls on
//! a second listener, with optional client certificates. A certificate
//! that chains to the configured client CA reaches the handlers as a
//! [`ClientTls`] request extension, which `sslLogin` authenticates with;
//! one that does not ends the handshake. Clients without a certificate
//! are served as on the plain listener.

use anyhow::{Context, Result};
use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use koji_core::{ClientCert, ClientTls};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A bound HTTPS listener and its TLS settings.
pub struct TlsListener {
    pub listener: tokio::net::TcpListener,
    pub config: Arc<rustls::ServerConfig>,
}

/// The server's TLS settings: its certificate chain and key (PEM), and the
/// CA(s) whose client certificates are accepted (none: no client
/// certificates are asked for).
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<Arc<rustls::ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = read_certs(cert)?;
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("cannot read a private key from {}", key.display()))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in read_certs(ca)? {
                roots
                    .add(c)
                    .with_context(|| format!("bad CA certificate in {}", ca.display()))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .allow_unauthenticated()
            .build()?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .context("the certificate does not match its key")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("bad PEM in {}", path.display()))?;
    if certs.is_empty() {
        anyhow::bail!("no certificate in {}", path.display());
    }
    Ok(certs)
}

/// What the handshake established about the client.
fn client_tls(conn: &rustls::ServerConnection) -> ClientTls {
    let cert = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|der| ClientCert {
            subject: subject_of(der),
        });
    ClientTls { cert }
}

/// The subject's attributes in certificate order, under mod_ssl's short
/// names (unknown attribute types under their dotted OID).
pub fn subject_of(der: &[u8]) -> Vec<(String, String)> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return vec![];
    };
    let mut out = vec![];
    for rdn in cert.subject().iter() {
        for attr in rdn.iter() {
            let oid = attr.attr_type().to_id_string();
            let name = match oid.as_str() {
                "2.5.4.3" => "CN",
                "2.5.4.4" => "SN",
                "2.5.4.5" => "serialNumber",
                "2.5.4.6" => "C",
                "2.5.4.7" => "L",
                "2.5.4.8" => "ST",
                "2.5.4.9" => "street",
                "2.5.4.10" => "O",
                "2.5.4.11" => "OU",
                "2.5.4.12" => "title",
                "2.5.4.42" => "GN",
                "2.5.4.43" => "initials",
                "2.5.4.46" => "dnQualifier",
                "0.9.2342.19200300.100.1.1" => "UID",
                "0.9.2342.19200300.100.1.25" => "DC",
                "1.2.840.113549.1.9.1" => "emailAddress",
                other => other,
            };
            if let Ok(v) = attr.as_str() {
                out.push((name.to_string(), v.to_string()));
            }
        }
    }
    out
}

/// Serves `app` over TLS on `tls` until `shutdown` resolves. Each
/// connection's requests carry its peer address (`ConnectInfo`) and its
/// [`ClientTls`].
pub async fn serve(
    app: Router,
    tls: TlsListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.config);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            r = tls.listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // e.g. out of file descriptors: wait, do not stop serving
                    tracing::warn!(error = %e, "https accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => return Ok(()),
        };
        // no Nagle, as on the plain listener
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let stream =
                match tokio::time::timeout(Duration::from_secs(30), acceptor.accept(tcp)).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake timed out");
                        return;
                    }
                };
            let info = Arc::new(client_tls(stream.get_ref().1));
            let svc = tower::ServiceExt::map_request(
                app,
                move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    req.extensions_mut().insert(info.clone());
                    req
                },
            );
            let svc = hyper_util::service::TowerToHyperService::new(svc);
            if let Err(e) = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection_with_upgrades(TokioIo::new(stream), svc)
                .await
            {
                tracing::debug!(%peer, error = %e, "https connection ended");
            }
        });
    }
}
