//! Issue 8, item 18: a vendor that echoes the request in an error body put the credential into
//! stderr when it held `@ & = % " \`, a space or non-ASCII: only the raw value was scrubbed.
//! Here vendors echo the raw request body, query and `Authorization` header in a 400 answer, as
//! text and inside JSON, for credentials sent in a JSON body, a form body, the query string and
//! HTTP Basic; stderr must hold none of the forms the credential travelled in.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// Credentials no scrubber of raw values catches once encoded.
const AWKWARD: &[&str] = &[
    "p@ss&w=rd%25!",
    r#"quo"te\back\\slash"#,
    "sp ace and+plus",
    "ünïcødé-пароль-密码",
    "a/b?c#d;e,f:g",
    "<tag>&amp;'apos'",
    "key🔑emoji~*()",
    "tab\tand\rcr",
];

fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "auth-cli-echo-{name}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// How a spec sends the two credentials (`user`, `secret`).
const ENCODINGS: &[(&str, &str)] = &[
    (
        "json",
        "  encoding: json\n  body: { user: \"${credentials.user}\", secret: \"${credentials.secret}\" }\n",
    ),
    (
        "form",
        "  encoding: form\n  body: { user: \"${credentials.user}\", secret: \"${credentials.secret}\" }\n",
    ),
    (
        "query",
        "  query: { user: \"${credentials.user}\", secret: \"${credentials.secret}\" }\n",
    ),
    (
        "basic",
        "  basic_auth: { username: \"${credentials.user}\", password: \"${credentials.secret}\" }\n",
    ),
];

/// Writes one spec per encoding and echo style (`text`, `json`) into `dir`; returns the names.
fn write_specs(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for (encoding, request) in ENCODINGS {
        for style in ["text", "json"] {
            let name = format!("echo{encoding}{style}");
            let yaml = format!(
                r#"title: Echo {encoding} {style}
environments:
  production: {{ base_url: https://echo.example }}
default_environment: production
credentials:
  user: {{}}
  secret: {{}}
login:
  method: POST
  path: /{style}/login
{request}  response:
    access_token: $.access_token
    access_token_expiry: [ {{ expires_in: {{ path: $.expires_in }} }} ]
    examples: [ {{ body: {{ access_token: t, expires_in: 300 }} }} ]
policy:
  refresh: after_expiry
  credentials_rejected_status: [401]
usage:
  headers: {{ Authorization: "Bearer ${{session.access_token}}" }}
"#
            );
            std::fs::write(dir.join(format!("{name}.yaml")), yaml).expect("spec");
            names.push(name);
        }
    }
    names
}

/// What the vendor saw of the request, as it came over the wire.
fn echo(request: &Request) -> String {
    let authorization = request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    format!(
        "body={} query={} auth={authorization}",
        String::from_utf8_lossy(&request.body),
        request.url.query().unwrap_or("")
    )
}

/// Answers 400 with the request echoed: as text under `/text/`, inside a JSON field under
/// `/json/`.
fn respond(request: &Request) -> ResponseTemplate {
    let echoed = echo(request);
    if request.url.path().starts_with("/json/") {
        ResponseTemplate::new(400)
            .set_body_json(serde_json::json!({"error": "invalid_request", "request": echoed}))
    } else {
        ResponseTemplate::new(400).set_body_string(format!("bad request: {echoed}"))
    }
}

/// Every form a credential may take on the wire or in an echo of it.
fn forms(value: &str, user: &str) -> Vec<String> {
    let json = serde_json::to_string(value).expect("json");
    let json = json[1..json.len() - 1].to_owned();
    let ascii: String = json
        .chars()
        .flat_map(|c| {
            if c.is_ascii() {
                vec![c.to_string()]
            } else {
                let mut units = [0u16; 2];
                c.encode_utf16(&mut units)
                    .iter()
                    .map(|u| format!("\\u{u:04x}"))
                    .collect()
            }
        })
        .collect();
    let form: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let b64 = base64::engine::general_purpose::STANDARD;
    vec![
        value.to_owned(),
        json.clone(),
        ascii.clone(),
        ascii.replace('/', "\\/"),
        json.replace('/', "\\/"),
        form.clone(),
        form.replace('+', "%20"),
        b64.encode(format!("{user}:{value}")),
        b64.encode(value),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_echoed_by_a_vendor_never_reach_stderr_in_any_form() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(respond)
        .mount(&server)
        .await;
    let dir = temp_dir("forms");
    let specs = dir.join("specs");
    std::fs::create_dir_all(&specs).expect("dir");
    let names = write_specs(&specs);
    let mut leaks = Vec::new();
    let mut runs = 0;
    for name in &names {
        let env = name.to_ascii_uppercase();
        for (i, secret) in AWKWARD.iter().enumerate() {
            // The user name is awkward too: the next value in the list.
            let user = AWKWARD[(i + 1) % AWKWARD.len()];
            let out = Command::new(env!("CARGO_BIN_EXE_auth-cli"))
                .env_clear()
                .env(format!("{env}_USER"), user)
                .env(format!("{env}_SECRET"), secret)
                .args(["--store", &dir.join("sessions.json").display().to_string()])
                .args(["--specs", &specs.display().to_string()])
                .args(["--base-url", &server.uri(), "token", name])
                .stdin(Stdio::null())
                .output()
                .expect("runs");
            runs += 1;
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(4), "{name}: {stderr}");
            assert!(stderr.contains("HTTP 400"), "{name}: {stderr}");
            for (label, value, other) in [("secret", *secret, user), ("user", user, *secret)] {
                for form in forms(value, other) {
                    if stderr.contains(&form) {
                        leaks.push(format!("{name} {label} `{value}` as `{form}`: {stderr}"));
                    }
                }
            }
            if name.contains("basic") {
                let pair =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
                if stderr.contains(&pair) {
                    leaks.push(format!("{name}: Basic `{pair}`: {stderr}"));
                }
            }
        }
    }
    assert_eq!(runs, names.len() * AWKWARD.len());
    assert!(
        leaks.is_empty(),
        "{} leak(s) in {runs} runs:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}
