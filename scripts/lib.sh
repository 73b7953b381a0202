# shellcheck shell=bash
# Helpers shared by scripts/*.sh. Sourced, never run on its own.
#
# Everything a script caches (rootfs tarballs, the dockerd log) lives under
# $DEVBOOT_CACHE, outside the repository, so a fresh clone (CI) reuses what an
# earlier run on the same machine already built.

DEVBOOT_CACHE="${DEVBOOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/devboot}"
export DEVBOOT_CACHE

# One line per step on stderr, so stdout stays free for a script's real output.
step() { printf '==> %s\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$1" >&2
  shift
  local line
  for line in "$@"; do printf '  %s\n' "$line" >&2; done
  exit 1
}

# Prints the last lines of a log file, indented, for an error message.
tail_log() {
  local file="$1" lines="${2:-20}"
  if [ -s "$file" ]; then
    printf '  last %s lines of %s:\n' "$lines" "$file" >&2
    tail -n "$lines" "$file" | sed 's/^/  | /' >&2
  fi
}

# Wall-clock milliseconds, and "1.2s" since such a reading, for timings in logs.
ms_now() { local t="${EPOCHREALTIME/[.,]/}"; printf '%s\n' "$((t / 1000))"; }
elapsed_since() {
  local ms=$(($(ms_now) - $1))
  printf '%d.%ds\n' "$((ms / 1000))" "$((ms % 1000 / 100))"
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if is_root; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -- "$@"
  else
    die "'$1' needs root, and this is neither root nor has sudo" \
      "run this script as root, or install sudo"
  fi
}

# Finds an admin binary (dockerd, debootstrap) that a non-root PATH may not
# include, since /usr/sbin is often missing there.
find_bin() {
  PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v "$1"
}

# apt_install PKG...: installs Debian packages non-interactively and quietly,
# without recommends (callers name what they need). `apt-get update` runs first
# only when a package has no install candidate (no or stale package lists), and
# once more if the install fails (lists older than the mirror give 404s).
apt_install() {
  command -v apt-get >/dev/null 2>&1 ||
    die "need the Debian packages '$*', but apt-get is not here" "install them by hand"
  local log="$DEVBOOT_CACHE/apt.log" pkg updated=0
  mkdir -p "$DEVBOOT_CACHE"
  : >"$log"
  for pkg in "$@"; do
    if ! apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [^(]'; then
      apt_update "$log"
      updated=1
      break
    fi
  done
  apt_get "$log" install --no-install-recommends "$@" && return 0
  if [ "$updated" -eq 0 ]; then
    apt_update "$log"
    apt_get "$log" install --no-install-recommends "$@" && return 0
  fi
  tail_log "$log"
  die "apt-get install $* failed (full log: $log)"
}

apt_update() {
  apt_get "$1" update || { tail_log "$1"; die "apt-get update failed (full log: $1)"; }
}

# apt_get LOG ARGS...: apt-get as root, without questions, output to LOG.
apt_get() {
  local log="$1"
  shift
  local -a opts=(-q -y -o Dpkg::Use-Pty=0 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  as_root env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a \
    apt-get "${opts[@]}" "$@" >>"$log" 2>&1
}

# The options of the image scripts (base-image.sh, node-image.sh): sets `engine` and
# `rebuild`, prints the script's header on --help, and checks that the engine answers.
# shellcheck disable=SC2034 # engine and rebuild are the caller's
image_script_args() {
  engine=docker
  rebuild=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --engine) engine="${2:?--engine needs docker or podman}"; shift 2 ;;
      --engine=*) engine="${1#*=}"; shift ;;
      --rebuild) rebuild=1; shift ;;
      -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
      *) die "unknown argument '$1'" "usage: $0 [--engine docker|podman] [--rebuild]" ;;
    esac
  done
  case "$engine" in
    docker | podman) ;;
    *) die "unknown engine '$engine'" "use --engine docker or --engine podman" ;;
  esac
  if ! { command -v "$engine" && "$engine" info; } >/dev/null 2>&1; then
    die "$engine does not answer" "start it first: scripts/engine.sh (docker) or scripts/podman.sh (podman)"
  fi
}
