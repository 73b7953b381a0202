#!/usr/bin/env bash
# The README's main command: bring up the Cruddur example with devboot.
# It makes a container engine answer, prepares the offline base image, builds
# devboot, brings the example up and checks the backend on port 4567.
#
# usage: scripts/demo.sh
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$(dirname "${BASH_SOURCE[0]}")/.."

workspace=examples/cruddur
devboot=target/release/devboot

scripts/engine.sh

# The backend image: the template's default when a registry can deliver it, else the
# offline stand-in (Debian's python3 + Flask, built with debootstrap).
image=python:3.11-slim-bookworm
step "base image: trying to pull $image"
if docker image inspect "$image" >/dev/null 2>&1 || timeout 120 docker pull -q "$image" >/dev/null 2>&1; then
  note "using $image"
else
  note "no registry answers; using the offline stand-in devboot/python-flask:bookworm"
  scripts/base-image.sh
  image=devboot/python-flask:bookworm
fi
export DEVBOOT_IMAGE="$image"

step "cargo build --release"
cargo build --release --quiet

step "devboot up --workspace-folder $workspace   (no config there: the built-in default)"
"$devboot" up --workspace-folder "$workspace"

step "checking the backend on port 4567"
python3 scripts/check-cruddur.py http://127.0.0.1:4567 --origin "$("$devboot" url 3000 --workspace-folder "$workspace")"
note "the backend answers on http://localhost:4567/api/activities/home"
note "stop it with: $devboot down --workspace-folder $workspace"
