//! `auth-cli`: a valid token for any shell script, from the same provider specs as the library.
//!
//! Sessions persist in a file store between invocations, so a second `auth-cli token` within the
//! token's lifetime sends nothing, and one after expiry refreshes instead of logging in again.
//! The token (or header, or body) goes to stdout; everything else to stderr.

mod args;
mod creds;
mod demo;
mod failure;
mod header;
mod inspect;
mod output;
mod request;
mod setup;
mod specs;
mod status;

use args::{Cli, Command, Format};
use failure::Failure;
use header::shell_quoted;

use output::{outln, print_json, rfc3339};
use setup::{engine, find};

use std::process::ExitCode;
use std::sync::Arc;

use auth_mock::{MockOptions, MockServer};
use auth_runtime::LogoutOutcome;
use auth_runtime::secrecy::ExposeSecret;
use clap::Parser;

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

async fn run(cli: Cli) -> Result<ExitCode, Failure> {
    match &cli.command {
        Command::Providers => inspect::providers(&cli),
        Command::Validate { paths } => inspect::validate(&cli, paths),
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
        Command::Header { provider } => header::header(&cli, provider).await,
        Command::Status { provider } => status::status(&cli, provider).await,
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
            let target = request::Target {
                target,
                allow_origins,
                data: data.as_deref(),
                headers,
            };
            request::request(&cli, provider, &target).await
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
