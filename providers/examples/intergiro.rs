//! Logs in to Intergiro and calls a protected endpoint, printing the status and the body.
//!
//! ```sh
//! INTERGIRO_API_KEY=... cargo run -p providers --example intergiro -- BASE_URL
//! ```
//!
//! The token is fetched, cached and renewed by the generated client; this program only makes an
//! API call through it.

use std::process::ExitCode;

use providers::intergiro::{Client, Credentials, Environment};

#[tokio::main]
async fn main() -> ExitCode {
    let Some(base_url) = std::env::args().nth(1) else {
        eprintln!("usage: intergiro BASE_URL   (credentials from INTERGIRO_API_KEY)");
        return ExitCode::from(2);
    };
    match run(&base_url).await {
        Ok((status, body)) => {
            println!("{status} {body}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(base_url: &str) -> Result<(u16, String), Box<dyn std::error::Error>> {
    let client = Client::builder(Credentials::from_env()?)
        .environment(Environment::Url(base_url.to_owned()))
        .build()?;
    let answer = client
        .http()
        .get(format!("{base_url}/v3/individuals"))
        .send()
        .await?;
    Ok((answer.status().as_u16(), answer.text().await?))
}
