//! `auth-cli`: a valid token for any shell script, from the same provider specs as the library.
//!
//! Sessions persist in a file store between invocations, so a second `auth-cli token` within the
//! token's lifetime sends nothing, and one after expiry refreshes instead of logging in again.
//! The token (or header, or body) goes to stdout; everything else to stderr.

mod creds;
mod demo;
mod output;
mod specs;

use output::outln;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_runtime::secrecy::ExposeSecret;
use auth_mock::{MockOptions, MockServer};
use auth_runtime::{AuthError, Authenticator, FileStore, LogoutOutcome, RedisStore, TokenStore};
use clap::{Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "Exit codes:
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
struct Cli {
    #[command(subcommand)]
    command: Command,

    /// Use this environment of the provider instead of its default.
    #[arg(long, global = true, value_name = "NAME")]
    env: Option<String>,

    /// Use this base URL (an origin such as https://host:port) instead of the environment's.
    #[arg(long, global = true, value_name = "URL")]
    base_url: Option<String>,

    /// Where sessions are kept: a session file (default: auth-cli/sessions.json in the user's
    /// state directory), or a Redis shared by many machines: redis://host:port/db (rediss:// for
    /// TLS; a password in the URL or REDIS_PASSWORD; a private CA's PEM file in REDIS_CA_CERT, a
    /// client certificate in REDIS_CLIENT_CERT with REDIS_CLIENT_KEY).
    #[arg(long, global = true, env = "AUTH_CLI_STORE", value_name = "PATH|URL")]
    store: Option<PathBuf>,

    /// A folder of provider YAML files that add to or replace the built-in ones (no rebuild).
    #[arg(long, global = true, env = "AUTH_CLI_SPECS", value_name = "DIR")]
    specs: Option<PathBuf>,

    /// How long a renewal waits for another process renewing the same session, e.g. 30s
    /// (a valid stored token never waits).
    #[arg(long, global = true, env = "AUTH_CLI_LOCK_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    lock_timeout: Option<Duration>,
    /// How long a login may wait for the spec's `min_login_interval` (default 10s); a longer
    /// wait, or a spent `login_limit`, exits 6 at once saying when the next login is allowed.
    #[arg(long, global = true, env = "AUTH_CLI_MAX_LOGIN_WAIT", value_name = "DURATION", value_parser = parse_duration)]
    max_login_wait: Option<Duration>,

    /// For a spec with `usage: unknown`: the header that carries the token on API calls, e.g.
    /// 'Authorization: Bearer ${session.access_token}' (repeatable; used by `header`, `request`).
    #[arg(long = "token-header", global = true, value_name = "NAME: TEMPLATE")]
    token_headers: Vec<String>,

    /// For endpoints with `encoding: unknown`: send their bodies as `json` or `form`.
    #[arg(long, global = true, value_enum, value_name = "ENCODING")]
    body_encoding: Option<BodyEncoding>,

    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    format: Format,

    /// Log what happens (logins, refreshes, retries, cache hits, logouts) to stderr; never
    /// secrets. RUST_LOG, when set, chooses what is logged instead (e.g. RUST_LOG=auth_runtime=trace).
    #[arg(long, short, global = true)]
    verbose: bool,
}

/// `--body-encoding`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BodyEncoding {
    /// `application/json`.
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
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

fn parse_duration(text: &str) -> Result<Duration, String> {
    auth_spec::duration::parse_duration(text)
}

/// A failure, with the exit code it maps to.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
        }
    }
}

