#!/usr/bin/env bash
# A second Docker engine on this machine that behaves like another machine, for the
# end-to-end tests of devboot with DOCKER_HOST=ssh://… and tcp://….
#
# Why not Docker-in-Docker: `--privileged` containers fail here. So this runs a second
# dockerd (Debian's docker.io, like scripts/engine.sh) on the host itself, in
#   - a network namespace of its own, `devboot-remote`: a veth link, dbremote0 =
#     10.213.7.1/30 here and eth0 = 10.213.7.2/30 there. Nothing else of this machine's
#     network is touched; the engine's own docker0 and iptables rules live in there.
#   - a mount namespace of its own (private propagation), where a fresh tmpfs covers
#     /work, /tmp, /root, /home and the repository (the tests' workspaces, devboot's
#     cache), so a bind mount of one of this machine's folders finds nothing there; /run
#     is a fresh tmpfs too, with only /run/devboot-remote shared, /var/lib/docker (the
#     host engine's state) is hidden, and /etc/docker is its own (another key.json: its
#     own engine ID). Not `ip netns exec`: it remounts /sys, which hides the cgroup
#     mounts dockerd needs.
#   - a UTS namespace of its own: its hostname (and so `docker info`'s Name) is
#     devboot-remote.
# Debian's sshd runs in the same namespaces, on 10.213.7.2:2222 with a key of its own,
# and there /run/docker.sock is this engine's socket, so `ssh root@10.213.7.2 docker …`
# (what `docker -H ssh://…` runs: `docker system dial-stdio`) reaches it. The engine also
# listens on tcp://10.213.7.2:2375 (plain TCP, for tests only) and on
# /run/devboot-remote/docker.sock, which this machine uses directly. A client snippet in
# /etc/ssh/ssh_config.d/ gives every `ssh` to 10.213.7.2 the port, user and test key.
# Remote containers have no way out of 10.213.7.0/30 (no NAT here): no apt in them.
#
# usage: scripts/remote-engine.sh start|stop|status|env
#   start   idempotent and locked (parallel tests may call it): starts the engine unless
#           it runs and answers, waits until it answers on its socket and over SSH, loads
#           devboot/python-flask:bookworm into it, prints what `env` prints (progress:
#           stderr)
#   stop    stops what start started, by pid, and removes the link, the namespace and the
#           SSH snippet. /var/lib/devboot-remote (its images, the keys) stays
#   status  exit 0 when it runs and answers, 1 otherwise
#   env     DEVBOOT_REMOTE_SSH / _TCP / _SOCK / _ADDR lines, for a shell or a test
#
# Pids are in /run/devboot-remote/{holder,dockerd,sshd}.pid (the holder is the shell that
# keeps the namespaces); to look around in there:
#   nsenter --target "$(cat /run/devboot-remote/holder.pid)" --net --mount
# Logs: $DEVBOOT_CACHE/remote-{engine,dockerd,sshd}.log.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

scripts="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
self="$scripts/$(basename "${BASH_SOURCE[0]}")"
repo="$(dirname "$scripts")"

ns=devboot-remote
host_if=dbremote0
ns_if=dbremote1 # renamed eth0 once it is in the namespace
host_ip=10.213.7.1
addr=10.213.7.2
ssh_port=2222
tcp_port=2375
run=/run/devboot-remote
lib=/var/lib/devboot-remote
data_root="$lib/docker"
ssh_dir="$lib/ssh"
sock="$run/docker.sock"
cgroup=/devboot-remote # the engine's --cgroup-parent
snippet=/etc/ssh/ssh_config.d/devboot-remote-test.conf
image="${DEVBOOT_BASE_IMAGE:-devboot/python-flask:bookworm}"
timeout="${DEVBOOT_REMOTE_TIMEOUT:-30}"
engine_log="$DEVBOOT_CACHE/remote-engine.log"
dockerd_log="$DEVBOOT_CACHE/remote-dockerd.log"
sshd_log="$DEVBOOT_CACHE/remote-sshd.log"
# What the remote machine must not see of this one. /var/lib/docker is handled apart.
hidden=(/work /tmp /root /home "$repo" "${TMPDIR:-/tmp}")

