//! The generated token-answer types: `LoginResponse` / `RefreshResponse` typed from the spec's example answers, nested objects as their own structs, and accessors for the tokens.

use auth_spec::model::{ExpirySource, TokenResponse, Unit, ValueSource};
use auth_spec::path::{FieldPath, Segment};
use auth_spec::timefmt::TimeFormat;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

use crate::names::{camel, ident, snake};
use crate::shape::{self, Field, Shape};

/// Body paths of the tokens a response mapping reads.
pub(crate) fn token_paths(response: &TokenResponse) -> Vec<FieldPath> {
    [
        Some(&response.access_token),
        response.refresh_token.as_ref(),
    ]
    .into_iter()
    .flatten()
    .filter_map(|source| match source {
        ValueSource::Body(path) => Some(path.clone()),
        _ => None,
    })
    .collect()
}

pub(crate) fn response_struct(response: &TokenResponse, name: &str, what: &str) -> TokenStream {
    let success: Vec<&Value> = response
        .examples
        .iter()
        .filter(|e| (200..300).contains(&e.status))
        .map(|e| &e.body)
        .collect();
    let required = token_paths(response);
    let shape = shape::infer(&success, &required);
    let doc = format!(
        "The answer to {what}, typed from the vendor's example answers. Secret fields are `SecretString`s (redacted in Debug); serializing it exposes them."
    );
    let mut items = Vec::new();
    let fields = match &shape {
        Shape::Object(fields) => fields.clone(),
        // A text or array body: nothing to type by field.
        _ => Vec::new(),
    };
    let roles = Roles::of(response);
    let at = Place {
        what,
        path: FieldPath::default(),
        roles: &roles,
    };
    let body = object_struct(name, &doc, &fields, &at, &mut items);
    let accessors = [
        ("access_token", Some(&response.access_token)),
        ("refresh_token", response.refresh_token.as_ref()),
    ]
    .into_iter()
    .filter_map(|(method, source)| {
        let ValueSource::Body(path) = source? else {
            return None;
        };
        let access = accessor(&fields, path)?;
        let method = format_ident!("{}", method);
        let doc = format!("The token at `{path}`, as the spec reads it.");
        Some(quote! {
            #[doc = #doc]
            pub fn #method(&self) -> ::std::option::Option<&::auth_runtime::secrecy::SecretString> {
                #access
            }
        })
    });
    let type_name = format_ident!("{}", name);
    quote! {
        #body
        #(#items)*
        impl #type_name {
            #(#accessors)*
        }
    }
}

