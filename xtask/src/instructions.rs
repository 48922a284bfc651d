//! `cargo xtask instructions`: what the auth layers cost per request, in instructions counted
//! by valgrind's callgrind rather than in seconds, so that the figures repeat on a busy machine.
//!
//! Each case is one of `auth-runtime`'s benchmarks, run under callgrind for two lengths of time
//! (criterion's `--profile-time`). The difference between the two runs' instruction totals,
//! divided by the difference in requests, is the cost of one request: the setup both runs share
//! (engines, clients, servers) cancels out. Requests are counted as calls of a function that
//! runs once per request. Next to each count, the atomic read-modify-write instructions among
//! them (`locked`): one instruction each to callgrind, tens of cycles each on the machine.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A benchmark, and a function called once per request in it.
struct Case {
    bench: &'static str,
    once_per_request: &'static str,
}

const PER_ITERATION: &str = "tokio::runtime::runtime::Runtime::block_on";
const REQWEST_SEND: &str = "reqwest::async_impl::client::Client::execute_request";
const HYPER_SEND: &str = "<hyper_util::client::legacy::client::Client<C,B> as tower_service::Service<http::request::Request<B>>>::call";

/// Groups of cases: the first of each is the baseline the others are compared with.
const GROUPS: &[&[Case]] = &[
    &[
        Case {
            bench: "layer_cost/reqwest_middleware_empty",
            once_per_request: PER_ITERATION,
        },
        Case {
            bench: "layer_cost/reqwest_middleware_pass_on",
            once_per_request: PER_ITERATION,
        },
        Case {
            bench: "layer_cost/reqwest_middleware_auth",
            once_per_request: PER_ITERATION,
        },
    ],
    &[
        Case {
            bench: "layer_cost/tower_bare",
            once_per_request: PER_ITERATION,
        },
        Case {
            bench: "layer_cost/tower_pass_on",
            once_per_request: PER_ITERATION,
        },
        Case {
            bench: "layer_cost/tower_auth",
            once_per_request: PER_ITERATION,
        },
    ],
    &[
        Case {
            bench: "middleware/empty_middleware_stack",
            once_per_request: REQWEST_SEND,
        },
        Case {
            bench: "middleware/forward_middleware",
            once_per_request: REQWEST_SEND,
        },
        Case {
            bench: "middleware/pass_on_middleware",
            once_per_request: REQWEST_SEND,
        },
        Case {
            bench: "middleware/with_auth_middleware",
            once_per_request: REQWEST_SEND,
        },
    ],
    &[
        Case {
            bench: "tower/bare_hyper_client",
            once_per_request: HYPER_SEND,
        },
        Case {
            bench: "tower/pass_on_layer",
            once_per_request: HYPER_SEND,
        },
        Case {
            bench: "tower/with_auth_layer",
            once_per_request: HYPER_SEND,
        },
        Case {
            bench: "tower/auth_layer_without_replay",
            once_per_request: HYPER_SEND,
        },
        Case {
            bench: "tower/watching_layer",
            once_per_request: HYPER_SEND,
        },
    ],
];

/// A group's name: what its cases' names start with, before `/`.
fn group_name(group: &[Case]) -> &'static str {
    group
        .first()
        .and_then(|c| c.bench.split('/').next())
        .unwrap_or_default()
}

/// The two run lengths, in seconds of criterion's `--profile-time`.
const SHORT: u32 = 2;
const LONG: u32 = 6;

/// Counts each case's instructions per request and prints them by group: all groups, or the
/// one named `only` (the part of its cases' names before `/`).
pub fn measure(root: &Path, only: Option<&str>) -> Result<(), String> {
    let groups: Vec<&[Case]> = GROUPS
        .iter()
        .copied()
        .filter(|g| only.is_none_or(|name| group_name(g) == name))
        .collect();
    if groups.is_empty() {
        let mut names: Vec<&str> = GROUPS.iter().map(|g| group_name(g)).collect();
        names.dedup();
        return Err(format!(
            "no group `{}`: the groups are {}",
            only.unwrap_or_default(),
            names.join(", ")
        ));
    }
    for tool in ["valgrind", "callgrind_annotate"] {
        if Command::new(tool).arg("--version").output().is_err() {
            return Err(format!(
                "`{tool}` not found: install valgrind (`apt-get install -y valgrind`)"
            ));
        }
    }
    let bench = bench_binary(root)?;
    let atomic = crate::locked::addresses(&bench)?;
    let out = root.join("target/instructions");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    println!(
        "instructions per request (callgrind; runs of {SHORT} s and {LONG} s, the difference), and the atomic ones among them"
    );
    for group in groups {
        let mut baseline = None;
        for case in group {
            let (per_request, locked) = per_request(&bench, &atomic, &out, case)?;
            match baseline {
                None => {
                    println!(
                        "  {:<40} {per_request:>8.0}                  locked {locked:>5.1}",
                        case.bench
                    );
                    baseline = Some((per_request, locked));
                }
                Some((base, base_locked)) => println!(
                    "  {:<40} {per_request:>8.0}  {:>+6.0} ({:+.2}%)  locked {locked:>5.1} ({:+.1})",
                    case.bench,
                    per_request - base,
                    (per_request - base) / base * 100.0,
                    locked - base_locked
                ),
            }
        }
    }
    Ok(())
}

