//! The command line: clap definitions, the exit codes the help text lists, duration flags.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

pub(crate) const EXIT_CODES: &str = "Exit codes:
  0  success
  1  local failure (the session store could not be read or written)
  2  usage or spec error (bad arguments, invalid spec, missing credential or base URL)
  3  the vendor rejected the credentials
  4  the vendor failed: unreachable, an error, or an answer the spec does not describe
  5  `request`: the API answered with an HTTP error status (4xx/5xx); its body is printed
  6  a login is not allowed yet (the spec's login_limit is spent, or min_login_interval asks
     for a longer wait than --max-login-wait); the message says when it is";

/// A valid token for any shell script, from declarative vendor specs.
#[derive(Parser, Debug)]
#[command(name = "auth-cli", version, about, after_long_help = EXIT_CODES, after_help = EXIT_CODES)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,

    /// Use this environment of the provider instead of its default.
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) env: Option<String>,

    /// Use this base URL (an origin such as https://host:port) instead of the environment's.
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) base_url: Option<String>,

    /// Where sessions are kept: a session file (default: auth-cli/sessions.json in the user's
    /// state directory), or a Redis shared by many machines: redis://host:port/db (rediss:// for
    /// TLS; a password in the URL or REDIS_PASSWORD; a private CA's PEM file in REDIS_CA_CERT, a
    /// client certificate in REDIS_CLIENT_CERT with REDIS_CLIENT_KEY).
    #[arg(long, global = true, env = "AUTH_CLI_STORE", value_name = "PATH|URL")]
    pub(crate) store: Option<PathBuf>,

    /// A folder of provider YAML files that add to or replace the built-in ones (no rebuild).
    #[arg(long, global = true, env = "AUTH_CLI_SPECS", value_name = "DIR")]
    pub(crate) specs: Option<PathBuf>,

    /// How long a renewal waits for another process renewing the same session, e.g. 30s
    /// (a valid stored token never waits).
    #[arg(long, global = true, env = "AUTH_CLI_LOCK_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) lock_timeout: Option<Duration>,
    /// How long a login may wait for the spec's `min_login_interval` (default 10s); a longer
    /// wait, or a spent `login_limit`, exits 6 at once saying when the next login is allowed.
    #[arg(long, global = true, env = "AUTH_CLI_MAX_LOGIN_WAIT", value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) max_login_wait: Option<Duration>,

    /// For a spec with `usage: unknown`: the header that carries the token on API calls, e.g.
    /// 'Authorization: Bearer ${session.access_token}' (repeatable; used by `header`, `request`).
    #[arg(long = "token-header", global = true, value_name = "NAME: TEMPLATE")]
    pub(crate) token_headers: Vec<String>,

    /// For endpoints with `encoding: unknown`: send their bodies as `json` or `form`.
    #[arg(long, global = true, value_enum, value_name = "ENCODING")]
    pub(crate) body_encoding: Option<BodyEncoding>,

    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,

    /// Log what happens (logins, refreshes, retries, cache hits, logouts) to stderr; never
    /// secrets. RUST_LOG, when set, chooses what is logged instead (e.g. RUST_LOG=auth_runtime=trace).
    #[arg(long, short, global = true)]
    pub(crate) verbose: bool,
}

/// `--body-encoding`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum BodyEncoding {
    /// `application/json`.
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// List providers, their environments and the environment variables of their credentials.
    Providers,
    /// Check spec files or folders (default: every known spec); file:line:col diagnostics.
    Validate {
        /// Spec files or folders.
        paths: Vec<PathBuf>,
    },
    /// Print a valid access token (logging in or refreshing only when needed).
    Token {
        /// Provider name (the YAML file stem).
        provider: String,
    },
    /// Print the header line(s) that carry the token, e.g. "Authorization: Bearer ...".
    Header {
        /// Provider name.
        provider: String,
    },
    /// Show the stored session's state and expiry times (never secrets).
    Status {
        /// Provider name.
        provider: String,
    },
    /// End the session: call the vendor's logout if it has one, and forget the stored session.
    Logout {
        /// Provider name.
        provider: String,
    },
    /// Send an authenticated request to the base URL + PATH (or a full URL) and print the body.
    ///
    /// The token only goes to the base URL's origin; a full URL of another origin needs
    /// --allow-origin.
    Request {
        /// Provider name.
        provider: String,
        /// HTTP method (GET if omitted) followed by a path starting with `/` such as
        /// /v2/documents, or a full URL.
        #[arg(num_args = 1..=2, required = true, value_name = "[METHOD] PATH")]
        target: Vec<String>,
        /// Also let the token go to this origin (https://host:port), e.g. a vendor's API host
        /// that differs from its token host (repeatable).
        #[arg(long = "allow-origin", value_name = "URL")]
        allow_origins: Vec<String>,
        /// Request body (sent as is).
        #[arg(long)]
        data: Option<String>,
        /// Extra request header, "Name: value" (repeatable).
        #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
        headers: Vec<String>,
    },
    /// Serve a simulator of the vendor built from its spec, on 127.0.0.1.
    Mock {
        /// Provider name.
        provider: String,
        /// Port (default: any free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Lifetime of the access tokens it issues, e.g. 60s.
        #[arg(long, default_value = "60s", value_parser = parse_duration)]
        access_ttl: Duration,
        /// Lifetime of a session from its login, e.g. 10m (default: until POST /__end_session).
        #[arg(long, value_parser = parse_duration)]
        session_ttl: Option<Duration>,
    },
    /// Run every provider's lifecycle against its simulator and show what happened.
    Demo,
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    auth_spec::duration::parse_duration(text)
}
