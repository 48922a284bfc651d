//! Credentials from the spec's environment variables; when one is missing and stdin is a
//! terminal, it is asked for (without echo for secrets).

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use auth_runtime::{AuthError, Credentials};
use auth_spec::ProviderSpec;

/// Every credential of `spec`, from the environment or (on a terminal) a prompt.
pub fn gather(spec: &ProviderSpec) -> Result<Credentials, AuthError> {
    let interactive = std::io::stdin().is_terminal();
    let mut out = Credentials::new();
    for credential in &spec.credentials {
        let value = match std::env::var(&credential.env)
            .ok()
            .filter(|v| !v.is_empty())
        {
            Some(value) => value,
            None if interactive => prompt(&credential.env, credential.secret)
                .ok_or_else(|| missing(spec, credential))?,
            None => return Err(missing(spec, credential)),
        };
        out.insert(credential.name.clone(), value);
    }
    Ok(out)
}

fn missing(spec: &ProviderSpec, credential: &auth_spec::model::Credential) -> AuthError {
    AuthError::MissingCredential {
        provider: spec.name.clone(),
        name: credential.name.clone(),
        env: credential.env.clone(),
    }
}

fn prompt(env: &str, secret: bool) -> Option<String> {
    let label = format!("{env} is not set; enter it: ");
    let value = if secret {
        rpassword::prompt_password(label).ok()?
    } else {
        eprint!("{label}");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).ok()?;
        line
    };
    let value = value.trim().to_owned();
    (!value.is_empty()).then_some(value)
}
