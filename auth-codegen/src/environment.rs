//! The generated `Environment` enum: one variant per environment of the spec (its default marked `#[default]`), and `Url` for any other base URL.

use auth_spec::ProviderSpec;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::names::camel;

pub(crate) fn environment(spec: &ProviderSpec) -> TokenStream {
    let default = &spec.default_environment;
    let variants = spec.environments.iter().map(|e| {
        let variant = format_ident!("{}", camel(&e.name));
        let mut doc = e
            .description
            .as_deref()
            .map(crate::names::sentence)
            .unwrap_or_else(|| format!("The `{}` environment.", e.name));
        match &e.base_url {
            Some(url) => doc.push_str(&format!(" Base URL: `{url}`.")),
            None => doc.push_str(
                " The vendor's documents name no host for it: build the client with a base URL (`Environment::Url`).",
            ),
        }
        let default_attr = (&e.name == default).then(|| quote!(#[default]));
        quote!(#[doc = #doc] #default_attr #variant,)
    });
    let urls = spec.environments.iter().map(|e| {
        let variant = format_ident!("{}", camel(&e.name));
        match &e.base_url {
            Some(url) => quote!(Self::#variant => ::std::option::Option::Some(#url),),
            None => quote!(Self::#variant => ::std::option::Option::None,),
        }
    });
    let names = spec.environments.iter().map(|e| {
        let variant = format_ident!("{}", camel(&e.name));
        let name = &e.name;
        quote!(Self::#variant => ::std::option::Option::Some(#name),)
    });
    let doc = format!(
        "Where {} is reached. The default is `{}`; `Url` takes any other base URL (an origin such as `https://host:port`), e.g. a local simulator.",
        spec.title, default
    );
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub enum Environment {
            #(#variants)*
            /// Any other base URL (an origin such as `https://host:port`).
            Url(::std::string::String),
        }

        impl Environment {
            /// The base URL, when known.
            pub fn base_url(&self) -> ::std::option::Option<&str> {
                match self {
                    #(#urls)*
                    Self::Url(url) => ::std::option::Option::Some(url),
                }
            }

            /// The spec's name for this environment (`None` for `Url`).
            pub fn name(&self) -> ::std::option::Option<&'static str> {
                match self {
                    #(#names)*
                    Self::Url(_) => ::std::option::Option::None,
                }
            }
        }
    }
}
