# shellcheck shell=sh
# devboot's in-container runner (POSIX sh). devboot writes it into the container's state
# folder (or passes it to `sh -c` for a container another tool made), so nothing is
# installed in the image.
#
# A lane is one task or hook, run detached in its own session with its output in a log
# file, so a server it starts outlives `devboot up` and can be found again.
#
#   boot STATE                  at every container start (from the entrypoint): record the
#                               start in STATE/run, run STATE/plans/next.sh if devboot left
#                               one (STATE is read-only; STATE/run is where lanes write)
#   plan FILE                   run a plan (a script of calls to `launch` and `wait_lane`)
#   start DIR ARGV...           start a lane; return once it runs
#   wait DIR MODE               until it exits (MODE=exit) or reaches its long-running part
#                               (MODE=ready: it touched DIR/ready); exit with its exit code
#   initialized MARKER          exit 0 when MARKER says a Gitpod init ran in this container
#   init-done MARKER            record that it did (the container's id, in its own files)
#   mark FILE WHICH STATE       write a reference CLI marker (WHICH=created|started) once
#                               devboot has put the container's timestamps in STATE/stamps
#   stop DIR                    end every process of a lane (TERM, then KILL)
#   probe FLAGS FILE            once per container start: the environment the user's shell
#                               sets when started with FLAGS (-l, -i, -li: userEnvProbe),
#                               written to FILE as lines `__devboot_probed NAME 'VALUE'`
#                               (`run` does it itself when DEVBOOT_PROBE names FLAGS)
#   probed FLAGS FILE ARGV...   the same, then run ARGV with what it found
# For a container another tool made (no state folder devboot can read):
#   run DIR MODE ARGV...        start, then stream the log until `wait` would return
#   status ROOT MARKER...       one line per lane under ROOT, then one per marker file
#   commit FILE TEXT...         write markers
#
# Paths that start with "~/" are under the user's home. "@shell" as ARGV[0] is the best
# shell the image has (Gitpod tasks are written for bash).
#
# Lane state in DIR: boot (the container start it ran in: PID 1's start time), pid ("PID
# STARTTIME" of the lane's session leader), phase, ready, exit (its exit code, once it
# ended), background (it left processes running, e.g. a server started with `&`), gone
# (those have ended too), once (a run-once step succeeded), log.
set -u
st_state='' st_ppid='' st_session='' st_start=''
# devboot's gp (Gitpod's CLI for a workspace outside Gitpod), first on every lane's PATH
# when devboot wrote it into the state folder, or (a container devboot drives by exec)
# under ~/.devboot.
for gp_bin in /.devboot/bin "${HOME:-/root}/.devboot/bin"; do
  [ -x "$gp_bin/gp" ] || continue
  case ":${PATH:-}:" in
  *:"$gp_bin":*) ;;
  *) PATH=$gp_bin:${PATH:-/usr/bin:/bin} && export PATH ;;
  esac
  break
done

# Sets st_state, st_ppid, st_session and st_start from /proc/PID/stat, without forking.
read_stat() {
  { read -r st_line < "/proc/$1/stat"; } 2>/dev/null || return 1
  # Fields after the ")" closing the command name: state ppid pgrp session ... starttime (20th).
  # shellcheck disable=SC2086
  set -- ${st_line##*) }
  st_state=$1 st_ppid=$2 st_session=$4
  eval "st_start=\${20:-}"
}

# The current container start: PID 1's start time, new at every start.
current_boot() {
  read_stat 1 && printf '%s' "$st_start"
}

# Is a live process in session $1, other than its leader and the leader's own children?
session_alive() {
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$p" = "$1" ] && continue
    read_stat "$p" || continue
    [ "$st_session" = "$1" ] && [ "$st_state" != Z ] && [ "$st_ppid" != "$1" ] && return 0
  done
  return 1
}

# Prints a path with a leading "~/" replaced by the home folder.
expand() {
  # shellcheck disable=SC2088 # a literal "~/" is what devboot sends
  case $1 in
  "~/"*) printf '%s' "${HOME:-/tmp}/${1#"~/"}" ;;
  *) printf '%s' "$1" ;;
  esac
}

# Sets cid to this container's id, read from where the engine mounted its /etc/hostname
# (".../containers/ID/hostname" for docker, ".../ID/userdata/hostname" for podman), without
# forking; empty when it cannot be told.
container_id() {
  cid=''
  while read -r mount_line; do
    # shellcheck disable=SC2086
    set -- $mount_line
    [ "${5:-}" = /etc/hostname ] || continue
    cid=${4%/hostname}
    cid=${cid%/userdata}
    cid=${cid##*/}
    break
  done < /proc/self/mountinfo
  case $cid in *[!0-9a-f]* | '') cid='' ;; esac
}

