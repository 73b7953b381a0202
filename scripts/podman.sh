#!/usr/bin/env bash
# Makes podman usable for devboot's podman smoke test, idempotently:
#   1. apt-get install podman, if missing;
#   2. cap the containers' default rlimits (see below);
#   3. import the base image into podman (scripts/base-image.sh --engine podman);
#   4. check: podman run --rm devboot/python-flask:bookworm python3 -c 'import flask'.
# Exits non-zero with a one-line reason when podman can't run containers here;
# the smoke test skips with that reason.
#
# Why the rlimits: podman gives every container nofile=1048576, more than this
# machine's hard limit (20000), which root may not raise here, so every
# container fails with "error setting rlimit type 7: operation not permitted".
# Where: a drop-in file, containers.conf.d/50-devboot-ulimits.conf. As root
# that is /etc/containers/containers.conf.d/, because rootful podman never
# reads ~/.config/containers/ (checked with podman 4.3), and CONTAINERS_CONF
# would have to be exported to every podman that devboot and the tests start.
# A drop-in edits no file the distribution or an admin owns, and one in
# containers.conf that already sets default_ulimits is left alone.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

image="${DEVBOOT_BASE_IMAGE:-devboot/python-flask:bookworm}"

# catatonit is podman's init process (`--init`, which devboot always asks for); Debian
# only recommends it, and apt_install skips recommendations.
if ! command -v podman >/dev/null 2>&1 || [ ! -x /usr/libexec/podman/catatonit ]; then
  step "podman: installing podman with apt"
  if is_root; then
    apt_install podman containernetworking-plugins catatonit
  else
    # Rootless podman needs user namespaces mapped, its own network and storage.
    apt_install podman containernetworking-plugins catatonit uidmap slirp4netns fuse-overlayfs
  fi
fi

# The brief's limits, lowered to the hard limits of this shell when smaller.
hard_limit() {
  local max="$1" hard="$2"
  if [ "$hard" = unlimited ] || [ "$hard" -gt "$max" ]; then echo "$max"; else echo "$hard"; fi
}
nofile="$(hard_limit 20000 "$(ulimit -Hn)")"
nproc="$(hard_limit 4096 "$(ulimit -Hu)")"

if is_root; then
  confdir=/etc/containers
else
  confdir="${XDG_CONFIG_HOME:-$HOME/.config}/containers"
fi
dropin="$confdir/containers.conf.d/50-devboot-ulimits.conf"
wanted="$(printf '%s\n' \
  '# Written by devboot scripts/podman.sh: podman'"'"'s default nofile is above this' \
  '# machine'"'"'s hard limit, and containers fail with "error setting rlimit".' \
  '[containers]' \
  "default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\"]")"

if grep -qs '^[[:space:]]*default_ulimits' "$confdir/containers.conf"; then
  step "podman: $confdir/containers.conf sets default_ulimits already, leaving it"
elif [ "$(cat "$dropin" 2>/dev/null)" = "$wanted" ]; then
  step "podman: default ulimits already set ($dropin)"
else
  step "podman: setting default ulimits nofile=$nofile nproc=$nproc ($dropin)"
  mkdir -p "$(dirname "$dropin")"
  printf '%s\n' "$wanted" >"$dropin"
fi

if ! podman info >/dev/null 2>&1; then
  die "podman is not usable here: 'podman info' fails: $(podman info 2>&1 | tail -n 1)"
fi

"$(dirname "${BASH_SOURCE[0]}")/base-image.sh" --engine podman

step "podman: checking that a container runs"
log="$DEVBOOT_CACHE/podman-check.log"
if ! podman run --rm "$image" python3 -c 'import flask' >"$log" 2>&1; then
  tail_log "$log" 5
  die "podman is not usable here: it can't run $image: $(tail -n 1 "$log")"
fi
