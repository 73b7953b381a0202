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
scripts/base-image.sh

step "cargo build --release"
cargo build --release --quiet

step "devboot up --workspace-folder $workspace"
"$devboot" up --workspace-folder "$workspace" --config ../configs/gitpod/.gitpod.yml

step "checking the backend on port 4567"
python3 scripts/check-cruddur.py http://127.0.0.1:4567 --origin "$("$devboot" url 3000 --workspace-folder "$workspace" --config ../configs/gitpod/.gitpod.yml)"
note "the backend answers on http://localhost:4567/api/activities/home; stop it with:"
note "  $devboot down --workspace-folder $workspace --config ../configs/gitpod/.gitpod.yml"