# Writes to FILE (once per container start) what the user's shell, started with FLAGS
# (-l, -i, -li: userEnvProbe), exports, as lines `__devboot_probed NAME 'VALUE'`.
probe_env() {
  flags=$1 file=$2
  now=$(current_boot)
  [ "$(sed -n '1s/^# boot //p' "$file" 2> /dev/null)" = "$now" ] && return 0
  shell=$(getent passwd "$(id -un 2> /dev/null)" 2> /dev/null | cut -d: -f7)
  [ -x "${shell:-/nonexistent}" ] || shell=$(command -v bash || command -v sh)
  raw=$file.raw.$$
  # The shell's own output (a profile that prints) goes nowhere: only what it exports,
  # read by `cat` from its own environment. 10 s at most, as the reference CLI waits.
  if command -v timeout > /dev/null 2>&1; then limit='timeout 10'; else limit=''; fi
  # shellcheck disable=SC2086,SC2016 # the flags and the limit are words; $1 is the probe's
  $limit "$shell" $flags -c 'cat /proc/self/environ > "$1"' probe "$raw" < /dev/null > /dev/null 2>&1
  {
    printf '# boot %s\n' "$now"
    if [ -s "$raw" ]; then
      # NUL-separated NAME=VALUE records to sh words; the shell's own bookkeeping is left out.
      sed -z -n -e '/^\(PWD\|OLDPWD\|SHLVL\|_\|DEVBOOT_[A-Z_]*\)=/d' -e "s/'/'\\\\''/g" \
        -e "s/^\([A-Za-z_][A-Za-z0-9_]*\)=\(.*\)$/__devboot_probed \1 '\2'/p" "$raw" | tr '\0' '\n'
    else
      echo "# the probe ($shell $flags) gave nothing"
    fi
  } > "$file.$$" && mv -f "$file.$$" "$file"
  rm -f "$raw"
}

# Exports what the probe found, each variable unless DEVBOOT_KEEP names it (devboot's own
# layers win over the profile).
# PATH is merged as the reference CLI merges it: the profile's order, with each entry it
# lacks put back next to its neighbours (devboot's gp, an image's ENV PATH, a venv), so a
# login shell's /etc/profile does not drop them; /sbin ones only for root.
__devboot_probed() {
  case " ${DEVBOOT_KEEP:-} " in *" $1 "*) return 0 ;; esac
  if [ "$1" = PATH ] && [ -n "${PATH:-}" ]; then
    set -- PATH "$(merge_path "$2" "$PATH")"
  fi
  export "$1=$2"
}

# Prints the PATH $1 (the profile's) with the entries of $2 it lacks inserted after the
# entry they follow in $2.
merge_path() {
  awk -v s="$1" -v c="$2" -v root="$(id -u)" 'BEGIN {
    n = split(s, r, ":"); m = split(c, e, ":"); at = 0
    for (j = 1; j <= m; j++) {
      found = 0
      for (i = 1; i <= n; i++) if (r[i] == e[j]) { found = i; break }
      if (found) { at = found; continue }
      if (root != 0 && e[j] ~ /\/sbin(\/|$)/) continue
      for (k = n; k > at; k--) r[k + 1] = r[k]
      r[at + 1] = e[j]; n++; at++
    }
    out = r[1]; for (i = 2; i <= n; i++) out = out ":" r[i]; print out
  }'
}

