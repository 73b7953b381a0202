#!/bin/sh
# shellcheck shell=sh
# gp: Gitpod's workspace CLI, for what real .gitpod.yml files call, in a workspace devboot
# runs. devboot writes it read-only into the container's state folder (/.devboot/bin/gp) with
# the facts it answers from (/.devboot/gp/), and puts it first on the tasks' PATH. POSIX sh:
# it needs nothing else from the image.
#
# Facts (written by devboot on the host; read-only here; under ~/.devboot/gp in a container
# devboot drives by exec):
#   /.devboot/gp/url     "prefix P", "suffix S", "offset N", "workspace U", "id I",
#                        "environment E": the URL of host port N is P N S
#   /.devboot/gp/ports   "PORT END HOSTPORT VISIBILITY NAME..." per published port
#   /.devboot/gp/tasks   "LANE NAME..." per task
#   /.devboot/gp/env     "NAME=VALUE" per variable of `devboot env` (secrets masked)
# What gp writes goes to /.devboot/run/gp/ (the container's half, which devboot reads as
# untrusted input): env (the variables set here), requests (ports to expose).
set -u
# In a container devboot made, under its state folder; in one it drives by `docker exec`
# (another tool's), under ~/.devboot. Elsewhere only for devboot's tests of this script.
home_dir=${HOME:-/root}/.devboot
facts=${DEVBOOT_GP_FACTS:-/.devboot/gp}
out=${DEVBOOT_GP_OUT:-/.devboot/run/gp}
lanes=/.devboot/run/lanes
if [ -z "${DEVBOOT_GP_FACTS:-}" ] && [ ! -r "$facts/url" ] && [ -r "$home_dir/gp/url" ]; then
  facts=$home_dir/gp out=$home_dir/run-gp lanes=$home_dir/lanes
fi
sync_dir=${DEVBOOT_GP_SYNC_DIR:-/tmp}
supported='sync-done NAME, sync-await NAME, url [PORT], ports list|await PORT|expose PORT|visibility PORT:VIS, await-port PORT, env [-e] [NAME=VALUE...] [-u NAME], open FILE, preview URL, tasks list, info'

usage_error() {
  printf 'Error: %s\n' "$1" >&2
  exit 1
}

fact() {
  sed -n "s/^$1 //p" "$facts/url" 2>/dev/null | head -n 1
}

# The file that says a sync-done NAME happened: /tmp, as in Gitpod (a task's restart keeps
# it, a container restart does not). Any name: it is hex-encoded.
sync_file() {
  printf '%s/gp-sync-%s.done' "$sync_dir" "$(printf '%s' "$1" | od -An -tx1 | tr -d ' \n')"
}

# The host port a container port is published on: from the port table, else the port plus
# the offset `up` was given.
host_port() {
  while read -r port end host _; do
    case $port in '#'* | '') continue ;; esac
    if [ "$1" -ge "$port" ] && [ "$1" -le "$end" ]; then
      echo $((host + $1 - port))
      return
    fi
  done <"$facts/ports"
  echo $(($1 + $(fact offset)))
}

url_of() {
  printf '%s%s%s\n' "$(fact prefix)" "$(host_port "$1")" "$(fact suffix)"
}

is_port() {
  case $1 in '' | *[!0-9]*) return 1 ;; esac
  [ "$1" -ge 1 ] && [ "$1" -le 65535 ]
}

# Exit 0 when something listens on TCP port $1 in this container (the kernel's socket
# tables, as Gitpod's `ports await` reads them).
listening() {
  hex=$(printf '%04X' "$1")
  for table in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$table" ] || continue
    while read -r _ local _ state _; do
      [ "$state" = 0A ] || continue
      [ "${local##*:}" = "$hex" ] && return 0
    done <"$table"
  done
  return 1
}

nap() {
  sleep "$1" 2>/dev/null || sleep 1
}

cmd_url() {
  [ $# -le 1 ] || usage_error "accepts at most 1 arg(s), received $#"
  if [ $# -eq 0 ]; then
    fact workspace
    return
  fi
  is_port "$1" || usage_error "port \"$1\" is not a valid port number"
  url_of "$1"
}

cmd_ports() {
  sub=${1:-list}
  [ $# -gt 0 ] && shift
  case $sub in
  list)
    printf '%-7s %-13s %-10s %-40s %s\n' PORT STATUS VISIBILITY URL NAME
    while read -r port end _ visibility name; do
      case $port in '#'* | '') continue ;; esac
      status='not served'
      listening "$port" && status=served
      shown=$port
      [ "$end" = "$port" ] || shown=$port-$end
      printf '%-7s %-13s %-10s %-40s %s\n' "$shown" "$status" "$visibility" "$(url_of "$port")" "$name"
    done <"$facts/ports"
    if [ -s "$out/requests" ]; then
      echo "asked with gp ports (the next \`devboot up\` applies expose and private; public only from the config):"
      sed 's/^/  /' "$out/requests"
    fi
    ;;
  await)
    [ $# -eq 1 ] || usage_error "accepts 1 arg(s), received $#"
    is_port "$1" || usage_error "port \"$1\" is not a valid port number"
    until listening "$1"; do nap 0.5; done
    echo "Port $1 is now open"
    ;;
  expose | visibility)
    [ $# -eq 1 ] || usage_error "accepts 1 arg(s), received $#"
    mkdir -p "$out" 2>/dev/null
    printf '%s %s\n' "$sub" "$1" >>"$out/requests" || exit 1
    case $sub:$1 in
    visibility:*:public) echo "gp: recorded, but a container cannot make a port public: set its visibility in the config" ;;
    *) echo "gp: recorded; the next \`devboot up\` publishes it on the host's loopback (with a new container: a running one's ports cannot change)" ;;
    esac
    ;;
  *)
    echo "gp ports: unknown subcommand \"$sub\"; supported: list, await, expose, visibility" >&2
    exit 2
    ;;
  esac
}

