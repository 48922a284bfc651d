//! Lowering of `usage`: how the access token is put on API calls, how an API answer says it
//! expired, values renewed by ordinary answers, and ordinary answers that mean failure.

use serde_saphyr::Spanned;

use super::{Context, Lowerer, is_header_name};
use crate::judge::BodyCondition;
use crate::model::*;
use crate::raw::*;
use crate::template::Reference;

impl Lowerer<'_> {
    pub(super) fn usage(&mut self, spanned: &Spanned<RawUsageField>) -> Option<Usage> {
        let raw = match &spanned.value {
            RawUsageField::Known(raw) => raw,
            // Reported by the schema pass already.
            RawUsageField::Other => return None,
            RawUsageField::Unknown => {
                return Some(Usage {
                    headers: Vec::new(),
                    query: Vec::new(),
                    expired: None,
                    unknown: true,
                    renewed_by_answers: Vec::new(),
                    failures: Vec::new(),
                });
            }
        };
        let before = self.diags.len();
        let headers = self.template_map(&raw.headers, Context::Usage, true);
        let query = self.template_map(&raw.query, Context::Usage, false);
        let (Some(headers), Some(query)) = (headers, query) else {
            return None;
        };
        let sends_token = headers
            .iter()
            .chain(query.iter())
            .any(|(_, t)| t.references().any(|r| *r == Reference::AccessToken));
        if !sends_token {
            self.error(
                spanned.referenced,
                "`usage` never sends the access token (`${session.access_token}`)",
                Some(
                    "add e.g. `headers: { Authorization: \"Bearer ${session.access_token}\" }`"
                        .to_owned(),
                ),
            );
        }
        let expired = raw.expired.as_ref().map(|e| {
            let status = self.statuses(&e.status, &[401], "`expired.status`");
            for name in e.headers.keys() {
                if !is_header_name(&name.value) {
                    self.error(
                        name.referenced,
                        format!("`{}` is not a valid HTTP header name", name.value),
                        Some(
                            "header names are letters, digits and `-`, e.g. `Token-Expired`".into(),
                        ),
                    );
                }
            }
            let body: Vec<BodyCondition> =
                e.body.iter().filter_map(|c| self.condition(c)).collect();
            // A header or challenge condition narrows a 2xx as a body condition does: a gRPC
            // vendor's "trailers-only" answer is a 200 with `grpc-status: 16`.
            if e.body.is_empty()
                && e.headers.is_empty()
                && e.www_authenticate_error.is_none()
                && let Some(ok) = e
                    .status
                    .iter()
                    .flatten()
                    .find(|s| (200..300).contains(&s.value))
            {
                self.error(
                    ok.referenced,
                    format!(
                        "`expired.status` lists {} without a `body` or `headers` condition: every successful API call would count as expired",
                        ok.value
                    ),
                    Some("add `body: [{ path: $.status.code, equals: \"TOKEN_EXPIRED\" }]` (what the vendor's envelope says), `headers: { grpc-status: \"16\" }` (a gRPC answer), or list only error statuses".into()),
                );
            }
            ExpiredSignal {
                status,
                headers: e
                    .headers
                    .iter()
                    .map(|(k, v)| (k.value.clone(), v.clone()))
                    .collect(),
                www_authenticate_error: e.www_authenticate_error.clone(),
                body,
            }
        });
        let renewed_by_answers = self.renewed_by_answers(&raw.renewed_by_answers);
        let failures = self.failure_rules(&raw.failures, Context::Usage);
        (self.diags.len() == before).then_some(Usage {
            headers,
            query,
            expired,
            unknown: false,
            renewed_by_answers: renewed_by_answers.unwrap_or_default(),
            failures,
        })
    }
}
