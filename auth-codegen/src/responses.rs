//! The generated token-answer types: `LoginResponse` / `RefreshResponse` typed from the spec's example answers, nested objects as their own structs, and accessors for the tokens.

use auth_spec::model::{TokenResponse, ValueSource};
use auth_spec::path::{FieldPath, Segment};
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
    let body = object_struct(name, &doc, &fields, &mut items);
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
    items: &mut Vec<TokenStream>,
) -> TokenStream {
    let type_name = format_ident!("{}", name);
    let members = fields.iter().map(|f| {
        let field = ident(&snake(&f.key));
        let key = &f.key;
        let ty = rust_type(&format!("{name}{}", camel(&f.key)), &f.shape, items);
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
        let doc = format!("`{key}`{}", if secret { " (secret)" } else { "" });
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

pub(crate) fn rust_type(name: &str, shape: &Shape, items: &mut Vec<TokenStream>) -> TokenStream {
    match shape {
        Shape::String { secret: true } => quote!(::auth_runtime::secrecy::SecretString),
        Shape::String { secret: false } => quote!(::std::string::String),
        Shape::Integer => quote!(i64),
        Shape::Float => quote!(f64),
        Shape::Bool => quote!(bool),
        Shape::Any => quote!(::auth_runtime::serde_json::Value),
        Shape::Array(inner) => {
            let inner = rust_type(&format!("{name}Item"), inner, items);
            quote!(::std::vec::Vec<#inner>)
        }
        Shape::Object(fields) => {
            let doc = format!("Part of a token answer (`{name}`).");
            let item = object_struct(name, &doc, fields, items);
            items.push(item);
            let ident = format_ident!("{}", name);
            quote!(#ident)
        }
    }
}
