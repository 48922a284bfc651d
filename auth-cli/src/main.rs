//! `auth-cli`: a valid token for any shell script, from the same provider specs as the library.
//!
//! Sessions persist in a file store between invocations, so a second `auth-cli token` within the
//! token's lifetime sends nothing, and one after expiry refreshes instead of logging in again.
//! The token (or header, or body) goes to stdout; everything else to stderr.

mod creds;
mod demo;
mod specs;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_runtime::secrecy::ExposeSecret;
use auth_runtime::{AuthError, Authenticator, FileStore, MockOptions, MockServer};
use clap::{Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "Exit codes:
  0  success
  1  local failure (the session store could not be read or written)
  2  usage or spec error (bad arguments, invalid spec, missing credential or base URL)
  3  the vendor rejected the credentials
  4  the vendor failed: unreachable, an error, or an answer the spec does not describe
  5  `request`: the API answered with an HTTP error status (4xx/5xx); its body is printed";

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

    /// Session file (default: auth-cli/sessions.json in the user's state directory).
    #[arg(long, global = true, env = "AUTH_CLI_STORE", value_name = "PATH")]
    store: Option<PathBuf>,

    /// A folder of provider YAML files that add to or replace the built-in ones (no rebuild).
    #[arg(long, global = true, env = "AUTH_CLI_SPECS", value_name = "DIR")]
    specs: Option<PathBuf>,

    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    format: Format,

    /// Log what happens (logins, refreshes, retries) to stderr; never secrets.
    #[arg(long, short, global = true)]
    verbose: bool,
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
    Request {
        /// Provider name.
        provider: String,
        /// HTTP method (GET if omitted) followed by a path such as /v2/documents, or a full URL.
        #[arg(num_args = 1..=2, required = true, value_name = "[METHOD] PATH")]
        target: Vec<String>,
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
            | AuthError::MissingBaseUrl { .. }
            | AuthError::Config(_)
            | AuthError::MissingValue { .. } => 2,
            AuthError::Store(_) => 1,
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
    if cli.verbose {
        tracing_subscriber::fmt()
            .with_env_filter("auth_runtime=debug")
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
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
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
    let loaded = specs::load(cli.specs.as_deref()).map_err(|d| Failure::usage(d.to_string()))?;
    let names: Vec<String> = loaded.iter().map(|l| l.spec.name.clone()).collect();
    loaded
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

fn engine(cli: &Cli, spec: Arc<auth_spec::ProviderSpec>) -> Result<Authenticator, Failure> {
    let credentials = creds::gather(&spec)?;
    let mut builder =
        Authenticator::builder(spec, credentials).store(Arc::new(FileStore::new(store_path(cli))));
    if let Some(env) = &cli.env {
        builder = builder.environment(env.clone());
    }
    if let Some(url) = &cli.base_url {
        builder = builder.base_url(url.clone());
    }
    Ok(builder.build()?)
}

fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    auth_spec::timefmt::TimeFormat::Rfc3339
        .render(UNIX_EPOCH + Duration::from_secs(secs))
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

async fn run(cli: Cli) -> Result<ExitCode, Failure> {
    match &cli.command {
        Command::Providers => providers(&cli),
        Command::Validate { paths } => validate(&cli, paths),
        Command::Token { provider } => {
            let auth = engine(&cli, find(&cli, provider)?)?;
            let token = auth.access_token().await?;
            match cli.format {
                Format::Text => println!("{}", token.secret().expose_secret()),
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
            let auth = engine(&cli, find(&cli, provider)?)?;
            auth.logout().await?;
            eprintln!("{provider}: session forgotten");
            Ok(ExitCode::SUCCESS)
        }
        Command::Request {
            provider,
            target,
            data,
            headers,
        } => request(&cli, provider, target, data.as_deref(), headers).await,
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
            println!("{}", server.base_url());
            eprintln!(
                "{} simulator at {} (Ctrl-C to stop)",
                spec.title,
                server.base_url()
            );
            eprintln!("test credentials:");
            for (env, value) in server.credential_env() {
                eprintln!("  export {env}={value}");
            }
            eprintln!(
                "protected endpoint: {}{}",
                server.base_url(),
                auth_runtime::mock::PROTECTED_PATH
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
            let loaded =
                specs::load(cli.specs.as_deref()).map_err(|d| Failure::usage(d.to_string()))?;
            let specs: Vec<_> = loaded.into_iter().map(|l| l.spec).collect();
            Ok(if demo::run(&specs).await {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(4)
            })
        }
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut command, "auth-cli", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn providers(cli: &Cli) -> Result<ExitCode, Failure> {
    let loaded = specs::load(cli.specs.as_deref()).map_err(|d| Failure::usage(d.to_string()))?;
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
            for l in &loaded {
                let s = &l.spec;
                println!(
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
                    println!("  env {}{marker}: {url}", e.name);
                }
                let vars: Vec<&str> = s.credentials.iter().map(|c| c.env.as_str()).collect();
                println!("  credentials: {}", vars.join(", "));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn validate(cli: &Cli, paths: &[PathBuf]) -> Result<ExitCode, Failure> {
    let result = if paths.is_empty() {
        specs::load(cli.specs.as_deref())
            .map(|l| l.into_iter().map(|l| (*l.spec).clone()).collect::<Vec<_>>())
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
    let auth = engine(cli, find(cli, provider)?)?;
    let token = auth.access_token().await?;
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
                println!("{name}: {value}");
            }
        }
        Format::Json => print_json(&serde_json::json!({
            "provider": provider,
            "headers": lines.iter().map(|(n, v)| serde_json::json!({"name": n, "value": v})).collect::<Vec<_>>(),
        })),
    }
    Ok(ExitCode::SUCCESS)
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
    let auth = engine(cli, find(cli, provider)?)?;
    let status = auth.status().await?;
    let session = status.session.as_ref();
    match cli.format {
        Format::Json => print_json(&serde_json::json!({
            "provider": status.provider,
            "environment": status.environment,
            "base_url": status.base_url,
            "session": session.map(|s| serde_json::json!({
                "generation": s.generation,
                "login_at": rfc3339(s.login_at),
                "issued_at": rfc3339(s.issued_at),
                "access_expires_at": s.access_expires_at.map(rfc3339),
                "refresh_expires_at": s.refresh_expires_at.map(rfc3339),
                "has_refresh_token": s.has_refresh_token,
                "access_valid": s.access_valid,
            })),
        })),
        Format::Text => {
            println!(
                "provider:      {} ({}, {})",
                status.provider, status.environment, status.base_url
            );
            match session {
                None => println!("session:       none (the next `token` logs in)"),
                Some(s) => {
                    println!("session:       generation {}", s.generation);
                    println!("logged in:     {}", rfc3339(s.login_at));
                    println!("token issued:  {}", rfc3339(s.issued_at));
                    let expiry =
                        |t: Option<SystemTime>| t.map(rfc3339).unwrap_or_else(|| "unknown".into());
                    println!(
                        "token expires: {}{}",
                        expiry(s.access_expires_at),
                        if s.access_valid { "" } else { " (expired)" }
                    );
                    println!(
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
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn request(
    cli: &Cli,
    provider: &str,
    target: &[String],
    data: Option<&str>,
    extra: &[String],
) -> Result<ExitCode, Failure> {
    let (method, path) = match target {
        [path] => ("GET".to_owned(), path.clone()),
        [method, path] => (method.to_ascii_uppercase(), path.clone()),
        _ => return Err(Failure::usage("give [METHOD] PATH")),
    };
    let method = auth_runtime::reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| Failure::usage(format!("`{method}` is not an HTTP method")))?;
    let auth = engine(cli, find(cli, provider)?)?;
    let url = if path.starts_with("http://") || path.starts_with("https://") {
        path
    } else {
        format!("{}{}", auth.base_url().as_str().trim_end_matches('/'), path)
    };
    let client = auth.client(auth_runtime::reqwest::Client::new());
    let mut builder = client.request(method, &url);
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
    let body = response.text().await.map_err(|e| Failure {
        code: 4,
        message: format!("reading the answer failed: {e}"),
    })?;
    match cli.format {
        Format::Text => {
            eprintln!("HTTP {}", status.as_u16());
            println!("{body}");
        }
        Format::Json => print_json(&serde_json::json!({
            "status": status.as_u16(),
            "body": serde_json::from_str::<serde_json::Value>(&body).unwrap_or(serde_json::Value::String(body)),
        })),
    }
    Ok(if status.is_client_error() || status.is_server_error() {
        ExitCode::from(5)
    } else {
        ExitCode::SUCCESS
    })
}
