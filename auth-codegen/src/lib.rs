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

mod names;
pub mod shape;

use auth_spec::ProviderSpec;
use auth_spec::model::{TokenResponse, ValueSource};
use auth_spec::path::{FieldPath, Segment};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use serde_json::Value;

use names::ident;
pub use names::{camel, snake};
use shape::{Field, Shape};

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
    let credentials = credentials(spec);
    let environment = environment(spec);
    let login_response = response_struct(&spec.login.response, "LoginResponse", "the login");
    let refresh_response = spec
        .refresh
        .as_ref()
        .map(|r| response_struct(&r.response, "RefreshResponse", "a refresh"));
    let client = client(spec, options);
    quote! {
        #[doc = #module_doc]
        pub mod #module {
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
        doc.push_str(description);
    }
    if let Some(link) = &spec.documentation {
        doc.push_str(&format!("\n\nVendor documentation: <{link}>"));
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

fn credentials(spec: &ProviderSpec) -> TokenStream {
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
            .clone()
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

            /// The runtime's untyped form.
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

fn environment(spec: &ProviderSpec) -> TokenStream {
    let default = &spec.default_environment;
    let variants = spec.environments.iter().map(|e| {
        let variant = format_ident!("{}", camel(&e.name));
        let mut doc = e.description.clone().unwrap_or_else(|| format!("The `{}` environment.", e.name));
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

/// Body paths of the tokens a response mapping reads.
fn token_paths(response: &TokenResponse) -> Vec<FieldPath> {
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

fn response_struct(response: &TokenResponse, name: &str, what: &str) -> TokenStream {
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
fn accessor(fields: &[Field], path: &FieldPath) -> Option<TokenStream> {
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

fn object_struct(
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

fn rust_type(name: &str, shape: &Shape, items: &mut Vec<TokenStream>) -> TokenStream {
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

fn client(spec: &ProviderSpec, options: &Options) -> TokenStream {
    let title = &spec.title;
    let example = match &options.doc_parent {
        Some(parent) => format!(
            "```no_run\n# async fn example() -> Result<(), Box<dyn std::error::Error>> {{\nuse {parent}::{module}::{{Client, Credentials, Environment}};\n\nlet client = Client::builder(Credentials::from_env()?)\n    .environment(Environment::default())\n    .build()?;\nlet token = client.access_token().await?;\nlet answer = client.http().get(\"{url}/...\").send().await?;\n# let _ = (token, answer);\n# Ok(()) }}\n```",
            module = spec.name,
            url = spec.default_environment().base_url.clone().unwrap_or_else(|| "https://vendor.example".into()),
        ),
        // Without the module's path the example cannot compile; shown as text, not an ignored test.
        None => "```text\nlet client = Client::from_env()?;\nlet answer = client.http().get(\"https://vendor.example/...\").send().await?;\n```".to_owned(),
    };
    let doc = format!(
        "An authenticated {title} client: logs in, refreshes and sends the token as the spec says (through `auth_runtime`).\n\n{example}"
    );
    let refresh_variant = spec.refresh.as_ref().map(|_| {
        quote! {
            /// The answer to a refresh.
            Refresh(RefreshResponse),
        }
    });
    let refresh_arm = spec.refresh.as_ref().map(|_| {
        quote! {
            ::auth_runtime::Flow::Refresh => ::auth_runtime::serde_json::from_value(json.expose().clone())
                .ok()
                .map(TokenResponse::Refresh),
        }
    });
    let fallback = if spec.refresh.is_some() {
        quote!()
    } else {
        quote!(_ => None,)
    };
    quote! {
        /// The last token answer, typed.
        #[derive(Debug, Clone)]
        pub enum TokenResponse {
            /// The answer to the login.
            Login(LoginResponse),
            #refresh_variant
        }

        #[doc = #doc]
        #[derive(Debug, Clone)]
        pub struct Client {
            auth: ::auth_runtime::Authenticator,
            http: ::auth_runtime::reqwest_middleware::ClientWithMiddleware,
        }

        /// Builds a [`Client`].
        pub struct ClientBuilder {
            credentials: Credentials,
            environment: Environment,
            store: ::std::option::Option<::std::sync::Arc<dyn ::auth_runtime::TokenStore>>,
            http: ::std::option::Option<::auth_runtime::reqwest::Client>,
            timeout: ::std::option::Option<::std::time::Duration>,
            allowed_origins: ::std::vec::Vec<::std::string::String>,
            configure: ::std::vec::Vec<::std::boxed::Box<dyn ::std::ops::FnOnce(::auth_runtime::AuthenticatorBuilder) -> ::auth_runtime::AuthenticatorBuilder + ::std::marker::Send>>,
        }

        impl ::std::fmt::Debug for ClientBuilder {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct("ClientBuilder")
                    .field("credentials", &self.credentials)
                    .field("environment", &self.environment)
                    .field("store", &self.store.is_some())
                    .field("timeout", &self.timeout)
                    .field("allowed_origins", &self.allowed_origins)
                    .field("configure", &self.configure.len())
                    .finish_non_exhaustive()
            }
        }

        impl ClientBuilder {
            /// Uses this environment (default: [`Environment::default`]).
            pub fn environment(mut self, environment: Environment) -> Self {
                self.environment = environment;
                self
            }

            /// Keeps the session in this store (default: in memory).
            pub fn store(mut self, store: ::std::sync::Arc<dyn ::auth_runtime::TokenStore>) -> Self {
                self.store = ::std::option::Option::Some(store);
                self
            }

            /// Sends both the API calls and the token requests (login, refresh, logout) through
            /// this client, so that one proxy or TLS setting covers all of them; the auth
            /// middleware is added on top for API calls.
            ///
            /// Token requests carry credentials: build the client from
            /// [`auth_runtime::http::client_builder`], which never follows a redirect to another
            /// origin (an answer that came from one is refused either way). With this client,
            /// [`Self::timeout`] does not apply: set timeouts on the client.
            pub fn http_client(mut self, client: ::auth_runtime::reqwest::Client) -> Self {
                self.http = ::std::option::Option::Some(client);
                self
            }

            /// Timeout of each token request (default 30 s); not used with [`Self::http_client`].
            pub fn timeout(mut self, timeout: ::std::time::Duration) -> Self {
                self.timeout = ::std::option::Option::Some(timeout);
                self
            }

            /// Also lets the token go to this origin (`https://api.example.com`): by default it
            /// is only put on requests to the base URL's origin. Repeatable.
            pub fn allow_origin(mut self, origin: impl ::std::convert::Into<::std::string::String>) -> Self {
                self.allowed_origins.push(origin.into());
                self
            }

            /// Sets anything else the engine's builder offers, applied in order after this
            /// builder's own settings: for a spec that declares facts `unknown`,
            /// `.configure(|b| b.token_header("Authorization", "Bearer ${session.access_token}"))`
            /// or `b.body_encoding(..)`; also `b.max_login_wait(..)`, `b.lock_wait(..)`. See
            /// [`auth_runtime::AuthenticatorBuilder`].
            pub fn configure(
                mut self,
                f: impl ::std::ops::FnOnce(::auth_runtime::AuthenticatorBuilder) -> ::auth_runtime::AuthenticatorBuilder + ::std::marker::Send + 'static,
            ) -> Self {
                self.configure.push(::std::boxed::Box::new(f));
                self
            }

            /// Builds the client.
            pub fn build(self) -> ::std::result::Result<Client, ::auth_runtime::AuthError> {
                let mut builder = ::auth_runtime::Authenticator::builder(spec(), self.credentials.into_runtime());
                builder = match &self.environment {
                    Environment::Url(url) => builder.base_url(url.clone()),
                    other => match other.name() {
                        ::std::option::Option::Some(name) => builder.environment(name),
                        ::std::option::Option::None => builder,
                    },
                };
                if let ::std::option::Option::Some(store) = self.store {
                    builder = builder.store(store);
                }
                if let ::std::option::Option::Some(timeout) = self.timeout {
                    builder = builder.timeout(timeout);
                }
                if let ::std::option::Option::Some(http) = &self.http {
                    builder = builder.http_client(http.clone());
                }
                for origin in self.allowed_origins {
                    builder = builder.allow_origin(origin);
                }
                for configure in self.configure {
                    builder = configure(builder);
                }
                let auth = builder.build()?;
                let http = match self.http {
                    ::std::option::Option::Some(http) => http,
                    // The token rides on API calls too: no redirect to another origin.
                    ::std::option::Option::None => ::auth_runtime::reqwest::Client::builder()
                        .redirect(::auth_runtime::http::redirect_policy())
                        .build()
                        .map_err(|e| ::auth_runtime::AuthError::Config(::std::format!("HTTP client: {e}")))?,
                };
                let http = auth.client(http);
                ::std::result::Result::Ok(Client { auth, http })
            }
        }

        impl Client {
            /// Starts building a client with these credentials.
            pub fn builder(credentials: Credentials) -> ClientBuilder {
                ClientBuilder {
                    credentials,
                    environment: Environment::default(),
                    store: ::std::option::Option::None,
                    http: ::std::option::Option::None,
                    timeout: ::std::option::Option::None,
                    allowed_origins: ::std::vec::Vec::new(),
                    configure: ::std::vec::Vec::new(),
                }
            }

            /// A client for the default environment with credentials from the environment
            /// variables.
            pub fn from_env() -> ::std::result::Result<Self, ::auth_runtime::AuthError> {
                Self::builder(Credentials::from_env()?).build()
            }

            /// A valid access token (logs in or refreshes when needed).
            pub async fn access_token(&self) -> ::std::result::Result<::auth_runtime::AccessToken, ::auth_runtime::AuthError> {
                self.auth.access_token().await
            }

            /// Adds the token to a request being built with any `reqwest::Client`.
            pub async fn authorize(
                &self,
                request: ::auth_runtime::reqwest::RequestBuilder,
            ) -> ::std::result::Result<::auth_runtime::reqwest::RequestBuilder, ::auth_runtime::AuthError> {
                self.auth.authorize(request).await
            }

            /// An HTTP client that authenticates every request, and refreshes and replays once
            /// when the vendor answers that the token expired.
            pub fn http(&self) -> &::auth_runtime::reqwest_middleware::ClientWithMiddleware {
                &self.http
            }

            /// Session state and expiry times (never secrets).
            pub async fn status(&self) -> ::std::result::Result<::auth_runtime::Status, ::auth_runtime::AuthError> {
                self.auth.status().await
            }

            /// Ends the session (calls the vendor's logout endpoint when it has one), and says
            /// what it did.
            pub async fn logout(&self) -> ::std::result::Result<::auth_runtime::LogoutOutcome, ::auth_runtime::AuthError> {
                self.auth.logout().await
            }

            /// The last token answer, typed.
            pub fn last_response(&self) -> ::std::option::Option<TokenResponse> {
                let (flow, json) = self.auth.last_response()?;
                match flow {
                    ::auth_runtime::Flow::Login => ::auth_runtime::serde_json::from_value(json.expose().clone())
                        .ok()
                        .map(TokenResponse::Login),
                    #refresh_arm
                    #fallback
                }
            }

            /// The base URL in use.
            pub fn base_url(&self) -> &str {
                self.auth.base_url().as_str()
            }

            /// The engine underneath.
            pub fn authenticator(&self) -> &::auth_runtime::Authenticator {
                &self.auth
            }
        }
    }
}
