//! Code generation: a validated provider spec becomes a typed Rust module.
//!
//! This is a plain library (`spec -> TokenStream`) so that snapshot tests and tools can call it
//! without the proc-macro; `auth-macros` is a thin layer over it. The generated module only
//! adapts types: every flow (login, refresh, expiry, retries) runs in `auth_runtime`, which the
//! generated code reaches through one path, `::auth_runtime`, and its re-exports.
//!
//! For a provider `apiax` it emits `pub mod apiax` with:
//! - `Credentials` (one field per credential; secrets as `SecretString`) and `from_env()`;
//! - `Environment` (one variant per spec environment, the default marked `#[default]`, plus
//!   `Url(String)` for any other base URL);
//! - `LoginResponse` / `RefreshResponse`, nested as the vendor nests them, from the examples;
//! - `Client` / `ClientBuilder` over `auth_runtime::Authenticator`;
//! - `spec()`, the parsed spec, embedded from the YAML file (tracked, so edits rebuild).

mod client;
mod credentials;
mod environment;
mod names;
mod responses;
pub mod shape;

use auth_spec::ProviderSpec;
use proc_macro2::{Literal, TokenStream};
use quote::quote;

use names::ident;
pub use names::{camel, snake};

/// Where the generated module gets the YAML text from.
#[derive(Debug, Clone)]
pub enum SpecSource {
    /// `include_str!(path)`: the compiler tracks the file, so editing it rebuilds.
    File(String),
    /// The text itself, as a string literal.
    Inline(String),
}

/// Options for [`generate`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the YAML text comes from.
    pub source: SpecSource,
    /// The path the spec was parsed from, as shown in docs and diagnostics (`providers/x.yaml`).
    pub display_path: String,
    /// Rust path of the module's parent (e.g. `providers`), used to make the doc examples
    /// compile; without it they are shown as text.
    pub doc_parent: Option<String>,
}

/// The module for one provider.
pub fn generate(spec: &ProviderSpec, options: &Options) -> TokenStream {
    let module = ident(&spec.name);
    let module_doc = module_doc(spec, options);
    let name = &spec.name;
    let yaml = match &options.source {
        SpecSource::File(path) => quote!(include_str!(#path)),
        SpecSource::Inline(text) => {
            let lit = Literal::string(text);
            quote!(#lit)
        }
    };
    let display_path = &options.display_path;
    let credentials = credentials::credentials(spec);
    let environment = environment::environment(spec);
    let login_response =
        responses::response_struct(&spec.login.response, "LoginResponse", "the login");
    let refresh_response = spec
        .refresh
        .as_ref()
        .map(|r| responses::response_struct(&r.response, "RefreshResponse", "a refresh"));
    let client = client::client(spec, options);
    quote! {
        pub mod #module {
            // An inner doc: its links resolve inside the module (`Client`), where an outer one
            // would resolve in the parent.
            #![doc = #module_doc]

            /// The provider's name: the YAML file stem.
            pub const NAME: &str = #name;

            /// The YAML spec this module was generated from.
            pub const SPEC_YAML: &str = #yaml;

            /// The spec, parsed once from [`SPEC_YAML`].
            pub fn spec() -> ::std::sync::Arc<::auth_runtime::auth_spec::ProviderSpec> {
                static SPEC: ::std::sync::OnceLock<::std::sync::Arc<::auth_runtime::auth_spec::ProviderSpec>> =
                    ::std::sync::OnceLock::new();
                ::std::sync::Arc::clone(SPEC.get_or_init(|| {
                    match ::auth_runtime::auth_spec::parse(#display_path, SPEC_YAML) {
                        ::std::result::Result::Ok(spec) => ::std::sync::Arc::new(spec),
                        // The same text was validated when this module was generated.
                        ::std::result::Result::Err(diagnostics) => {
                            panic!("{} changed since it was checked at build time:\n{}", #display_path, diagnostics)
                        }
                    }
                }))
            }

            #credentials
            #environment
            #login_response
            #refresh_response
            #client
        }
    }
}

/// [`generate`], formatted with prettyplease (what the snapshots show).
pub fn generate_pretty(spec: &ProviderSpec, options: &Options) -> String {
    let tokens = generate(spec, options);
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(_) => tokens.to_string(),
    }
}

fn module_doc(spec: &ProviderSpec, options: &Options) -> String {
    let mut doc = format!(
        "{}: token authentication, generated from `{}`.",
        spec.title, options.display_path
    );
    if let Some(description) = &spec.description {
        doc.push_str("\n\n");
        doc.push_str(&names::sentence(description));
    }
    if let Some(link) = &spec.documentation {
        doc.push_str(&format!("\n\nVendor documentation: <{link}>."));
    }
    let vars: Vec<String> = spec
        .credentials
        .iter()
        .map(|c| format!("`{}`", c.env))
        .collect();
    doc.push_str(&format!(
        "\n\nCredentials are read from {}. Start with [`Client::from_env`].",
        vars.join(", ")
    ));
    doc
}
