//! Skipping a test whose service is missing, visibly and countably.
//!
//! [`skip`] is the only way a test of this workspace gives up without failing:
//!
//! - in CI ([`crate::ci::in_ci`]) it panics: CI runs every test or fails;
//! - elsewhere it writes `SKIPPED <test>: <reason>` straight to the process's stderr (past
//!   the test harness's output capture, so a plain `cargo test` shows it) and appends
//!   `<test>\t<reason>` to the file named by [`LOG_VAR`] when that variable is set.
//!   `scripts/test.sh` sets it, prints how many tests were skipped (and why) in its summary,
//!   and fails a CI run whose log is not empty.
//!
//! The caller returns right after a skip: the test reports `ok` to the harness, and the skip
//! line and the log are where it is told apart from a test that ran.

use std::fs::OpenOptions;
use std::io::Write as _;

/// The environment variable naming the skip log.
pub const LOG_VAR: &str = "QUOTA_SKIP_LOG";

/// The prefix of every skip line on stderr (what `scripts/test.sh` greps for).
pub const LINE_PREFIX: &str = "SKIPPED ";

/// Records that `test` does not run because of `reason`; panics in CI.
///
/// # Panics
///
/// In CI, always (with `test` and `reason` in the message). Outside CI, when [`LOG_VAR`] is
/// set but the log cannot be appended to: a skip that is not counted is a silent one.
#[allow(clippy::panic)]
pub fn skip(test: &str, reason: &str) {
    if crate::ci::in_ci() {
        panic!(
            "{test}: {reason}. In CI a test never skips: start what it needs (scripts/test.sh does)"
        );
    }
    let reason = one_line(reason);
    let line = format!("{LINE_PREFIX}{test}: {reason}\n");
    // Past libtest's capture on purpose: `eprintln!` would be swallowed for a passing test.
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Some(path) = std::env::var_os(LOG_VAR).filter(|p| !p.is_empty()) {
        let record = format!("{test}\t{reason}\n");
        let appended = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            // One write of one line: appends from parallel tests do not interleave.
            .and_then(|mut f| f.write_all(record.as_bytes()));
        if let Err(e) = appended {
            panic!(
                "{test} skipped ({reason}) but the skip log {} cannot be written: {e}",
                std::path::Path::new(&path).display()
            );
        }
    }
}

/// `Some(value)` for `Ok`; for `Err`, [`skip`]s `test` with `what` and the error, and
/// returns `None`.
pub fn require<T, E: std::fmt::Display>(test: &str, what: &str, result: Result<T, E>) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            skip(test, &format!("{what}: {e}"));
            None
        }
    }
}

/// The name of the running test, for helpers that are not given it: libtest runs each test
/// on a thread named after it (its path within the test binary, e.g.
/// `conformance::counts_exactly`), and `#[tokio::test]` bodies run on that thread. Prefix it
/// with the binary's name when that matters, as [`crate::test_name!`] does. Called from a
/// thread of its own (a spawned task, a worker), it names that thread.
pub fn current_test() -> String {
    let thread = std::thread::current();
    match thread.name() {
        Some(name) => name.to_owned(),
        None => format!("unnamed test thread {:?}", thread.id()),
    }
}

/// The function path in a [`type_name`](std::any::type_name) of a function item declared
/// inside it, without the item itself and without closure or async-block segments.
/// Used by [`crate::test_name!`].
pub fn function_path(type_name: &'static str) -> &'static str {
    let mut path = type_name;
    if let Some(p) = path.strip_suffix("::__quota_testkit_here") {
        path = p;
    }
    while let Some(p) = path.strip_suffix("::{{closure}}") {
        path = p;
    }
    path
}

fn one_line(s: &str) -> String {
    s.split(['\n', '\r', '\t'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::{function_path, one_line};

    #[test]
    fn the_test_name_is_the_enclosing_function_path() {
        assert_eq!(
            crate::test_name!(),
            "quota_testkit::skip::tests::the_test_name_is_the_enclosing_function_path"
        );
        let name = || crate::test_name!();
        let in_closure = name();
        assert_eq!(
            in_closure,
            "quota_testkit::skip::tests::the_test_name_is_the_enclosing_function_path"
        );
    }

    #[test]
    fn the_current_test_is_the_name_of_its_thread() {
        assert_eq!(
            super::current_test(),
            "skip::tests::the_current_test_is_the_name_of_its_thread"
        );
        let spawned = std::thread::spawn(super::current_test).join().unwrap();
        assert!(spawned.starts_with("unnamed test thread"), "{spawned}");
    }

    #[test]
    fn closure_segments_are_dropped_from_the_path() {
        assert_eq!(
            function_path("a::b::{{closure}}::{{closure}}::__quota_testkit_here"),
            "a::b"
        );
        assert_eq!(function_path("a::b"), "a::b");
    }

    #[test]
    fn a_reason_is_kept_on_one_line_for_the_log() {
        assert_eq!(
            one_line("no server\n\tat 127.0.0.1:1\r\n"),
            "no server at 127.0.0.1:1"
        );
    }
}
