# Shared by the scripts of this repository (source it):
#
#   quota_in_ci                        # status 0 in CI, 1 outside; exits 2 on an unknown CI value
#   quota_record_skip NAME REASON      # prints "SKIPPED NAME: REASON" and appends it to
#                                      # $QUOTA_SKIP_LOG (when set); in CI it fails instead
#
# The rule for CI is quota_testkit::ci's (quota-testkit/src/ci.rs): CI=true or CI=1 (any
# case) is CI; unset, empty, false or 0 is not; any other value is refused rather than
# guessed. The skip log holds one "name<TAB>reason" line per skipped test or suite; the Rust
# tests write to it through quota_testkit::skip and scripts/test.sh summarises it.

quota_in_ci() {
  local v
  v=$(printf '%s' "${CI:-}" | tr '[:upper:]' '[:lower:]' | tr -d '[:space:]')
  case "$v" in
    true | 1) return 0 ;;
    '' | false | 0) return 1 ;;
    *)
      echo "CI=${CI:-} is neither true/1 (in CI) nor false/0/empty (not in CI)" >&2
      exit 2
      ;;
  esac
}

quota_record_skip() {
  local name=$1 reason
  reason=$(printf '%s' "$2" | tr '\t\r\n' '   ')
  if quota_in_ci; then
    echo "$name: $reason. In CI nothing is skipped" >&2
    return 1
  fi
  echo "SKIPPED $name: $reason" >&2
  if [ -n "${QUOTA_SKIP_LOG:-}" ]; then
    printf '%s\t%s\n' "$name" "$reason" >>"$QUOTA_SKIP_LOG"
  fi
}
