//! The one integration-test binary.

/// Runs an async scenario `fn(Kind)` against moto and the strict double, as
/// two tests in a module named after it.
macro_rules! both {
    ($scenario:ident) => {
        mod $scenario {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn moto() {
                super::$scenario(Kind::Moto).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn strict() {
                super::$scenario(Kind::Strict).await
            }
        }
    };
}

mod absurd_limits;
mod active_active;
mod aws_credentials;
mod check_never_synced;
mod cli_input;
mod cloudformation;
mod core_bad_input;
mod core_golden;
mod core_props;
mod core_safety;
mod core_scoped;
mod core_svcb;
mod daemon_audit;
mod daemon_catalog;
mod daemon_change_cost;
mod daemon_e2e;
mod daemon_inprocess;
mod daemon_outage;
mod daemon_reload;
mod daemon_responsive;
mod daemon_route53_view;
mod daemon_schedule;
mod daemon_stall;
mod daemon_warm_start;
mod dns_faults;
mod dns_fuzz;
mod dns_ixfr_split;
mod dns_limits;
mod dns_notify;
mod dns_notify_props;
mod dns_transfer;
mod listener_hostile;
mod nsnotifyd;
mod primaries;
mod route53_answer_lost;
mod route53_assume_role;
mod route53_double;
mod route53_limits;
mod state_journal;
mod support;
mod sync_costs;
mod sync_e2e;
mod trust;
mod tsig_key_name;
