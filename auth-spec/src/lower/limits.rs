//! Lowering of `login_limit` (a budget of login requests in a sliding window).

use serde_saphyr::Spanned;

use super::Lowerer;
use crate::model::LoginLimit;
use crate::raw::RawLoginLimit;

impl Lowerer<'_> {
    /// `policy.login_limit`: at least one request, in a window longer than zero and at most
    /// [`LoginLimit::MAX_WINDOW`] (the store keeps a record of each request for that long).
    pub(super) fn login_limit(&mut self, raw: &Spanned<RawLoginLimit>) -> Option<LoginLimit> {
        let limit = &raw.value;
        let mut ok = true;
        let requests = limit.requests.value;
        if !(1..=LoginLimit::MAX_REQUESTS).contains(&requests) {
            ok = false;
            self.error(
                limit.requests.referenced,
                format!(
                    "`requests` is {requests}; it must be between 1 and {}",
                    LoginLimit::MAX_REQUESTS
                ),
                Some("write the vendor's number, e.g. `requests: 20, per: 1h` for \"20 token requests per hour\"".into()),
            );
        }
        let per = self.duration(&limit.per);
        match per {
            Some(d) if d.is_zero() => {
                ok = false;
                self.error(
                    limit.per.referenced,
                    "`per` is zero; a budget needs a window",
                    Some("e.g. `per: 1h`".into()),
                );
            }
            Some(d) if d > LoginLimit::MAX_WINDOW => {
                ok = false;
                self.error(
                    limit.per.referenced,
                    format!(
                        "`per` is {}; the longest window is 31 days",
                        limit.per.value
                    ),
                    Some("the store keeps a record of every login request for one window".into()),
                );
            }
            Some(_) => {}
            None => ok = false,
        }
        let per = per?;
        ok.then_some(LoginLimit { requests, per })
    }
}
