//! Lowering of value sources: one source, or alternatives tried in order.

use serde_saphyr::{Location, Spanned};

use super::{Lowerer, is_header_name};
use crate::model::ValueSource;
use crate::path::FieldPath;
use crate::raw::{RawSource, SpannedString};

/// A source as written: a single string, or a list of alternatives ([`RawSource`]).
pub(crate) trait SourceSpelling {
    /// Where the source (or the list) is written.
    fn at(&self) -> Location;
    /// The alternatives with where each is written; `None` for a single source.
    fn alternatives(&self) -> Option<&[SpannedString]>;
    /// The text of a single source.
    fn single(&self) -> Option<&str>;
}

impl SourceSpelling for SpannedString {
    fn at(&self) -> Location {
        self.referenced
    }
    fn alternatives(&self) -> Option<&[SpannedString]> {
        None
    }
    fn single(&self) -> Option<&str> {
        Some(&self.value)
    }
}

impl SourceSpelling for Spanned<RawSource> {
    fn at(&self) -> Location {
        self.referenced
    }
    fn alternatives(&self) -> Option<&[SpannedString]> {
        match &self.value {
            RawSource::One(_) => None,
            RawSource::FirstOf(list) => Some(list),
        }
    }
    fn single(&self) -> Option<&str> {
        match &self.value {
            RawSource::One(text) => Some(text),
            RawSource::FirstOf(_) => None,
        }
    }
}

/// Where each alternative of `spelled` is written (empty for a single source).
pub(crate) fn part_locations(spelled: &dyn SourceSpelling) -> Vec<Location> {
    spelled
        .alternatives()
        .map(|list| list.iter().map(|s| s.referenced).collect())
        .unwrap_or_default()
}

impl Lowerer<'_> {
    /// A source, or alternatives each checked at its own place; `None` after an error.
    pub(super) fn source(&mut self, spelled: &dyn SourceSpelling) -> Option<ValueSource> {
        if let Some(text) = spelled.single() {
            return self.one_source(text, spelled.at());
        }
        let list = spelled.alternatives().unwrap_or_default();
        if list.len() < 2 {
            self.error(
                spelled.at(),
                format!(
                    "a list of alternative sources needs at least two, found {}",
                    list.len()
                ),
                Some("write a single source as a string: `$.token`; or list the revisions: `[$.data.token, $.token]`".into()),
            );
            return None;
        }
        let mut out: Vec<ValueSource> = Vec::new();
        let mut ok = true;
        for item in list {
            match self.one_source(&item.value, item.referenced) {
                Some(one) if out.contains(&one) => {
                    self.error(
                        item.referenced,
                        format!("`{one}` is listed twice among the alternatives"),
                        Some("remove the repeated source".into()),
                    );
                    ok = false;
                }
                Some(one) => out.push(one),
                None => ok = false,
            }
        }
        ok.then_some(ValueSource::FirstOf(out))
    }

    fn one_source(&mut self, text: &str, at: Location) -> Option<ValueSource> {
        let text = text.trim();
        if let Some(name) = text.strip_prefix("@header:") {
            let name = name.trim();
            if is_header_name(name) {
                return Some(ValueSource::Header(name.to_owned()));
            }
            self.error(
                at,
                format!("`{name}` is not a valid header name"),
                Some("write `@header:NAME` with a header name such as `X-Subject-Token`".into()),
            );
            return None;
        }
        if text == "@body" {
            return Some(ValueSource::WholeBody);
        }
        if text.starts_with('@') {
            self.error(
                at,
                format!("unknown value source `{text}`"),
                Some(
                    "a source is a JSON path (`$.access_token`), `@header:NAME` or `@body`".into(),
                ),
            );
            return None;
        }
        match FieldPath::parse(text) {
            Ok(path) => Some(ValueSource::Body(path)),
            Err(e) => {
                self.error(
                    at,
                    format!("`{text}` is not a valid path: {}", e.message),
                    Some("paths look like `$.access_token`, `$.access_token.token`, `access_token.token` or `$.sessions[0].token`".into()),
                );
                None
            }
        }
    }
}