# Prints the variables: devboot's (from the host), then the ones set here over them.
env_lines() {
  {
    cat "$facts/env" 2>/dev/null
    [ -r "$out/env" ] && cat "$out/env"
  } | awk '
    /^-/ { name = substr($0, 2); delete value[name]; next }
    { eq = index($0, "="); if (eq < 2) next; name = substr($0, 1, eq - 1)
      if (!(name in value)) order[++n] = name; value[name] = substr($0, eq + 1) }
    END { for (i = 1; i <= n; i++) if (order[i] in value) print order[i] "=" value[order[i]] }'
}

cmd_env() {
  export_lines=0 unset_next=0
  for arg in "$@"; do
    if [ "$unset_next" = 1 ]; then
      mkdir -p "$out" 2>/dev/null
      printf -- '-%s\n' "$arg" >>"$out/env" || exit 1
      unset_next=0
      continue
    fi
    case $arg in
    -e | --export) export_lines=1 ;;
    -u | --unset) unset_next=1 ;;
    *=*)
      name=${arg%%=*}
      case $name in '' | [0-9]* | *[!A-Za-z0-9_]*) usage_error "\"$name\" is not a variable name" ;; esac
      value=${arg#*=}
      case $value in *'
'*) usage_error "the value of $name has a line break" ;; esac
      mkdir -p "$out" 2>/dev/null
      printf '%s=%s\n' "$name" "$value" >>"$out/env" || exit 1
      ;;
    *) usage_error "\"$arg\" is not NAME=VALUE (gp env -u NAME removes one)" ;;
    esac
  done
  [ "$unset_next" = 1 ] && usage_error "-u needs a variable name"
  if [ $# -eq 0 ] || [ "$export_lines" = 1 ]; then
    env_lines | while IFS= read -r line; do
      if [ "$export_lines" = 1 ]; then
        value=${line#*=}
        printf 'export %s="%s"\n' "${line%%=*}" "$(printf '%s' "$value" | sed 's/[\\"$`]/\\&/g')"
      else
        printf '%s\n' "$line"
      fi
    done
  fi
}

# Gitpod's preview rewrites a loopback URL to the port's URL.
cmd_preview() {
  [ $# -ge 1 ] || usage_error "accepts 1 arg(s), received 0"
  target=$1
  case $target in
  http://localhost* | https://localhost* | http://127.0.0.1* | https://127.0.0.1*)
    rest=${target#*://}
    hostport=${rest%%/*}
    path=${rest#"$hostport"}
    port=80
    case $hostport in *:*) port=${hostport##*:} ;; esac
    is_port "$port" && target="$(url_of "$port" | sed 's,/*$,,')$path"
    ;;
  esac
  printf '%s\n' "$target"
}

cmd_tasks() {
  [ "${1:-list}" = list ] || {
    echo "gp tasks: only \"list\" is supported here (attach and stop: devboot logs / devboot down)" >&2
    exit 2
  }
  printf '%-30s %s\n' NAME STATE
  while read -r lane name; do
    [ -n "$lane" ] || continue
    dir=$lanes/$lane
    state='not started'
    if [ -f "$dir/exit" ]; then
      state="ended (exit $(cat "$dir/exit"))"
      [ -f "$dir/background" ] && [ ! -f "$dir/gone" ] && state=running
    elif [ -f "$dir/pid" ]; then
      state=running
    fi
    printf '%-30s %s\n' "$name" "$state"
  done <"$facts/tasks"
}

cmd_info() {
  printf 'Workspace ID    : %s\n' "$(fact id)"
  printf 'Instance ID     : %s\n' "$(fact id)"
  printf 'Workspace class : local\n'
  printf 'Workspace URL   : %s\n' "$(fact workspace)"
  printf 'Environment     : %s (devboot)\n' "$(fact environment)"
}

[ -r "$facts/url" ] || {
  echo "gp: this container's workspace facts are missing ($facts/url); run \`devboot up\` on the host" >&2
  exit 1
}

sub=${1:-}
[ $# -gt 0 ] && shift
case $sub in
sync-done)
  [ $# -eq 1 ] || usage_error "accepts 1 arg(s), received $#"
  file=$(sync_file "$1")
  [ -f "$file" ] || { echo 'done' >"$file" && chmod 600 "$file"; }
  ;;
sync-await)
  [ $# -eq 1 ] || usage_error "accepts 1 arg(s), received $#"
  file=$(sync_file "$1")
  until [ -f "$file" ]; do nap 0.2; done
  echo "$1 done"
  ;;
url) cmd_url "$@" ;;
ports) cmd_ports "$@" ;;
await-port) cmd_ports await "$@" ;;
env) cmd_env "$@" ;;
open)
  [ $# -ge 1 ] || usage_error "accepts 1 arg(s), received 0"
  case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac
  ;;
preview) cmd_preview "$@" ;;
tasks) cmd_tasks "$@" ;;
info) cmd_info ;;
'' | help | -h | --help)
  echo "gp (devboot's, for a workspace outside Gitpod): $supported"
  ;;
*)
  echo "gp: \"$sub\" is not supported by devboot's gp; supported: $supported" >&2
  exit 2
  ;;
esac
