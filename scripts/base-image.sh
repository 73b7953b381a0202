#!/usr/bin/env bash
# Builds the base image devboot/python-flask:bookworm, or reuses it if the
# engine already has it.
#
# Why a stand-in: no image registry is reachable here (no Docker Hub), so the
# example app cannot start FROM python:3.x. This image is Debian bookworm
# (debootstrap, minbase) with Debian's python3 (3.11), Flask 2.2 and
# flask-cors 3.0.10, plus pip and procps: everything the Cruddur example
# backend needs, all from the Debian mirror, which is reachable. Like the
# official debian images (debuerreotype), it carries the usual container apt
# settings: dpkg skips fsync, apt keeps no .debs, no translations, gzipped lists,
# and no service starts during installs. And like the `-slim` variant that
# python:3.x-slim-bookworm (the image it stands for) is built on, it has no
# documentation, man pages or translations, and dpkg leaves them out of every
# package installed later. Without these every `apt-get install` (a Feature's, a
# Dockerfile's) would write more and take longer here than on python:3.x-slim.
#
# The rootfs tarball is cached in $DEVBOOT_CACHE/rootfs/, so importing it a
# second time (into podman, or after `docker image rm`) takes seconds.
#
# usage: scripts/base-image.sh [--engine docker|podman] [--rebuild]
#   --engine   import into this engine (default: docker)
#   --rebuild  debootstrap a new rootfs and import it again, even if cached
# env: DEVBOOT_BASE_IMAGE (image name), DEVBOOT_DEBIAN_MIRROR, DEVBOOT_CACHE
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

image="${DEVBOOT_BASE_IMAGE:-devboot/python-flask:bookworm}"
mirror="${DEVBOOT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
suite=bookworm
packages=python3,python3-flask,python3-flask-cors,python3-pip,procps
# Bump when the rootfs recipe below changes, so cached tarballs are rebuilt.
recipe=3

image_script_args "$@"
key="$(printf '%s\n' "$suite" "$packages" "$recipe" | sha256sum | cut -c1-12)"

# Present and made by this recipe (an older recipe's image is rebuilt).
has_image() {
  [ "$("$engine" image inspect --format '{{index .Config.Labels "dev.devboot.rootfs"}}' \
    "$image" 2>/dev/null)" = "$suite-$key" ]
}

if [ "$rebuild" -eq 0 ] && has_image; then
  step "base image: $image present in $engine, reusing it"
  exit 0
fi

mkdir -p "$DEVBOOT_CACHE/rootfs"
# One build at a time: parallel test runs must not debootstrap twice.
exec 9>"$DEVBOOT_CACHE/base-image.lock"
if ! flock -n 9; then
  step "base image: waiting for another scripts/base-image.sh run"
  flock 9
  if [ "$rebuild" -eq 0 ] && has_image; then
    note "$image is there now, reusing it"
    exit 0
  fi
fi

tarball="$DEVBOOT_CACHE/rootfs/python-flask-$suite-$key.tar"
root=""

