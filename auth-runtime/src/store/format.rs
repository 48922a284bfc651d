//! The persisted form of an entry, read and written field by field with every value
//! range-checked (a store file is untrusted input).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_spec::extract::SecretJson;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::session::{Flow, Session};
use crate::store::{Entry, MAX_REVISION, Pending};

/// The persisted form of an [`Entry`]; times are milliseconds since the Unix epoch. The
/// session's fields sit at the top of the entry (as in files written before entries had
/// intents).
#[derive(Serialize, Deserialize, Default)]
pub(super) struct StoredEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revision: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_expires_at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_expires_at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issued_at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    login_at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    generation: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_response: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    last_flow_refresh: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending: Option<StoredPending>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    abandoned_login: Option<StoredPending>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    login_requests_ms: Vec<u64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    values: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    response_headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_used_ms: Option<u64>,
}

/// The most login request times an entry may hold: a budget's largest count, and some room.
const MAX_LOGIN_REQUESTS: usize = auth_spec::model::LoginLimit::MAX_REQUESTS as usize + 16;

/// The names of [`StoredEntry`]'s fields: anything else in an entry is kept as it is.
pub(super) const ENTRY_FIELDS: &[&str] = &[
    "revision",
    "access_token",
    "refresh_token",
    "access_expires_at_ms",
    "refresh_expires_at_ms",
    "issued_at_ms",
    "login_at_ms",
    "generation",
    "last_response",
    "last_flow_refresh",
    "pending",
    "abandoned_login",
    "login_requests_ms",
    "values",
    "response_headers",
    "last_used_ms",
];

#[derive(Serialize, Deserialize)]
pub(super) struct StoredPending {
    refresh: bool,
    started_at_ms: u64,
    pid: u32,
    generation: u64,
}

pub(super) fn to_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

pub(super) fn from_ms(ms: u64, field: &str) -> Result<SystemTime, String> {
    UNIX_EPOCH
        .checked_add(Duration::from_millis(ms))
        .ok_or_else(|| format!("`{field}` is out of range"))
}

/// Whether a stored token could be sent in a header (the file is untrusted input): the same
/// rule as for tokens in a vendor's answer.
fn header_safe(token: &str) -> bool {
    !token.is_empty() && auth_spec::extract::header_value_problem(token).is_none()
}

pub(super) fn counter(value: u64, field: &str) -> Result<u64, String> {
    if value >= MAX_REVISION {
        return Err(format!("`{field}` {value} is out of range"));
    }
    Ok(value)
}

impl From<&Entry> for StoredEntry {
    fn from(entry: &Entry) -> Self {
        let pending = |p: &Pending| StoredPending {
            refresh: p.flow == Flow::Refresh,
            started_at_ms: to_ms(p.started_at),
            pid: p.pid,
            generation: p.generation,
        };
        let mut stored = StoredEntry {
            revision: Some(entry.revision),
            pending: entry.pending.as_ref().map(pending),
            abandoned_login: entry.abandoned_login.as_ref().map(pending),
            login_requests_ms: entry.login_requests.iter().copied().map(to_ms).collect(),
            last_used_ms: entry.last_used.map(to_ms),
            ..StoredEntry::default()
        };
        if let Some(s) = &entry.session {
            stored.access_token = Some(s.access_token.expose_secret().to_owned());
            stored.refresh_token = s
                .refresh_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned());
            stored.access_expires_at_ms = s.access_expires_at.map(to_ms);
            stored.refresh_expires_at_ms = s.refresh_expires_at.map(to_ms);
            stored.issued_at_ms = Some(to_ms(s.issued_at));
            stored.login_at_ms = Some(to_ms(s.login_at));
            stored.generation = Some(s.generation);
            stored.last_response = s.last_response.as_ref().map(|r| r.expose().clone());
            stored.last_flow_refresh = s.last_flow == Flow::Refresh;
            let exposed = |map: &BTreeMap<String, SecretString>| {
                map.iter()
                    .map(|(k, v)| (k.clone(), v.expose_secret().to_owned()))
                    .collect()
            };
            stored.values = exposed(&s.values);
            stored.response_headers = exposed(&s.response_headers);
        }
        stored
    }
}

