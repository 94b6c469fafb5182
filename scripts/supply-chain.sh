#!/usr/bin/env bash
# Supply-chain and publishability checks of the workspace (run by scripts/test.sh after clippy):
#   1. MSRV: the workspace's `rust-version` is at least every `rust-version` declared in
#      Cargo.lock (read from `cargo metadata`), and every member declares the workspace's.
#   2. cargo-deny: licences (allow-list in deny.toml), bans (duplicate versions, wildcard
#      requirements) and sources (crates.io only). Advisories need the RustSec database from
#      GitHub: run `cargo deny check advisories` where GitHub is reachable.
#   3. cargo-machete: no unused dependency in any member.
#   4. cargo package (no build): every member without `publish = false` has the metadata
#      crates.io shows, a valid manifest, and its README and both licence files in its package.
#   5. cargo doc with warnings as errors (broken intra-doc links, bare URLs, ...).
#
#   bash scripts/supply-chain.sh
#
# cargo-deny and cargo-machete are installed at their pinned versions (below) with
# `cargo install --locked` into $CARGO_HOME/bin (default ~/.cargo/bin) when missing or at
# another version; that takes a few minutes once, later runs reuse the binaries. Nothing is
# skipped: a tool that cannot be installed fails the script, in CI and elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/quota-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# Pinned tools; both build with rustc 1.95.
CARGO_DENY_VERSION=0.20.2
CARGO_MACHETE_VERSION=0.9.2

CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$CARGO_BIN:$PATH"

# Each step's duration is printed when the next one starts (CI budget).
STEP_START=""
step() {
  [ -z "$STEP_START" ] || printf '(%ss)\n' "$((SECONDS - STEP_START))"
  STEP_START=$SECONDS
  printf '\n--> supply chain: %s\n' "$*"
}

# ensure_tool BINARY CRATE VERSION: installs CRATE@VERSION unless BINARY reports VERSION.
ensure_tool() {
  local bin=$1 crate=$2 version=$3 found=""
  if [ -x "$CARGO_BIN/$bin" ]; then
    found=$("$CARGO_BIN/$bin" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1 || true)
  fi
  if [ "$found" = "$version" ]; then
    return 0
  fi
  echo "installing $crate $version into $CARGO_BIN (found: ${found:-none}; takes a few minutes once)"
  # Its own temporary target dir: the tool's build shares nothing with the workspace's.
  env -u CARGO_TARGET_DIR cargo install --locked --quiet "$crate" --version "$version" --root "${CARGO_HOME:-$HOME/.cargo}"
  found=$("$CARGO_BIN/$bin" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1 || true)
  if [ "$found" != "$version" ]; then
    echo "FAILED: $bin reports ${found:-nothing} after installing $crate $version" >&2
    exit 1
  fi
}

ensure_python() {
  command -v python3 >/dev/null 2>&1 && return 0
  echo "installing python3 from Debian's packages (the MSRV check reads cargo metadata with it)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends python3-minimal
}

step "MSRV: rust-version against Cargo.lock"
ensure_python
cargo metadata --format-version 1 --locked | python3 -c '
import json, sys

def ver(s):
    parts = [int(p) for p in s.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))

meta = json.load(sys.stdin)
members = set(meta["workspace_members"])
declared = {p["name"]: p.get("rust_version") for p in meta["packages"] if p["id"] in members}
missing = sorted(n for n, v in declared.items() if not v)
if missing:
    sys.exit("FAILED: members without rust-version: " + ", ".join(missing))
if len(set(declared.values())) != 1:
    sys.exit("FAILED: members declare different rust-versions: %r" % declared)
msrv = next(iter(declared.values()))
deps = [(ver(p["rust_version"]), p["name"], p["version"], p["rust_version"])
        for p in meta["packages"] if p["id"] not in members and p.get("rust_version")]
deps.sort(reverse=True)
newer = [d for d in deps if d[0] > ver(msrv)]
for _, name, version, rv in newer:
    print("FAILED: %s %s requires rust %s, the workspace declares rust-version %s"
          % (name, version, rv, msrv), file=sys.stderr)
if newer:
    sys.exit(1)
top = deps[0] if deps else None
print("rust-version %s; highest in Cargo.lock: %s" % (
    msrv, "%s (%s %s)" % (top[3], top[1], top[2]) if top else "none declared"))
'

step "cargo-deny $CARGO_DENY_VERSION: licenses, bans, sources (advisories: run where GitHub is reachable)"
ensure_tool cargo-deny cargo-deny "$CARGO_DENY_VERSION"
cargo deny --locked check licenses bans sources

step "cargo-machete $CARGO_MACHETE_VERSION: unused dependencies"
ensure_tool cargo-machete cargo-machete "$CARGO_MACHETE_VERSION"
cargo machete

step "cargo package: the published crates' metadata, manifests and file lists"
# The members to publish (no `publish = false`) as "name version" lines, after checking that each
# carries the metadata crates.io shows.
published=$(cargo metadata --format-version 1 --locked --offline --no-deps | python3 -c '
import json, sys
meta = json.load(sys.stdin)
members = set(meta["workspace_members"])
failed = False
for p in meta["packages"]:
    if p["id"] not in members or p.get("publish") == []:
        continue
    for field in ("description", "license", "repository", "documentation", "readme",
                  "keywords", "categories", "rust_version"):
        if not p.get(field):
            print("FAILED: %s has no %s" % (p["name"], field), file=sys.stderr)
            failed = True
    print(p["name"], p["version"])
sys.exit(1 if failed else 0)
')
mapfile -t names < <(awk '{ print "--package=" $1 }' <<<"$published")
# Packaged together, so the path dependencies between them resolve to each other's packages
# (quota-testkit, a dev-dependency only, is left out of the packages, as crates.io requires).
# --offline: the index cache already holds every version Cargo.lock names (cargo metadata
# above fetched them), and each package's lock file is resolved from it.
cargo package --no-verify --locked --offline --allow-dirty --quiet "${names[@]}"
while read -r crate version; do
  archive="$CARGO_TARGET_DIR/package/$crate-$version.crate"
  files=$(tar -tzf "$archive" | sed "s|^$crate-$version/||")
  for f in Cargo.toml Cargo.lock README.md LICENSE-MIT LICENSE-APACHE src/lib.rs; do
    if ! grep -qxF "$f" <<<"$files"; then
      echo "FAILED: $archive lacks $f" >&2
      exit 1
    fi
  done
done <<<"$published"
echo "packaged:" $(awk '{ print $1 }' <<<"$published")

step "cargo doc -D warnings"
RUSTDOCFLAGS="${RUSTDOCFLAGS:-} -D warnings" cargo doc --workspace --no-deps --locked --quiet

echo "($((SECONDS - STEP_START))s)"
echo "supply chain: all checks passed in ${SECONDS}s"
