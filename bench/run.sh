#!/usr/bin/env bash
# devboot's speed targets, checked as side-by-side comparisons in one run.
# This machine is noisy and absolute times drift, so every target's contenders
# run interleaved, round by round (A B C, A B C, ...), and the tables show
# median/min/max and ratios. Timing asserts never go into tests; they live here.
#
#   1. `devboot config --json` on the largest corpus file without Features: < 5 ms as a whole
#      process (release build); vs the reference CLI's `read-configuration`.
#   2. the whole corpus loaded in one process: < 200 ms. devboot has no
#      loading-only command for many files, so this times `devboot validate`
#      on all of them, which also runs the schema checks (an upper bound);
#      a perf profile then estimates the share of loading alone.
#   3. cold `up` (image present, no container) until the backend answers
#      HTTP 200: <= 1.15x a raw `docker run` of the same image and command;
#      the reference CLI's `devcontainer up` runs alongside. Each command
#      runs, then the URL is polled (bench/measure.py says why not earlier).
#      devboot's container goes with `devboot down --remove` between rounds;
#      a second devboot row has it removed behind devboot's back (info only).
#   4. warm `up` (container running, nothing to do): < 100 ms and <= 3 engine
#      calls; vs the reference CLI's warm `devcontainer up`.
#   After 3 and 4, one devboot up runs with a logging pass-through `docker`
#   first on PATH: which engine calls it made and what each cost.
#   5. a hook printing 100 MB (1e6 lines of 100 bytes): a warm `devboot up`
#      whose postAttachCommand prints them, its output into a file, <= 1.5x the
#      hook alone (`docker exec` of it writing into a file in the container);
#      devboot's peak RSS < 64 MB (from wait4, so its own, not docker's). The
#      same exec with its output streamed to the host is shown for comparison.
#   6. warm `up` with ports nobody named (no HTTP check: the container's
#      socket table is read): 1 port and 40 ports, each < 40 ms and 2 engine
#      calls; beside them a warm up with no port, and `docker container
#      inspect` for one call's cost.
#   7. Dev Container Features, from a registry of the bench's own on loopback
#      (scripts/registry.sh, in the temp dir; the Features published into it
#      with the reference CLI, which needs npm also with --no-reference): upstream common-utils (offline options) and
#      the two Features of bench/fixtures/features, on the Cruddur example
#      (bench/fixtures/devcontainer-features.json).
#      7a. cold up until the backend answers HTTP 200: <= 0.8x the reference
#      CLI's `devcontainer up` of the same file; both name the Features
#      `localhost:PORT/...`; a devboot row with `ghcr.io/...` ids through
#      DEVBOOT_REGISTRY_MIRROR shows what the mirror costs (info). Cold: before
#      every run of every contender, no container and no image built on the
#      base (all three contenders' go), devboot's fetch cache emptied,
#      `docker builder prune -af`. The base is devboot/python-flask:bookworm
#      with a label naming this run, so no image on the engine shares a layer
#      chain with it: the classic builder takes cached steps from any image.
#      Rounds rotate (A B C, B C A, ...): apt-get inside common-utils fetches
#      from Debian's mirror, whose speed drifts. Each round's output is
#      stamped as it comes and split into phases (before the build, each
#      Feature's install script, layer commits, ...), kept in
#      bench/results/logs-7/.
#      7b. warm up of that workspace: < 100 ms, 2 engine calls and no request
#      to the registry (its access log), beside the same config without
#      Features (unchanged) and the reference CLI's warm `devcontainer up`;
#      rounds rotate here too (the case after the reference CLI is slowed).
#   9. a workspace on a remote engine over SSH (scripts/remote-engine.sh: a second dockerd
#      in its own namespaces at 10.213.7.2, sshd in front): cold up (folder copied into a
#      volume there, hooks by exec, port forwarded here) until the backend answers HTTP 200
#      on this machine, vs the same by hand with raw `docker -H ssh://…` (create, `tar | cp
#      -`, start; its port polled at the remote address); warm up vs one `docker -H ssh://…
#      container inspect`; `devboot sync` of 1 changed file in a tree of 10 000 files. No
#      target in numbers: ratios and times, for the record.
#   8. prebuilds: cold up (no container) of a workspace whose init takes 20 s, from its
#      prebuild (`devboot prebuild`, made once before the rounds) until the backend
#      answers HTTP 200: <= 1.1x a raw `docker run` of the prebuilt image; beside them the
#      same up with --no-prebuild (init runs), for the ratio.
#
# usage: bench/run.sh [options]
#   --strict        exit 1 when a target is missed
#   --only LIST     targets to run, e.g. --only 1,2 (default: 1,2,3,4,5,6,7,8,9)
#   --rounds N      rounds for targets 1, 2, 4, 6 and 7b (default 20)
#   --up-rounds N   rounds for target 3, at least 5 (default 7)
#   --feature-rounds N  cold rounds for target 7a, 30-45 s per contender each (default 3)
#   --no-build      use target/release/devboot as it is
#   --no-reference  leave out the reference CLI (@devcontainers/cli)
#   --port-base N   host ports N+1..N+4 for the backends of targets 3 and 4,
#                   N+11..N+14 for target 7, N+21..N+22 for target 8, N+31..N+33 for
#                   target 9, N+100.. for
#                   target 6 (default 45560)
# env: BENCH_CORPUS (default /work/shared/corpus), DEVBOOT_CACHE (scripts/lib.sh)
# exit: 0 when everything was measured (a missed target prints FAIL);
#       1 with --strict when a target was missed, or when set-up failed
#       (engine, build, ports; the message says which); 2 when a measurement
#       failed (a contender's command did not work; the table says which).
# Results: a table per target on stdout, bench/results/latest.json; target 7a's
# stamped output per round in bench/results/logs-7/.
set -euo pipefail
# shellcheck source=../scripts/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"

strict=0 only=1,2,3,4,5,6,7,8,9 rounds=20 up_rounds=7 feature_rounds=3 build=1 reference=1
port_base=45560
while [ $# -gt 0 ]; do
  case "$1" in
    --strict) strict=1; shift ;;
    --only) only="${2:?--only needs a list like 1,3}"; shift 2 ;;
    --rounds) rounds="${2:?--rounds needs a number}"; shift 2 ;;
    --up-rounds) up_rounds="${2:?--up-rounds needs a number}"; shift 2 ;;
    --feature-rounds) feature_rounds="${2:?--feature-rounds needs a number}"; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-reference) reference=0; shift ;;
    --port-base) port_base="${2:?--port-base needs a number}"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) die "unknown argument '$1'" "see: $0 --help" ;;
  esac
done
[ "$up_rounds" -ge 5 ] || die "--up-rounds must be at least 5 (medians of fewer say little here)"
[ "$feature_rounds" -ge 1 ] || die "--feature-rounds must be at least 1"
wants() { [[ ",$only," == *",$1,"* ]]; }

