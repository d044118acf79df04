//! Assignments pushed by the hub: the `Builder.WatchTasks` gRPC stream
//! (koji-proto), served on the hub's own port. Each event wakes the
//! daemon's loop at once; if the stream cannot be had (an upstream hub, a
//! proxy without HTTP/2), the loop still polls every `sleeptime`.

use koji_proto::v1::builder_client::BuilderClient;
use koji_proto::v1::WatchTasksRequest;
use std::time::Duration;

/// The hub's base URL (`http://host:port`) from its XML-RPC URL.
pub(crate) fn base_url(server: &str) -> String {
    let s = server.trim_end_matches('/');
    s.strip_suffix("/kojihub").unwrap_or(s).to_string()
}

/// Follows the hub's task events for the host logged in as `session`;
/// the receiver moves on every event.
pub fn follow(server: &str, session: (i64, String)) -> tokio::sync::watch::Receiver<u64> {
    let (tx, rx) = tokio::sync::watch::channel(0u64);
    let base = base_url(server);
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(200);
        loop {
            match watch(&base, &session, &tx).await {
                Ok(()) => return, // the daemon is gone
                Err(e) => {
                    tracing::debug!(error = %e, "task stream unavailable; polling");
                    if tx.is_closed() {
                        return;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    });
    rx
}

async fn watch(
    base: &str,
    session: &(i64, String),
    tx: &tokio::sync::watch::Sender<u64>,
) -> anyhow::Result<()> {
    let mut client = BuilderClient::connect(base.to_string()).await?;
    let mut stream = client
        .watch_tasks(WatchTasksRequest {
            session_id: session.0,
            session_key: session.1.clone(),
        })
        .await?
        .into_inner();
    tracing::info!("following the hub's task events");
    while let Some(ev) = stream.message().await? {
        tracing::debug!(assigned = ?ev.assigned, open = ?ev.open, "task event");
        if tx.is_closed() {
            return Ok(());
        }
        tx.send_modify(|n| *n = n.wrapping_add(1));
    }
    anyhow::bail!("the hub closed the task stream")
}

#[cfg(test)]
mod tests {
    #[test]
    fn base_urls() {
        assert_eq!(super::base_url("http://h:8080/kojihub"), "http://h:8080");
        assert_eq!(super::base_url("http://h:8080/kojihub/"), "http://h:8080");
        assert_eq!(super::base_url("http://h"), "http://h");
    }
}
