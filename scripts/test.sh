#!/usr/bin/env bash
# The project's test command (README and CI): make a container engine answer
# and the base image exist, then check formatting, lint with warnings denied,
# and run the tests. Works on a fresh Debian machine with only a Rust toolchain.
#
# usage: scripts/test.sh [ARGS...]   (ARGS go to cargo test, e.g. a test name)
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/engine.sh
scripts/base-image.sh
scripts/node-image.sh # + node/npm, for the fullstack template's e2e tests
scripts/registry.sh --cli >/dev/null # a local OCI registry and the reference CLI, for the Features tests
# A second engine that behaves like another machine (ssh:// and tcp:// at 10.213.7.2), for the
# remote-engine tests. Left running, like the registry: the next run reuses it.
scripts/remote-engine.sh start >/dev/null
# The e2e tests publish fixed host ports below 50000 (each test its own offset). The kernel
# hands out its ephemeral ports (outgoing connections, port 0 listeners) from 32768 up by
# default, and one that lands on a test's port fails that test: move them above 50000.
read -r low high </proc/sys/net/ipv4/ip_local_port_range || low=50000
if [ "$low" -lt 50000 ]; then
  if { echo "50000 ${high:-60999}" >/proc/sys/net/ipv4/ip_local_port_range; } 2>/dev/null; then
    note "ephemeral ports moved to 50000-${high:-60999} so they never take a test's port"
  else
    note "ephemeral ports start at $low: a test's fixed port may rarely be taken by one"
  fi
fi
# Real shells and compose for the env round-trip tests and the Compose e2e test (they
# skip, saying why, without).
command -v fish >/dev/null 2>&1 && command -v docker-compose >/dev/null 2>&1 ||
  apt_install fish docker-compose || note "fish/docker-compose not installed; their checks will skip"
# zsh and man: the shell-integration tests load the completions in real shells and render
# the man pages.
command -v zsh >/dev/null 2>&1 && command -v man >/dev/null 2>&1 ||
  apt_install zsh man-db || die "zsh/man-db are needed by the tests and could not be installed"
# git: the dotfiles and prebuild tests make repositories (CI's clone usually brings it).
command -v git >/dev/null 2>&1 || apt_install git || die "git is needed by the tests and could not be installed"
# ssh-agent, ssh-keygen, ssh-add: the credentials test lends a real agent.
command -v ssh-agent >/dev/null 2>&1 || apt_install openssh-client || die "openssh-client is needed by the tests and could not be installed"
# podman is optional: its smoke test says why it skips when podman cannot run here.
scripts/podman.sh || note "podman is not usable here; the podman smoke test will skip"

# rustfmt and clippy are rustup components a minimal toolchain may lack.
ensure_component() {
  local component="$1" subcommand="$2"
  cargo "$subcommand" --version >/dev/null 2>&1 && return 0
  step "rustup component add $component"
  rustup component add "$component" ||
    die "cargo $subcommand is missing and 'rustup component add $component' failed"
}
ensure_component rustfmt fmt
ensure_component clippy clippy

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --quiet --all-targets -- -D warnings

step "cargo test${*:+ $*}"
cargo test "$@"
