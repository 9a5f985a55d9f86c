//! A primary that never sends the closing SOA: records streamed as fast as
//! xfr53 reads them, into `axfr` with the default limits (a zone with
//! Route 53's default quota). Prints the process's RSS every 2 s and how the
//! transfer ended; gives up after 30 s. Run with
//! `cargo bench --bench endless_axfr`; prints figures, asserts nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType};
use hickory_proto::rr::rdata::{A, SOA};
use hickory_proto::rr::{Name as DnsName, RData, Record};
use tokio::net::TcpListener;
use xfr53::core::name::Name;
use xfr53::dns::primary::Primary;
use xfr53::dns::wire::{read_frame, write_frame};

static SENT: AtomicU64 = AtomicU64::new(0);

fn status(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        / 1024
}

/// Serves one AXFR query: the opening SOA, then messages of 200 A records
/// until the reader goes away.
async fn endless_primary(listener: TcpListener) {
    let (mut stream, _) = listener.accept().await.unwrap();
    let bytes = read_frame(&mut stream, 65535, Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    let query = Message::from_vec(&bytes).unwrap();
    let origin = DnsName::from_ascii("endless.test.").unwrap();
    let soa = Record::from_rdata(
        origin.clone(),
        300,
        RData::SOA(SOA::new(origin.clone(), origin.clone(), 1, 1, 1, 1, 1)),
    );
    for round in 0u32.. {
        let mut message = Message::new();
        message
            .set_id(query.id())
            .set_message_type(MessageType::Response)
            .set_authoritative(true);
        if round == 0 {
            message.add_queries(query.queries().to_vec());
            message.add_answer(soa.clone());
        }
        for j in 0..200u32 {
            let i = round * 200 + j;
            let owner = DnsName::from_ascii(format!("h{i}.endless.test.")).unwrap();
            message.add_answer(Record::from_rdata(
                owner,
                300,
                RData::A(A::from(std::net::Ipv4Addr::from(i))),
            ));
        }
        SENT.store(u64::from(round + 1) * 200, Ordering::Relaxed);
        if write_frame(&mut stream, &message.to_vec().unwrap())
            .await
            .is_err()
        {
            return;
        }
    }
}

#[tokio::main]
async fn main() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let primary = Primary::new(listener.local_addr().unwrap(), None);
    tokio::spawn(endless_primary(listener));
    let origin = Name::parse_route53("endless.test").unwrap();
    let start = Instant::now();
    println!("start: RSS {} MiB", status("VmRSS:"));
    let sampler = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            println!(
                "{:>5.1} s: RSS {} MiB, {} records sent",
                start.elapsed().as_secs_f64(),
                status("VmRSS:"),
                SENT.load(Ordering::Relaxed)
            );
        }
    });
    let transfer = xfr53::dns::transfer::axfr(&primary, &origin);
    let result = tokio::time::timeout(Duration::from_secs(30), transfer).await;
    sampler.abort();
    let ended = match result {
        Err(_) => "still transferring, no error".to_string(),
        Ok(Ok(_)) => "complete (impossible)".to_string(),
        Ok(Err(e)) => format!("error: {e:#}"),
    };
    println!(
        "after {:.1} s, {} records sent: {ended}\npeak RSS {} MiB, now {} MiB",
        start.elapsed().as_secs_f64(),
        SENT.load(Ordering::Relaxed),
        status("VmHWM:"),
        status("VmRSS:")
    );
}
