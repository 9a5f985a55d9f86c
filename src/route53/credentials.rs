//! Region and credentials for the AWS clients: aws-config's standard
//! chains, with IMDS asked once with a short timeout (off EC2 nothing
//! answers there, and the SDK's defaults wait seconds per attempt), and a
//! failure to find credentials told in one line that names the ways to
//! provide them.

use std::error::Error;
use std::time::Duration;

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::environment::region::EnvironmentVariableRegionProvider;
use aws_config::imds;
use aws_config::imds::region::ImdsRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::ProfileFileRegionProvider;
use aws_config::Region;
use aws_credential_types::provider::error::CredentialsError;

use super::role::RoleError;

/// On EC2 IMDS answers in milliseconds; elsewhere one short try each for
/// the region and the credentials, so a missing role is told within a
/// second even where nothing answers at all.
const IMDS_TIMEOUT: Duration = Duration::from_millis(500);

/// The configured region, else the environment's or the profile's, else
/// the instance's, else us-east-1 (Route 53 and SNS alerts need one to sign
/// with); and the standard credentials chain (environment, profile and SSO,
/// web identity, ECS, EC2 instance role).
pub async fn region_and_credentials(
    configured: Option<String>,
) -> (Region, DefaultCredentialsChain) {
    let imds = imds::Client::builder()
        .connect_timeout(IMDS_TIMEOUT)
        .read_timeout(IMDS_TIMEOUT)
        .max_attempts(1)
        .build();
    let region = RegionProviderChain::first_try(configured.map(Region::new))
        .or_else(EnvironmentVariableRegionProvider::new())
        .or_else(ProfileFileRegionProvider::new())
        .or_else(
            ImdsRegionProvider::builder()
                .imds_client(imds.clone())
                .build(),
        )
        .or_else(Region::new("us-east-1"))
        .region()
        .await
        .unwrap_or_else(|| Region::new("us-east-1"));
    let credentials = DefaultCredentialsChain::builder()
        .imds_client(imds)
        .region(region.clone())
        .build()
        .await;
    (region, credentials)
}

/// The credentials error among `error`'s causes, if there is one.
pub fn credentials_error<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a CredentialsError> {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(found) = error.downcast_ref::<CredentialsError>() {
            return Some(found);
        }
        cause = error.source();
    }
    None
}

/// One line: what went wrong and the ways to provide credentials, or
/// why a zone's role could not be assumed (see `role`).
pub fn describe(error: &CredentialsError) -> String {
    if let Some(role) = error.source().and_then(|e| e.downcast_ref::<RoleError>()) {
        return role.to_string();
    }
    let what = match error {
        CredentialsError::CredentialsNotLoaded(_) => "no AWS credentials found".to_string(),
        other => format!(
            "AWS credentials could not be loaded: {}",
            causes(other).trim_end_matches('.')
        ),
    };
    format!(
        "{what}. Provide them by one of: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment; \
         AWS_PROFILE naming a profile in ~/.aws/config or ~/.aws/credentials (for an SSO profile, run \
         `aws sso login --profile NAME` first); or, on EC2, an instance role (IMDS)"
    )
}

/// `error` and its causes, each as its own short text.
pub(super) fn causes(error: &(dyn Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cause = Some(error);
    while let Some(error) = cause {
        let text = error.to_string();
        // some errors repeat their cause's text in their own
        if !parts.last().is_some_and(|last| last.contains(&text)) {
            parts.push(text);
        }
        cause = error.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credentials_error_is_found_among_the_causes_and_told_in_one_line() {
        #[derive(Debug, thiserror::Error)]
        #[error("dispatch failure")]
        struct Outer(#[source] CredentialsError);
        let missing = Outer(CredentialsError::not_loaded("no providers in chain"));
        let found = credentials_error(&missing).expect("found under the dispatch failure");
        let line = describe(found);
        assert!(line.starts_with("no AWS credentials found. "), "{line}");
        for way in [
            "AWS_ACCESS_KEY_ID",
            "AWS_PROFILE",
            "aws sso login",
            "instance role",
        ] {
            assert!(line.contains(way), "{way}: {line}");
        }
        assert!(!line.contains('\n'));

        let failed = CredentialsError::provider_error("failed to load IMDS session token");
        assert!(describe(&failed).starts_with(
            "AWS credentials could not be loaded: an error occurred while loading credentials: failed to load IMDS session token. "
        ));
        let io = std::io::Error::other("unrelated");
        assert!(credentials_error(&io).is_none());
    }
}
