//! Every `cargo run -p quota-server -- ...` command in the README's and the user guide's
//! shell blocks names a subcommand and flags the `quota` binary has: each is run with
//! `--help` appended, which clap answers only when everything before it parses (an unknown
//! flag or subcommand fails). Nothing is started and nothing is written.

use std::path::Path;
use std::process::Command;

/// The shell lines of the fenced `bash`/`sh` blocks of `text`, continuation lines joined.
fn shell_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_block = false;
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            in_block = !in_block && matches!(trimmed.trim_end(), "```bash" | "```sh");
            pending.clear();
            continue;
        }
        if !in_block {
            continue;
        }
        match line.trim_end().strip_suffix('\\') {
            Some(head) => pending.push_str(head),
            None => {
                pending.push_str(line);
                out.push(std::mem::take(&mut pending));
            }
        }
    }
    out
}

/// The arguments after `cargo run -p quota-server --` on `line`, without a trailing comment
/// and without what follows a pipe or `&&`; `None` for other commands and comment lines.
fn quota_args(line: &str) -> Option<Vec<String>> {
    const RUN: &str = "cargo run -p quota-server --";
    let line = line.trim();
    if line.starts_with('#') {
        return None;
    }
    let (_, rest) = line.split_once(RUN)?;
    let rest = rest.split(" #").next().unwrap_or(rest);
    let rest = rest.split(" | ").next().unwrap_or(rest);
    let rest = rest.split(" && ").next().unwrap_or(rest);
    let args = shlex::split(rest);
    assert!(args.is_some(), "unbalanced quotes in {line:?}");
    args
}

#[test]
fn every_documented_quota_command_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut checked = 0;
    for doc in ["README.md", "docs/USAGE_QUOTA_GUARDIAN.md"] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        for line in shell_lines(&text) {
            let Some(args) = quota_args(&line) else {
                continue;
            };
            let out = Command::new(env!("CARGO_BIN_EXE_quota"))
                .args(&args)
                .arg("--help")
                .env_clear()
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{doc}: `{}` does not parse: {}",
                line.trim(),
                String::from_utf8_lossy(&out.stderr)
            );
            checked += 1;
        }
    }
    // The README's server command and the guide's serve and reset commands at least.
    assert!(checked >= 5, "only {checked} documented commands found");
}

#[test]
fn a_wrong_flag_is_caught() {
    let args = quota_args("cargo run -p quota-server -- serve --no-such-flag  # comment").unwrap();
    assert_eq!(args, ["serve", "--no-such-flag"]);
    let out = Command::new(env!("CARGO_BIN_EXE_quota"))
        .args(&args)
        .arg("--help")
        .env_clear()
        .output()
        .unwrap();
    assert!(!out.status.success());
    let joined = shell_lines("```bash\ncargo run -p quota-server -- reset \\\n  --dry-run\n```\n");
    assert_eq!(joined.len(), 1);
    assert_eq!(quota_args(&joined[0]).unwrap(), ["reset", "--dry-run"]);
}
