//! What every command starts from: the spec by name, the session store (file or Redis), and the
//! engine over them.

use std::path::PathBuf;
use std::sync::Arc;

use auth_runtime::{AuthError, Authenticator, FileStore, RedisStore, TokenStore};

use crate::args::{BodyEncoding, Cli};
use crate::failure::Failure;
use crate::{creds, specs};

pub(crate) fn store_path(cli: &Cli) -> PathBuf {
    cli.store.clone().unwrap_or_else(|| {
        dirs::state_dir()
            .or_else(dirs::data_local_dir)
            .unwrap_or_else(|| PathBuf::from("."))
            .join("auth-cli")
            .join("sessions.json")
    })
}

pub(crate) fn find(cli: &Cli, name: &str) -> Result<Arc<auth_spec::ProviderSpec>, Failure> {
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

pub(crate) async fn engine(
    cli: &Cli,
    spec: Arc<auth_spec::ProviderSpec>,
) -> Result<Authenticator, Failure> {
    engine_allowing(cli, spec, &[]).await
}

/// The store `--store` names: a Redis URL, or a session file.
pub(crate) async fn store(cli: &Cli) -> Result<Arc<dyn TokenStore>, Failure> {
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
pub(crate) async fn engine_allowing(
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
