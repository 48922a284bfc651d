//! `status`: the stored session's times and state, never its secrets.

use std::process::ExitCode;
use std::time::SystemTime;

use crate::args::{Cli, Format};
use crate::failure::Failure;
use crate::output::{outln, print_json, rfc3339};
use crate::setup::{engine, find};

pub(crate) async fn status(cli: &Cli, provider: &str) -> Result<ExitCode, Failure> {
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
pub(crate) fn describe_pending(p: &auth_runtime::Pending) -> String {
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

pub(crate) fn pending_json(p: &auth_runtime::Pending) -> serde_json::Value {
    serde_json::json!({
        "flow": match p.flow { auth_runtime::Flow::Login => "login", auth_runtime::Flow::Refresh => "refresh" },
        "pid": p.pid,
        "started_at": rfc3339(p.started_at),
        "description": describe_pending(p),
    })
}