print_env() {
  printf '%s\n' "DEVBOOT_REMOTE_SSH=ssh://root@$addr:$ssh_port" \
    "DEVBOOT_REMOTE_TCP=tcp://$addr:$tcp_port" \
    "DEVBOOT_REMOTE_SOCK=unix://$sock" \
    "DEVBOOT_REMOTE_ADDR=$addr"
}

# --- what is running ---------------------------------------------------------------------

# The inode of our network namespace, empty when there is none.
ns_inode() { stat -L -c %i "/run/netns/$ns" 2>/dev/null || true; }

# Answers 0 when PID runs: it exists and is not a zombie (an exited child of ours, or an
# orphan PID 1 has not reaped yet).
alive() {
  local state
  [ -n "$1" ] && [ -d "/proc/$1" ] || return 1
  state="$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null)"
  [ -n "$state" ] && [ "$state" != Z ]
}

# Answers 0 when PID lives and is ours: in our network namespace, in the
# engine's cgroup (its containers), or, when the namespace is gone already, a process
# named $2. A pid file may outlive its process, and the number be someone else's by now.
ours() {
  local pid="$1" name="${2:-}" inode
  alive "$pid" || return 1
  grep -qs ":$cgroup/" "/proc/$pid/cgroup" && return 0
  inode="$(ns_inode)"
  if [ -n "$inode" ]; then
    [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "net:[$inode]" ]
  else
    [ -n "$name" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]
  fi
}

recorded() { local pid=; [ -s "$run/$1.pid" ] && read -r pid <"$run/$1.pid"; printf '%s\n' "$pid"; }

engine_answers() {
  timeout 10 docker -H "unix://$sock" info --format '{{.ID}}' >/dev/null 2>&1
}

# Over SSH, as `docker -H ssh://` goes: a plain `docker` there must be this engine (its
# data root), not the host's.
ssh_answers() {
  local root
  root="$(timeout 15 ssh -o BatchMode=yes -o ConnectTimeout=5 "root@$addr" \
    docker info --format '{{.DockerRootDir}}' 2>/dev/null)" || return 1
  [ "$root" = "$data_root" ]
}

running() {
  ours "$(recorded holder)" && [ -S "$sock" ] && [ -f "$snippet" ] && engine_answers && ssh_answers
}

# --- stop ----------------------------------------------------------------------------------

# TERM, then after $2 seconds KILL, a process of ours; returns once it is gone.
end_pid() {
  local pid="$1" grace="${2:-10}" name="${3:-}" i
  ours "$pid" "$name" || return 0
  kill "$pid" 2>/dev/null || return 0
  for ((i = 0; i < grace * 10; i++)); do
    ours "$pid" "$name" || return 0
    sleep 0.1
  done
  note "pid $pid ($(cat "/proc/$pid/comm" 2>/dev/null)) ignored TERM for ${grace}s, killing it"
  kill -9 "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do ours "$pid" "$name" || return 0; sleep 0.1; done
}

