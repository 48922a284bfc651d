//! `header`: the authorization header for a provider, and quoting for the shell.

use std::process::ExitCode;

use crate::args::{Cli, Format};
use crate::failure::Failure;
use crate::output::{outln, print_json};
use crate::setup::{engine, find};

pub(crate) async fn header(cli: &Cli, provider: &str) -> Result<ExitCode, Failure> {
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
pub(crate) fn shell_quoted(value: &str) -> String {
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
pub(crate) fn canonical(name: &str) -> String {
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
}