impl From<AuthError> for Failure {
    fn from(error: AuthError) -> Self {
        let code = match &error {
            e if e.is_credentials_rejected() => 3,
            AuthError::MissingCredential { .. }
            | AuthError::TokenOriginRefused { .. }
            | AuthError::MissingBaseUrl { .. }
            | AuthError::Config(_)
            | AuthError::MissingValue { .. }
            | AuthError::NotInDocument { .. }
            | AuthError::SigningFailed { .. }
            | AuthError::NoCredentialSet { .. } => 2,
            AuthError::Store(_) => 1,
            AuthError::LoginNotAllowedYet { .. } => 6,
            _ => 4,
        };
        Self {
            code,
            message: error.to_string(),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // RUST_LOG, when set, says what is logged (with or without -v); -v alone logs the engine's
    // and the CLI's debug events.
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => Some(directives),
        _ => cli
            .verbose
            .then(|| "auth_runtime=debug,auth_cli=debug".to_owned()),
    };
    if let Some(directives) = filter {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::builder().parse_lossy(directives))
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .with_target(false)
            .init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    };
    match output::error() {
        Some(kind) => {
            eprintln!("error: cannot write to stdout: {kind}");
            ExitCode::from(1)
        }
        None => code,
    }
}

fn store_path(cli: &Cli) -> PathBuf {
    cli.store.clone().unwrap_or_else(|| {
        dirs::state_dir()
            .or_else(dirs::data_local_dir)
            .unwrap_or_else(|| PathBuf::from("."))
            .join("auth-cli")
            .join("sessions.json")
    })
}

fn find(cli: &Cli, name: &str) -> Result<Arc<auth_spec::ProviderSpec>, Failure> {
    let catalog = specs::load(cli.specs.as_deref()).map_err(|d| Failure::usage(d.to_string()))?;
    // An invalid file disables its own provider only: the others work, with a warning.
    if let Some(bad) = catalog.invalid.iter().find(|i| i.name == name) {
        return Err(Failure::usage(bad.diagnostics.to_string()));
    }
    catalog.warn_invalid();
    let names: Vec<String> = catalog.loaded.iter().map(|l| l.spec.name.clone()).collect();
    catalog
        .loaded
        .into_iter()
        .find(|l| l.spec.name == name)
        .map(|l| l.spec)
        .ok_or_else(|| {
            Failure::usage(format!(
                "unknown provider `{name}` (known: {})",
                names.join(", ")
            ))
        })
}

async fn engine(cli: &Cli, spec: Arc<auth_spec::ProviderSpec>) -> Result<Authenticator, Failure> {
    engine_allowing(cli, spec, &[]).await
}

/// The store `--store` names: a Redis URL, or a session file.
async fn store(cli: &Cli) -> Result<Arc<dyn TokenStore>, Failure> {
    if let Some(text) = cli.store.as_deref().and_then(|p| p.to_str())
        && (text.starts_with("redis://") || text.starts_with("rediss://"))
    {
        let redis = RedisStore::connect(text)
            .await
            .map_err(|e| Failure::from(AuthError::from(e)))?;
        return Ok(Arc::new(redis));
    }
    Ok(Arc::new(FileStore::new(store_path(cli))))
}

/// The engine, letting the token also go to `allowed_origins`.
async fn engine_allowing(
    cli: &Cli,
    spec: Arc<auth_spec::ProviderSpec>,
    allowed_origins: &[String],
) -> Result<Authenticator, Failure> {
    let credentials = creds::gather(&spec)?;
    let mut builder = Authenticator::builder(spec, credentials).store(store(cli).await?);
    if let Some(env) = &cli.env {
        builder = builder.environment(env.clone());
    }
    if let Some(url) = &cli.base_url {
        builder = builder.base_url(url.clone());
    }
    if let Some(wait) = cli.max_login_wait {
        builder = builder.max_login_wait(wait);
    }
    for header in &cli.token_headers {
        let Some((name, template)) = header.split_once(':') else {
            return Err(Failure::usage(format!(
                "--token-header takes \"NAME: TEMPLATE\", e.g. 'Authorization: Bearer ${{session.access_token}}', not `{header}`"
            )));
        };
        builder = builder.token_header(name.trim(), template.trim());
    }
    if let Some(encoding) = cli.body_encoding {
        builder = builder.body_encoding(match encoding {
            BodyEncoding::Json => auth_spec::model::Encoding::Json,
            BodyEncoding::Form => auth_spec::model::Encoding::Form,
        });
    }
    if let Some(wait) = cli.lock_timeout {
        builder = builder.lock_wait(wait);
    }
    for origin in allowed_origins {
        builder = builder.allow_origin(origin.clone());
    }
    Ok(builder.build()?)
}