# Whatever still runs in our namespace (containerd, shims, ssh sessions) or in the
# engine's cgroup (containers): all started by this engine.
leftover_pids() {
  local inode f
  inode="$(ns_inode)"
  [ -z "$inode" ] || ip netns pids "$ns" 2>/dev/null || true
  for f in /sys/fs/cgroup/*"$cgroup" /sys/fs/cgroup"$cgroup"; do
    [ -d "$f" ] && find "$f" -name cgroup.procs -exec cat {} + 2>/dev/null
  done
  return 0
}

stop() {
  local ids pid
  if [ -S "$sock" ] && engine_answers; then
    ids="$(timeout 20 docker -H "unix://$sock" ps -q 2>/dev/null || true)"
    if [ -n "$ids" ]; then
      note "killing the remote engine's $(wc -w <<<"$ids") running container(s)"
      # shellcheck disable=SC2086 # one id per word
      timeout 30 docker -H "unix://$sock" kill $ids >/dev/null 2>&1 || true
    fi
  fi
  end_pid "$(recorded sshd)" 5 sshd
  # dockerd stops its containerd and cleans up its mounts: give it time.
  end_pid "$(recorded dockerd)" 20 dockerd
  end_pid "$(recorded holder)" 5 bash
  for pid in $(leftover_pids | sort -un); do
    end_pid "$pid" 5
  done
  if [ -e "/sys/class/net/$host_if" ]; then ip link del "$host_if" 2>/dev/null || true; fi
  if [ -n "$(ns_inode)" ] || [ -e "/run/netns/$ns" ]; then ip netns del "$ns" 2>/dev/null || true; fi
  rm -f "$snippet" "$sock" "$run"/{holder,dockerd,sshd,docker}.pid
}

# --- start ---------------------------------------------------------------------------------

# Debian's openssh-server starts a host-wide sshd on port 22 when installed; that must not
# happen here. invoke-rc.d asks /usr/sbin/policy-rc.d first, and 101 means "do not".
install_sshd() {
  [ -x /usr/sbin/sshd ] && return 0
  local policy=/usr/sbin/policy-rc.d rc=0 pid before
  step "remote engine: installing openssh-server (its service is kept from starting)"
  before=" $(sshd_pids | tr '\n' ' ') "
  if [ -e "$policy" ]; then
    "$policy" ssh start >/dev/null 2>&1 || rc=$?
  fi
  if [ "$rc" -ne 101 ]; then
    [ ! -e "$policy" ] || mv "$policy" "$policy.devboot-remote"
    printf '%s\n' '#!/bin/sh' '# scripts/remote-engine.sh: no service starts while it installs openssh-server' \
      'exit 101' >"$policy"
    chmod 0755 "$policy"
    # shellcheck disable=SC2064 # the path is fixed
    trap "rm -f $policy; [ ! -e $policy.devboot-remote ] || mv $policy.devboot-remote $policy" EXIT
  fi
  apt_install openssh-server openssh-client
  if [ "$rc" -ne 101 ]; then
    rm -f "$policy"
    [ ! -e "$policy.devboot-remote" ] || mv "$policy.devboot-remote" "$policy"
    trap - EXIT
  fi
  # Check: an sshd that came with the install (not ours, not there before) is stopped.
  for pid in $(sshd_pids); do
    case "$before" in *" $pid "*) continue ;; esac
    ours "$pid" && continue
    note "the openssh-server install started sshd (pid $pid) anyway: stopping it"
    kill "$pid" 2>/dev/null || true
  done
}

sshd_pids() {
  local f
  for f in /proc/[0-9]*/comm; do
    [ "$(cat "$f" 2>/dev/null)" = sshd ] && { f="${f#/proc/}"; printf '%s\n' "${f%/comm}"; }
  done
  return 0
}

