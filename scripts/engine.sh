#!/usr/bin/env bash
# Makes a container engine answer: after this script, `docker info` works.
#
#   docker info already works  -> nothing to do
#   no dockerd (or no client)  -> apt-get install docker.io
#   dockerd not running        -> start it (systemd if that is PID 1, otherwise
#                                 in the background, log in $DEVBOOT_CACHE)
#   then wait up to $DEVBOOT_ENGINE_TIMEOUT (60) seconds for `docker info`.
#
# A docker client earlier on PATH than Debian's /usr/bin/docker (this machine
# has a newer one in /usr/local/bin) is left alone: it negotiates the API
# version with dockerd 20.10, so both work.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

timeout="${DEVBOOT_ENGINE_TIMEOUT:-60}"
log="$DEVBOOT_CACHE/dockerd.log"
socket=/var/run/docker.sock

docker_answers() {
  command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

# Reads /proc directly, so it works without procps (pgrep) and as any user.
dockerd_running() {
  local f comm
  for f in /proc/[0-9]*/comm; do
    { read -r comm <"$f"; } 2>/dev/null || continue
    [ "$comm" = dockerd ] && return 0
  done
  return 1
}

if docker_answers; then
  step "docker engine: running (server $(docker version --format '{{.Server.Version}}' 2>/dev/null))"
  exit 0
fi

if ! find_bin dockerd >/dev/null || ! command -v docker >/dev/null 2>&1; then
  step "docker engine: installing docker.io with apt"
  # apparmor: on hosts with AppArmor enabled, dockerd needs apparmor_parser to
  # load the docker-default profile, or every container fails to start.
  apt_install docker.io apparmor
fi
dockerd="$(find_bin dockerd)" || die "docker.io is installed, but there is no dockerd binary"

started_here=0
started_at=$SECONDS
started_at_ms=$(ms_now)
if dockerd_running; then
  step "docker engine: dockerd is already starting, waiting for it"
elif [ -d /run/systemd/system ]; then
  step "docker engine: starting docker.service"
  as_root systemctl start docker.service ||
    die "systemctl start docker.service failed" "see: journalctl -u docker.service"
else
  step "docker engine: starting dockerd in the background (log: $log)"
  mkdir -p "$DEVBOOT_CACHE"
  printf '\n--- %s: started by scripts/engine.sh\n' "$(date -u +%FT%TZ)" >>"$log"
  # setsid -f: its own session, so it outlives this script and its terminal.
  as_root setsid -f "$dockerd" >>"$log" 2>&1 </dev/null
  started_here=1
fi

fail() {
  [ "$started_here" -eq 1 ] && tail_log "$log" 20
  die "$@"
}

until docker_answers; do
  waited=$((SECONDS - started_at))
  if ! is_root && [ -S "$socket" ] && [ ! -w "$socket" ]; then
    die "dockerd runs, but $(id -un) may not use $socket" \
      "add yourself to the docker group: sudo usermod -aG docker $(id -un), then log in again"
  fi
  if [ "$started_here" -eq 1 ] && [ "$waited" -ge 3 ] && ! dockerd_running; then
    fail "dockerd exited during start-up (full log: $log)"
  fi
  if [ "$waited" -ge "$timeout" ]; then
    fail "dockerd did not answer 'docker info' within ${timeout}s"
  fi
  sleep 0.5
done
note "docker engine ready after $(elapsed_since "$started_at_ms") (server $(docker version --format '{{.Server.Version}}' 2>/dev/null))"