/// RFC 3339 (UTC, whole seconds) of any wall time. Times past what RFC 3339 can write (after
/// 9999-12-30, the end of the date library's range) show as its last second; times before the
/// year 0 as its first. Before 1970 is written as it is.
fn rfc3339(t: SystemTime) -> String {
    const LAST: &str = "9999-12-31T23:59:59Z";
    const FIRST: &str = "0000-01-01T00:00:00Z";
    match jiff::Timestamp::try_from(t) {
        Ok(ts) if ts.to_zoned(jiff::tz::TimeZone::UTC).year() < 0 => FIRST.to_owned(),
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Err(_) if t > UNIX_EPOCH => LAST.to_owned(),
        Err(_) => FIRST.to_owned(),
    }
}

fn print_json(value: &serde_json::Value) {
    outln!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

async fn run(cli: Cli) -> Result<ExitCode, Failure> {
    match &cli.command {
        Command::Providers => providers(&cli),
        Command::Validate { paths } => validate(&cli, paths),
        Command::Token { provider } => {
            let auth = engine(&cli, find(&cli, provider)?).await?;
            // This process asks once and exits: a renewal the policy calls for happens now,
            // not in a background task that would die with the process.
            let token = auth.renew_if_due().await?;
            match cli.format {
                Format::Text => outln!("{}", token.secret().expose_secret()),
                Format::Json => print_json(&serde_json::json!({
                    "provider": provider,
                    "access_token": token.secret().expose_secret(),
                    "expires_at": token.expires_at().map(rfc3339),
                })),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Header { provider } => header(&cli, provider).await,
        Command::Status { provider } => status(&cli, provider).await,
        Command::Logout { provider } => {
            let auth = engine(&cli, find(&cli, provider)?).await?;
            let outcome = auth.logout().await?;
            match cli.format {
                Format::Text => eprintln!("{provider}: {}", outcome.describe()),
                Format::Json => print_json(&serde_json::json!({
                    "provider": provider,
                    "outcome": match outcome {
                        LogoutOutcome::VendorCalled => "vendor_called",
                        LogoutOutcome::AlreadyEnded => "already_ended",
                        LogoutOutcome::LocalOnly => "local_only",
                        LogoutOutcome::NoSession => "no_session",
                        _ => "other",
                    },
                    "message": outcome.describe(),
                })),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Request {
            provider,
            target,
            allow_origins,
            data,
            headers,
        } => {
            let target = Target {
                target,
                allow_origins,
                data: data.as_deref(),
                headers,
            };
            request(&cli, provider, &target).await
        }
        Command::Mock {
            provider,
            port,
            access_ttl,
            session_ttl,
        } => {
            let spec = find(&cli, provider)?;
            let options = MockOptions {
                port: *port,
                access_ttl: *access_ttl,
                session_ttl: *session_ttl,
            };
            let server = MockServer::start(Arc::clone(&spec), options)
                .await
                .map_err(|e| Failure {
                    code: 1,
                    message: format!("cannot listen: {e}"),
                })?;
            outln!("{}", server.base_url());
            eprintln!(
                "{} simulator at {} (Ctrl-C to stop)",
                spec.title,
                server.base_url()
            );
            eprintln!("test credentials:");
            for (env, value) in server.credential_env() {
                eprintln!("  export {env}={}", shell_quoted(&value));
            }
            eprintln!(
                "protected endpoint: {}{}",
                server.base_url(),
                auth_mock::PROTECTED_PATH
            );
            eprintln!(
                "counters: GET {}/__stats; POST /__expire, POST /__end_session",
                server.base_url()
            );
            // A command that works as printed: with the `--specs` folder the provider came from
            // (or replaced a built-in one from), quoted for a POSIX shell.
            let shell_word = |word: &str| {
                let plain = !word.is_empty()
                    && word
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c));
                if plain {
                    word.to_owned()
                } else {
                    format!("'{}'", word.replace('\'', r"'\''"))
                }
            };
            let specs = match &cli.specs {
                Some(dir) => format!("--specs {} ", shell_word(&dir.to_string_lossy())),
                None => String::new(),
            };
            eprintln!(
                "try: auth-cli {specs}token {provider} --base-url {}",
                server.base_url()
            );
            let _ = tokio::signal::ctrl_c().await;
            drop(server);
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo => {
            let catalog =
                specs::load(cli.specs.as_deref()).map_err(|d| Failure::usage(d.to_string()))?;
            catalog.warn_invalid();
            let specs: Vec<_> = catalog.loaded.into_iter().map(|l| l.spec).collect();
            Ok(if demo::run(&specs, cli.format == Format::Json).await {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(4)
            })
        }
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut command, "auth-cli", &mut script);
            output::write(&String::from_utf8_lossy(&script));
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn providers(cli: &Cli) -> Result<ExitCode, Failure> {
    let catalog = specs::load(cli.specs.as_deref()).map_err(|d| Failure::usage(d.to_string()))?;
    let loaded = &catalog.loaded;
    let list: Vec<serde_json::Value> = loaded
        .iter()
        .map(|l| {
            let s = &l.spec;
            serde_json::json!({
                "name": s.name,
                "title": s.title,
                "origin": l.origin,
                "default_environment": s.default_environment,
                "environments": s.environments.iter().map(|e| serde_json::json!({
                    "name": e.name,
                    "base_url": e.base_url,
                })).collect::<Vec<_>>(),
                "credentials": s.credentials.iter().map(|c| serde_json::json!({
                    "name": c.name,
                    "env": c.env,
                    "secret": c.secret,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    match cli.format {
        Format::Json => print_json(&serde_json::Value::Array(list)),
        Format::Text => {
            for l in loaded {
                let s = &l.spec;
                outln!(
                    "{} ({}){}",
                    s.name,
                    s.title,
                    if l.origin == "built-in" {
                        String::new()
                    } else {
                        format!(" from {}", l.origin)
                    }
                );
                for e in &s.environments {
                    let marker = if e.name == s.default_environment {
                        " (default)"
                    } else {
                        ""
                    };
                    let url = e.base_url.clone().unwrap_or_else(|| {
                        "no host in the vendor's documents: use --base-url".into()
                    });
                    outln!("  env {}{marker}: {url}", e.name);
                }
                let vars: Vec<&str> = s.credentials.iter().map(|c| c.env.as_str()).collect();
                outln!("  credentials: {}", vars.join(", "));
            }
        }
    }
    // The valid providers are listed; an invalid file is a problem of the inventory.
    match catalog.problems() {
        Some(problems) => {
            eprintln!("{problems}");
            Ok(ExitCode::from(2))
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

fn validate(cli: &Cli, paths: &[PathBuf]) -> Result<ExitCode, Failure> {
    let result = if paths.is_empty() {
        specs::load(cli.specs.as_deref()).and_then(|catalog| match catalog.problems() {
            Some(problems) => Err(problems),
            None => Ok(catalog
                .loaded
                .into_iter()
                .map(|l| (*l.spec).clone())
                .collect::<Vec<_>>()),
        })
    } else {
        auth_spec::load(paths)
    };
    match result {
        Ok(specs) => {
            match cli.format {
                Format::Json => print_json(&serde_json::json!({
                    "valid": true,
                    "providers": specs.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
                    "diagnostics": [],
                })),
                Format::Text => {
                    for spec in &specs {
                        eprintln!("ok: {} ({})", spec.name, spec.title);
                    }
                    eprintln!("{} spec(s) valid", specs.len());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(diagnostics) => {
            match cli.format {
                Format::Json => print_json(&serde_json::json!({
                    "valid": false,
                    "diagnostics": diagnostics.iter().map(|d| serde_json::json!({
                        "file": d.file, "line": d.line, "column": d.column,
                        "message": d.message, "hint": d.hint,
                    })).collect::<Vec<_>>(),
                })),
                Format::Text => {
                    eprintln!("{diagnostics}");
                    eprintln!("{} problem(s) found", diagnostics.len());
                }
            }
            Ok(ExitCode::from(2))
        }
    }
}

async fn header(cli: &Cli, provider: &str) -> Result<ExitCode, Failure> {
    let auth = engine(cli, find(cli, provider)?).await?;
    // Before any login: the header may be what the document leaves out.
    auth.check_usage()?;
    let token = auth.renew_if_due().await?;
    // The spec's `usage` is the one source of truth: apply it to a blank request and read it back.
    let mut probe = auth_runtime::reqwest::Request::new(
        auth_runtime::reqwest::Method::GET,
        auth.base_url().clone(),
    );
    auth.apply(&token, &mut probe)?;
    if probe.headers().is_empty() {
        return Err(Failure::usage(format!(
            "{provider} sends its token as a query parameter, not a header; use `auth-cli token {provider}`"
        )));
    }
    let lines: Vec<(String, String)> = probe
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                canonical(n.as_str()),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    match cli.format {
        Format::Text => {
            for (name, value) in &lines {
                outln!("{name}: {value}");
            }
        }
        Format::Json => print_json(&serde_json::json!({
            "provider": provider,
            "headers": lines.iter().map(|(n, v)| serde_json::json!({"name": n, "value": v})).collect::<Vec<_>>(),
        })),
    }
    Ok(ExitCode::SUCCESS)
}

/// `value` as one shell word: as is when plain, else in single quotes (a PEM key spans lines).
fn shell_quoted(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.,:/@%+=".contains(c));
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', "'\\''"))
    }
}

/// `authorization` -> `Authorization`, `x-auth-token` -> `X-Auth-Token` (http lower-cases names).
fn canonical(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

async fn status(cli: &Cli, provider: &str) -> Result<ExitCode, Failure> {
    let auth = engine(cli, find(cli, provider)?).await?;
    let status = auth.status().await?;
    let session = status.session.as_ref();
    match cli.format {
        Format::Json => print_json(&serde_json::json!({
            "provider": status.provider,
            // With --base-url, no environment of the spec is where requests go.
            "environment": (!status.custom_base_url).then_some(&status.environment),
            "base_url": status.base_url,
            "custom_base_url": status.custom_base_url,
            "session": session.map(|s| serde_json::json!({
                "generation": s.generation,
                "login_at": rfc3339(s.login_at),
                "issued_at": rfc3339(s.issued_at),
                "access_expires_at": s.access_expires_at.map(rfc3339),
                "refresh_expires_at": s.refresh_expires_at.map(rfc3339),
                "has_refresh_token": s.has_refresh_token,
                "access_valid": s.access_valid,
            })),
            "pending": status.pending.as_ref().map(pending_json),
            "abandoned_login": status.abandoned_login.as_ref().map(pending_json),
            "unreadable": status.unreadable,
        })),
        Format::Text => {
            if status.custom_base_url {
                outln!(
                    "provider:      {} (custom base URL {})",
                    status.provider,
                    status.base_url
                );
            } else {
                outln!(
                    "provider:      {} ({}, {})",
                    status.provider,
                    status.environment,
                    status.base_url
                );
            }
            match session {
                None => outln!("session:       none (the next `token` logs in)"),
                Some(s) => {
                    outln!("session:       generation {}", s.generation);
                    outln!("logged in:     {}", rfc3339(s.login_at));
                    outln!("token issued:  {}", rfc3339(s.issued_at));
                    let expiry =
                        |t: Option<SystemTime>| t.map(rfc3339).unwrap_or_else(|| "unknown".into());
                    outln!(
                        "token expires: {}{}",
                        expiry(s.access_expires_at),
                        if s.access_valid { "" } else { " (expired)" }
                    );
                    outln!(
                        "session ends:  {}{}",
                        expiry(s.refresh_expires_at),
                        if s.has_refresh_token {
                            ""
                        } else {
                            " (no refresh token)"
                        }
                    );
                }
            }
            if let Some(p) = &status.pending {
                println!("in flight:     {}", describe_pending(p));
            }
            if let Some(p) = &status.abandoned_login {
                println!(
                    "warning:       a login by process {} at {} never recorded its outcome; the vendor may hold a session from it",
                    p.pid,
                    rfc3339(p.started_at)
                );
            }
            if let Some(why) = &status.unreadable {
                println!("warning:       {why}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A recorded renewal, for `status`.
fn describe_pending(p: &auth_runtime::Pending) -> String {
    match p.flow {
        auth_runtime::Flow::Login => format!(
            "a login by process {} since {} (if that process is gone, the vendor may hold a session from it)",
            p.pid,
            rfc3339(p.started_at)
        ),
        auth_runtime::Flow::Refresh => format!(
            "a refresh by process {} since {} (if that process is gone, its refresh token counts as spent)",
            p.pid,
            rfc3339(p.started_at)
        ),
    }
}

fn pending_json(p: &auth_runtime::Pending) -> serde_json::Value {
    serde_json::json!({
        "flow": match p.flow { auth_runtime::Flow::Login => "login", auth_runtime::Flow::Refresh => "refresh" },
        "pid": p.pid,
        "started_at": rfc3339(p.started_at),
        "description": describe_pending(p),
    })
}

/// What `request` was asked to send.
struct Target<'a> {
    target: &'a [String],
    allow_origins: &'a [String],
    data: Option<&'a str>,
    headers: &'a [String],
}

/// The URL of `path` under `base`: a full http(s) URL as given (the engine then checks its
/// origin), or a path that must start with `/` and is appended to the base URL, so that
/// `@host/x` or `host/x` cannot become another host.
fn target_url(
    base: &auth_runtime::reqwest::Url,
    path: &str,
) -> Result<auth_runtime::reqwest::Url, Failure> {
    if path.starts_with("http://") || path.starts_with("https://") {
        return auth_runtime::reqwest::Url::parse(path)
            .map_err(|e| Failure::usage(format!("`{path}` is not a URL: {e}")));
    }
    // `//host/x` and `\\host/x` are network paths: a browser and the URL parser take their first
    // segment as a host.
    if !path.starts_with('/') || path.starts_with("//") || path.contains('\\') {
        return Err(Failure::usage(format!(
            "`{path}` is neither a path starting with a single `/` (such as /v2/documents) nor a \
             full URL; backslashes are not allowed"
        )));
    }
    let joined = format!("{}{path}", base.as_str().trim_end_matches('/'));
    let url = auth_runtime::reqwest::Url::parse(&joined)
        .map_err(|e| Failure::usage(format!("`{path}` does not make a URL: {e}")))?;
    // Belt and braces: a path never changes the origin.
    if url.origin() != base.origin() {
        return Err(Failure::usage(format!(
            "`{path}` would leave the base URL's origin"
        )));
    }
    Ok(url)
}

async fn request(cli: &Cli, provider: &str, target: &Target<'_>) -> Result<ExitCode, Failure> {
    let (data, extra) = (target.data, target.headers);
    let (method, path) = match target.target {
        [path] => ("GET".to_owned(), path.clone()),
        [method, path] => (method.to_ascii_uppercase(), path.clone()),
        _ => return Err(Failure::usage("give [METHOD] PATH")),
    };
    let method = auth_runtime::reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| Failure::usage(format!("`{method}` is not an HTTP method")))?;
    let auth = engine_allowing(cli, find(cli, provider)?, target.allow_origins).await?;
    let url = target_url(auth.base_url(), &path)?;
    auth.check_usage()?;
    // A renewal that is due happens before the request, in the foreground.
    auth.renew_if_due().await?;
    // The token rides on the request's headers: a redirect to another origin is not followed
    // (reqwest would drop `Authorization` there, but not a custom header or a query parameter).
    let plain = auth_runtime::http::client_builder()
        .build()
        .map_err(|e| Failure::usage(format!("HTTP client: {e}")))?;
    let client = auth.client(plain);
    let mut builder = client.request(method, url);
    for header in extra {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| Failure::usage(format!("header `{header}` is not `Name: value`")))?;
        builder = builder.header(name.trim(), value.trim());
    }
    if let Some(data) = data {
        builder = builder.body(data.to_owned());
    }
    let response = builder.send().await.map_err(|e| match e {
        auth_runtime::reqwest_middleware::Error::Middleware(inner) => {
            match inner.downcast::<AuthError>() {
                Ok(auth) => Failure::from(auth),
                Err(other) => Failure {
                    code: 4,
                    message: other.to_string(),
                },
            }
        }
        auth_runtime::reqwest_middleware::Error::Reqwest(e) => Failure {
            code: 4,
            message: format!("request failed: {e}"),
        },
    })?;
    let status = response.status();
    let headers = response.headers().clone();
    // A refresh the middleware started must land in the store before this process exits.
    auth.shutdown().await;
    let body = response.text().await.map_err(|e| Failure {
        code: 4,
        message: format!("reading the answer failed: {e}"),
    })?;
    // An answer whose body says the call failed (`usage.failures`), whatever its status.
    let failed = auth.api_failure(status.as_u16(), &headers, &body);
    match cli.format {
        Format::Text => {
            eprintln!("HTTP {}", status.as_u16());
            outln!("{body}");
        }
        Format::Json => print_json(&serde_json::json!({
            "status": status.as_u16(),
            "body": serde_json::from_str::<serde_json::Value>(&body).unwrap_or(serde_json::Value::String(body)),
        })),
    }
    if let Some(verdict) = &failed {
        eprintln!(
            "{provider}: the API answered HTTP {}, but {}",
            status.as_u16(),
            verdict.detail
        );
    }
    Ok(
        if failed.is_some() || status.is_client_error() || status.is_server_error() {
            ExitCode::from(5)
        } else {
            ExitCode::SUCCESS
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_credentials_are_printed_as_one_shell_word() {
        assert_eq!(shell_quoted("test-api-key"), "test-api-key");
        assert_eq!(
            shell_quoted("-----BEGIN KEY-----\nab\n-----END KEY-----\n"),
            "'-----BEGIN KEY-----\nab\n-----END KEY-----\n'"
        );
        assert_eq!(shell_quoted("it's"), "'it'\\''s'");
        assert_eq!(shell_quoted(""), "''");
    }

    #[test]
    fn rfc3339_is_right_for_any_wall_time() {
        let at = |secs: u64| UNIX_EPOCH + Duration::from_secs(secs);
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(at(1_767_225_600)), "2026-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(at(1_767_225_600) + Duration::from_millis(999)),
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(rfc3339(at(253_402_207_200)), "9999-12-30T22:00:00Z");
        // Past what RFC 3339 and the date library can write: the last second, never 1970.
        assert_eq!(rfc3339(at(253_402_300_799)), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(at(1_000_000_000_000_000)), "9999-12-31T23:59:59Z");
        if let Some(far) = UNIX_EPOCH.checked_add(Duration::from_secs(i64::MAX as u64)) {
            assert_eq!(rfc3339(far), "9999-12-31T23:59:59Z");
        }
        // Before 1970 as it is; before the year 0, the first second RFC 3339 can write.
        let before = |secs: u64| UNIX_EPOCH.checked_sub(Duration::from_secs(secs));
        assert_eq!(
            before(1).map(rfc3339).as_deref(),
            Some("1969-12-31T23:59:59Z")
        );
        assert_eq!(
            before(62_167_219_200).map(rfc3339).as_deref(),
            Some("0000-01-01T00:00:00Z")
        );
        if let Some(t) = before(62_167_219_201) {
            assert_eq!(rfc3339(t), "0000-01-01T00:00:00Z");
        }
        if let Some(t) = before(1_000_000_000_000_000) {
            assert_eq!(rfc3339(t), "0000-01-01T00:00:00Z");
        }
    }
}