ensure_tools() {
  # The host engine: the image is copied from it.
  docker info >/dev/null 2>&1 || "$scripts/engine.sh"
  find_bin dockerd >/dev/null || die "no dockerd binary" "run scripts/engine.sh first"
  find_bin ip >/dev/null || apt_install iproute2
  if ! { command -v nsenter && command -v unshare; } >/dev/null; then apt_install util-linux; fi
  if ! { command -v ssh && command -v ssh-keygen; } >/dev/null; then apt_install openssh-client; fi
  install_sshd
  grep -qsE '^[[:space:]]*Include[[:space:]]+/etc/ssh/ssh_config\.d/\*\.conf' /etc/ssh/ssh_config ||
    die "/etc/ssh/ssh_config does not include /etc/ssh/ssh_config.d/*.conf" \
      "ssh (and docker -H ssh://) would not find the test key; add that Include line"
  local dir
  for dir in "${hidden[@]}"; do
    case "$data_root/" in
      "${dir%/}"/*) die "the remote engine's data root $data_root is under $dir," \
        "which its mount namespace hides" ;;
    esac
  done
}

# The test client key (made once, no passphrase), the server's host key, its config.
ssh_files() {
  install -d -m 0700 "$ssh_dir"
  [ -s "$ssh_dir/id_ed25519" ] ||
    ssh-keygen -q -t ed25519 -N '' -C devboot-remote-test -f "$ssh_dir/id_ed25519"
  [ -s "$ssh_dir/host_ed25519" ] ||
    ssh-keygen -q -t ed25519 -N '' -C devboot-remote-host -f "$ssh_dir/host_ed25519"
  cp "$ssh_dir/id_ed25519.pub" "$ssh_dir/authorized_keys"
  cat >"$ssh_dir/sshd_config" <<EOF
# Written by scripts/remote-engine.sh on each start: the remote machine's sshd.
ListenAddress $addr:$ssh_port
HostKey $ssh_dir/host_ed25519
PidFile $run/sshd.pid
AuthorizedKeysFile $ssh_dir/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
# No PAM: nothing of this machine's login setup (pam_loginuid, limits) gets in the way.
UsePAM no
# The key files live in /var/lib/devboot-remote, not in a home folder with strict modes.
StrictModes no
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
AllowAgentForwarding yes
X11Forwarding no
PrintMotd no
PrintLastLog no
# docker -H ssh:// opens one SSH connection per API connection, and tests run in parallel.
MaxStartups 100
MaxSessions 100
Subsystem sftp internal-sftp
EOF
  mkdir -p "$(dirname "$snippet")"
  cat >"$snippet.tmp" <<EOF
# Written by scripts/remote-engine.sh (devboot's tests), removed by its stop: the test
# engine's sshd, in a network namespace of this machine. The host key changes with
# /var/lib/devboot-remote, hence no known_hosts.
Host $addr
  User root
  Port $ssh_port
  IdentityFile $ssh_dir/id_ed25519
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
EOF
  chmod 0644 "$snippet.tmp"
  mv "$snippet.tmp" "$snippet"
}

network() {
  if ip -4 route show "${host_ip%.*}.0/30" | grep -qv "dev $host_if"; then
    die "10.213.7.0/30 is already routed on this machine: $(ip -4 route show "${host_ip%.*}.0/30")" \
      "the remote engine needs that subnet for itself"
  fi
  ip netns add "$ns"
  ip link add "$host_if" type veth peer name "$ns_if" netns "$ns"
  ip addr add "$host_ip/30" dev "$host_if"
  ip link set "$host_if" up
  ip -n "$ns" link set "$ns_if" name eth0
  ip -n "$ns" addr add "$addr/30" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
}

# The engine has the host's image, or gets it (saved here, loaded there: no registry).
sync_image() {
  local want have
  have="$(docker -H "unix://$sock" image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
  want="$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
  if [ -z "$want" ]; then
    [ -z "$have" ] || return 0
    "$scripts/base-image.sh"
    want="$(docker image inspect --format '{{.Id}}' "$image")"
  fi
  [ "$have" != "$want" ] || return 0
  step "remote engine: loading $image into it"
  local started
  started="$(ms_now)"
  docker save "$image" | docker -H "unix://$sock" load >/dev/null ||
    die "could not load $image into the remote engine"
  note "loaded in $(elapsed_since "$started")"
}

fail_start() {
  tail_log "$engine_log" 10
  tail_log "$dockerd_log" 20
  tail_log "$sshd_log" 10
  stop
  die "$@"
}

start() {
  if running; then
    sync_image
    print_env
    return 0
  fi
  ensure_tools
  # Whatever is left of an earlier run (a crash, a reboot's stale pid files) goes first.
  stop
  mkdir -p "$run" "$data_root" "$DEVBOOT_CACHE"
  ssh_files
  network
  local started stamp holder deadline
  started="$(ms_now)"
  stamp="--- $(date -u +%FT%TZ): started by scripts/remote-engine.sh"
  printf '\n%s\n' "$stamp" | tee -a "$dockerd_log" "$sshd_log" >>"$engine_log"
  step "remote engine: dockerd and sshd at $addr in their own namespaces (logs: $DEVBOOT_CACHE/remote-*.log)"
  # setsid: its own session, so it outlives this script. The logs are opened here: in
  # there, /root (where $DEVBOOT_CACHE usually is) is hidden. Not the lock (fd 9): the
  # holder lives on, and the next start must get the lock.
  setsid nsenter --net="/run/netns/$ns" -- unshare --mount --uts --propagation private -- \
    "$self" __inside 3>>"$dockerd_log" 4>>"$sshd_log" >>"$engine_log" 2>&1 </dev/null 9>&- &
  holder=$!
  # setsid, nsenter and unshare exec (none forks here), so $! is the holder itself.
  printf '%s\n' "$holder" >"$run/holder.pid"
  deadline=$((SECONDS + timeout))
  until running; do
    alive "$holder" || fail_start "the remote engine's namespace holder exited during start-up"
    ((SECONDS < deadline)) ||
      fail_start "the remote engine did not answer on $sock and over SSH within ${timeout}s"
    sleep 0.2
  done
  note "remote engine ready after $(elapsed_since "$started") (dockerd $(docker -H "unix://$sock" \
    version --format '{{.Server.Version}}' 2>/dev/null), ssh://root@$addr:$ssh_port, tcp://$addr:$tcp_port)"
  sync_image
  print_env
}

# --- inside the namespaces -----------------------------------------------------------------

# Detaches every mount at or below $1 in this mount namespace, deepest first (so this
# namespace keeps none of the host's mounts there alive).
detach_under() {
  local dir="${1%/}" mnt
  awk -v d="$dir" '{ m = $5; gsub(/\\040/, " ", m) } m == d || index(m, d "/") == 1 { print m }' \
    /proc/self/mountinfo | sort -r | while IFS= read -r mnt; do
    umount -l "$mnt" 2>/dev/null || true
  done
}

# Runs as the namespace holder: in the new network namespace, in a new mount namespace
# with private propagation (nothing done here reaches this machine's mounts).
# fd 3: dockerd's log, fd 4: sshd's log; stdout/stderr: the engine log.
inside() {
  local dir dockerd mode seen=" " i fd
  # Only the logs stay open: a descriptor this script inherited (a caller's pipe, a lock)
  # must not be held open for days by the holder, dockerd or sshd. 255: bash's script.
  for fd in "/proc/$$/fd/"*; do
    fd="${fd##*/}"
    case "$fd" in 0 | 1 | 2 | 3 | 4 | 255) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac
  done
  dockerd="$(find_bin dockerd)"
  # shellcheck disable=SC2016 # expanded when it fires
  trap 'echo "holder $$: failed (line $LINENO): $BASH_COMMAND"' ERR
  printf '%s\n' "$$" >"$run/holder.pid"
  hostname devboot-remote
  echo "holder $$: hiding ${hidden[*]} and /var/lib/docker; own /etc/docker, a fresh /run"
  for dir in "${hidden[@]}" /var/lib/docker; do
    # Once each, and not what an earlier tmpfs hid already (a folder inside it).
    case "$seen" in *" $dir "*) continue ;; esac
    seen+="$dir "
    [ -d "$dir" ] || continue
    case "$dir" in /tmp | "${TMPDIR:-/tmp}") mode=1777 ;; /root) mode=0700 ;; *) mode=0755 ;; esac
    detach_under "$dir"
    mount -t tmpfs -o "mode=$mode" devboot-remote-hidden "$dir"
  done
  # Its own daemon settings and key.json (the engine ID, made by dockerd on first start).
  mkdir -p "$lib/etc-docker" /etc/docker
  mount --bind "$lib/etc-docker" /etc/docker
  # A /run of its own: this machine's /run/docker.sock, containerd and sshd state are not
  # the remote machine's. Only /run/devboot-remote (socket, pids) is shared with the host.
  # Built aside and moved over /run, since the bind must come from the old /run.
  local fresh="$lib/run-mnt"
  mkdir -p "$fresh"
  mount -t tmpfs -o mode=0755 devboot-remote-run "$fresh"
  mkdir -p "$fresh/devboot-remote" "$fresh/sshd" "$fresh/lock"
  mount --bind "$run" "$fresh/devboot-remote"
  detach_under /run
  mount -n --move "$fresh" /run # -n: the old /run/mount/utab is gone
  # A plain `docker` in there (an SSH session's `docker system dial-stdio`) finds this
  # engine where any machine's engine is.
  ln -s devboot-remote/docker.sock /run/docker.sock

  "$dockerd" --data-root "$data_root" --exec-root "$run/exec" --pidfile "$run/docker.pid" \
    -H "unix://$sock" -H "tcp://$addr:$tcp_port" --tls=false \
    --cgroup-parent "$cgroup" >&3 2>&3 3>&- 4>&- </dev/null &
  printf '%s\n' "$!" >"$run/dockerd.pid"
  echo "holder $$: dockerd is pid $!"
  # --tls=false: plain TCP on purpose (tests only, on a link nothing else reaches); saying
  # so spares the 15 s start-up delay dockerd adds to an unauthenticated TCP listener.

  /usr/sbin/sshd -D -e -f "$ssh_dir/sshd_config" >&4 2>&4 3>&- 4>&- </dev/null &
  printf '%s\n' "$!" >"$run/sshd.pid"
  echo "holder $$: sshd is pid $!"
  exec 3>&- 4>&-

  # Hold the namespaces until stop; as their parent, this shell also reaps dockerd and sshd.
  sleep infinity &
  i=$!
  # shellcheck disable=SC2064 # the pid is known now
  trap "kill $i 2>/dev/null; exit 0" TERM INT HUP
  wait "$i" || true
}

