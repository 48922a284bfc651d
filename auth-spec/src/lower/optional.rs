//! Lowering of optional credentials (`required: false`) and alternative credential sets.

use serde_saphyr::Spanned;

use super::{Lowerer, placeholder_offsets};
use crate::model::Credential;
use crate::raw::SpannedString;
use crate::suggest::listing;
use crate::template::{Reference, Template};

impl Lowerer<'_> {
    /// The credential sets, checked against the declared `credentials`; also decides which
    /// credentials are optional (for the template checks that follow).
    pub(super) fn credential_sets(
        &mut self,
        raw: &[Spanned<Vec<SpannedString>>],
        credentials: &[Credential],
    ) -> Vec<Vec<String>> {
        let mut sets = Vec::new();
        for set in raw {
            if set.value.is_empty() {
                self.error(
                    set.referenced,
                    "a credential set is empty",
                    Some("list the credentials the set needs, e.g. `[email, password]`".into()),
                );
                continue;
            }
            let mut names: Vec<String> = Vec::new();
            for name in &set.value {
                if !credentials.iter().any(|c| c.name == name.value) {
                    let declared: Vec<String> =
                        credentials.iter().map(|c| c.name.clone()).collect();
                    let hint = self
                        .suggestions
                        .did_you_mean(&name.value, &declared)
                        .unwrap_or_else(|| format!("declared credentials: {}", listing(&declared)));
                    self.error(
                        name.referenced,
                        format!(
                            "credential set names `{}`, which is not a declared credential",
                            name.value
                        ),
                        Some(hint),
                    );
                } else if names.contains(&name.value) {
                    self.error(
                        name.referenced,
                        format!("credential set names `{}` twice", name.value),
                        Some("name each credential once".into()),
                    );
                } else {
                    names.push(name.value.clone());
                }
            }
            sets.push(names);
        }
        let in_every = |name: &str| sets.iter().all(|s| s.iter().any(|n| n == name));
        let in_some = |name: &str| sets.iter().any(|s| s.iter().any(|n| n == name));
        self.optional = credentials
            .iter()
            .filter(|c| !c.required || (in_some(&c.name) && !in_every(&c.name)))
            .map(|c| c.name.clone())
            .collect();
        sets
    }

    /// A template naming an optional credential names no other value, so that when the value is
    /// absent its entry is left out whole rather than sent half-filled.
    pub(super) fn optional_template_ok(
        &mut self,
        value: &SpannedString,
        template: &Template,
        offsets: &[usize],
    ) -> bool {
        let optional = template.references().enumerate().find(
            |(_, r)| matches!(r, Reference::Credential(name) if self.optional.contains(name)),
        );
        let Some((i, reference)) = optional else {
            return true;
        };
        if template.references().count() == 1 {
            return true;
        }
        self.error_inside(
            value.referenced,
            offsets.get(i).copied().unwrap_or(0),
            format!(
                "`{reference}` is optional: a template naming it names no other value (its entry is left out when it is absent, never sent half-filled)"
            ),
            Some("put it in a header, query entry or body field of its own".into()),
        );
        false
    }

    /// Reports an optional credential in `value` (`where_`: a place that cannot be left out).
    pub(super) fn no_optional(&mut self, value: &SpannedString, where_: &str) -> bool {
        let Ok(parsed) = Template::parse(&value.value) else {
            return true; // reported where it is parsed
        };
        let offsets = placeholder_offsets(&value.value);
        let mut ok = true;
        for (i, reference) in parsed.references().enumerate() {
            if matches!(reference, Reference::Credential(name) if self.optional.contains(name)) {
                ok = false;
                self.error_inside(
                    value.referenced,
                    offsets.get(i).copied().unwrap_or(0),
                    format!("`{reference}` is optional and cannot be used in {where_}: it cannot be left out"),
                    Some("make it required, or send it in a header, query entry or body field".into()),
                );
            }
        }
        ok
    }
}
