//! A failure and the exit code it maps to (credentials rejected, vendor failed, store, usage).

use auth_runtime::{AuthError, AuthErrorKind};

/// A failure, with the exit code it maps to.
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
        }
    }
}

impl From<AuthError> for Failure {
    fn from(error: AuthError) -> Self {
        let code = match error.kind() {
            _ if error.is_credentials_rejected() => 3,
            AuthErrorKind::MissingCredential { .. }
            | AuthErrorKind::TokenOriginRefused { .. }
            | AuthErrorKind::MissingBaseUrl { .. }
            | AuthErrorKind::Config(_)
            | AuthErrorKind::MissingValue { .. }
            | AuthErrorKind::NotInDocument { .. }
            | AuthErrorKind::SigningFailed { .. }
            | AuthErrorKind::NoCredentialSet { .. } => 2,
            AuthErrorKind::Store(_) => 1,
            AuthErrorKind::LoginNotAllowedYet { .. } => 6,
            _ => 4,
        };
        Self {
            code,
            message: error.to_string(),
        }
    }
}
