//! `skip` as `scripts/test.sh` sees it: this test binary runs itself as a child with a chosen
//! `CI` and `QUOTA_SKIP_LOG`, and the child skips (see `child_skips_when_asked`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Command, Output};

const CHILD: &str = "QUOTA_TESTKIT_CHILD";

/// Does nothing unless run as the child: then skips twice, as two tests would.
#[test]
fn child_skips_when_asked() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    quota_testkit::skip("suite::first", "no Redis at 127.0.0.1:6379");
    quota_testkit::skip(
        quota_testkit::test_name!(),
        "no Postgres:\n\tconnection refused",
    );
}

fn run_child(ci: Option<&str>, log: Option<&PathBuf>) -> Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child_skips_when_asked", "--test-threads=1"])
        .env(CHILD, "1")
        .env_remove("CI")
        .env_remove(quota_testkit::skip::LOG_VAR);
    if let Some(ci) = ci {
        cmd.env("CI", ci);
    }
    if let Some(log) = log {
        cmd.env(quota_testkit::skip::LOG_VAR, log);
    }
    cmd.output().unwrap()
}

fn temp_log(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("quota-skip-{name}-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn outside_ci_a_skip_is_printed_past_the_capture_and_logged_one_line_each() {
    let log = temp_log("outside");
    let out = run_child(None, Some(&log));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("SKIPPED suite::first: no Redis at 127.0.0.1:6379\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "SKIPPED skip_log::child_skips_when_asked: no Postgres: connection refused\n"
        ),
        "{stderr}"
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        logged,
        "suite::first\tno Redis at 127.0.0.1:6379\n\
         skip_log::child_skips_when_asked\tno Postgres: connection refused\n"
    );
    // A second run appends.
    assert!(run_child(Some("false"), Some(&log)).status.success());
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 4);
    std::fs::remove_file(&log).unwrap();
}

#[test]
fn in_ci_a_skip_fails_the_test_and_logs_nothing() {
    for ci in ["true", "1"] {
        let log = temp_log(&format!("ci{ci}"));
        let out = run_child(Some(ci), Some(&log));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "CI={ci} must fail: {stdout}");
        assert!(
            stdout.contains("suite::first: no Redis at 127.0.0.1:6379. In CI a test never skips"),
            "{stdout}"
        );
        assert!(!log.exists(), "CI={ci}: nothing logged");
    }
}

#[test]
fn an_unknown_ci_value_fails_rather_than_guessing() {
    let out = run_child(Some("yes"), None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains("CI=\"yes\" is neither true/1"), "{stdout}");
}

#[test]
fn a_skip_log_that_cannot_be_written_fails_the_test() {
    let dir = std::env::temp_dir().join(format!("quota-skip-dir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A directory is not appendable.
    let out = run_child(None, Some(&dir));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains("cannot be written"), "{stdout}");
    std::fs::remove_dir(&dir).unwrap();
}
