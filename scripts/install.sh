#!/usr/bin/env bash
# Installs devboot for this user: the binary, the shell completions (bash, zsh, fish) and
# the man pages, all made by the binary from its own command-line definitions.
#
# usage: scripts/install.sh [--prefix DIR] [--binary PATH]
#   --prefix DIR    where to install (default ~/.local): DIR/bin/devboot,
#                   DIR/share/bash-completion/completions/devboot,
#                   DIR/share/zsh/site-functions/_devboot,
#                   DIR/share/fish/vendor_completions.d/devboot.fish,
#                   DIR/share/man/man1/devboot*.1
#   --binary PATH   install this binary instead of building one (cargo build --release)
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$(dirname "${BASH_SOURCE[0]}")/.."

prefix="${HOME:-/root}/.local" binary=""
while [ $# -gt 0 ]; do
  case "$1" in
  --prefix) prefix="${2:?--prefix needs a folder}" && shift 2 ;;
  --binary) binary="${2:?--binary needs a path}" && shift 2 ;;
  -h | --help) sed -n '2,12p' "$0" && exit 0 ;;
  *) die "unknown option $1" "see scripts/install.sh --help" ;;
  esac
done

if [ -z "$binary" ]; then
  step "cargo build --release --locked"
  cargo build --release --locked
  binary=target/release/devboot
fi
[ -x "$binary" ] || die "no devboot binary at $binary" "build it: cargo build --release"

bin="$prefix/bin" share="$prefix/share"
mkdir -p "$bin" "$share/bash-completion/completions" "$share/zsh/site-functions" \
  "$share/fish/vendor_completions.d" "$share/man/man1"
install -m 0755 "$binary" "$bin/devboot"
"$bin/devboot" completions bash >"$share/bash-completion/completions/devboot"
"$bin/devboot" completions zsh >"$share/zsh/site-functions/_devboot"
"$bin/devboot" completions fish >"$share/fish/vendor_completions.d/devboot.fish"
"$bin/devboot" manpages --out "$share/man/man1" >/dev/null

step "installed devboot into $prefix"
note "binary:      $bin/devboot"
note "completions: bash, zsh, fish under $share"
note "man pages:   $share/man/man1 ($(find "$share/man/man1" -name 'devboot*.1' | wc -l) pages)"
case ":${PATH:-}:" in *:"$bin":*) ;; *) note "add $bin to PATH" ;; esac
note "zsh: add $share/zsh/site-functions to fpath before compinit; man: MANPATH=$share/man:\$MANPATH if \`man devboot\` finds nothing"
