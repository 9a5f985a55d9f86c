//! Credentials for a zone with `role_arn`: the role (often in the account
//! holding the hosted zone) assumed through STS with the standard chain's
//! credentials, in a session named after xfr53 and the zone, so the target
//! account's CloudTrail says which zone acted. A refusal is told with the
//! zone, the role and what to check.

use std::error::Error;
use std::fmt;

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::SdkConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials};
use aws_sdk_sts::error::ProvideErrorMetadata;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;

use super::credentials::{causes, describe};
use crate::core::name::Name;

/// STS allows role session names of 2 to 64 characters of `[\w+=,.@-]`.
const SESSION_NAME_MAX: usize = 64;

/// Assumes `role` for `zone`, refreshed by the client's identity cache
/// before the session expires.
#[derive(Debug)]
pub struct ZoneRole {
    zone: Name,
    role: String,
    provider: AssumeRoleProvider,
}

impl ZoneRole {
    /// Through STS at `endpoint` when set (an emulator serves STS where it
    /// serves Route 53), else the region's STS endpoint; with `shared`'s
    /// region and credentials.
    pub async fn new(
        shared: &SdkConfig,
        endpoint: Option<&str>,
        zone: &Name,
        role: &str,
    ) -> ZoneRole {
        // STS is not Route 53: the shared throttle neither paces nor
        // retries it, so the SDK's standard retries do
        let mut sts = shared.to_builder().retry_config(RetryConfig::standard());
        if let Some(endpoint) = endpoint {
            sts = sts.endpoint_url(endpoint);
        }
        let provider = AssumeRoleProvider::builder(role)
            .session_name(session_name(zone))
            .configure(&sts.build())
            .build()
            .await;
        ZoneRole {
            zone: zone.clone(),
            role: role.to_string(),
            provider,
        }
    }
}

impl ProvideCredentials for ZoneRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.provider.provide_credentials().await.map_err(|e| {
                CredentialsError::provider_error(RoleError::new(&self.zone, &self.role, &e))
            })
        })
    }
}

/// `xfr53-<zone>`, each character STS refuses as `-`, cut at 64.
pub fn session_name(zone: &Name) -> String {
    let zone = zone.as_str();
    let name: String = format!("xfr53-{}", zone.strip_suffix('.').unwrap_or(zone))
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '+' | '=' | ',' | '.' | '@' | '-' => c,
            _ => '-',
        })
        .collect();
    name.chars().take(SESSION_NAME_MAX).collect()
}

/// Why `role` could not be assumed for `zone`, in one line that says what
/// to check. Never holds a secret: STS's message names principals only.
#[derive(Debug)]
pub struct RoleError(String);

impl RoleError {
    fn new(zone: &Name, role: &str, error: &CredentialsError) -> RoleError {
        let account = role.split(':').nth(4).unwrap_or("?");
        let refused = found::<AssumeRoleError>(error);
        let text = match refused.map(|r| (r.code(), r.message())) {
            Some((Some(code @ ("AccessDenied" | "AccessDeniedException")), message)) => format!(
                "STS refused to let xfr53 assume role {role} for zone {zone} ({code}: {}): check the role's trust policy in account {account} allows sts:AssumeRole to xfr53's own role, and that xfr53's role may call sts:AssumeRole on {role}",
                message.unwrap_or("no message")
            ),
            _ => match error.source().and_then(found::<CredentialsError>) {
                // the call to STS had no credentials of xfr53's own to sign with
                Some(base) => format!("assuming role {role} for zone {zone} needs xfr53's own credentials first: {}", describe(base)),
                None => format!("assuming role {role} for zone {zone} failed: {}", causes(error)),
            },
        };
        RoleError(text)
    }
}

impl fmt::Display for RoleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for RoleError {}

/// The first `T` among `error` and its causes.
fn found<'a, T: Error + 'static>(error: &'a (dyn Error + 'static)) -> Option<&'a T> {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(found) = error.downcast_ref::<T>() {
            return Some(found);
        }
        cause = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use aws_sdk_sts::error::ErrorMetadata;

    use super::*;

    #[test]
    fn session_names_say_xfr53_and_the_zone_in_what_sts_allows() {
        let name = |z: &str| session_name(&Name::parse_route53(z).unwrap());
        assert_eq!(name("example.com."), "xfr53-example.com");
        assert_eq!(name("Example.COM"), "xfr53-example.com");
        assert_eq!(name("a\\052b.test."), "xfr53-a-052b.test");
        assert_eq!(name("."), "xfr53-");
        let long = format!("{}.test.", "a".repeat(63));
        assert_eq!(name(&long), format!("xfr53-{}", "a".repeat(58)));
        assert_eq!(name(&long).len(), 64);
    }

    #[test]
    fn access_denied_names_the_zone_the_role_and_the_trust_policy() {
        let denied = AssumeRoleError::generic(
            ErrorMetadata::builder()
                .code("AccessDenied")
                .message("User: arn:aws:sts::123456789012:assumed-role/xfr53/i-0 is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role/xfr53-dns")
                .build(),
        );
        let error = CredentialsError::provider_error(denied);
        let zone = Name::parse_route53("example.com").unwrap();
        let role = "arn:aws:iam::111122223333:role/xfr53-dns";
        let text = RoleError::new(&zone, role, &error).to_string();
        assert!(text.starts_with("STS refused to let xfr53 assume role arn:aws:iam::111122223333:role/xfr53-dns for zone example.com. (AccessDenied: User: arn:aws:sts::123456789012:assumed-role/xfr53/i-0 is not authorized"), "{text}");
        assert!(text.contains("check the role's trust policy in account 111122223333 allows sts:AssumeRole to xfr53's own role"), "{text}");

        // told as it is by the credentials error Route 53's client reports
        let wrapped = CredentialsError::provider_error(RoleError::new(&zone, role, &error));
        assert_eq!(describe(&wrapped), text);
    }

    #[test]
    fn missing_base_credentials_are_told_as_such() {
        #[derive(Debug, thiserror::Error)]
        #[error("dispatch failure")]
        struct Dispatch(#[source] CredentialsError);
        let error = CredentialsError::provider_error(Dispatch(CredentialsError::not_loaded(
            "no providers in chain provided credentials",
        )));
        let zone = Name::parse_route53("example.com").unwrap();
        let text = RoleError::new(&zone, "arn:aws:iam::111122223333:role/x", &error).to_string();
        assert!(text.starts_with("assuming role arn:aws:iam::111122223333:role/x for zone example.com. needs xfr53's own credentials first: no AWS credentials found. Provide them by one of: "), "{text}");
    }
}
