//! Work the engine runs off the async workers: CPU-heavy steps on tokio's
//! blocking threads, state writes in place, transfers on a runtime of
//! their own.

use std::sync::{Mutex, PoisonError};

use anyhow::{Context, Result};

use crate::core::zone::Zone;
use crate::dns::primary::Primary;
use crate::dns::transfer::{refresh, Stats, Transferred};

/// Runs CPU-heavy work (conversion, diff, plan) on tokio's blocking
/// threads and awaits it, so the async workers keep the NOTIFY listener and
/// `/healthz` answering, and the daemon's sync deadline fires on time: the
/// sync awaiting it is dropped there, the work runs to its end in the
/// background and its result is dropped.
pub async fn off_runtime<R: Send + 'static>(
    work: impl FnOnce() -> R + Send + 'static,
) -> Result<R> {
    match tokio::task::spawn_blocking(work).await {
        Ok(done) => Ok(done),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(e).context("the work was cancelled: the runtime is shutting down"),
    }
}

/// Runs work that must not be dropped half-way (writing the state files)
/// without holding an async worker thread. Unlike `off_runtime` it cannot
/// be abandoned: a deadline around it waits for it (encoding and writing a
/// 100,000-record zone's state takes tens of milliseconds). On a
/// single-threaded runtime (some tests) it simply runs.
pub fn in_place<R>(work: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// Transfers (`refresh`) into `zone` on a runtime of their own: decoding
/// and inserting a big transfer's messages runs between reads, and a fast
/// primary's reads are always ready, so tokio's cooperative budget lets one
/// transfer hold an async worker of the daemon for a hundred reads at a
/// time. Awaiting it here stays cancellable (the daemon's sync deadline):
/// the transfer is then aborted, and the held copy is lost (the daemon goes
/// back to the copy last saved). When that runtime cannot start (out of
/// threads or file descriptors) the transfer runs here, with a warning.
pub async fn transfer(primary: &Primary, zone: &mut Zone) -> Result<(Transferred, Stats)> {
    static TRANSFERS: Mutex<Option<tokio::runtime::Runtime>> = Mutex::new(None);
    struct AbortOnDrop(tokio::task::AbortHandle);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let origin = zone.origin().clone();
    let runtime = match started(&TRANSFERS, || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("xfr53-transfer")
            .enable_all()
            .build()
    }) {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::warn!(zone = %origin, "the transfer runtime did not start ({e}); transferring on the daemon's own, where a big transfer slows the NOTIFY listener. Raise the process's limits on threads and open files");
            return refresh(primary, zone).await;
        }
    };
    let mut held = std::mem::replace(zone, Zone::new(origin.clone()));
    let primary = primary.clone();
    let task = runtime.spawn(async move {
        let result = refresh(&primary, &mut held).await;
        (result, held)
    });
    let _abort = AbortOnDrop(task.abort_handle());
    let (result, held) = task
        .await
        .with_context(|| format!("zone {origin}: the transfer task ended"))?;
    *zone = held;
    result
}

/// The runtime in `slot`, started by `start` the first time it succeeds.
fn started(
    slot: &Mutex<Option<tokio::runtime::Runtime>>,
    start: impl FnOnce() -> std::io::Result<tokio::runtime::Runtime>,
) -> std::io::Result<tokio::runtime::Handle> {
    let mut held = slot.lock().unwrap_or_else(PoisonError::into_inner);
    if held.is_none() {
        *held = Some(start()?);
    }
    Ok(held.as_ref().expect("set just above").handle().clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// A runtime that cannot start (EMFILE, ENOMEM: the exhaustion this
    /// daemon must survive) is an error, not a panic, and the next
    /// transfer tries again.
    #[test]
    fn a_runtime_that_cannot_start_is_an_error_and_retried() {
        let slot = Mutex::new(None);
        let failing = || Err(std::io::Error::from_raw_os_error(24)); // EMFILE
        let error = started(&slot, failing).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(24));
        let build = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        };
        let first = started(&slot, build).unwrap();
        let again = started(&slot, || panic!("started twice")).unwrap();
        assert_eq!(first.id(), again.id());
    }

    /// The daemon's sync deadline is a `tokio::time::timeout` around the
    /// sync: it fires while CPU work runs off the runtime (before, the work
    /// ran in `block_in_place`, inside the poll, and the deadline waited
    /// for its end).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_deadline_fires_while_work_runs_off_the_runtime() {
        let started = Instant::now();
        let work = off_runtime(|| std::thread::sleep(Duration::from_secs(3)));
        let ran = tokio::time::timeout(Duration::from_millis(100), work).await;
        assert!(ran.is_err(), "the work ended before the deadline");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the deadline fired after {:?}",
            started.elapsed()
        );
    }
}