corpus="${BENCH_CORPUS:-/work/shared/corpus}"
image="${DEVBOOT_BASE_IMAGE:-devboot/python-flask:bookworm}"
devboot="$root/target/release/devboot"
measure=(python3 "$root/bench/measure.py")
results="$root/bench/results"
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
started_at="$(date -u +%FT%TZ)"

# Shell-quoted words, for the command strings measure.py splits with shlex.
q() { printf '%q ' "$@"; }

if wants 3 || wants 4 || wants 5 || wants 6 || wants 7 || wants 8 || wants 9; then
  scripts/engine.sh
  scripts/base-image.sh
fi
if [ "$build" -eq 1 ]; then
  step "cargo build --release"
  cargo build --release --quiet
fi
[ -x "$devboot" ] || die "no $devboot" "build it: cargo build --release (or drop --no-build)"

# The reference CLI, installed once into the cache. When that fails its rows are
# skipped with the reason; devboot's own targets are still measured.
ref_cli="" ref_skip="left out with --no-reference" ref_version=""
if [ "$reference" -eq 1 ]; then
  ref_dir="$DEVBOOT_CACHE/bench/devcontainer-cli"
  if [ ! -x "$ref_dir/node_modules/.bin/devcontainer" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      ref_skip="npm is not installed (apt-get install npm)"
    else
      step "npm install @devcontainers/cli (into $ref_dir)"
      mkdir -p "$ref_dir"
      if ! npm install --prefix "$ref_dir" --no-audit --no-fund @devcontainers/cli \
        >"$ref_dir/npm-install.log" 2>&1; then
        tail_log "$ref_dir/npm-install.log" 5
        ref_skip="npm install @devcontainers/cli failed (log: $ref_dir/npm-install.log)"
      fi
    fi
  fi
  if [ -x "$ref_dir/node_modules/.bin/devcontainer" ]; then
    if ref_version="$("$ref_dir/node_modules/.bin/devcontainer" --version 2>/dev/null)"; then
      ref_cli="$ref_dir/node_modules/.bin/devcontainer"
      ref_skip=""
    else
      ref_skip="the installed devcontainer CLI does not run ($ref_dir)"
    fi
  fi
fi
[ -z "$ref_skip" ] || note "reference CLI: $ref_skip"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/devboot-bench.XXXXXX")"
raw_name="devboot-bench-raw-$$"
# Target 7: the run's own base image (a label on devboot/python-flask:bookworm) and registry.
run_label="devboot.bench.run=$$-${EPOCHSECONDS:-0}"
feature_base="" registry_dir=""
remote_ssh="" raw9_name=""
# shellcheck disable=SC2317 # only called by the trap
cleanup() {
  local status=$? ws id
  trap - EXIT INT TERM
  if command -v docker >/dev/null 2>&1; then
    for ws in "$tmp"/ws-*; do
      [ -d "$ws" ] || continue
      for id in $(docker ps -a -q --filter "label=devcontainer.local_folder=$ws" 2>/dev/null); do
        docker rm -f -v "$id" >/dev/null 2>&1 || true
      done
    done
    docker rm -f -v "$raw_name" >/dev/null 2>&1 || true
    if [ -n "$remote_ssh" ]; then # target 9: its containers, volumes and forwards
      for ws in "$tmp"/ws-remote*; do
        [ -d "$ws" ] || continue
        DOCKER_HOST="$remote_ssh" "$devboot" down --remove --workspace-folder "$ws" >/dev/null 2>&1 || true
      done
      docker -H "$remote_ssh" rm -f -v "$raw9_name" >/dev/null 2>&1 || true
    fi
    [ -z "$feature_base" ] || bash "$tmp/cold7.sh" --all >/dev/null 2>&1 || true
  fi
  [ -z "$registry_dir" ] || DEVBOOT_TEST_REGISTRY_DIR="$registry_dir" scripts/registry.sh --stop || true
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
# set -e stops quietly; say where.
trap 'printf "error: bench/run.sh line %s: \`%s\` failed\n" "$LINENO" "$BASH_COMMAND" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

# devboot's own files (locks, persisted env) stay in the temp dir, and nothing
# from a hosted environment changes URLs.
export XDG_CACHE_HOME="$tmp/xdg-cache" XDG_CONFIG_HOME="$tmp/xdg-config" NO_COLOR=1
unset GITPOD_WORKSPACE_ID GITPOD_WORKSPACE_CLUSTER_HOST CODESPACES CODESPACE_NAME

fragments=()
mkdir -p "$results"

# A small devcontainer.json (the example's image variant), for the reference
# CLI's read-configuration and the fixed costs.
small="$tmp/ws-small"
mkdir -p "$small/.devcontainer"
cp examples/configs/devcontainer-image/.devcontainer/devcontainer.json "$small/.devcontainer/"

ref_case() { # NAME: measure.py arguments that run or skip the reference CLI case
  if [ -n "$ref_cli" ]; then printf '%s\0' --optional "$1"; else printf '%s\0' --skip "$1" "$ref_skip"; fi
}

# Targets 3 and 4 share three copies of the example app, one per contender, and
# three host ports.
p_devboot=$((port_base + 1)) p_raw=$((port_base + 2)) p_ref=$((port_base + 3))
p_kept=$((port_base + 4))
offset=$((p_devboot - 4567)) offset_kept=$((p_kept - 4567))
frontend="http://localhost:$((3000 + offset))"
ws_devboot="$tmp/ws-devboot" ws_raw="$tmp/ws-raw" ws_ref="$tmp/ws-ref" ws_kept="$tmp/ws-kept"
path_url="/api/activities/home"
if wants 3 || wants 4; then
  for port in "$p_devboot" "$p_raw" "$p_ref" "$p_kept"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      die "port $port is in use" "pick free ones with --port-base N (uses N+1..N+4)"
    fi
  done
  for ws in "$ws_devboot" "$ws_raw" "$ws_ref" "$ws_kept"; do
    mkdir -p "$ws"
    cp -R examples/cruddur/. "$ws/"
  done
  cp bench/fixtures/gitpod.yml "$ws_devboot/.gitpod.yml"
  cp bench/fixtures/gitpod.yml "$ws_kept/.gitpod.yml"
  mkdir -p "$ws_ref/.devcontainer"
  sed -e "s|@PORT@|$p_ref|g" -e "s|@FRONTEND_URL@|$frontend|g" \
    bench/fixtures/devcontainer-reference.json >"$ws_ref/.devcontainer/devcontainer.json"
fi

if wants 1; then
  step "target 1: devboot config --json on the largest corpus file without Features"
  # Without Features: with them, `config` also resolves them (a registry request per
  # Feature), which is not loading; target 7 times Features.
  largest="$(find "$corpus/gitpod-wild" -maxdepth 1 -name '*.gitpod.yml' -printf '%s\t%p\n' \
    2>/dev/null; find "$corpus/devcontainer-wild" -maxdepth 1 -name '*.json' \
    -exec grep -LZ '"features"' {} + 2>/dev/null | xargs -0 -r stat -c '%s	%n')"
  largest="$(sort -rn <<<"$largest" | awk 'NR == 1')" # not head: sort would get SIGPIPE
  [ -n "$largest" ] || die "no corpus files under $corpus" "set BENCH_CORPUS"
  large_bytes="${largest%%$'\t'*}" large_file="${largest#*$'\t'}"
  large="$tmp/ws-large"
  case "$large_file" in
    *.gitpod.yml) mkdir -p "$large"; cp "$large_file" "$large/.gitpod.yml" ;;
    *) mkdir -p "$large/.devcontainer"; cp "$large_file" "$large/.devcontainer/devcontainer.json" ;;
  esac
  name_large="devboot config --json, largest ($large_bytes B)"
  name_small="devboot config --json, small"
  name_ref="devcontainer read-configuration, small"
  mapfile -d '' ref_args < <(ref_case "$name_ref")
  "${measure[@]}" procs --id config --out "$tmp/t1.json" --rounds "$rounds" --warmup 3 \
    --title "1. devboot config --json, one file, whole process" \
    --case "floor: /bin/true (spawn + wait)" "$(q /bin/true)" \
    --case "devboot --version (start-up)" "$(q "$devboot" --version)" \
    --case "$name_large" "$(q "$devboot" config --json --workspace-folder "$large")" \
    --case "$name_small" "$(q "$devboot" config --json --workspace-folder "$small")" \
    --case "$name_ref" "$(q "${ref_cli:-devcontainer}" read-configuration --workspace-folder "$small")" \
    "${ref_args[@]}" \
    --info "floor: /bin/true (spawn + wait)" --info "devboot --version (start-up)" \
    --ratio "$name_small" "$name_ref" "devboot / reference, same small file" \
    --ratio "$name_large" "$name_ref" "devboot largest / reference small" \
    --max-ms "$name_large" 5 \
    --note "largest: $large_file ($large_bytes bytes), copied into a temp workspace" \
    --note "small: examples/configs/devcontainer-image (reference reported ~320 ms)"
  fragments+=("$tmp/t1.json")
