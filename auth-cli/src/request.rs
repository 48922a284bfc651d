//! `request`: one authorized HTTP request to a provider's API (replayed once after an expired-token answer).

use std::process::ExitCode;

use auth_runtime::AuthError;

use crate::args::{Cli, Format};
use crate::failure::Failure;
use crate::output::{outln, print_json};
use crate::setup::{engine_allowing, find};

/// What `request` was asked to send.
pub(crate) struct Target<'a> {
    pub(crate) target: &'a [String],
    pub(crate) allow_origins: &'a [String],
    pub(crate) data: Option<&'a str>,
    pub(crate) headers: &'a [String],
}

/// The URL of `path` under `base`: a full http(s) URL as given (the engine then checks its
/// origin), or a path that must start with `/` and is appended to the base URL, so that
/// `@host/x` or `host/x` cannot become another host.
pub(crate) fn target_url(
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

pub(crate) async fn request(
    cli: &Cli,
    provider: &str,
    target: &Target<'_>,
) -> Result<ExitCode, Failure> {
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