# Starts a lane detached: its own session (so whatever it starts can be found, and survives
# this shell), output to DIR/log. The wrapper records, when the lane ends, its exit code and
# what it left running; then it watches those until they end. Only builtins and the
# setsid/sh pair run before the lane's own command: every fork here delays it.
launch() {
  dir=$1
  shift
  if [ "${1:-}" = @shell ]; then
    shift
    if command -v bash > /dev/null 2>&1; then set -- bash "$@"; else set -- sh "$@"; fi
  fi
  [ -d "$dir" ] || mkdir -p "$dir" || exit 125
  for f in exit ready background gone phase pid; do
    if [ -e "$dir/$f" ]; then rm -f "$dir/$f"; fi
  done
  : > "$dir/log"
  # Each lane's wrapper is also recorded in the container's own files ("PID STARTTIME"), so
  # that a lane that runs is never started twice, whatever happened to the state folder.
  # Straight in /tmp (there in every image): a folder to make would cost a fork here.
  record=/tmp/.devboot-lane-${dir##*/}
  # A long-running lane still running from an earlier start of it (devboot's state of it
  # was lost): it is kept, not started a second time.
  if [ "${DEVBOOT_LONG:-}" = 1 ] && read -r lane_pid lane_start < "$record" 2> /dev/null &&
    read_stat "$lane_pid" && [ "$st_start" = "$lane_start" ] && [ "$st_state" != Z ]; then
    current_boot > "$dir/boot"
    printf '%s %s\n' "$lane_pid" "$lane_start" > "$dir/pid"
    printf command > "$dir/phase"
    printf 'devboot: already running (pid %s): not started again\n' "$lane_pid" > "$dir/log"
    : > "$dir/ready"
    return 0
  fi
  DEVBOOT_LANE_DIR=$dir
  export DEVBOOT_LANE_DIR
  # shellcheck disable=SC2016
  setsid sh -c '
    dir=$1; shift
    read_stat() {
      { read -r st_line < "/proc/$1/stat"; } 2>/dev/null || return 1
      set -- ${st_line##*) }
      st_state=$1 st_ppid=$2 st_session=$4
    }
    left() {
      for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [ "$p" = $$ ] && continue
        read_stat "$p" || continue
        [ "$st_session" = $$ ] && [ "$st_state" != Z ] && [ "$st_ppid" != $$ ] && return 0
      done
      return 1
    }
    "$@"
    code=$?
    left && : > "$dir/background"
    printf "%s" "$code" > "$dir/exit.tmp" && mv "$dir/exit.tmp" "$dir/exit"
    if [ -f "$dir/background" ]; then
      while left; do sleep 0.25; done
      : > "$dir/gone"
    fi
  ' devboot-lane "$dir" "$@" > "$dir/log" 2>&1 < /dev/null &
  # The wrapper is this shell's child (setsid execs in place): its pid and start time are
  # known now, without waiting for it to write them.
  current_boot > "$dir/boot"
  if read_stat $!; then
    printf '%s %s\n' $! "$st_start" > "$dir/pid"
    printf '%s %s\n' $! "$st_start" > "$record" 2> /dev/null
  else
    printf '%s -\n' $! > "$dir/pid"
  fi
}

# True once a lane has exited, or reached its long-running part in MODE=ready, or died.
settled() {
  [ -f "$1/exit" ] && return 0
  [ "$2" = ready ] && [ -f "$1/ready" ] && return 0
  read -r lane_pid _ < "$1/pid" 2> /dev/null || return 0
  kill -0 "$lane_pid" 2> /dev/null || return 0
  return 1
}

# The exit code `wait` and `run` give once a lane has settled.
outcome() {
  i=0
  # A lane that just ended may still be writing its exit code.
  while [ ! -f "$1/exit" ] && ! { [ "$2" = ready ] && [ -f "$1/ready" ]; } && [ $i -lt 50 ]; do
    sleep 0.01
    i=$((i + 1))
  done
  if [ -f "$1/exit" ]; then return "$(cat "$1/exit")"; fi
  if [ "$2" = ready ] && [ -f "$1/ready" ]; then return 0; fi
  # Gone without recording an exit code: it was killed.
  return 137
}

# Until a lane settles, looking every $3 seconds (default 0.01); returns what `outcome` gives.
wait_lane() {
  while ! settled "$1" "$2"; do sleep "${3:-0.01}"; done
  outcome "$1" "$2"
}

verb=$1
shift
case $verb in
boot)
  state=$1
  # devboot's plans are on the read-only half; what the plan writes goes to run/.
  plans=$state/plans
  out=$state/run/plans
  # devboot may still be deciding whether this container is the one to run the plan:
  # it removes "hold" when it is (usually long before the container starts), and the
  # plan too when it is not.
  i=0
  while [ -e "$plans/hold" ] && [ $i -lt 6000 ]; do
    sleep 0.005
    i=$((i + 1))
  done
  # The plan first: the container's tasks wait for nothing else. It runs once: it
  # writes next.started first, and devboot removes that file with each new plan.
  if [ -f "$plans/next.sh" ] && [ ! -e "$out/next.started" ]; then
    # shellcheck source=/dev/null # written by devboot
    (. "$plans/next.sh") >> "$out/plan.log" 2>&1 < /dev/null &
  fi
  # In place, not through a temporary file and `mv` (a fork beside the starting lanes):
  # devboot reads an empty file as "not known yet".
  current_boot > "$state/run/boot"
  ;;
plan)
  # shellcheck source=/dev/null # written by devboot
  (. "$1") < /dev/null
  ;;
start)
  dir=$(expand "$1")
  shift
  launch "$dir" "$@"
  ;;