fi

if wants 2; then
  step "target 2: the whole corpus in one process"
  mapfile -t files < <(find "$corpus/gitpod-wild" -maxdepth 1 -name '*.gitpod.yml' | sort
    find "$corpus/devcontainer-wild" -maxdepth 1 -name '*.json' | sort)
  [ "${#files[@]}" -gt 0 ] || die "no corpus files under $corpus" "set BENCH_CORPUS"
  name_all="devboot validate, all ${#files[@]} files"
  name_one="devboot validate, 1 small file"
  "${measure[@]}" procs --id corpus --out "$tmp/t2.json" --rounds "$rounds" --warmup 2 \
    --title "2. the whole corpus loaded in one process (devboot validate)" \
    --case "$name_one" "$(q "$devboot" validate "$small/.devcontainer/devcontainer.json")" \
    --case "$name_all" "$(q "$devboot" validate "${files[@]}")" \
    --ok-exit "$name_all" 0,2 --info "$name_one" \
    --diff "$name_all" "$name_one" "per-file work, $((${#files[@]} - 1)) more files" \
    --max-ms "$name_all" 200 \
    --note "validate = read + parse + lower (what config does) + schema checks + rendering" \
    --note "its diagnostics (on stderr, a pipe here): an upper bound for loading alone; devboot" \
    --note "has no loading-only command for many files, and 'config' takes one file per process"
  fragments+=("$tmp/t2.json")
  if command -v perf >/dev/null 2>&1; then
    printf '\n   where validate spends its time (perf), so loading alone can be estimated:\n'
    "${measure[@]}" profile --data "$tmp/validate.perf" --fragment "$tmp/t2.json" --case "$name_all" \
      --group "loading: read + parse + lower" "$(printf '%s,' devboot::config::{read_source,parse,yaml::,jsonc::,gitpod::,devcontainer::,typed::,substitute::,source::,discover::})" \
      --group "schema checks" devboot::config::schema::,jsonschema:: \
      --group "rendering diagnostics" devboot::ui::,devboot::diagnostic::,annotate_snippets::,anstream:: \
      "$(q "$devboot" validate "${files[@]}")" || note "the perf profile failed; targets are unaffected"
  fi
fi

docker_bin="$(command -v docker || echo docker)"
rm_by_label() { # the untimed clean-up before a cold round
  # shellcheck disable=SC2016 # $ids is expanded by the bash that runs this line
  printf 'ids=$(%s ps -a -q --filter %s); [ -z "$ids" ] || %s rm -f -v $ids >/dev/null' \
    "$(q "$docker_bin")" "$(q "label=devcontainer.local_folder=$1")" "$(q "$docker_bin")"
}
devboot_up=("$devboot" up --workspace-folder "$ws_devboot" --port-offset "$offset")
kept_up=("$devboot" up --workspace-folder "$ws_kept" --port-offset "$offset_kept")
# A user's way to "no container": `devboot down --remove` (its state folder goes too, so
# the next up is a first up). The "kept" case has its container removed behind devboot's
# back instead: the state folder stays, and up must look before it runs.
down_devboot="$(q "$devboot" down --remove --workspace-folder "$ws_devboot") >/dev/null 2>&1; $(rm_by_label "$ws_devboot")"
raw_run=("$docker_bin" run -d --name "$raw_name" -p "127.0.0.1:$p_raw:4567"
  -v "$ws_raw:/workspace/x" -w /workspace/x/backend-flask
  -e "FRONTEND_URL=$frontend" -e "BACKEND_URL=http://localhost:$p_raw"
  "$image" python3 -m flask run --host=0.0.0.0 --port=4567)
ref_up=("${ref_cli:-devcontainer}" up --workspace-folder "$ws_ref")

