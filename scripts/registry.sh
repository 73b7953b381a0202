#!/usr/bin/env bash
# A real OCI registry on loopback for the Features tests: Debian's docker-registry (Docker's
# distribution 2.8), plain HTTP on a free 127.0.0.1 port the kernel picks, its own storage.
# Idempotent: a registry this script started and that still answers is reused. Prints the
# registry as host:port on stdout; everything else goes to stderr.
#
# usage: scripts/registry.sh                        start (or reuse) it
#        scripts/registry.sh --cli                  also install the reference CLI (npm)
#        scripts/registry.sh --publish DIR NAMESPACE
#            publish the Feature folder (or a collection's src/) DIR as NAMESPACE with the
#            reference CLI (`devcontainer features publish -r localhost:PORT -n NAMESPACE`);
#            it speaks plain HTTP only to localhost:PORT, so the features are published there
#        scripts/registry.sh --as-ghcr CMD [ARG...]
#            run CMD where ghcr.io is this registry (see as_ghcr below): for the reference
#            CLI, which has no mirror setting and fetches every installsAfter id from ghcr.io
#        scripts/registry.sh --stop                 stop it
#
# State lives in ${DEVBOOT_TEST_REGISTRY_DIR:-/tmp/devboot-registry}: config.yml, storage/,
# registry.log (the access log: one line per request, as tests read it), state (pid port).
# The reference CLI is installed into $DEVBOOT_CACHE/devcontainers-cli (version
# $DEVBOOT_DEVCONTAINER_CLI, default below).
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir="${DEVBOOT_TEST_REGISTRY_DIR:-/tmp/devboot-registry}"
cli_version="${DEVBOOT_DEVCONTAINER_CLI:-0.89.0}"
cli_dir="$DEVBOOT_CACHE/devcontainers-cli"
cli="$cli_dir/node_modules/.bin/devcontainer"

# Answers 0 when a registry on 127.0.0.1:$1 answers GET /v2/ with 200 (bash's /dev/tcp, so
# no curl is needed).
answers() {
  local line
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  IFS= read -r -t 5 line <&3 || line=
  exec 3<&- 3>&-
  [[ "$line" == HTTP/1.?" 200"* ]]
}

# Prints the port of the registry recorded in the state file, if it runs and answers.
running_port() {
  local pid port
  [ -s "$dir/state" ] || return 1
  read -r pid port <"$dir/state" || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = docker-registry ] || return 1
  answers "$port" || return 1
  printf '%s\n' "$port"
}

# Writes a registry config to $1: the shared storage, an access log, listening on $2, with
# TLS from the certificate and key in folder $3 when given.
write_config() {
  {
    printf '%s\n' 'version: 0.1' 'log:' '  level: info' '  accesslog:' '    disabled: false' \
      'storage:' '  filesystem:' "    rootdirectory: $dir/storage" '  delete:' '    enabled: true' \
      'http:' "  addr: $2" '  secret: devboot-test-registry'
    [ -z "${3:-}" ] || printf '%s\n' '  tls:' "    certificate: $3/cert.pem" "    key: $3/key.pem"
  } >"$1"
}

start() {
  local bin port pid started i
  bin="$(find_bin docker-registry || true)"
  if [ -z "$bin" ]; then
    step "apt-get install docker-registry"
    apt_install docker-registry
    bin="$(find_bin docker-registry)" || die "docker-registry is not installed" \
      "install Debian's docker-registry package by hand"
  fi
  mkdir -p "$dir/storage"
  # Port 0: the kernel picks a free one; the log says which.
  write_config "$dir/config.yml" 127.0.0.1:0
  step "starting docker-registry (storage $dir/storage)"
  started="$(ms_now)"
  # Its own session, no terminal, and not holding the lock (fd 9): it outlives this script.
  setsid "$bin" serve "$dir/config.yml" >"$dir/registry.log" 2>&1 </dev/null 9>&- &
  pid=$!
  port=
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || { tail_log "$dir/registry.log"; die "docker-registry exited at start"; }
    port="$(sed -n 's/.*msg="listening on 127\.0\.0\.1:\([0-9]*\)".*/\1/p' "$dir/registry.log" | head -n 1)"
    if [ -n "$port" ] && answers "$port"; then
      printf '%s %s\n' "$pid" "$port" >"$dir/state"
      note "registry 127.0.0.1:$port up in $(elapsed_since "$started") (pid $pid, log $dir/registry.log)"
      printf '%s\n' "$port"
      return 0
    fi
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  tail_log "$dir/registry.log"
  die "docker-registry did not answer on /v2/ within 10 s"
}

