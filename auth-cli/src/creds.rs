//! Credentials from the spec's environment variables; when one is missing and stdin is a
//! terminal, it is asked for (without echo for secrets).

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use auth_runtime::{AuthError, Credentials};
use auth_spec::ProviderSpec;

/// Every credential of `spec`, from the environment or (on a terminal) a prompt. The runtime
/// does the reading and names a missing variable; this only adds the prompt.
pub fn gather(spec: &ProviderSpec) -> Result<Credentials, AuthError> {
    let interactive = std::io::stdin().is_terminal();
    Credentials::from_lookup(spec, |var| {
        std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| {
                let secret = spec
                    .credentials
                    .iter()
                    .find(|c| c.env == var)
                    .is_none_or(|c| c.secret);
                interactive.then(|| prompt(var, secret)).flatten()
            })
    })
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
