//! moto's server as the Route 53 API, behind a recording proxy so tests can
//! count and read every request xfr53 sends. Started on free loopback ports
//! and stopped when the handle is dropped.
//!
//! moto runs through `scripts/moto_route53_strict.py`, which patches one
//! method at start-up. moto 5.2.5 checks a change batch against a journal
//! of past changes instead of the zone: it refuses a CREATE repeating any
//! earlier identical CREATE whenever a later name exists, and a DELETE
//! removes the set by name and type without comparing its values. So a
//! value changed and changed back (the commonest edit) failed on moto,
//! while a stale DELETE passed. The wrapper applies Route 53's rule in
//! order within the batch: CREATE of an existing set refused, DELETE that
//! does not match name, type, TTL and values exactly refused, all or
//! nothing. Everything else is moto's own.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::http::{serve, Request, Response, Server};
use super::programs::free_port;

pub struct Moto {
    child: Child,
    proxy: Server,
    requests: Arc<Mutex<Vec<Request>>>,
}

/// (python, wrapper) when moto is installed in the worktree's venv.
fn moto_server() -> Option<(PathBuf, PathBuf)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    super::programs::venv("moto_server")?;
    Some((
        root.join(".venv/bin/python"),
        root.join("scripts/moto_route53_strict.py"),
    ))
}

impl Moto {
    pub async fn start() -> Option<Moto> {
        let (python, wrapper) = moto_server()?;
        // ready once its API answers, not once its port accepts; a port
        // taken between free_port and moto's bind ends moto: start again
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut attempts = 0;
        let (child, upstream) = loop {
            attempts += 1;
            let port = free_port();
            let log = tempfile::NamedTempFile::new().expect("a temporary file for moto's log");
            let mut child = Command::new(&python)
                .arg(&wrapper)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(log.reopen().expect("moto's log reopens"))
                .spawn()
                .expect("moto_server starts");
            let upstream = format!("127.0.0.1:{port}");
            match answers(&mut child, &upstream, deadline).await {
                Ok(()) => break (child, upstream),
                Err(exit) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let log = std::fs::read_to_string(log.path()).unwrap_or_default();
                    assert!(
                        exit.is_some() && attempts < 5 && Instant::now() < deadline,
                        "moto (scripts/moto_route53_strict.py) did not answer on {upstream} (attempt {attempts} of 5, 120 s in all; {exit:?}); its log:\n{log}"
                    );
                }
            }
        };
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let proxy = serve(move |request| {
            let upstream = upstream.clone();
            let recorded = recorded.clone();
            async move {
                recorded.lock().unwrap().push(request.clone());
                forward(&upstream, &request).await
            }
        })
        .await;
        Some(Moto {
            child,
            proxy,
            requests,
        })
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.proxy.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

/// Waits until `child` answers its API on `upstream`: `Err(Some(status))`
/// when it ended first, `Err(None)` at `deadline`.
async fn answers(
    child: &mut Child,
    upstream: &str,
    deadline: Instant,
) -> Result<(), Option<std::process::ExitStatus>> {
    let probe = Request {
        method: "GET".into(),
        target: "/moto-api/".into(),
        headers: vec![("host".into(), upstream.to_string())],
        body: Vec::new(),
        at: std::time::Instant::now(),
    };
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Some(status));
        }
        if matches!(
            forward(upstream, &probe).await,
            Response::Reply { status: 200, .. }
        ) {
            // the answer was ours only if moto still runs (another
            // server may have the port)
            return match child.try_wait() {
                Ok(Some(status)) => Err(Some(status)),
                _ => Ok(()),
            };
        }
        if Instant::now() >= deadline {
            return Err(None);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `request` to moto on a fresh connection and returns its answer.
async fn forward(upstream: &str, request: &Request) -> Response {
    let Ok(mut stream) = TcpStream::connect(upstream).await else {
        return Response::Drop;
    };
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.target);
    for (name, value) in &request.headers {
        if name != "connection" {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str("connection: close\r\n\r\n");
    if stream.write_all(head.as_bytes()).await.is_err()
        || stream.write_all(&request.body).await.is_err()
    {
        return Response::Drop;
    }
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    if reader.read_line(&mut status_line).await.is_err() {
        return Response::Drop;
    }
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(502);
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse::<usize>().ok();
            }
        }
    }
    let mut body = Vec::new();
    match length {
        Some(n) => {
            body.resize(n, 0);
            if reader.read_exact(&mut body).await.is_err() {
                return Response::Drop;
            }
        }
        None => {
            let _ = reader.read_to_end(&mut body).await;
        }
    }
    Response::Reply {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}