impl StoredEntry {
    /// The entry, with every value range-checked. Messages name fields, never values.
    fn into_entry(self) -> Result<Entry, String> {
        let pending = |p: StoredPending| -> Result<Pending, String> {
            Ok(Pending {
                flow: if p.refresh {
                    Flow::Refresh
                } else {
                    Flow::Login
                },
                started_at: from_ms(p.started_at_ms, "started_at_ms")?,
                pid: p.pid,
                generation: counter(p.generation, "generation")?,
            })
        };
        let session = match self.access_token {
            None => None,
            Some(access_token) => {
                if !header_safe(&access_token) {
                    return Err("`access_token` is not a valid token".into());
                }
                if let Some(r) = &self.refresh_token
                    && !header_safe(r)
                {
                    return Err("`refresh_token` is not a valid token".into());
                }
                let required =
                    |v: Option<u64>, field: &str| v.ok_or_else(|| format!("`{field}` is missing"));
                // Session values are sent in headers too: the same rule as the tokens.
                let secrets = |map: BTreeMap<String, String>, field: &str| {
                    map.into_iter()
                        .map(|(k, v)| {
                            if header_safe(&v) {
                                Ok((k, SecretString::from(v)))
                            } else {
                                Err(format!("a value of `{field}` is not a valid header value"))
                            }
                        })
                        .collect::<Result<BTreeMap<_, _>, String>>()
                };
                let values = secrets(self.values, "values")?;
                let response_headers = secrets(self.response_headers, "response_headers")?;
                Some(Session {
                    access_token: SecretString::from(access_token),
                    refresh_token: self.refresh_token.map(SecretString::from),
                    access_expires_at: self
                        .access_expires_at_ms
                        .map(|ms| from_ms(ms, "access_expires_at_ms"))
                        .transpose()?,
                    refresh_expires_at: self
                        .refresh_expires_at_ms
                        .map(|ms| from_ms(ms, "refresh_expires_at_ms"))
                        .transpose()?,
                    issued_at: from_ms(
                        required(self.issued_at_ms, "issued_at_ms")?,
                        "issued_at_ms",
                    )?,
                    login_at: from_ms(required(self.login_at_ms, "login_at_ms")?, "login_at_ms")?,
                    generation: counter(required(self.generation, "generation")?, "generation")?,
                    last_response: self.last_response.map(SecretJson::new),
                    last_flow: if self.last_flow_refresh {
                        Flow::Refresh
                    } else {
                        Flow::Login
                    },
                    values,
                    response_headers,
                })
            }
        };
        if self.login_requests_ms.len() > MAX_LOGIN_REQUESTS {
            return Err("`login_requests_ms` has too many entries".into());
        }
        let login_requests = self
            .login_requests_ms
            .iter()
            .map(|ms| from_ms(*ms, "login_requests_ms"))
            .collect::<Result<Vec<_>, _>>()?;
        let generation = session.as_ref().map_or(0, |s| s.generation);
        let revision = counter(self.revision.unwrap_or(generation), "revision")?.max(generation);
        Ok(Entry {
            revision,
            session,
            pending: self.pending.map(pending).transpose()?,
            abandoned_login: self.abandoned_login.map(pending).transpose()?,
            login_requests,
            last_used: self
                .last_used_ms
                .map(|ms| from_ms(ms, "last_used_ms"))
                .transpose()?,
        })
    }
}

/// Reads one entry's JSON. Errors never carry the content.
pub(super) fn decode(raw: &str) -> Result<Entry, String> {
    serde_json::from_str::<StoredEntry>(raw)
        .map_err(|e| {
            format!(
                "{} at line {}, column {}",
                classify(&e),
                e.line(),
                e.column()
            )
        })?
        .into_entry()
}

pub(super) fn classify(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Data => "a field has the wrong type",
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Eof => "cut off",
        serde_json::error::Category::Io => "unreadable",
    }
}
