//! Every environment variable the server's code reads is a `quota serve` flag (clap `env`,
//! listed by `--help`) and is in the user guide's settings table, so neither can drift: a
//! variable read anywhere in the crates the server is built from (a string literal that names
//! one) and missing from the help or the guide fails here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The crates `quota serve` is built from (tests and other binaries aside).
const SOURCES: &[&str] = &[
    "examples/server/src",
    "quota-axum/src",
    "quota-core/src",
    "quota-tower/src",
    "quota-redis/src",
    "quota-postgres/src",
    "quota-share/src",
    "quota-payments/src",
    "quota-notify/src",
];

/// Read by `quota reset` only (its `--help` names them), not by the server.
const RESET_ONLY: &[&str] = &["ADMIN_JWT", "QUOTA_ADMIN_TOKEN", "QUOTA_API_URL"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The names of environment variables in `source`: string literals in SCREAMING_SNAKE_CASE
/// with an underscore, or any upper-case literal read by `env::var(`, `var_os(` or a clap
/// `env = `; compile-time `env!(...)` aside. Unit tests (after `#[cfg(test)]`) are skipped.
fn env_names(source: &str) -> BTreeSet<String> {
    let code = source.split("#[cfg(test)]").next().unwrap_or("");
    let mut names = BTreeSet::new();
    let mut rest = code;
    while let Some(open) = rest.find('"') {
        let before = &rest[..open];
        let after = &rest[open + 1..];
        let Some(close) = after.find('"') else { break };
        let literal = &after[..close];
        rest = &after[close + 1..];
        let upper = !literal.is_empty()
            && literal.starts_with(|c: char| c.is_ascii_uppercase())
            && literal
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !upper || before.ends_with("env!(") {
            continue;
        }
        let read =
            before.ends_with("env = ") || before.ends_with("var(") || before.ends_with("var_os(");
        if literal.contains('_') || read {
            names.insert(literal.to_owned());
        }
    }
    names
}

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_quota"))
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?} --help failed");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn scanner_finds_what_the_code_reads() {
    let src = r#"
        let a = std::env::var("QUOTA_X").ok();
        #[arg(long, env = "PORT")]
        let v = env!("CARGO_PKG_VERSION");
        let s = "EUR"; let m = "not an env var";
        #[cfg(test)]
        mod tests { const T: &str = "TEST_ONLY_VAR"; }
    "#;
    let names: Vec<String> = env_names(src).into_iter().collect();
    assert_eq!(names, ["PORT", "QUOTA_X"]);
}

#[test]
fn every_env_var_the_server_reads_is_in_serve_help_and_the_guide() {
    let root = workspace();
    let mut files = Vec::new();
    for dir in SOURCES {
        rust_files(&root.join(dir), &mut files);
    }
    let mut found = BTreeSet::new();
    for f in &files {
        found.extend(env_names(&std::fs::read_to_string(f).unwrap()));
    }
    for known in [
        "PORT",
        "RUST_LOG",
        "QUOTA_METRICS_TOKEN",
        "STRIPE_SECRET_KEY",
    ] {
        assert!(found.contains(known), "the scan misses {known}: {found:?}");
    }
    for name in RESET_ONLY {
        assert!(
            found.contains(*name),
            "{name} is no longer read: update RESET_ONLY"
        );
    }
    let serve = help(&["serve"]);
    let reset = help(&["reset"]);
    let guide = std::fs::read_to_string(root.join("docs/USAGE_QUOTA_GUARDIAN.md")).unwrap();
    let mut missing = Vec::new();
    for name in &found {
        if RESET_ONLY.contains(&name.as_str()) {
            if !reset.contains(name.as_str()) {
                missing.push(format!("{name}: not in `quota reset --help`"));
            }
        } else if !serve.contains(&format!("[env: {name}")) {
            missing.push(format!("{name}: not a flag of `quota serve --help`"));
        }
        if !guide.contains(&format!("`{name}`")) {
            missing.push(format!("{name}: not in docs/USAGE_QUOTA_GUARDIAN.md"));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn secrets_are_never_shown_by_help() {
    let out = Command::new(env!("CARGO_BIN_EXE_quota"))
        .args(["serve", "--help"])
        .env(
            "QUOTA_ADMIN_JWT_SECRET",
            "do-not-print-this-admin-secret-0123456789",
        )
        .env("QUOTA_METRICS_TOKEN", "do-not-print-this-metrics-token")
        .env("STRIPE_SECRET_KEY", "sk_test_do_not_print")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("[env: QUOTA_ADMIN_JWT_SECRET]"), "{text}");
    assert!(
        !text.contains("do-not-print") && !text.contains("sk_test"),
        "{text}"
    );
}