if wants 3; then
  step "target 3: cold up until the backend answers HTTP 200"
  name_devboot="devboot up (.gitpod.yml)"
  name_raw="docker run -d (raw)"
  name_ref="devcontainer up (image variant)"
  name_kept="devboot up, container removed behind its back"
  mapfile -d '' ref_args < <(ref_case "$name_ref")
  "${measure[@]}" up --id cold-up --out "$tmp/t3.json" --rounds "$up_rounds" --warmup 1 \
    --title "3. cold up -> first HTTP 200 on the backend" --poll-ms 5 \
    --logs "$tmp/logs" \
    --case "$name_devboot" "$(q "${devboot_up[@]}")" \
    --prep "$name_devboot" "$down_devboot" \
    --url "$name_devboot" "http://127.0.0.1:$p_devboot$path_url" \
    --case "$name_raw" "$(q "${raw_run[@]}")" \
    --prep "$name_raw" "$(q "$docker_bin" rm -f -v "$raw_name") >/dev/null 2>&1 || true" \
    --url "$name_raw" "http://127.0.0.1:$p_raw$path_url" \
    --case "$name_ref" "$(q "${ref_up[@]}")" \
    --prep "$name_ref" "$(rm_by_label "$ws_ref")" \
    --url "$name_ref" "http://127.0.0.1:$p_ref$path_url" \
    --case "$name_kept" "$(q "${kept_up[@]}")" \
    --prep "$name_kept" "$(rm_by_label "$ws_kept")" \
    --url "$name_kept" "http://127.0.0.1:$p_kept$path_url" \
    --info "$name_kept" \
    "${ref_args[@]}" \
    --ratio "$name_devboot" "$name_raw" "devboot / raw docker" \
    --ratio "$name_ref" "$name_raw" "reference / raw docker" \
    --ratio "$name_devboot" "$name_ref" "devboot / reference" \
    --ratio "$name_kept" "$name_raw" "devboot, state kept / raw docker" \
    --max-ratio "$name_devboot" "$name_raw" 1.15 \
    --note "each contender: its container removed first (untimed, then 1 s rest); the URL" \
    --note "polled every 5 ms (devboot's own probe interval) once the command returned;" \
    --note "ready = the first 200 for GET $path_url; the command's end is seen at once" \
    --note "(a blocking wait: Popen.wait(timeout) polls in steps of up to 50 ms)" \
    --note "devboot's container removed with 'devboot down --remove' (so the up is a first up," \
    --note "its lookup beside docker run); the 'removed behind its back' row looks first" \
    --note "reference reported ~2x raw docker"
  fragments+=("$tmp/t3.json")
  printf '\n   where one cold devboot up spends its time (engine calls logged by a pass-through docker):\n'
  if ! { bash -c "$down_devboot" && sleep 1 &&
    "${measure[@]}" calls --shim-dir "$tmp/shim" --engine "$docker_bin" "$(q "${devboot_up[@]}")"; }; then
    note "the breakdown failed; targets are unaffected"
  fi
fi

if wants 4; then
  step "target 4: warm up (container running, nothing to do)"
  up_log="$tmp/warm-setup.log"
  "${devboot_up[@]}" >"$up_log" 2>&1 || { tail_log "$up_log"; die "devboot up (to make a warm container) failed"; }
  devboot_id="$(docker ps -q --filter "label=devcontainer.local_folder=$ws_devboot" | awk 'NR == 1')"
  [ -n "$devboot_id" ] || die "devboot up ran, but no container has its workspace label"
  if [ -n "$ref_cli" ] && ! "${ref_up[@]}" >"$up_log" 2>&1; then
    tail_log "$up_log" 5
    ref_skip="devcontainer up (to make a warm container) failed"
    ref_cli=""
  fi
  name_devboot="devboot up -v (warm)"
  name_ref="devcontainer up (warm)"
  name_inspect="docker container inspect (1 engine call)"
  name_exec="docker exec CONTAINER true (1 engine call)"
  mapfile -d '' ref_args < <(ref_case "$name_ref")
  "${measure[@]}" procs --id warm-up --out "$tmp/t4.json" --rounds "$rounds" --warmup 2 \
    --title "4. warm up (container running, nothing to do), whole process" \
    --case "$name_inspect" "$(q "$docker_bin" container inspect "$devboot_id")" \
    --case "$name_exec" "$(q "$docker_bin" exec "$devboot_id" true)" \
    --case "$name_devboot" "$(q "${devboot_up[@]}" -v)" \
    --case "$name_ref" "$(q "${ref_up[@]}")" \
    "${ref_args[@]}" \
    --info "$name_inspect" --info "$name_exec" \
    --capture "$name_devboot" 'engine calls: (\d+)' \
    --ratio "$name_devboot" "$name_ref" "devboot / reference" \
    --max-ms "$name_devboot" 100 --max-captured "$name_devboot" 3 \
    --note "the two docker rows: what one engine call costs here (reference reported ~630 ms)"
  fragments+=("$tmp/t4.json")
  printf '\n   where one warm devboot up spends its time (engine calls logged by a pass-through docker):\n'
  "${measure[@]}" calls --shim-dir "$tmp/shim" --engine "$docker_bin" "$(q "${devboot_up[@]}" -v)" ||
    note "the breakdown failed; targets are unaffected"
fi

if wants 5; then
  step "target 5: a hook printing 100 MB, followed by a warm up"
  loud="$tmp/ws-loud"
  mkdir -p "$loud/.devcontainer"
  # 1e6 lines of 100 bytes, as fast as the image can print them.
  hook="seq -f '%099g' 1000000"
  printf '{ "image": "%s", "postAttachCommand": "%s" }\n' "$image" "$hook" \
    >"$loud/.devcontainer/devcontainer.json"
  loud_up=("$devboot" up --workspace-folder "$loud")
  up_log="$tmp/loud-setup.log"
  "${loud_up[@]}" >"$up_log" 2>&1 || { tail_log "$up_log"; die "devboot up (the loud workspace) failed"; }
  loud_id="$(docker ps -q --filter "label=devcontainer.local_folder=$loud" | awk 'NR == 1')"
  [ -n "$loud_id" ] || die "devboot up ran, but no container has the loud workspace's label"
  name_hook="the hook alone: docker exec, into a file"
  name_streamed="docker exec of the hook, its output streamed"
  name_devboot="devboot up (warm, runs the hook), into a file"
  "${measure[@]}" procs --id loud-hook --out "$tmp/t5.json" --rounds "$((rounds < 7 ? rounds : 7))" \
    --warmup 1 --output-file "$tmp/loud.out" \
    --title "5. a hook printing 100 MB (1e6 lines), output into a file" \
    --case "$name_hook" "$(q "$docker_bin" exec "$loud_id" sh -c "$hook > /tmp/hook.out")" \
    --case "$name_streamed" "$(q "$docker_bin" exec "$loud_id" sh -c "$hook")" \
    --case "$name_devboot" "$(q "${loud_up[@]}")" \
    --info "$name_streamed" \
    --ratio "$name_devboot" "$name_hook" "devboot / the hook alone" \
    --max-ratio "$name_devboot" "$name_hook" 1.5 \
    --max-extra "$name_devboot" peak_rss_mb 64 \
    --note "postAttachCommand runs at every up: each devboot round starts it (one exec)," \
    --note "follows its log from the state folder and prints every line, prefixed" \
    --note "peak MB: each process's own peak RSS (wait4)"
  fragments+=("$tmp/t5.json")