install_cli() {
  [ -x "$cli" ] && "$cli" --version 2>/dev/null | grep -qx "$cli_version" && return 0
  command -v npm >/dev/null 2>&1 || die "npm is not here" \
    "install Node.js 20 or newer with npm; the reference CLI comes from the npm registry"
  step "npm install @devcontainers/cli@$cli_version (into $cli_dir)"
  local started
  started="$(ms_now)"
  mkdir -p "$cli_dir"
  npm install --prefix "$cli_dir" --no-audit --no-fund --loglevel=error \
    "@devcontainers/cli@$cli_version" >&2 ||
    die "npm install @devcontainers/cli@$cli_version failed"
  note "reference CLI $("$cli" --version) installed in $(elapsed_since "$started")"
}

# Runs "$@" where ghcr.io is this registry, seen by nothing else on the machine: a private
# network and mount namespace (unshare) whose /etc/hosts names ghcr.io 127.0.0.1, a second
# docker-registry on that namespace's 127.0.0.1:443 serving the same storage over TLS, and a
# certificate for ghcr.io from a throwaway CA the command trusts (NODE_EXTRA_CA_CERTS).
# The engine is reached through its unix socket, which a network namespace does not hide.
as_ghcr() {
  local tls="$dir/ghcr" bin
  bin="$(find_bin docker-registry)"
  find_bin ip >/dev/null || apt_install iproute2
  find_bin openssl >/dev/null || apt_install openssl
  mkdir -p "$tls"
  if [ ! -s "$tls/cert.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=ghcr.io \
      -addext subjectAltName=DNS:ghcr.io -keyout "$tls/key.pem" -out "$tls/cert.pem.tmp" \
      2>"$tls/openssl.log" || { tail_log "$tls/openssl.log"; die "openssl could not make a certificate"; }
    mv "$tls/cert.pem.tmp" "$tls/cert.pem"
  fi
  write_config "$tls/config.yml" 127.0.0.1:443 "$tls"
  { grep -v 'ghcr\.io' /etc/hosts || true; echo '127.0.0.1 ghcr.io'; } >"$tls/hosts"
  exec 9>&- # the command may run for minutes: other callers need not wait
  # shellcheck disable=SC2016 # expanded by the inner shell
  unshare --net --mount -- bash -c '
    set -euo pipefail
    tls="$1" bin="$2"; shift 2
    ip link set lo up
    mount --bind "$tls/hosts" /etc/hosts
    "$bin" serve "$tls/config.yml" >>"$tls/registry.log" 2>&1 </dev/null &
    registry=$!
    trap "kill $registry 2>/dev/null || true" EXIT
    for ((i = 0; i < 100; i++)); do
      { exec 3<>/dev/tcp/127.0.0.1/443; } 2>/dev/null && { exec 3>&-; break; }
      kill -0 "$registry" 2>/dev/null || { echo "the ghcr.io registry exited: $tls/registry.log" >&2; exit 1; }
      sleep 0.1
    done
    NODE_EXTRA_CA_CERTS="$tls/cert.pem" "$@"
  ' as-ghcr "$tls" "$bin" "$@"
}

mkdir -p "$dir"
exec 9>"$dir/lock"
flock 9

case "${1:-}" in
  "" | --cli | --publish)
    port="$(running_port || start)"
    ;;
  --as-ghcr)
    shift
    [ "$#" -gt 0 ] || die "--as-ghcr needs a command"
    as_ghcr "$@"
    exit
    ;;
  --stop)
    if [ -s "$dir/state" ] && read -r pid _ <"$dir/state" &&
      [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = docker-registry ]; then
      kill "$pid"
    fi
    rm -f "$dir/state"
    exit 0
    ;;
  -h | --help)
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
    exit 0
    ;;
  *) die "unknown argument '$1'" "usage: $0 [--cli | --publish DIR NAMESPACE | --as-ghcr CMD... | --stop]" ;;
esac

case "${1:-}" in
  --cli) install_cli ;;
  --publish)
    src="${2:?--publish needs DIR NAMESPACE}"
    namespace="${3:?--publish needs DIR NAMESPACE}"
    install_cli
    # The CLI writes its packaging output into a temporary folder; the lock is released so
    # other callers of this script need not wait for it.
    exec 9>&-
    "$cli" features publish --log-level info -r "localhost:$port" -n "$namespace" "$src" >&2 ||
      die "devcontainer features publish $src failed"
    ;;
esac
printf '127.0.0.1:%s\n' "$port"
