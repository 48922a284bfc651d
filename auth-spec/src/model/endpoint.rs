//! Requests to the vendor: method, path, encoding, headers, body, and the token endpoints.

use indexmap::IndexMap;

use super::TokenResponse;
use crate::template::Template;

/// HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
}

impl Method {
    /// The method as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// Request body encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// `application/json`.
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// No body.
    None,
    /// `encoding: unknown`: the vendor's document does not say; the body is flat, and the
    /// caller chooses [`Encoding::Json`] or [`Encoding::Form`] at run time.
    Unknown,
}

impl Encoding {
    /// The `Content-Type` this encoding implies, if any.
    pub fn content_type(self) -> Option<&'static str> {
        match self {
            Encoding::Json => Some("application/json"),
            Encoding::Form => Some("application/x-www-form-urlencoded"),
            Encoding::None | Encoding::Unknown => None,
        }
    }
}

/// A request body: a JSON value whose strings are templates.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyValue {
    /// `null`.
    Null,
    /// A boolean literal.
    Bool(bool),
    /// A number literal.
    Number(serde_json::Number),
    /// A string template; a sole `${response.PATH}` keeps the JSON type of what it names.
    Template(Template),
    /// An array.
    Array(Vec<BodyValue>),
    /// An object, in file order.
    Object(IndexMap<String, BodyValue>),
}

impl BodyValue {
    /// Every template in this body, depth first.
    pub fn templates(&self) -> Vec<&Template> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a Template>) {
        match self {
            BodyValue::Template(t) => out.push(t),
            BodyValue::Array(items) => items.iter().for_each(|i| i.collect(out)),
            BodyValue::Object(map) => map.values().for_each(|v| v.collect(out)),
            BodyValue::Null | BodyValue::Bool(_) | BodyValue::Number(_) => {}
        }
    }
}

/// HTTP Basic client authentication.
#[derive(Debug, Clone, PartialEq)]
pub struct BasicAuth {
    /// User name template.
    pub username: Template,
    /// Password template.
    pub password: Template,
}

/// A request to the vendor.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// HTTP method.
    pub method: Method,
    /// Path appended to the base URL, starting with `/`: a template whose placeholders each fill
    /// part of one path segment (`/api/v1/${credentials.tenant}/login`); a literal `?query` may
    /// follow, with no placeholder in it.
    pub path: Template,
    /// Body encoding.
    pub encoding: Encoding,
    /// Headers (name, template) in file order.
    pub headers: Vec<(String, Template)>,
    /// Query parameters (name, template) in file order.
    pub query: Vec<(String, Template)>,
    /// The body, when `encoding` is not `None`.
    pub body: Option<BodyValue>,
    /// HTTP Basic client authentication.
    pub basic_auth: Option<BasicAuth>,
    /// Statuses besides 2xx that count as success.
    pub success_status: Vec<u16>,
    /// Answers that mean failure whatever their status (the first match wins).
    pub failures: Vec<crate::judge::FailureRule>,
}

impl Endpoint {
    /// Every template of the request: path, headers, query, body, basic auth.
    pub fn templates(&self) -> Vec<&Template> {
        let mut out: Vec<&Template> = vec![&self.path];
        out.extend(self.headers.iter().map(|(_, t)| t));
        out.extend(self.query.iter().map(|(_, t)| t));
        if let Some(body) = &self.body {
            out.extend(body.templates());
        }
        if let Some(basic) = &self.basic_auth {
            out.push(&basic.username);
            out.push(&basic.password);
        }
        out
    }

    /// Whether `status` is a success answer for this endpoint.
    pub fn is_success(&self, status: u16) -> bool {
        (200..300).contains(&status) || self.success_status.contains(&status)
    }
}

/// A request that answers with tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenEndpoint {
    /// The request.
    pub request: Endpoint,
    /// Where the tokens are in the answer.
    pub response: TokenResponse,
}