# --- main ----------------------------------------------------------------------------------

case "${1:-}" in
  env)
    print_env
    exit 0
    ;;
  start | stop | status | __inside) ;;
  -h | --help)
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
    exit 0
    ;;
  *) die "unknown argument '${1:-}'" "usage: $0 start|stop|status|env" ;;
esac

# Namespaces, mounts and the host's ssh config need root.
if ! is_root; then
  command -v sudo >/dev/null 2>&1 || die "$0 $1 needs root, and this is neither root nor has sudo"
  exec sudo --preserve-env=DEVBOOT_CACHE,DEVBOOT_BASE_IMAGE,DEVBOOT_REMOTE_TIMEOUT -- "$self" "$@"
fi

case "$1" in
  __inside) inside ;;
  status)
    if running; then
      note "remote engine: running (ssh://root@$addr:$ssh_port, tcp://$addr:$tcp_port, unix://$sock)"
    else
      note "remote engine: not running or not answering"
      exit 1
    fi
    ;;
  start | stop)
    mkdir -p "$run"
    # One start or stop at a time: parallel test processes call start.
    exec 9>"$run/lock"
    if ! flock -n 9; then
      step "remote engine: waiting for another scripts/remote-engine.sh run"
      flock -w 300 9 || die "another scripts/remote-engine.sh has held $run/lock for 5 minutes"
    fi
    if [ "$1" = start ]; then start; else
      step "remote engine: stopping"
      stop
    fi
    ;;
esac
