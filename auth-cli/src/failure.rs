//! A failure and the exit code it maps to (credentials rejected, vendor failed, store, usage).

use auth_runtime::AuthError;

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
        let code = match &error {
            e if e.is_credentials_rejected() => 3,
            AuthError::MissingCredential { .. }
            | AuthError::TokenOriginRefused { .. }
            | AuthError::MissingBaseUrl { .. }
            | AuthError::Config(_)
            | AuthError::MissingValue { .. }
            | AuthError::NotInDocument { .. }
            | AuthError::SigningFailed { .. }
            | AuthError::NoCredentialSet { .. } => 2,
            AuthError::Store(_) => 1,
            AuthError::LoginNotAllowedYet { .. } => 6,
            _ => 4,
        };
        Self {
            code,
            message: error.to_string(),
        }
    }
}