fi

if wants 6; then
  step "target 6: warm up with ports nobody named"
  make_ports_ws() { # FOLDER COUNT: a workspace whose task listens on COUNT ports from 5000
    mkdir -p "$1"
    {
      printf 'image: %s\ntasks:\n  - name: listen\n    command: |\n' "$image"
      printf '      python3 -c "%s"\n' "import socket, time; s = [socket.socket() for _ in range($2)]; [x.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1) or x.bind(('0.0.0.0', 5000 + i)) or x.listen() for i, x in enumerate(s)]; time.sleep(10**6)"
      [ "$2" -eq 0 ] || printf 'ports:\n'
      for ((p = 5000; p < 5000 + $2; p++)); do printf '  - port: %s\n' "$p"; done
    } >"$1/.gitpod.yml"
  }
  none="$tmp/ws-ports-0" one="$tmp/ws-ports-1" forty="$tmp/ws-ports-40"
  make_ports_ws "$none" 0
  make_ports_ws "$one" 1
  make_ports_ws "$forty" 40
  none_up=("$devboot" up --workspace-folder "$none")
  one_up=("$devboot" up --workspace-folder "$one" --port-offset "$((port_base + 100 - 5000))")
  forty_up=("$devboot" up --workspace-folder "$forty" --port-offset "$((port_base + 200 - 5000))")
  "${none_up[@]}" >"$tmp/ports-setup.log" 2>&1 || { tail_log "$tmp/ports-setup.log"; die "devboot up (no port) failed"; }
  "${one_up[@]}" >"$tmp/ports-setup.log" 2>&1 || { tail_log "$tmp/ports-setup.log"; die "devboot up (1 port) failed"; }
  "${forty_up[@]}" >"$tmp/ports-setup.log" 2>&1 || { tail_log "$tmp/ports-setup.log"; die "devboot up (40 ports) failed"; }
  forty_id="$(docker ps -q --filter "label=devcontainer.local_folder=$forty" | awk 'NR == 1')"
  name_one="devboot up -v (warm), 1 unnamed port"
  name_forty="devboot up -v (warm), 40 unnamed ports"
  name_inspect="docker container inspect (1 engine call)"
  name_none="devboot up -v (warm), no port"
  "${measure[@]}" procs --id warm-ports --out "$tmp/t6.json" --rounds "$rounds" --warmup 2 \
    --title "6. warm up with ports nobody named, whole process" \
    --case "$name_inspect" "$(q "$docker_bin" container inspect "$forty_id")" \
    --case "$name_none" "$(q "${none_up[@]}" -v)" \
    --case "$name_one" "$(q "${one_up[@]}" -v)" \
    --case "$name_forty" "$(q "${forty_up[@]}" -v)" \
    --info "$name_inspect" --info "$name_none" \
    --diff "$name_one" "$name_none" "1 unnamed port, beyond no port" \
    --diff "$name_forty" "$name_none" "40 unnamed ports, beyond no port" \
    --capture "$name_one" 'engine calls: (\d+)' --capture "$name_forty" 'engine calls: (\d+)' \
    --max-ms "$name_one" 40 --max-ms "$name_forty" 40 \
    --max-captured "$name_one" 2 --max-captured "$name_forty" 2 \
    --note "a port with no name and no protocol needs no HTTP answer: whether something listens" \
    --note "behind it is read from the container's socket table (/proc/<pid>/net/tcp{,6})" \
    --note "the < 40 ms targets include the 2 engine calls: compare them with the inspect row"
  fragments+=("$tmp/t6.json")
fi

if wants 7; then
  step "target 7: Dev Container Features, cold and warm up"
  p7_devboot=$((port_base + 11)) p7_mirror=$((port_base + 12)) p7_ref=$((port_base + 13))
  p7_plain=$((port_base + 14))
  for port in "$p7_devboot" "$p7_mirror" "$p7_ref" "$p7_plain"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      die "port $port is in use" "pick free ones with --port-base N (target 7 uses N+11..N+14)"
    fi
  done
  common_utils="$corpus/devcontainers-features/src/common-utils"
  [ -f "$common_utils/devcontainer-feature.json" ] ||
    die "no upstream common-utils at $common_utils" "set BENCH_CORPUS to the shared corpus"

  # The bench's own registry, stopped by the clean-up; the Features published with the
  # reference CLI (scripts/registry.sh installs its own copy for that).
  registry_dir="$tmp/registry"
  registry_log="$registry_dir/registry.log"
  access_line='^\S+ - \S+ \[[^]]+\] "[A-Z]+ ' # one per request in the access log
  publish_log="$tmp/publish.log"
  registry="$(DEVBOOT_TEST_REGISTRY_DIR="$registry_dir" scripts/registry.sh 2>"$publish_log")" ||
    { tail_log "$publish_log"; die "scripts/registry.sh could not start a registry"; }
  reg_port="${registry##*:}"
  for what in "bench/fixtures/features devboot-bench/features" "$common_utils devcontainers/features"; do
    # shellcheck disable=SC2086 # two words: folder and namespace
    DEVBOOT_TEST_REGISTRY_DIR="$registry_dir" scripts/registry.sh --publish $what >>"$publish_log" 2>&1 ||
      { tail_log "$publish_log"; die "publishing $what into the bench's registry failed"; }
  done
  note "registry $registry: bench-hello, bench-tools, common-utils published"

  # The run's base: the same layers, a label of its own (see the header).
  feature_base="devboot-bench/features-base:$$"
  printf 'FROM %s\nLABEL %s\n' "$image" "$run_label" |
    docker build -q -t "$feature_base" - >/dev/null 2>"$tmp/base7.log" ||
    { tail_log "$tmp/base7.log"; die "could not label $image for target 7"; }

  ws7_devboot="$tmp/ws-f-devboot" ws7_mirror="$tmp/ws-f-mirror" ws7_ref="$tmp/ws-f-ref"
  ws7_plain="$tmp/ws-f-plain"
  make_ws7() { # FOLDER REGISTRY PORT [plain]
    mkdir -p "$1/.devcontainer"
    cp -R examples/cruddur/. "$1/"
    sed -e "s|@REGISTRY@|$2|g" -e "s|@IMAGE@|$feature_base|g" -e "s|@PORT@|$3|g" \
      -e "s|@FRONTEND_URL@|$frontend|g" bench/fixtures/devcontainer-features.json |
      if [ "${4:-}" = plain ]; then sed '/^  "features": {$/,/^  },$/d'; else cat; fi \
        >"$1/.devcontainer/devcontainer.json"
  }
  make_ws7 "$ws7_devboot" "localhost:$reg_port" "$p7_devboot"
  make_ws7 "$ws7_mirror" ghcr.io "$p7_mirror"
  make_ws7 "$ws7_ref" "localhost:$reg_port" "$p7_ref"
  make_ws7 "$ws7_plain" ghcr.io "$p7_plain" plain

  # The cold state, before every run of every contender.
  fetch_cache="$XDG_CACHE_HOME/devboot/features"
  cat >"$tmp/cold7.sh" <<COLD
