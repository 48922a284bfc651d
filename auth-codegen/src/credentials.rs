//! The generated `Credentials` struct: one field per credential (secrets as `SecretString`, optional ones as `Option`), `from_env`, and the conversion into the runtime's credentials.

use auth_spec::ProviderSpec;
use proc_macro2::TokenStream;
use quote::quote;

use crate::names::{ident, snake};

pub(crate) fn credentials(spec: &ProviderSpec) -> TokenStream {
    let vars: Vec<String> = spec
        .credentials
        .iter()
        .map(|c| format!("`{}`", c.env))
        .collect();
    let doc = format!(
        "Credentials for {}: {}. Secret values are `SecretString`s: their Debug output is redacted.",
        spec.title,
        vars.join(", ")
    );
    let fields = spec.credentials.iter().map(|c| {
        let field = ident(&snake(&c.name));
        let mut doc = c
            .description
            .as_deref()
            .map(crate::names::sentence)
            .unwrap_or_else(|| format!("The `{}` credential.", c.name));
        doc.push_str(&format!(" Read from `{}`.", c.env));
        // Optional: `required: false`, or in some credential sets only; absent leaves its
        // entries out.
        let optional = spec.is_optional(&c.name);
        if optional {
            doc.push_str(" Optional: when `None`, the entries that send it are left out.");
        }
        match (c.secret, optional) {
            (true, false) => quote!(#[doc = #doc] pub #field: ::auth_runtime::secrecy::SecretString,),
            (false, false) => quote!(#[doc = #doc] pub #field: ::std::string::String,),
            (true, true) => quote!(#[doc = #doc] pub #field: ::std::option::Option<::auth_runtime::secrecy::SecretString>,),
            (false, true) => quote!(#[doc = #doc] pub #field: ::std::option::Option<::std::string::String>,),
        }
    });
    let takes = spec.credentials.iter().map(|c| {
        let field = ident(&snake(&c.name));
        let name = &c.name;
        match (c.secret, spec.is_optional(&c.name)) {
            (true, false) => quote!(#field: values.take_secret(#name)?,),
            (false, false) => quote!(#field: values.take_plain(#name)?,),
            (true, true) => quote!(#field: values.take_secret(#name).ok(),),
            (false, true) => quote!(#field: values.take_plain(#name).ok(),),
        }
    });
    let gives = spec.credentials.iter().map(|c| {
        let field = ident(&snake(&c.name));
        let name = &c.name;
        match (c.secret, spec.is_optional(&c.name)) {
            (true, false) => quote!(values.insert_secret(#name, self.#field);),
            (false, false) => quote!(values.insert(#name, self.#field);),
            (true, true) => quote!(if let ::std::option::Option::Some(value) = self.#field { values.insert_secret(#name, value); }),
            (false, true) => quote!(if let ::std::option::Option::Some(value) = self.#field { values.insert(#name, value); }),
        }
    });
    let debug_fields = spec.credentials.iter().map(|c| {
        let field = ident(&snake(&c.name));
        let name = snake(&c.name);
        match (c.secret, spec.is_optional(&c.name)) {
            (true, false) => quote!(.field(#name, &"[redacted]")),
            (true, true) => quote!(.field(#name, &self.#field.as_ref().map(|_| "[redacted]"))),
            (false, _) => quote!(.field(#name, &self.#field)),
        }
    });
    quote! {
        #[doc = #doc]
        #[derive(Clone)]
        pub struct Credentials {
            #(#fields)*
        }

        impl Credentials {
            /// Reads every credential from its environment variable; the error names the first
            /// one that is missing.
            pub fn from_env() -> ::std::result::Result<Self, ::auth_runtime::AuthError> {
                let mut values = ::auth_runtime::Credentials::from_env(&spec())?;
                ::std::result::Result::Ok(Self { #(#takes)* })
            }

            /// The same values as [`auth_runtime::Credentials`], keyed by the spec's credential
            /// names: what [`auth_runtime::Authenticator::builder`] takes.
            pub fn into_runtime(self) -> ::auth_runtime::Credentials {
                let mut values = ::auth_runtime::Credentials::new();
                #(#gives)*
                values
            }
        }

        impl ::std::fmt::Debug for Credentials {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct("Credentials") #(#debug_fields)* .finish()
            }
        }
    }
}