/// Builds `auth-runtime`'s benchmark binary and returns its path.
fn bench_binary(root: &Path) -> Result<PathBuf, String> {
    let output = Command::new(env!("CARGO"))
        .current_dir(root)
        .args([
            "bench",
            "-p",
            "auth-runtime",
            "--bench",
            "runtime",
            "--no-run",
        ])
        .args(["--message-format", "json-render-diagnostics"])
        .output()
        .map_err(|e| format!("cargo bench: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo bench --no-run failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .filter(|line| {
            line.contains("\"kind\":[\"bench\"]") && line.contains("\"name\":\"runtime\"")
        })
        .find_map(|line| {
            let start = line.find("\"executable\":\"")? + "\"executable\":\"".len();
            let end = start + line[start..].find('"')?;
            Some(PathBuf::from(&line[start..end]))
        })
        .ok_or_else(|| "cargo did not name the benchmark's executable".to_owned())
}

/// The instructions of one request of `case`, and the atomic ones among them: the slope
/// between a short and a long run.
fn per_request(
    bench: &Path,
    atomic: &std::collections::HashSet<u64>,
    out: &Path,
    case: &Case,
) -> Result<(f64, f64), String> {
    let mut runs = Vec::new();
    for seconds in [SHORT, LONG] {
        let file = out.join(format!("{}.{seconds}", case.bench.replace('/', "_")));
        let status = Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg("--dump-instr=yes")
            .arg(format!("--callgrind-out-file={}", file.display()))
            .arg(bench)
            .args(["--bench", "--profile-time", &seconds.to_string()])
            .arg(format!("^{}$", case.bench))
            .env("BENCH_NO_ROUNDS", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .map_err(|e| format!("valgrind: {e}"))?;
        if !status.success() {
            return Err(format!("valgrind failed on {}", case.bench));
        }
        let executed = crate::locked::count(&file, atomic)?;
        runs.push((
            executed.instructions,
            calls(&file, case.once_per_request)?,
            executed.atomic,
        ));
    }
    let ((short_total, short_calls, short_locked), (long_total, long_calls, long_locked)) =
        (runs[0], runs[1]);
    if long_calls <= short_calls {
        return Err(format!(
            "{}: the longer run made no more requests",
            case.bench
        ));
    }
    let requests = (long_calls - short_calls) as f64;
    Ok((
        (long_total - short_total) as f64 / requests,
        long_locked.saturating_sub(short_locked) as f64 / requests,
    ))
}

fn annotate(file: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new("callgrind_annotate")
        .args(args)
        .arg(file)
        .output()
        .map_err(|e| format!("callgrind_annotate: {e}"))?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn number(text: &str) -> Option<u64> {
    text.replace(',', "").parse().ok()
}

/// How many times `function` was called (the largest count among its callers' lines).
fn calls(file: &Path, function: &str) -> Result<u64, String> {
    let needle = format!(":{function} (");
    annotate(file, &["--inclusive=yes", "--tree=calling"])?
        .lines()
        .filter(|line| line.trim_start().contains(">") && line.contains(&needle))
        .filter_map(|line| {
            let count = &line[line.find(&needle)? + needle.len()..];
            number(count.split('x').next()?)
        })
        .max()
        .ok_or_else(|| format!("{}: no calls of {function}", file.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_group_is_named_by_all_its_cases() {
        let names: Vec<&str> = super::GROUPS.iter().map(|g| super::group_name(g)).collect();
        // The layers' own work without network (reqwest-middleware, then tower), then each
        // layer group through a loopback server.
        assert_eq!(names, ["layer_cost", "layer_cost", "middleware", "tower"]);
        for group in super::GROUPS {
            let name = super::group_name(group);
            for case in *group {
                assert!(
                    case.bench.starts_with(&format!("{name}/")),
                    "{}",
                    case.bench
                );
            }
        }
    }
}