# Target 7's cold state (written by bench/run.sh): no container of its Features workspaces,
# no image built on its base (the classic builder's cache is those images; each contender's
# go, so none takes steps from another's), devboot's fetch cache empty, BuildKit's build
# cache pruned (the classic builder keeps none there). --all: the base goes too (the end).
docker=$(q "$docker_bin") devboot=$(q "$devboot") label=$(q "$run_label") base=$(q "$feature_base")
for ws in $(q "$ws7_devboot" "$ws7_mirror" "$ws7_ref"); do
  case "\$ws" in *-ref) ;; *) "\$devboot" down --remove --workspace-folder "\$ws" >/dev/null 2>&1 ;; esac
  ids=\$("\$docker" ps -a -q --filter "label=devcontainer.local_folder=\$ws")
  [ -z "\$ids" ] || "\$docker" rm -f -v \$ids >/dev/null
done
base_id=\$("\$docker" image inspect -f '{{.Id}}' "\$base")
built() { "\$docker" images -a -q --no-trunc --filter "label=\$label" | grep -vx "\$base_id" | awk '!seen[\$0]++'; }
for _ in 1 2 3 4 5; do # newest first: children before their parents
  ids=\$(built)
  [ -n "\$ids" ] || break
  "\$docker" rmi -f \$ids >/dev/null 2>&1
done
ids=\$(built)
[ -z "\$ids" ] || { echo "images built on \$base remain: \$ids" >&2; exit 1; }
rm -rf $(q "$fetch_cache")
"\$docker" builder prune -af >/dev/null 2>&1 # the classic builder's deprecation note
[ "\${1:-}" != --all ] || "\$docker" rmi "\$base" >/dev/null
COLD
  cold7="bash $(q "$tmp/cold7.sh")"
  path7="$path_url"
  mirror_env="DEVBOOT_REGISTRY_MIRROR=ghcr.io=$registry"
  devboot7_up=("$devboot" up --workspace-folder "$ws7_devboot")
  mirror7_up=(env "$mirror_env" "$devboot" up --workspace-folder "$ws7_mirror")
  ref7_up=("${ref_cli:-devcontainer}" up --workspace-folder "$ws7_ref")

  name_devboot="devboot up (localhost:PORT ids)"
  name_mirror="devboot up (ghcr.io ids, mirror)"
  name_ref="devcontainer up (localhost:PORT ids)"
  mapfile -d '' ref_args < <(ref_case "$name_ref")
  # The target is against the reference CLI: without it there is nothing to check.
  ref_check=(--note "no target checked: it is against the reference CLI, which was left out")
  [ -z "$ref_cli" ] || ref_check=(--max-ratio "$name_devboot" "$name_ref" 0.8)
  "${measure[@]}" up --id features-cold --out "$tmp/t7a.json" --rounds "$feature_rounds" --warmup 0 \
    --title "7a. cold up with 3 Features (fetch, build, start) -> first HTTP 200" --poll-ms 5 \
    --timeout 900 --logs "$tmp/logs7" --stamp-output --rotate \
    --count-lines requests "$registry_log" "$access_line" \
    --case "$name_devboot" "$(q "${devboot7_up[@]}")" --prep "$name_devboot" "$cold7" \
    --url "$name_devboot" "http://127.0.0.1:$p7_devboot$path7" \
    --case "$name_mirror" "$(q "${mirror7_up[@]}")" --prep "$name_mirror" "$cold7" \
    --url "$name_mirror" "http://127.0.0.1:$p7_mirror$path7" \
    --case "$name_ref" "$(q "${ref7_up[@]}")" --prep "$name_ref" "$cold7" \
    --url "$name_ref" "http://127.0.0.1:$p7_ref$path7" \
    "${ref_args[@]}" --info "$name_mirror" \
    --ratio "$name_devboot" "$name_ref" "devboot / reference" \
    --ratio "$name_mirror" "$name_devboot" "devboot via the mirror / direct" \
    "${ref_check[@]}" \
    --note "Features: common-utils (upstream, offline options: apt-get from Debian's mirror)," \
    --note "bench-hello and bench-tools (bench/fixtures/features), all from a loopback registry" \
    --note "cold, before every run of every contender (untimed, then 1 s rest): no container," \
    --note "no image built on the base (a labelled copy of $image, so no cached step from" \
    --note "other images), devboot's fetch cache ($fetch_cache) removed, 'docker builder prune -af'" \
    --note "the reference CLI keeps no fetch cache (a new folder per run); it fetches its control" \
    --note "manifest from containers.dev (unreachable here, fails at once) every 5 minutes" \
    --note "requests: lines the run added to the registry's access log" \
    --note "URL polled every 5 ms once the command returned; ready = first 200 for GET $path7" \
    --note "rounds rotate (A B C, B C A, C A B): Debian's mirror, used by common-utils, drifts"
  fragments+=("$tmp/t7a.json")
  printf '\n   where the cold ups spent their time (each round'\''s output, stamped as it came):\n'
  "${measure[@]}" steps --fragment "$tmp/t7a.json" --logs "$tmp/logs7" \
    --column "$name_devboot" "devboot" --column "$name_mirror" "devboot, mirror" \
    --column "$name_ref" "devcontainer" || note "the split failed; targets are unaffected"
  rm -rf "$results/logs-7"
  cp -R "$tmp/logs7" "$results/logs-7" && note "the rounds' stamped output: $results/logs-7/"

  step "target 7b: warm up of the Features workspace"
  # The warm containers come from one more cold up each (the rounds rotate, so the last
  # one's contender varies): devboot's first, from the cold state, its engine calls logged.
  bash "$tmp/cold7.sh" || die "could not reset target 7's cold state"
  printf '\n   one more cold devboot up (as cold as in 7a), its engine calls logged by a\n'
  printf '   pass-through docker:\n'
  "${measure[@]}" calls --shim-dir "$tmp/shim7" --engine "$docker_bin" "$(q "${devboot7_up[@]}")" ||
    die "devboot up (to make a warm Features container) failed"
  if [ -n "$ref_cli" ] && ! "${ref7_up[@]}" >"$tmp/ref7-setup.log" 2>&1; then
    tail_log "$tmp/ref7-setup.log" 5
    ref_skip="devcontainer up (to make a warm container) failed"
    ref_cli=""
  fi
  plain7_up=("$devboot" up --workspace-folder "$ws7_plain")
  "${plain7_up[@]}" >"$tmp/plain7-setup.log" 2>&1 ||
    { tail_log "$tmp/plain7-setup.log"; die "devboot up (the same config without Features) failed"; }
  devboot7_id="$(docker ps -q --filter "label=devcontainer.local_folder=$ws7_devboot" | awk 'NR == 1')"
  [ -n "$devboot7_id" ] || die "devboot up ran, but no container has the Features workspace's label"
  name_warm="devboot up -v (warm), 3 Features"
  name_plain="devboot up -v (warm), no Features"
  name_ref="devcontainer up (warm), 3 Features"
  name_inspect="docker container inspect (1 engine call)"
  mapfile -d '' ref_args < <(ref_case "$name_ref")
  # Rotated: the reference CLI's warm up leaves the engine busy for a while after it exits
  # (the case after it measured ~10 ms slower here), so no case always follows it.
  "${measure[@]}" procs --id features-warm --out "$tmp/t7b.json" --rounds "$rounds" --warmup 2 \
    --rotate --title "7b. warm up of the Features workspace, whole process" \
    --count-lines requests "$registry_log" "$access_line" \
    --case "$name_inspect" "$(q "$docker_bin" container inspect "$devboot7_id")" \
    --case "$name_plain" "$(q "${plain7_up[@]}" -v)" \
    --case "$name_warm" "$(q "${devboot7_up[@]}" -v)" \
    --case "$name_ref" "$(q "${ref7_up[@]}")" \
    "${ref_args[@]}" --info "$name_inspect" --info "$name_plain" \
    --capture "$name_plain" 'engine calls: (\d+)' --capture "$name_warm" 'engine calls: (\d+)' \
    --diff "$name_warm" "$name_plain" "3 Features, beyond none" \
    --ratio "$name_warm" "$name_ref" "devboot / reference" \
    --max-ms "$name_warm" 100 --max-captured "$name_warm" 2 \
    --max-extra "$name_warm" requests 1 \
    --note "requests: lines each run added to the registry's access log (target: none)" \
    --note "'no Features': the same devcontainer.json without its features block" \
    --note "rounds rotate (A B C D, B C D A, ...): the case after the reference CLI is slowed"
  fragments+=("$tmp/t7b.json")
  printf '\n   where one warm devboot up spends its time (engine calls logged by a pass-through docker):\n'
  "${measure[@]}" calls --shim-dir "$tmp/shim7" --engine "$docker_bin" "$(q "${devboot7_up[@]}" -v)" ||
    note "the breakdown failed; targets are unaffected"
