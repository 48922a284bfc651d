//! The generated `Client` and `ClientBuilder`: thin adapters over `auth_runtime::Authenticator`.

use auth_spec::ProviderSpec;
use proc_macro2::TokenStream;
use quote::quote;

use crate::Options;

pub(crate) fn client(spec: &ProviderSpec, options: &Options) -> TokenStream {
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
        /// The last token answer, typed: which flow it came from and its fields as the
        /// vendor's examples show them.
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
                        .map_err(|e| ::auth_runtime::AuthErrorKind::Config(::std::format!("HTTP client: {e}")))?,
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

            /// The last login or refresh answer, typed; `None` before the first one, or when it
            /// does not fit the types inferred from the vendor's examples.
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

            /// The base URL token requests go to, and the only origin the token is sent to
            /// unless [`ClientBuilder::allow_origin`] added others.
            pub fn base_url(&self) -> &str {
                self.auth.base_url().as_str()
            }

            /// The engine underneath: [`auth_runtime::Authenticator::middleware`] for your own
            /// reqwest-middleware stack, `stats()`, or the tower layer.
            pub fn authenticator(&self) -> &::auth_runtime::Authenticator {
                &self.auth
            }
        }
    }
}
