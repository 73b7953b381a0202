#!/usr/bin/env bash
# The README's main command: bring up the Cruddur example with devboot.
# For now it stops at `devboot config` (what devboot makes of the workspace);
# once `devboot up` exists, the last step becomes up + a check of port 4567.
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

step "devboot config --workspace-folder $workspace"
"$devboot" config --workspace-folder "$workspace"
# Later, instead of the step above:
#   step "devboot up --workspace-folder $workspace"
#   "$devboot" up --workspace-folder "$workspace"
#   step "checking the backend on port 4567"
#   scripts/check-cruddur.py http://127.0.0.1:4567 --origin "<FRONTEND_URL devboot sets>"