cleanup() {
  [ -n "$root" ] && [ -d "$root" ] || return 0
  # A failed debootstrap can leave proc/sys/dev mounted inside the target.
  local mnt
  while read -r mnt; do
    as_root umount -l "$mnt" 2>/dev/null || true
  done < <(awk -v r="$root/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r)
  as_root rm -rf --one-file-system "$root"
  rm -f "$tarball.tmp"
}
trap cleanup EXIT

# The apt and dpkg settings the official debian images ship (see the top of this file),
# written into the rootfs at $1.
container_apt_settings() {
  local root="$1"
  printf '%s\n' '#!/bin/sh' \
    '# Installs in an image build must not start services: there is no init to run them.' \
    'exit 101' | as_root tee "$root/usr/sbin/policy-rc.d" >/dev/null
  as_root chmod 0755 "$root/usr/sbin/policy-rc.d"
  # A build that dies is thrown away whole, so dpkg's fsync after each file buys nothing.
  echo 'force-unsafe-io' | as_root tee "$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup" >/dev/null
  local clean='"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true";'
  printf '%s\n' "DPkg::Post-Invoke { $clean };" "APT::Update::Post-Invoke { $clean };" \
    'Dir::Cache::pkgcache "";' 'Dir::Cache::srcpkgcache "";' |
    as_root tee "$root/etc/apt/apt.conf.d/docker-clean" >/dev/null
  echo 'Acquire::GzipIndexes "true";' | as_root tee "$root/etc/apt/apt.conf.d/docker-gzip-indexes" >/dev/null
  echo 'Acquire::Languages "none";' | as_root tee "$root/etc/apt/apt.conf.d/docker-no-languages" >/dev/null
  echo 'Apt::AutoRemove::SuggestsImportant "false";' |
    as_root tee "$root/etc/apt/apt.conf.d/docker-autoremove-suggests" >/dev/null
  as_root chmod 0644 "$root"/etc/apt/apt.conf.d/docker-* "$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
}

# What the `-slim` debian images leave out (debuerreotype's slimify): documentation
# (but each package's copyright), man and info pages, translations. Said to dpkg for
# every later install, and deleted from the rootfs at $1 now.
slim_excludes() {
  local root="$1" cfg="$1/etc/dpkg/dpkg.cfg.d/docker"
  local excludes=(/usr/share/doc/ /usr/share/groff/ /usr/share/info/ /usr/share/linda/
    /usr/share/lintian/overrides/ /usr/share/locale/ /usr/share/man/)
  local includes=('/usr/share/doc/*/copyright' /usr/share/locale/locale.alias)
  {
    echo '# The "slim" variant: files containers do not need are left out of every package.'
    for dir in "${excludes[@]}"; do echo "path-exclude ${dir}*"; done
    for path in "${includes[@]}"; do echo "path-include $path"; done
  } | as_root tee "$cfg" >/dev/null
  as_root chmod 0644 "$cfg"
  for dir in "${excludes[@]}"; do
    [ -d "$root$dir" ] || continue
    as_root find "$root$dir" -mindepth 1 -depth \
      ! -path "$root/usr/share/doc/*/copyright" ! -path "$root/usr/share/locale/locale.alias" \
      \( ! -type d -o -empty \) -delete
  done
}

build_rootfs() {
  local log="$DEVBOOT_CACHE/debootstrap.log" started
  started="$(ms_now)"
  if ! find_bin debootstrap >/dev/null; then
    step "base image: installing debootstrap with apt"
    apt_install debootstrap debian-archive-keyring gpgv
  fi
  step "base image: debootstrap $suite minbase + $packages (about a minute; log: $log)"
  root="$(mktemp -d "$DEVBOOT_CACHE/rootfs/build.XXXXXX")"
  if ! as_root "$(find_bin debootstrap)" --variant=minbase --include="$packages" \
    "$suite" "$root" "$mirror" >"$log" 2>&1; then
    tail_log "$log"
    [ -f "$root/debootstrap/debootstrap.log" ] && tail_log "$root/debootstrap/debootstrap.log"
    die "debootstrap failed (full log: $log)"
  fi
  # What an image does not need: downloaded .debs, package lists (like the
  # official debian images, `apt-get update` first), the host's resolver.
  as_root find "$root/var/cache/apt/archives" "$root/var/lib/apt/lists" \
    -maxdepth 1 -type f ! -name lock -delete
  as_root truncate -s 0 "$root/etc/resolv.conf"
  container_apt_settings "$root"
  slim_excludes "$root"
  as_root tar --numeric-owner -C "$root" -cf - . >"$tarball.tmp"
  mv "$tarball.tmp" "$tarball"
  note "rootfs $(du -h "$tarball" | cut -f1) in $(elapsed_since "$started"): $tarball"
}

if [ "$rebuild" -eq 1 ] || [ ! -s "$tarball" ]; then
  build_rootfs
else
  note "reusing cached rootfs $tarball"
fi

step "base image: importing into $engine as $image"
started="$(ms_now)"
log="$DEVBOOT_CACHE/import-$engine.log"
description="Offline stand-in for python:3-slim, built by devboot scripts/base-image.sh: \
Debian $suite minbase (slim) with Debian's python3, python3-flask, python3-flask-cors, python3-pip, procps"
"$engine" import \
  --change 'CMD ["/bin/bash"]' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'WORKDIR /' \
  --change "LABEL org.opencontainers.image.title=\"devboot/python-flask\" \
org.opencontainers.image.description=\"$description\" \
dev.devboot.rootfs=\"$suite-$key\"" \
  "$tarball" "$image" >"$log" 2>&1 || { tail_log "$log"; die "$engine import failed (log: $log)"; }
note "imported in $(elapsed_since "$started")"