/// Code navigating `self` along `path` through the typed fields, when the shape allows it.
pub(crate) fn accessor(fields: &[Field], path: &FieldPath) -> Option<TokenStream> {
    let mut expr = quote!(self);
    let mut fields = fields;
    let mut in_option = false;
    let segments = path.segments();
    for (i, segment) in segments.iter().enumerate() {
        let Segment::Key(key) = segment else {
            return None;
        };
        let field = fields.iter().find(|f| &f.key == key)?;
        let name = ident(&snake(key));
        expr = match (in_option, field.required) {
            (false, true) => quote!(#expr.#name),
            (false, false) => {
                in_option = true;
                quote!(#expr.#name.as_ref())
            }
            (true, true) => quote!(#expr.map(|v| &v.#name)),
            (true, false) => quote!(#expr.and_then(|v| v.#name.as_ref())),
        };
        let last = i + 1 == segments.len();
        match (&field.shape, last) {
            (Shape::String { secret: true }, true) => {}
            (Shape::Object(inner), false) => fields = inner,
            _ => return None,
        }
    }
    Some(if in_option {
        expr
    } else {
        quote!(::std::option::Option::Some(&#expr))
    })
}

pub(crate) fn object_struct(
    name: &str,
    doc: &str,
    fields: &[Field],
    at: &Place<'_>,
    items: &mut Vec<TokenStream>,
) -> TokenStream {
    let type_name = format_ident!("{}", name);
    let members = fields.iter().map(|f| {
        let field = ident(&snake(&f.key));
        let key = &f.key;
        let here = at.child(key);
        let ty = rust_type(&format!("{name}{}", camel(&f.key)), &f.shape, &here, items);
        let secret = matches!(f.shape, Shape::String { secret: true });
        let (ty, serialize) = match (f.required, secret) {
            (true, true) => (ty, quote!(#[serde(serialize_with = "::auth_runtime::typed::serialize_secret")])),
            (true, false) => (ty, quote!()),
            (false, true) => (
                quote!(::std::option::Option<#ty>),
                quote!(#[serde(default, serialize_with = "::auth_runtime::typed::serialize_optional_secret")]),
            ),
            (false, false) => (quote!(::std::option::Option<#ty>), quote!(#[serde(default)])),
        };
        let doc = here.field_doc(&f.shape, f.required);
        quote! {
            #[doc = #doc]
            #[serde(rename = #key)]
            #serialize
            pub #field: #ty,
        }
    });
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, ::auth_runtime::serde::Deserialize, ::auth_runtime::serde::Serialize)]
        #[serde(crate = "::auth_runtime::serde")]
        pub struct #type_name {
            #(#members)*
        }
    }
}

pub(crate) fn rust_type(
    name: &str,
    shape: &Shape,
    at: &Place<'_>,
    items: &mut Vec<TokenStream>,
) -> TokenStream {
    match shape {
        Shape::String { secret: true } => quote!(::auth_runtime::secrecy::SecretString),
        Shape::String { secret: false } => quote!(::std::string::String),
        Shape::Integer => quote!(i64),
        Shape::Float => quote!(f64),
        Shape::Bool => quote!(bool),
        Shape::Any => quote!(::auth_runtime::serde_json::Value),
        Shape::Array(inner) => {
            let inner = rust_type(&format!("{name}Item"), inner, &at.item(), items);
            quote!(::std::vec::Vec<#inner>)
        }
        Shape::Object(fields) => {
            let doc = format!("The object at `{}` in the answer to {}.", at.path, at.what);
            let item = object_struct(name, &doc, fields, at, items);
            items.push(item);
            let ident = format_ident!("{}", name);
            quote!(#ident)
        }
    }
}

/// What the spec reads at each body path of one token answer: the roles a field's doc names.
pub(crate) struct Roles {
    by_path: Vec<(FieldPath, String)>,
}

impl Roles {
    /// The body paths `response` reads, each with what it reads there.
    pub(crate) fn of(response: &TokenResponse) -> Self {
        let mut by_path = Vec::new();
        let mut add = |source: &ValueSource, role: String| {
            for one in source.alternatives() {
                if let ValueSource::Body(path) = one {
                    by_path.push((path.clone(), role.clone()));
                }
            }
        };
        add(&response.access_token, "The access token.".into());
        if let Some(refresh) = &response.refresh_token {
            add(refresh, "The refresh token.".into());
        }
        for (whose, what, sources) in [
            (
                "access token's",
                "access token",
                &response.access_token_expiry,
            ),
            (
                "refresh token's (the session's)",
                "refresh token (the session)",
                &response.refresh_token_expiry,
            ),
        ] {
            for source in sources {
                match source {
                    ExpirySource::ExpiresIn {
                        source,
                        unit,
                        zero_means_none,
                    } => {
                        let unit = match unit {
                            Unit::Seconds => "seconds",
                            Unit::Milliseconds => "milliseconds",
                        };
                        let zero = if *zero_means_none {
                            " 0 means no lifetime is declared."
                        } else {
                            ""
                        };
                        add(
                            source,
                            format!(
                                "The {whose} lifetime in {unit}, from when the request was sent.{zero}"
                            ),
                        );
                    }
                    ExpirySource::ExpiresAt { source, format } => {
                        add(
                            source,
                            format!("When the {what} expires, {}.", format_words(format)),
                        );
                    }
                    _ => {}
                }
            }
        }
        for (name, source) in &response.values {
            add(
                source,
                format!(
                    "Session value `{name}`, sent where the spec writes `${{session.{name}}}`."
                ),
            );
        }
        for path in &response.header_values {
            by_path.push((
                path.clone(),
                format!("Sent in a later request's header as `${{response.{path}}}`."),
            ));
        }
        Self { by_path }
    }

    fn at(&self, path: &FieldPath) -> Vec<&str> {
        let mut roles: Vec<&str> = self
            .by_path
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, role)| role.as_str())
            .collect();
        roles.dedup();
        roles
    }

    /// Whether the spec reads something below `path`.
    fn below(&self, path: &FieldPath) -> bool {
        let path = path.segments();
        self.by_path.iter().any(|(p, _)| {
            let p = p.segments();
            p.len() > path.len() && p.starts_with(path)
        })
    }
}

fn format_words(format: &TimeFormat) -> String {
    match format {
        TimeFormat::EpochSeconds => "in seconds since the Unix epoch".into(),
        TimeFormat::EpochMilliseconds => "in milliseconds since the Unix epoch".into(),
        TimeFormat::Rfc3339 => "as an RFC 3339 time".into(),
        TimeFormat::HttpDate => "as an HTTP-date".into(),
        TimeFormat::Pattern { pattern, zone } => {
            format!(
                "written `{pattern}` (times without an offset are in {})",
                zone.name()
            )
        }
    }
}

/// Where in an answer a generated type or field sits, for its doc.
pub(crate) struct Place<'a> {
    /// Which answer: "the login", "a refresh".
    pub(crate) what: &'a str,
    /// The body path to here.
    pub(crate) path: FieldPath,
    /// What the spec reads where.
    pub(crate) roles: &'a Roles,
}

impl Place<'_> {
    fn child(&self, key: &str) -> Self {
        self.at(self.path.join(Segment::Key(key.to_owned())))
    }

    /// Every element of an array: shown as `[0]`, the first one, which the spec's paths name.
    fn item(&self) -> Self {
        self.at(self.path.join(Segment::Index(0)))
    }

    fn at(&self, path: FieldPath) -> Self {
        Place {
            what: self.what,
            path,
            roles: self.roles,
        }
    }

    /// The doc of the field here: its path, what the spec reads from it, whether it is secret
    /// and whether the vendor may leave it out.
    fn field_doc(&self, shape: &Shape, required: bool) -> String {
        let roles = self.roles.at(&self.path);
        let mut doc = if roles.is_empty() {
            if self.roles.below(&self.path) {
                "Holds values the spec reads (see its fields).".to_owned()
            } else {
                "Not read by the spec; typed as the vendor's examples show it.".to_owned()
            }
        } else {
            roles.join(" ")
        };
        doc.push_str(&format!(" JSON path: `{}`.", self.path));
        if matches!(shape, Shape::String { secret: true }) {
            doc.push_str(" Secret: redacted in Debug output.");
        }
        if !required {
            doc.push_str(" `None` when the answer leaves it out.");
        }
        doc
    }
}
