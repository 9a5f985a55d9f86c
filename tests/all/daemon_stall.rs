//! Nothing stalls a zone silently: a primary that trickles its transfer
//! (real BIND bytes, a few a second, so no single read ever times out)
//! runs into the sync's deadline. The sync is counted as a timeout, the
//! zone turns not ready, an alert goes out, the sync is retried, and the
//! zone recovers once the primary answers at full speed again, by IXFR:
//! a timeout keeps the zone copy last saved whole.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

use crate::support::bind;
use crate::support::daemon::{eventually, Daemon};
use crate::support::programs::free_port;
use crate::support::route53_backend::Kind;
use crate::support::setup::{expected, managed, Setup};
use crate::support::sns::{published, topic};
use crate::support::zones::generated;

/// Bytes passed per second while trickling.
const TRICKLE: usize = 4;

/// A primary in front of `upstream` (UDP and TCP on one port): SOA queries
/// pass as they are; transfer answers pass at full speed, or `TRICKLE`
/// bytes a second while `trickle` is set.
struct TricklingPrimary {
    addr: SocketAddr,
    trickle: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for TricklingPrimary {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl TricklingPrimary {
    async fn start(upstream: SocketAddr) -> TricklingPrimary {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let udp = Arc::new(UdpSocket::bind(addr).await.unwrap());
        let trickle = Arc::new(AtomicBool::new(false));
        let slow = trickle.clone();
        let tcp_task = tokio::spawn(async move {
            while let Ok((client, _)) = tcp.accept().await {
                tokio::spawn(forward_tcp(client, upstream, slow.clone()));
            }
        });
        let udp_task = tokio::spawn(async move {
            let mut buf = vec![0u8; 65535];
            while let Ok((n, from)) = udp.recv_from(&mut buf).await {
                let (udp, query) = (udp.clone(), buf[..n].to_vec());
                tokio::spawn(async move {
                    let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                    server.send_to(&query, upstream).await.unwrap();
                    let mut answer = vec![0u8; 65535];
                    let wait = Duration::from_secs(2);
                    if let Ok(Ok(n)) = tokio::time::timeout(wait, server.recv(&mut answer)).await {
                        let _ = udp.send_to(&answer[..n], from).await;
                    }
                });
            }
        });
        TricklingPrimary {
            addr,
            trickle,
            tasks: vec![tcp_task, udp_task],
        }
    }

    fn set_trickle(&self, on: bool) {
        self.trickle.store(on, Ordering::SeqCst);
    }
}

async fn forward_tcp(client: TcpStream, upstream: SocketAddr, trickle: Arc<AtomicBool>) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let queries = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
    });
    let mut buf = vec![0u8; 65535];
    while let Ok(n) = server_read.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let chunk = match trickle.load(Ordering::SeqCst) {
            true => TRICKLE,
            false => n,
        };
        for part in buf[..n].chunks(chunk) {
            if client_write.write_all(part).await.is_err() {
                queries.abort();
                return;
            }
            if trickle.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    queries.abort();
}

const ZONE: &str = "stall.test";

async fn ready(daemon: &Daemon) -> bool {
    daemon.get("/readyz").await.map(|(status, _)| status) == Some(200)
}

async fn synced(setup: &Setup) -> bool {
    managed(setup.contents(ZONE).await, ZONE) == expected(&setup.bind, ZONE).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickling_transfer_hits_the_sync_deadline_and_the_zone_recovers() {
    // refresh and retry 1 s: the daemon asks for the SOA every second
    let text = generated(ZONE, 20).replace(" 1 3600 600 86400 60", " 1 1 1 86400 60");
    let Some(setup) = Setup::start(Kind::Moto, vec![bind::Zone::new(ZONE, text)]).await else {
        return;
    };
    let sns = setup.backend.endpoint();
    let topic = topic(&sns, "xfr53-stall").await;
    let primary = TricklingPrimary::start(setup.bind.addr).await;
    let (dns, http) = (free_port(), free_port());
    setup.write_config(
        Some((dns, http)),
        "min_refresh_seconds = 1\nsync_timeout_seconds = 3",
        &[ZONE],
    );
    let config = std::fs::read_to_string(setup.config_path())
        .unwrap()
        .replace(
            &format!("\"{}\"", setup.bind.addr),
            &format!("\"{}\"", primary.addr),
        );
    let config = format!(
        "{config}\n[alerts]\nsns_topic_arn = \"{topic}\"\ngrace_seconds = 1\nendpoint = \"{sns}\"\n"
    );
    std::fs::write(setup.config_path(), config).unwrap();
    let daemon = Daemon::start(&setup, http);
    assert!(
        eventually(Duration::from_secs(30), || async {
            ready(&daemon).await && synced(&setup).await
        })
        .await,
        "{}",
        daemon.log()
    );

    // the IXFR of this change takes about a minute at this pace
    primary.set_trickle(true);
    setup
        .bind
        .nsupdate(ZONE, &format!("update add new.{ZONE}. 300 A 192.0.2.99"));
    let timeouts = format!("xfr53_syncs_total{{zone=\"{ZONE}.\",result=\"timeout\"}}");
    assert!(
        eventually(Duration::from_secs(15), || async {
            daemon.metric(&timeouts).await >= Some(1.0)
        })
        .await,
        "no sync timed out\n{}",
        daemon.log()
    );
    let (status, body) = daemon.get("/readyz").await.expect("/readyz answers");
    assert_eq!(
        status, 503,
        "a zone whose sync ran out of time is not ready"
    );
    assert!(
        body.contains(&format!("{ZONE}.: a sync")),
        "/readyz names the zone and why: {body}"
    );
    assert_eq!(
        daemon
            .metric(&format!("xfr53_ready{{zone=\"{ZONE}.\"}}"))
            .await,
        Some(0.0)
    );
    // retried with backoff, and timing out again while the primary trickles
    assert!(
        eventually(Duration::from_secs(15), || async {
            daemon.metric(&timeouts).await >= Some(2.0)
        })
        .await,
        "the sync was not retried\n{}",
        daemon.log()
    );
    assert!(!ready(&daemon).await);
    assert!(
        eventually(Duration::from_secs(10), || async {
            !published(setup.backend.requests()).is_empty()
        })
        .await,
        "no alert\n{}",
        daemon.log()
    );
    let alert = &published(setup.backend.requests())[0];
    assert!(
        alert.contains("failing") && alert.contains("sync_timeout_seconds"),
        "{alert}"
    );

    primary.set_trickle(false);
    assert!(
        eventually(Duration::from_secs(30), || async {
            ready(&daemon).await && synced(&setup).await
        })
        .await,
        "the zone did not recover\n{}",
        daemon.log()
    );
    // the timed-out syncs kept the zone copy last saved whole, so the
    // change comes by IXFR, not by transferring the whole zone again
    let log = daemon.log();
    let transfers: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("zone transferred"))
        .collect();
    let kind = |k: &str| {
        let k = format!("kind=\"{k}\"");
        transfers.iter().filter(|l| l.contains(&k)).count()
    };
    assert_eq!(kind("AXFR"), 1, "only the first sync: {transfers:#?}");
    assert!(kind("IXFR") >= 1, "{transfers:#?}");
}
