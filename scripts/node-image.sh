#!/usr/bin/env bash
# Builds devboot/python-node:bookworm, or reuses it if the engine already has it
# and it was built on the current base image.
#
# Why a stand-in: no image registry is reachable here, so node:* cannot be
# pulled, and the fullstack template (Flask backend + `npm start` frontend)
# needs node and npm in the workspace image. This image is the base image of
# scripts/base-image.sh plus Debian's nodejs and npm, installed by `docker
# build` from scripts/python-node.Dockerfile over the same plain-HTTP mirror.
#
# usage: scripts/node-image.sh [--engine docker|podman] [--rebuild]
#   --engine   build with this engine (default: docker)
#   --rebuild  build again, without the engine's build cache, even if the image
#              is there and current
# env: DEVBOOT_NODE_IMAGE (image name), DEVBOOT_BASE_IMAGE (its base), DEVBOOT_CACHE
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

image="${DEVBOOT_NODE_IMAGE:-devboot/python-node:bookworm}"
base="${DEVBOOT_BASE_IMAGE:-devboot/python-flask:bookworm}"
dockerfile="$(dirname "${BASH_SOURCE[0]}")/python-node.Dockerfile"

image_script_args "$@"

# The base image's id, and the one this image was built on (a label), so a rebuilt
# base (scripts/base-image.sh --rebuild) makes this image stale.
base_id() { "$engine" image inspect --format '{{.Id}}' "$base" 2>/dev/null; }
built_on() { "$engine" image inspect --format '{{index .Config.Labels "dev.devboot.base"}}' "$image" 2>/dev/null; }
is_current() { [ "$rebuild" -eq 0 ] && [ "$(built_on)" = "$(base_id)" ]; }

base_id >/dev/null ||
  die "the base image $base is not in $engine" "build it first: scripts/base-image.sh --engine $engine"

if is_current; then
  step "node image: $image present in $engine, reusing it"
  exit 0
fi

mkdir -p "$DEVBOOT_CACHE"
# One build at a time: parallel test runs must not build twice.
exec 9>"$DEVBOOT_CACHE/node-image.lock"
if ! flock -n 9; then
  step "node image: waiting for another scripts/node-image.sh run"
  flock 9
  if is_current; then
    note "$image is there now, reusing it"
    exit 0
  fi
fi

log="$DEVBOOT_CACHE/node-image-$engine.log"
step "node image: building $image = $base + Debian's nodejs and npm (log: $log)"
started="$(ms_now)"
# The Dockerfile copies nothing, so the build context is an empty folder.
context="$(mktemp -d)"
trap 'rmdir "$context"' EXIT
no_cache=()
[ "$rebuild" -eq 1 ] && no_cache=(--no-cache)
# DOCKER_BUILDKIT=0: the docker client here may lack buildx; the classic builder needs nothing.
if ! DOCKER_BUILDKIT=0 "$engine" build "${no_cache[@]}" \
  --build-arg "BASE=$base" \
  --label "org.opencontainers.image.title=devboot/python-node" \
  --label "org.opencontainers.image.description=Offline stand-in for python + node, built by devboot scripts/node-image.sh: $base with Debian's nodejs and npm" \
  --label "dev.devboot.base=$(base_id)" \
  -f "$dockerfile" -t "$image" "$context" >"$log" 2>&1; then
  tail_log "$log"
  die "$engine build failed (full log: $log)"
fi
elapsed="$(elapsed_since "$started")"
# The image's own answer is the check that node and npm run in it.
# shellcheck disable=SC2016 # expanded in the container, not here
versions="$("$engine" run --rm "$image" sh -c 'echo "node $(node --version), npm $(npm --version)"')" ||
  die "$image was built, but node or npm does not run in it"
note "built in $elapsed: $versions"
