//! The lifetime a client chose in its request (`${lifetime.NAME.UNIT}`), read back from the
//! request as the simulated vendor receives it, so that it is honoured only when really sent.

use std::time::Duration;

use auth_spec::lifetime::{LifetimeRef, LifetimeUnit};
use auth_spec::model::{BodyValue, Encoding, Endpoint};
use auth_spec::template::{Reference, Template};
use serde_json::Value;

use crate::seen::Seen;

/// The lifetime `seen` asks for where `endpoint` sends a `${lifetime...}` placeholder as a
/// whole value (a header, a query entry, a body field); `None` when it asks for none.
pub(super) fn requested_lifetime(endpoint: &Endpoint, seen: &Seen) -> Option<Duration> {
    let sent = |entries: &[(String, Template)], received: &[(String, String)]| {
        entries.iter().find_map(|(name, template)| {
            let lifetime = sole_lifetime(template)?;
            let (_, value) = received
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))?;
            duration(lifetime, &Value::from(value.as_str()))
        })
    };
    if let Some(found) = sent(&endpoint.headers, &seen.headers) {
        return Some(found);
    }
    if let Some(found) = sent(&endpoint.query, &seen.query) {
        return Some(found);
    }
    let body = endpoint.body.as_ref()?;
    let received: Value = match endpoint.encoding {
        Encoding::Json => serde_json::from_str(&seen.body).ok()?,
        Encoding::Form => Value::Object(
            url::form_urlencoded::parse(seen.body.as_bytes())
                .map(|(k, v)| (k.into_owned(), Value::from(v.into_owned())))
                .collect(),
        ),
        // The document does not say: the simulated vendor takes JSON or a form.
        Encoding::Unknown => serde_json::from_str(&seen.body).unwrap_or_else(|_| {
            Value::Object(
                url::form_urlencoded::parse(seen.body.as_bytes())
                    .map(|(k, v)| (k.into_owned(), Value::from(v.into_owned())))
                    .collect(),
            )
        }),
        Encoding::None => return None,
    };
    in_body(body, &received)
}

fn in_body(body: &BodyValue, received: &Value) -> Option<Duration> {
    match body {
        BodyValue::Template(template) => duration(sole_lifetime(template)?, received),
        BodyValue::Object(map) => map
            .iter()
            .find_map(|(key, value)| in_body(value, received.get(key)?)),
        BodyValue::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, value)| in_body(value, received.get(i)?)),
        BodyValue::Null | BodyValue::Bool(_) | BodyValue::Number(_) => None,
    }
}

fn sole_lifetime(template: &Template) -> Option<&LifetimeRef> {
    match template.sole_reference()? {
        Reference::Lifetime(lifetime) => Some(lifetime),
        _ => None,
    }
}

/// `value` (a number, or a numeric string) read in the placeholder's unit.
fn duration(lifetime: &LifetimeRef, value: &Value) -> Option<Duration> {
    let count = match value {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    Some(match lifetime.unit {
        LifetimeUnit::Seconds => Duration::from_secs(count),
        LifetimeUnit::Minutes => Duration::from_secs(count.checked_mul(60)?),
        LifetimeUnit::Milliseconds => Duration::from_millis(count),
    })
}
