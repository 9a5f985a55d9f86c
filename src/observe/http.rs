//! The HTTP endpoint: `/metrics` (Prometheus text), `/healthz` (alive) and
//! `/readyz` (every zone synced within its SOA expire, no sync past its
//! deadline; else which zones are not and why). Each request is
//! read with a size and time limit and answered on a fresh connection.
//! At most `HttpLimits::connections` are served at once; others are closed at
//! once, so idle connections cannot use up the daemon's file descriptors
//! (the SOA queries and transfers need them).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::config::HttpLimits;
use crate::dns::wire::unix_now;
use crate::observe::metrics::{Metrics, CONTENT_TYPE};
use crate::refusals::Refusals;

const MAX_REQUEST: usize = 8192;

pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, limits: HttpLimits) {
    let slots = Arc::new(Semaphore::new(limits.connections));
    let (refusals, accept_errors) = (Refusals::default(), Refusals::default());
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // e.g. out of file descriptors: /metrics and probes go unanswered
                if let Some(n) = accept_errors.note(std::time::Instant::now()) {
                    tracing::warn!(errors = n, "HTTP endpoint: {n} accept error(s) since the last such line, the last: {e}");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics.count_http_refused();
            if let Some(n) = refusals.note(std::time::Instant::now()) {
                tracing::warn!(refused = n, "HTTP endpoint: {n} connection(s) refused since the last such line: all {} slots taken (limits.http_connections); a monitoring probe may fail. Look for clients holding connections idle, or raise the limit", limits.connections);
            }
            continue; // dropping the stream closes it
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            if tokio::time::timeout(limits.deadline, answer(stream, &metrics))
                .await
                .is_err()
            {
                metrics.count_http_deadline();
            }
            drop(slot);
        });
    }
}

async fn answer(mut stream: TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < MAX_REQUEST {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&request);
    let path = line.split_whitespace().nth(1).unwrap_or("");
    let now = u64::from(unix_now());
    let (status, body) = match path {
        "/metrics" => ("200 OK", metrics.render(now)),
        "/healthz" => ("200 OK", "ok\n".to_string()),
        "/readyz" => match metrics.not_ready(now) {
            zones if zones.is_empty() => ("200 OK", "ready\n".to_string()),
            zones => (
                "503 Service Unavailable",
                format!("not ready:\n{}\n", zones.join("\n")),
            ),
        },
        _ => ("404 Not Found", "not found\n".to_string()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {CONTENT_TYPE}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
