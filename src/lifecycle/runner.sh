# devboot's in-container runner (POSIX sh). It is embedded in the devboot binary and given
# to `sh -c` on each `docker exec`, so nothing is installed in the container.
#
#   run DIR MODE START ARGV...  start ARGV detached (its own session, output to DIR/log),
#                               stream the log until ARGV exits (MODE=exit) or reaches its
#                               long-running phase (MODE=ready: it touched DIR/ready), and
#                               exit with its exit code (0 when still running in MODE=ready)
#   status ROOT START MARKER... one line per lane under ROOT, then one per marker file;
#                               START is the container's current start time: processes of
#                               lanes launched in an earlier run of the container are gone
#   stop DIR START              end every process of a lane's session (TERM, then KILL)
#   commit FILE TEXT...         write run-once markers (after the hooks succeeded)
#
# Paths that start with "~/" are under the user's home.
#
# Lane state in DIR: pid ("PID STARTTIME" of the session leader), start (the container's
# start time when the lane was launched), phase, ready, exit (exit code, once it ended),
# background (it left processes running in its session, e.g. a server started with `&`), log.
set -u
st_state='' st_session='' st_start=''

# Sets st_state, st_session and st_start from /proc/PID/stat, without forking.
read_stat() {
  { read -r st_line < "/proc/$1/stat"; } 2>/dev/null || return 1
  # Fields after the ")" closing the command name: state ppid pgrp session ... starttime (20th).
  # shellcheck disable=SC2086
  set -- ${st_line##*) }
  st_state=$1 st_session=$4
  eval "st_start=\${20:-}"
}

# Is any live (non-zombie) process in session $1?
session_alive() {
  for p in /proc/[0-9]*; do
    read_stat "${p#/proc/}" || continue
    [ "$st_session" = "$1" ] && [ "$st_state" != Z ] && return 0
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

verb=$1
shift
case $verb in
run)
  dir=$(expand "$1") mode=$2 start=$3
  shift 3
  # "@shell" is the best shell the image has: Gitpod tasks are written for bash.
  if [ "${1:-}" = @shell ]; then
    shift
    if command -v bash > /dev/null 2>&1; then set -- bash "$@"; else set -- sh "$@"; fi
  fi
  mkdir -p "$dir" || exit 125
  rm -f "$dir/exit" "$dir/ready" "$dir/background" "$dir/phase" "$dir/pid"
  printf '%s' "$start" > "$dir/start"
  : > "$dir/log"
  DEVBOOT_LANE_DIR=$dir
  export DEVBOOT_LANE_DIR
  # The lane runs in its own session so that whatever it starts can be found (and survives
  # this exec); the wrapper records its pid, then its exit code and leftovers.
  # shellcheck disable=SC2016
  setsid sh -c '
    dir=$1; shift
    read_stat() {
      { read -r st_line < "/proc/$1/stat"; } 2>/dev/null || return 1
      set -- ${st_line##*) }
      st_state=$1 st_session=$4
      eval "st_start=\${20:-}"
    }
    read_stat $$ && printf "%s %s\n" $$ "$st_start" > "$dir/pid.tmp" && mv "$dir/pid.tmp" "$dir/pid"
    "$@"
    code=$?
    for p in /proc/[0-9]*; do
      p=${p#/proc/}
      [ "$p" = $$ ] && continue
      read_stat "$p" || continue
      if [ "$st_session" = $$ ] && [ "$st_state" != Z ]; then : > "$dir/background"; break; fi
    done
    printf "%s" "$code" > "$dir/exit.tmp" && mv "$dir/exit.tmp" "$dir/exit"
  ' devboot-lane "$dir" "$@" > "$dir/log" 2>&1 < /dev/null &
  i=0
  while [ ! -f "$dir/pid" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
  read -r pid _ < "$dir/pid" || pid=0
  finished() {
    [ -f "$dir/exit" ] && return 0
    [ "$mode" = ready ] && [ -f "$dir/ready" ] && return 0
    kill -0 "$pid" 2>/dev/null || return 0
    return 1
  }
  if tail --pid=$$ -s 0.05 -n 0 /dev/null > /dev/null 2>&1; then
    # GNU tail prints what is left once the watcher (and so the wait) ends.
    (while ! finished; do sleep 0.05; done) &
    tail -n +1 -s 0.05 -f --pid=$! "$dir/log"
  else
    while ! finished; do sleep 0.1; done
    cat "$dir/log"
  fi
  # A lane that just ended may still be writing its exit code.
  i=0
  while [ ! -f "$dir/exit" ] && [ ! -f "$dir/ready" ] && [ $i -lt 50 ]; do
    sleep 0.02
    i=$((i + 1))
  done
  if [ -f "$dir/exit" ]; then exit "$(cat "$dir/exit")"; fi
  if [ "$mode" = ready ] && [ -f "$dir/ready" ]; then exit 0; fi
  # Gone without recording an exit code: it was killed.
  exit 137
  ;;
status)
  root=$(expand "$1") now=$2
  shift 2
  for d in "$root"/*/; do
    [ -f "$d/start" ] || continue
    name=${d%/}
    name=${name##*/}
    start=$(cat "$d/start")
    code=$(cat "$d/exit" 2> /dev/null) || code=-
    phase=$(cat "$d/phase" 2> /dev/null) || phase=-
    alive=0 session=0 bg=0
    [ -f "$d/background" ] && bg=1
    # Pids of an earlier run of the container mean nothing now.
    if [ "$start" = "$now" ] && read -r pid pst < "$d/pid" 2> /dev/null; then
      read_stat "$pid" && [ "$st_start" = "$pst" ] && [ "$st_state" != Z ] && alive=1
      session_alive "$pid" && session=1
    fi
    printf 'lane\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$start" "$code" "$phase" "$alive" "$session" "$bg"
  done
  for f in "$@"; do
    path=$(expand "$f")
    [ -f "$path" ] && printf 'marker\t%s\t%s\n' "$f" "$(cat "$path")"
  done
  exit 0
  ;;
stop)
  dir=$(expand "$1") now=$2
  [ "$(cat "$dir/start" 2> /dev/null)" = "$now" ] || exit 0
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
