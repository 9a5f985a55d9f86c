//! The real `xfr53 daemon` as a process, its HTTP endpoint, and signals.
//! Killed when the handle is dropped.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::setup::Setup;

pub struct Daemon {
    child: tokio::process::Child,
    http: u16,
    log: std::path::PathBuf,
}

impl Daemon {
    /// Starts the daemon on `setup`'s configuration (which must listen).
    pub fn start(setup: &Setup, http: u16) -> Daemon {
        Daemon::spawn(setup, setup.command(&["daemon"]), http)
    }

    /// Starts the daemon on the configuration `config` (which must listen
    /// with HTTP on `http`), signing with the access key ID `access_key`.
    pub fn start_as(
        setup: &Setup,
        config: &std::path::Path,
        access_key: &str,
        http: u16,
    ) -> Daemon {
        Daemon::spawn(
            setup,
            setup.command_as(config, access_key, &["daemon"]),
            http,
        )
    }

    fn spawn(setup: &Setup, mut command: tokio::process::Command, http: u16) -> Daemon {
        let log = setup
            .dir
            .path()
            .join(format!("daemon-{}.log", rand::random::<u32>()));
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("xfr53 daemon starts");
        Daemon { child, http, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// (status, body) of `GET path`, or `None` when nothing answers.
    pub async fn get(&self, path: &str) -> Option<(u16, String)> {
        http_get(self.http, path).await
    }

    /// The value of the metric line starting with `series` (name and labels).
    pub async fn metric(&self, series: &str) -> Option<f64> {
        metric(self.http, series).await
    }

    pub fn signal(&self, name: &str) {
        let pid = self.pid().to_string();
        let status = std::process::Command::new("kill")
            .args(["-s", name, &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit; its exit code.
    pub async fn wait(&mut self, limit: Duration) -> Option<i32> {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .ok()?
            .ok()?
            .code()
    }
}

/// (status, body) of `GET path` on 127.0.0.1:`port`, or `None` when
/// nothing answers.
pub async fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nhost: test\r\n\r\n").as_bytes())
        .await
        .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.ok()?;
    let status = answer.split_whitespace().nth(1)?.parse().ok()?;
    let body = answer.split_once("\r\n\r\n")?.1.to_string();
    Some((status, body))
}

/// The value of the metric line starting with `series` (name and labels)
/// on the endpoint at `port`.
pub async fn metric(port: u16, series: &str) -> Option<f64> {
    let (_, body) = http_get(port, "/metrics").await?;
    body.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Polls `check` every 50 ms until it holds or `limit` passes.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
