//! The one rule for "are we in CI?".
//!
//! The `CI` environment variable decides, as GitHub Actions, GitLab CI and most other
//! services set it:
//!
//! | `CI`                                   | meaning          |
//! |----------------------------------------|------------------|
//! | `true` or `1` (any case)               | in CI            |
//! | unset, empty, `false` or `0` (any case)| not in CI        |
//! | anything else                          | refused (panics) |
//!
//! Refusing other values keeps one spelling from meaning "CI" to one helper and "not CI" to
//! another. `scripts/lib/ci.sh` applies the same rule to the shell scripts.

/// The name of the variable.
pub const VAR: &str = "CI";

/// Reads a value of `CI` by the rule above: `Ok(true)` in CI, `Ok(false)` outside, `Err`
/// with an explanation for any other value.
pub fn parse(value: Option<&str>) -> Result<bool, String> {
    let Some(raw) = value else {
        return Ok(false);
    };
    let v = raw.trim();
    if v.eq_ignore_ascii_case("true") || v == "1" {
        Ok(true)
    } else if v.is_empty() || v.eq_ignore_ascii_case("false") || v == "0" {
        Ok(false)
    } else {
        Err(format!(
            "{VAR}={raw:?} is neither true/1 (in CI) nor false/0/empty (not in CI)"
        ))
    }
}

/// `true` when the tests run in CI, by the rule of this module.
///
/// # Panics
///
/// When `CI` holds a value the rule does not know (a test must not guess).
#[allow(clippy::panic)]
pub fn in_ci() -> bool {
    let value = std::env::var(VAR).ok();
    match parse(value.as_deref()) {
        Ok(ci) => ci,
        Err(why) => panic!("{why}: set CI=true in CI and leave it unset elsewhere"),
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn true_and_1_mean_ci() {
        for v in ["true", "TRUE", "True", "1", " true "] {
            assert_eq!(parse(Some(v)), Ok(true), "{v:?}");
        }
    }

    #[test]
    fn unset_empty_false_and_0_mean_not_ci() {
        assert_eq!(parse(None), Ok(false));
        for v in ["", "false", "FALSE", "0", "  "] {
            assert_eq!(parse(Some(v)), Ok(false), "{v:?}");
        }
    }

    #[test]
    fn any_other_value_is_refused_with_the_value_named() {
        for v in ["yes", "on", "2", "ci", "truee"] {
            let err = parse(Some(v)).unwrap_err();
            assert!(err.contains(&format!("{v:?}")), "{err}");
        }
    }
}