fi

if wants 8; then
  step "target 8: cold up from a prebuild (init of 20 s) until the backend answers HTTP 200"
  p_pb=$((port_base + 21)) p_pb_raw=$((port_base + 22))
  ws_pb="$tmp/ws-prebuild" ws_pb_raw="$tmp/ws-prebuild-raw"
  for ws in "$ws_pb" "$ws_pb_raw"; do
    mkdir -p "$ws"
    cp -R examples/cruddur/. "$ws/"
  done
  cp bench/fixtures/gitpod-prebuild.yml "$ws_pb/.gitpod.yml"
  git -C "$ws_pb" init -q
  git -C "$ws_pb" add -A
  git -C "$ws_pb" -c user.email=bench@devboot -c user.name=bench commit -qm bench
  "$devboot" prebuild --workspace-folder "$ws_pb" --json >"$tmp/prebuild.json"
  pb_image="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["image"])' "$tmp/prebuild.json")"
  note "prebuild $pb_image made in $(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["seconds"], 1))' "$tmp/prebuild.json") s"
  pb_raw_name="devboot-bench-pb-raw-$$"
  pb_up=("$devboot" up --workspace-folder "$ws_pb" --port-offset "$((p_pb - 4567))")
  pb_down="$(q "$devboot" down --remove --workspace-folder "$ws_pb") >/dev/null 2>&1; $(rm_by_label "$ws_pb")"
  pb_raw=("$docker_bin" run -d --name "$pb_raw_name" -p "127.0.0.1:$p_pb_raw:4567"
    -v "$ws_pb_raw:/workspace/x" -w /workspace/x/backend-flask
    "$pb_image" python3 -m flask run --host=0.0.0.0 --port=4567)
  name_pb="devboot up (from its prebuild)"
  name_pb_raw="docker run -d (raw, prebuilt image)"
  name_pb_none="devboot up --no-prebuild (init runs)"
  "${measure[@]}" up --id prebuild-up --out "$tmp/t8.json" --rounds "$feature_rounds" --warmup 1 \
    --title "8. cold up from a prebuild -> first HTTP 200 on the backend" --poll-ms 5 \
    --logs "$tmp/logs8" --timeout 120 \
    --case "$name_pb" "$(q "${pb_up[@]}")" \
    --prep "$name_pb" "$pb_down" \
    --url "$name_pb" "http://127.0.0.1:$p_pb$path_url" \
    --case "$name_pb_raw" "$(q "${pb_raw[@]}")" \
    --prep "$name_pb_raw" "$(q "$docker_bin" rm -f -v "$pb_raw_name") >/dev/null 2>&1 || true" \
    --url "$name_pb_raw" "http://127.0.0.1:$p_pb_raw$path_url" \
    --case "$name_pb_none" "$(q "${pb_up[@]}" --no-prebuild)" \
    --prep "$name_pb_none" "$pb_down" \
    --url "$name_pb_none" "http://127.0.0.1:$p_pb$path_url" \
    --ratio "$name_pb" "$name_pb_raw" "devboot from prebuild / raw docker" \
    --ratio "$name_pb_none" "$name_pb" "no prebuild / from prebuild" \
    --max-ratio "$name_pb" "$name_pb_raw" 1.1 \
    --note "each contender: its container removed first (untimed, then 1 s rest), devboot's" \
    --note "with 'devboot down --remove' (a first up: the prebuild is looked up, then docker run)" \
    --note "init: 'sleep 20', a stand-in for pip/npm installs (no PyPI or npm from containers here)"
  fragments+=("$tmp/t8.json")
  bash -c "$pb_down"
  docker rm -f -v "$pb_raw_name" >/dev/null 2>&1 || true
  docker rmi -f "$pb_image" >/dev/null 2>&1 || true
fi

