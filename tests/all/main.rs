//! The one integration-test binary.

mod core_bad_input;
mod core_golden;
mod core_props;
mod core_safety;
mod daemon_e2e;
mod dns_faults;
mod dns_notify;
mod dns_transfer;
mod support;
mod sync_e2e;
