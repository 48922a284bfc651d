//! Lowering of `lifetimes:` (lifetimes the client chooses in its own request), their
//! `${lifetime.NAME.UNIT}` placeholders and `requested: NAME` expiry sources.

use std::time::Duration;

use indexmap::IndexMap;
use serde_saphyr::Location;

use super::{Lowerer, Problem, is_snake_identifier};
use crate::lifetime::LifetimeRef;
use crate::model::ExpirySource;
use crate::raw::SpannedString;
use crate::suggest::listing;
use crate::template::{Reference, Template};

/// What the lowering remembers about requested lifetimes.
#[derive(Default)]
pub(crate) struct Lifetimes {
    /// Declared lifetimes: name -> (duration, where declared).
    declared: IndexMap<String, (Duration, Location)>,
    /// (endpoint, name) for each lifetime a request sends.
    sent: Vec<(&'static str, String)>,
    /// (endpoint, name, where) for each `requested:` expiry source.
    requested: Vec<(String, String, Location)>,
}

impl Lowerer<'_> {
    /// Reads `lifetimes:`; before any template, which may name them.
    pub(super) fn lifetimes(&mut self, raw: &IndexMap<SpannedString, SpannedString>) {
        for (name, value) in raw {
            if !is_snake_identifier(&name.value) {
                self.error(
                    name.referenced,
                    format!(
                        "lifetime name `{}` is not a lower-case identifier",
                        name.value
                    ),
                    Some("use letters, digits and `_`, e.g. `session`".into()),
                );
                continue;
            }
            if let Some(duration) = self.nonzero_duration(value, "a requested lifetime") {
                self.lifetimes
                    .declared
                    .insert(name.value.clone(), (duration, name.referenced));
            }
        }
    }

    /// Checks a `${lifetime.NAME.UNIT}` placeholder: declared, and whole in its unit.
    pub(super) fn check_lifetime(&self, lifetime: &LifetimeRef) -> Result<(), Problem> {
        let Some((duration, _)) = self.lifetimes.declared.get(&lifetime.name) else {
            let names: Vec<String> = self.lifetimes.declared.keys().cloned().collect();
            let hint = self
                .suggestions
                .did_you_mean(&lifetime.name, &names)
                .unwrap_or_else(|| {
                    if names.is_empty() {
                        format!("declare it: `lifetimes: {{ {}: 30m }}`", lifetime.name)
                    } else {
                        format!("declared lifetimes: {}", listing(&names))
                    }
                });
            return Err((
                format!("`{lifetime}` names a lifetime that is not declared"),
                Some(hint),
            ));
        };
        if lifetime.unit.count(*duration).is_none() {
            return Err((
                format!(
                    "`{lifetime}`: {}s is not a whole number of {}",
                    duration.as_secs_f64(),
                    lifetime.unit.name()
                ),
                Some("declare a lifetime that is, or send it in a smaller unit".into()),
            ));
        }
        Ok(())
    }

    /// Fills in the declared durations and records which lifetimes `endpoint` sends.
    pub(super) fn lifetimes_sent(&mut self, template: &mut Template, endpoint: &'static str) {
        let declared = &self.lifetimes.declared;
        template.fill_lifetimes(|name| declared.get(name).map(|(d, _)| *d));
        for reference in template.references() {
            if let Reference::Lifetime(lifetime) = reference {
                self.lifetimes.sent.push((endpoint, lifetime.name.clone()));
            }
        }
    }

    /// `requested: NAME` in the response of `endpoint`.
    pub(super) fn requested(
        &mut self,
        name: &SpannedString,
        endpoint: &str,
    ) -> Option<ExpirySource> {
        let Some((duration, _)) = self.lifetimes.declared.get(&name.value) else {
            let names: Vec<String> = self.lifetimes.declared.keys().cloned().collect();
            let hint = self
                .suggestions
                .did_you_mean(&name.value, &names)
                .unwrap_or_else(|| {
                    format!(
                        "declare the lifetime the request sends: `lifetimes: {{ {}: 30m }}`",
                        name.value
                    )
                });
            self.error(
                name.referenced,
                format!(
                    "`requested: {}` names a lifetime that is not declared",
                    name.value
                ),
                Some(hint),
            );
            return None;
        };
        self.lifetimes
            .requested
            .push((endpoint.to_owned(), name.value.clone(), name.referenced));
        Some(ExpirySource::Requested {
            name: name.value.clone(),
            duration: *duration,
        })
    }

    /// Once every request is lowered: a requested lifetime is sent by the request whose answer
    /// it describes, and every declared lifetime is sent somewhere.
    pub(super) fn check_lifetimes_sent(&mut self) {
        // Only on an otherwise clean file: a broken template would make its lifetime look unsent.
        if !self.diags.is_empty() {
            return;
        }
        let requested = std::mem::take(&mut self.lifetimes.requested);
        for (endpoint, name, at) in requested {
            let sent = self
                .lifetimes
                .sent
                .iter()
                .any(|(e, n)| *e == endpoint && *n == name);
            if !sent {
                self.error(
                    at,
                    format!("`requested: {name}`: the {endpoint} request does not send lifetime `{name}`, so the vendor would not grant it"),
                    Some(format!("send it in the {endpoint} request, e.g. `body: {{ ttl: \"${{lifetime.{name}.seconds}}\" }}`")),
                );
            }
        }
        if !self.diags.is_empty() {
            return;
        }
        let unsent: Vec<(String, Location)> = self
            .lifetimes
            .declared
            .iter()
            .filter(|(name, _)| !self.lifetimes.sent.iter().any(|(_, n)| n == *name))
            .map(|(name, (_, at))| (name.clone(), *at))
            .collect();
        for (name, at) in unsent {
            self.error(
                at,
                format!("lifetime `{name}` is declared but no request sends it"),
                Some(format!("send it with `${{lifetime.{name}.seconds}}` (or `.minutes`, `.milliseconds`), or remove it")),
            );
        }
    }
}