wait)
  wait_lane "$(expand "$1")" "$2"
  ;;
initialized)
  # Whether a Gitpod task's init is done in this container: its marker names it.
  container_id
  file=$(expand "$1")
  [ -n "$cid" ] && [ "$(cat "$file" 2> /dev/null)" = "$cid" ]
  ;;
init-done)
  container_id
  file=$(expand "$1")
  mkdir -p "$(dirname "$file")" && printf '%s' "$cid" > "$file"
  ;;
mark)
  file=$(expand "$1") which=$2 state=$3
  i=0
  while [ ! -f "$state/stamps" ] && [ $i -lt 1200 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  { read -r created && read -r started; } < "$state/stamps" || exit 1
  if [ "$which" = created ]; then stamp=$created; else stamp=$started; fi
  mkdir -p "$(dirname "$file")" && printf '%s' "$stamp" > "$file"
  ;;
stop)
  dir=$(expand "$1")
  [ "$(cat "$dir/boot" 2> /dev/null)" = "$(current_boot)" ] || exit 0
  read -r pid _ < "$dir/pid" 2> /dev/null || exit 0
  for signal in TERM TERM TERM TERM KILL; do
    found=0
    for p in /proc/[0-9]*; do
      p=${p#/proc/}
      read_stat "$p" || continue
      if [ "$st_session" = "$pid" ] && [ "$st_state" != Z ]; then
        kill -s "$signal" "$p" 2> /dev/null
        found=1
      fi
    done
    [ $found = 0 ] && exit 0
    sleep 0.2
  done
  ;;
probe)
  probe_env "$1" "$2"
  ;;
probed)
  # `devboot exec` in devboot's container: the probe (once per start), then the command
  # with what it found under devboot's own variables (DEVBOOT_KEEP).
  probe_env "$1" "$2"
  file=$2
  shift 2
  # shellcheck source=/dev/null # written by probe_env
  . "$file" 2> /dev/null
  exec "$@"
  ;;
run)
  dir=$(expand "$1") mode=$2
  shift 2
  if [ "$mode" = ready ]; then DEVBOOT_LONG=1; fi
  # A container another tool made: the probe's file is under the user's ~/.devboot.
  if [ -n "${DEVBOOT_PROBE:-}" ]; then
    probe_file="${HOME:-/tmp}/.devboot/probe.sh"
    mkdir -p "${probe_file%/*}" && probe_env "$DEVBOOT_PROBE" "$probe_file"
    # shellcheck source=/dev/null # written just now
    . "$probe_file" 2> /dev/null
  fi
  launch "$dir" "$@"
  if tail --pid=$$ -s 0.01 -n 0 /dev/null > /dev/null 2>&1; then
    # GNU tail prints what is left once the watcher (and so the wait) ends.
    (while ! settled "$dir" "$mode"; do sleep 0.01; done) &
    tail -n +1 -s 0.01 -f --pid=$! "$dir/log"
  else
    while ! settled "$dir" "$mode"; do sleep 0.05; done
    cat "$dir/log"
  fi
  outcome "$dir" "$mode"
  ;;
status)
  root=$(expand "$1")
  shift
  now=$(current_boot)
  for d in "$root"/*/; do
    [ -f "$d/boot" ] || continue
    name=${d%/}
    name=${name##*/}
    boot=$(cat "$d/boot")
    code=$(cat "$d/exit" 2> /dev/null) || code=-
    phase=$(cat "$d/phase" 2> /dev/null) || phase=-
    current=0 alive=0 session=0 bg=0
    [ -f "$d/background" ] && bg=1
    # Pids of an earlier run of the container mean nothing now.
    if [ "$boot" = "$now" ]; then
      current=1
      if read -r pid pst < "$d/pid" 2> /dev/null; then
        read_stat "$pid" && [ "$st_start" = "$pst" ] && [ "$st_state" != Z ] && alive=1
        session_alive "$pid" && session=1
      fi
    fi
    printf 'lane\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$current" "$code" "$phase" "$alive" "$session" "$bg"
  done
  for f in "$@"; do
    path=$(expand "$f")
    [ -f "$path" ] && printf 'marker\t%s\t%s\n' "$f" "$(cat "$path")"
  done
  exit 0
  ;;
commit)
  while [ $# -ge 2 ]; do
    path=$(expand "$1")
    mkdir -p "$(dirname "$path")" && printf '%s' "$2" > "$path" || exit 1
    shift 2
  done
  ;;
*)
  echo "devboot runner: unknown verb $verb" >&2
  exit 2
  ;;
esac