if wants 9; then
  step "target 9: a workspace on a remote engine over SSH"
  remote_env="$(scripts/remote-engine.sh start)" || die "the remote engine did not start"
  remote_ssh="$(sed -n 's/^DEVBOOT_REMOTE_SSH=//p' <<<"$remote_env")"
  remote_addr="$(sed -n 's/^DEVBOOT_REMOTE_ADDR=//p' <<<"$remote_env")"
  p9=$((port_base + 31)) p9_raw=$((port_base + 32))
  ws9="$tmp/ws-remote" ws9_raw="$tmp/ws-remote-raw" ws9_sync="$tmp/ws-remote-sync"
  for ws in "$ws9" "$ws9_raw" "$ws9_sync"; do
    mkdir -p "$ws/.devcontainer"
    cp -R examples/cruddur/. "$ws/"
  done
  config9='{ "image": "%s", "appPort": ["127.0.0.1:%s:4567"],
  "containerEnv": { "FRONTEND_URL": "%s", "BACKEND_URL": "http://localhost:%s" },
  "postStartCommand": "cd backend-flask && nohup python3 -m flask run --host=0.0.0.0 --port=4567 > /tmp/flask.log 2>&1 &" }\n'
  # shellcheck disable=SC2059 # the format is ours
  printf "$config9" "$image" "$p9" "$frontend" "$p9" >"$ws9/.devcontainer/devcontainer.json"
  # shellcheck disable=SC2059
  printf "$config9" "$image" "$((p9 + 2))" "$frontend" "$((p9 + 2))" >"$ws9_sync/.devcontainer/devcontainer.json"
  # 10 000 files of the sync case (100 folders of 100), beside the example.
  for d in $(seq -w 0 99); do
    mkdir -p "$ws9_sync/gen/$d"
    for f in $(seq -w 0 99); do printf '%s %s\n' "$d" "$f" >"$ws9_sync/gen/$d/$f.txt"; done
  done
  rdocker=("$docker_bin" -H "$remote_ssh")
  up9=(env DOCKER_HOST="$remote_ssh" "$devboot" up --workspace-folder "$ws9")
  down9="$(q env DOCKER_HOST="$remote_ssh" "$devboot" down --remove --workspace-folder "$ws9") >/dev/null 2>&1"
  raw9_name="devboot-bench-remote-raw-$$"
  raw9_folder="$(basename "$ws9_raw")"
  raw9_sh="$(q "${rdocker[@]}" create --name "$raw9_name" -p "$p9_raw:4567" \
    -w "/$raw9_folder/backend-flask" -e "FRONTEND_URL=$frontend" -e "BACKEND_URL=http://localhost:$p9_raw" \
    "$image" python3 -m flask run --host=0.0.0.0 --port=4567) >/dev/null && \
    tar -C $(q "$tmp") -c $(q "$raw9_folder") | $(q "${rdocker[@]}" cp - "$raw9_name:/") && \
    $(q "${rdocker[@]}" start "$raw9_name") >/dev/null"
  raw9="$(q bash -c "$raw9_sh")" # one command line for measure.py, which runs no shell
  name9="devboot up (ssh://, folder copied, port forwarded)"
  name9_raw="raw docker -H ssh:// create + tar | cp - + start"
  "${measure[@]}" up --id remote-cold --out "$tmp/t9a.json" --rounds "$up_rounds" --warmup 1 \
    --title "9a. cold up on a remote engine over SSH -> first HTTP 200" --poll-ms 5 \
    --logs "$tmp/logs9" --timeout 120 \
    --case "$name9" "$(q "${up9[@]}")" \
    --prep "$name9" "$down9" \
    --url "$name9" "http://127.0.0.1:$p9$path_url" \
    --case "$name9_raw" "$raw9" \
    --prep "$name9_raw" "$(q "${rdocker[@]}" rm -f -v "$raw9_name") >/dev/null 2>&1 || true" \
    --url "$name9_raw" "http://$remote_addr:$p9_raw$path_url" \
    --ratio "$name9" "$name9_raw" "devboot / raw docker over ssh" \
    --note "raw: the same image and app by hand (3 docker calls over ssh, the folder piped" \
    --note "in as a tar), its port published on the remote host and polled there; devboot's" \
    --note "through its SSH forward on this machine's loopback. Each docker call over ssh://" \
    --note "opens its own SSH connection (no ControlMaster)."
  fragments+=("$tmp/t9a.json")
  env DOCKER_HOST="$remote_ssh" "$devboot" up --workspace-folder "$ws9" >"$tmp/up9.log" 2>&1 ||
    { tail_log "$tmp/up9.log"; die "devboot up over ssh (to make a warm container) failed"; }
  env DOCKER_HOST="$remote_ssh" "$devboot" up --workspace-folder "$ws9_sync" >"$tmp/up9s.log" 2>&1 ||
    { tail_log "$tmp/up9s.log"; die "devboot up over ssh (the 10 000-file workspace) failed"; }
  id9="$("${rdocker[@]}" ps -q --filter "label=devcontainer.local_folder=$ws9" | awk 'NR == 1')"
  name_inspect9="docker -H ssh:// container inspect (1 engine call)"
  name_warm9="devboot up -v (warm, ssh://)"
  name_sync9="devboot sync (1 changed file of 10 000)"
  "${measure[@]}" procs --id remote-warm --out "$tmp/t9b.json" --rounds "$((rounds < 10 ? rounds : 10))" --warmup 1 \
    --title "9b. warm up and sync on a remote engine over SSH, whole process" \
    --case "$name_inspect9" "$(q "${rdocker[@]}" container inspect "$id9")" \
    --case "$name_warm9" "$(q "${up9[@]}" -v)" \
    --case "$name_sync9" "$(q bash -c "date +%s%N >$(q "$ws9_sync/backend-flask/touched.txt") && $(q env DOCKER_HOST="$remote_ssh" "$devboot" sync --workspace-folder "$ws9_sync")")" \
    --info "$name_inspect9" --info "$name_sync9" \
    --capture "$name_warm9" 'engine calls: (\d+)' \
    --ratio "$name_warm9" "$name_inspect9" "warm up / one engine call over ssh" \
    --note "warm up over ssh: the label lookup, one inspect and one exec asking the container" \
    --note "where its lanes stand (no state folder is shared with a remote container)"
  fragments+=("$tmp/t9b.json")
  for ws in "$ws9" "$ws9_sync"; do
    env DOCKER_HOST="$remote_ssh" "$devboot" down --remove --workspace-folder "$ws" >/dev/null 2>&1 || true
  done
  "${rdocker[@]}" rm -f -v "$raw9_name" >/dev/null 2>&1 || true
fi

load_end="$(cut -d' ' -f1-3 /proc/loadavg)"
docker_versions="$(docker version --format '{{.Client.Version}} client, {{.Server.Version}} server' 2>/dev/null || echo none)"
report_args=()
[ "$strict" -eq 0 ] || report_args+=(--strict)
status=0
"${measure[@]}" report --out "$results/latest.json" "${report_args[@]}" \
  --meta started "$started_at" \
  --meta load_start "$load_start" --meta load_end "$load_end" \
  --meta cpus "$(nproc)" --meta kernel "$(uname -r)" --meta docker "$docker_versions" \
  --meta devboot_commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  --meta reference_cli "${ref_version:-none ($ref_skip)}" \
  "${fragments[@]}" || status=$?
exit "$status"
