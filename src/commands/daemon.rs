//! `xfr53 daemon`: binds the listeners, turns signals into reloads and a
//! shutdown (SIGHUP reloads the configuration, a bad one keeps the
//! running one; SIGTERM and SIGINT stop gracefully), and runs the daemon
//! against Route 53.

use std::sync::Arc;

use anyhow::Result;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use super::{load_config, Exit};
use crate::cli::Common;
use crate::config::{AlertSettings, Route53Settings};
use crate::daemon::{self, Backends, Listeners};
use crate::observe::alerts::{Publish, SnsTopic};
use crate::route53::aws::AwsZones;

pub async fn run(common: &Common) -> Result<Exit> {
    let loaded = load_config(common)?;
    loaded.config.require_zones()?;
    let listeners = Listeners::bind(&loaded.config.listen).await?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let (reload, reloads) = mpsc::channel(1);
    let common = common.clone();
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            match load_config(&common) {
                Ok(loaded) => {
                    if reload.send(loaded).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::error!("configuration reload failed; keeping the running one: {e:#}")
                }
            }
        }
    });
    let shutdown = async {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    };
    daemon::run(listeners, loaded, Aws, reloads, shutdown).await?;
    Ok(Exit::Ok)
}

/// Route 53 and SNS through the AWS SDK.
struct Aws;

impl Backends for Aws {
    type Zones = AwsZones;

    async fn route53(&self, settings: &Route53Settings) -> AwsZones {
        AwsZones::connect(settings).await
    }

    async fn alerts(&self, settings: &AlertSettings) -> Arc<dyn Publish> {
        Arc::new(SnsTopic::new(settings).await)
    }
}
