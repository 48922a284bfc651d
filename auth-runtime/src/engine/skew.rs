//! Clock skew: a vendor whose clock is off writes absolute expiry times by its clock. When the
//! spec names where answers say the vendor's time (`policy.server_time`), those times are moved
//! onto ours. Never without it: a guess could make a dead token look fresh.

use std::time::SystemTime;

use auth_spec::extract::{Answer, Extracted, skew_corrected};

use super::Authenticator;

impl Authenticator {
    /// `extracted` with its absolute expiry times corrected by the vendor's clock offset, read
    /// from `answer`. `sent_wall` is our clock when the request was sent: the vendor stamped
    /// its time later, so the offset is overestimated by at most the round trip, and a
    /// corrected expiry is early rather than late.
    pub(super) fn skew_corrected(
        &self,
        mut extracted: Extracted,
        answer: &Answer,
        sent_wall: SystemTime,
    ) -> Extracted {
        let Some(server_time) = &self.inner.spec.policy.server_time else {
            return extracted;
        };
        match server_time.read(answer) {
            Ok(Some(server_now)) => {
                extracted.access_expiry =
                    skew_corrected(extracted.access_expiry, server_now, sent_wall);
                extracted.refresh_expiry =
                    skew_corrected(extracted.refresh_expiry, server_now, sent_wall);
            }
            // The answer does not say, or not readably: its times are taken as they are (the
            // spec's own checks found the time in the examples, so this is the vendor's slip).
            Ok(None) => tracing::warn!(
                provider = %self.inner.spec.name,
                source = %server_time.source,
                "the answer does not state the server time; expiry times not corrected for clock skew"
            ),
            Err(e) => tracing::warn!(
                provider = %self.inner.spec.name,
                error = %e,
                "expiry times not corrected for clock skew"
            ),
        }
        extracted
    }
}
