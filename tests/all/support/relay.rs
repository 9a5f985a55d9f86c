//! A UDP relay in front of the daemon's NOTIFY port that notes when each
//! message from the primary arrives: where the benches start the clock.

use std::time::Instant;

/// A UDP relay from `port` to the daemon on `to`, noting when each message
/// from BIND arrives.
#[allow(dead_code)] // the benches' (they share this module with the tests)
pub async fn relay(port: u16, to: u16) -> std::sync::Arc<std::sync::Mutex<Vec<Instant>>> {
    let arrivals = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let noted = arrivals.clone();
    let outside = tokio::net::UdpSocket::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let inside = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    inside.connect(("127.0.0.1", to)).await.unwrap();
    tokio::spawn(async move {
        let (mut from_bind, mut from_daemon) = ([0u8; 4096], [0u8; 4096]);
        let mut bind_addr = None;
        loop {
            tokio::select! {
                Ok((n, source)) = outside.recv_from(&mut from_bind) => {
                    noted.lock().unwrap().push(Instant::now());
                    bind_addr = Some(source);
                    let _ = inside.send(&from_bind[..n]).await;
                }
                Ok(n) = inside.recv(&mut from_daemon) => {
                    if let Some(addr) = bind_addr {
                        let _ = outside.send_to(&from_daemon[..n], addr).await;
                    }
                }
            }
        }
    });
    arrivals
}
