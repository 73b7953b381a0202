#!/usr/bin/env python3
"""The timer behind bench/run.sh: runs contenders interleaved per round, times
each whole process, prints one table per target and writes the target's
results as a JSON file. Only the standard library, so it runs anywhere
python3 does.

    measure.py procs  --id ID --title T --out F --case NAME CMD ... [checks]
    measure.py up     --id ID --title T --out F --case NAME CMD --prep NAME SH
                      --url NAME URL ... [checks]
    measure.py calls  --shim-dir DIR --engine PATH CMD
    measure.py steps  --fragment F --logs DIR [--column NAME LABEL ...]
    measure.py profile --data PERF.data --fragment F --case NAME --group LABEL PREFIXES ... CMD
    measure.py report --out F [--strict] --meta K V ... FRAGMENT.json ...

`procs`: a round runs every case once, in the order given (A B C, A B C, ...),
so drift of the machine hits all of them alike; with --rotate each round
starts one case later (A B C, B C A, C A B). Time = spawn to exit.

`up`: before each case the untimed `--prep` shell command runs (removing the
container), then the case's command runs and, once it has returned, the URL
is polled (a new GET every --poll-ms; see run_up), the same way for every
case. A sample is "ready": the first 200, the moment a script after `up`
can go on. When the command returned is kept too. With --stamp-output each
line of the command's output goes into its log with the ms it arrived at;
`steps` then splits those logs into phases (before the build, each build
step, after it).

`--count-lines KEY FILE REGEX` (procs and up): the lines of FILE matching
REGEX are counted before and after each run (untimed); the difference is a
per-case column KEY (e.g. requests in a registry's access log).

Checks decide PASS/FAIL on medians:
  --max-ms CASE MS           median(CASE) < MS
  --max-ratio NUM DEN R      median(NUM) / median(DEN) <= R
  --max-captured CASE N      every number captured from CASE's stderr <= N
  --max-extra CASE KEY LIMIT every sample of a column (peak MB, a count) < LIMIT
--ratio and --diff only print median(NUM) / median(DEN) and median(NUM) -
median(DEN).
A case named with --optional may fail (its rows are skipped with the reason);
a required one that fails makes the target ERROR (could not measure).
"""

import argparse
import http.client
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import threading
import time


def stats(samples):
    if not samples:
        return None
    return {
        "median_ms": round(statistics.median(samples), 3),
        "min_ms": round(min(samples), 3),
        "max_ms": round(max(samples), 3),
        "n": len(samples),
        "samples_ms": [round(s, 3) for s in samples],
    }


class CaseFailed(Exception):
    pass


def tail(text, lines=8):
    rows = text.strip().splitlines()[-lines:]
    return "\n".join("  | " + r for r in rows)


def run_timed(argv):
    """Spawn to exit, in ms; stdout is discarded, stderr kept (for errors and
    captures). Every case gets the same pipes, so the same overhead."""
    t0 = time.perf_counter_ns()
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, err = proc.communicate()
    elapsed = (time.perf_counter_ns() - t0) / 1e6
    return elapsed, proc.returncode, err.decode("utf-8", "replace")


# The last lines of a stamped log (see run_up).
RETURNED = "[measure.py: the command returned]"
READY = "[measure.py: the first HTTP 200]"


def http_200(host, port, path, timeout=1.0):
    try:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        conn.close()
        return response.status == 200
    except (OSError, http.client.HTTPException):
        return False


def stamp(log, t0, text):
    log.write(f"{(time.perf_counter_ns() - t0) / 1e6:10.1f} | ".encode() + text)


def run_up(argv, url, log_path, poll_ms, timeout_s, attempt_s=0.25, stamped=False):
    """Runs argv, then polls url until it answers 200: the moment a script
    that runs `up` and then waits for the backend could go on. Returns
    (ready, returned) in ms from the start.

    Polling starts only when the command has returned, for every contender:
    probing a port while its container is still being started disturbs the
    start (docker's userland proxy accepts, its connection into the not yet
    wired container hangs until a SYN retry, about 1 s, and later ones can
    wait for the neighbour entry too); measured here, that moved the first
    200 of a raw `docker run` by up to half a second. A new GET starts every
    poll_ms in its own thread, each giving up after attempt_s, so one slow
    request never holds up the next.

    stamped: the output comes through a pipe, each line written to the log
    with the ms it arrived at, and the moments the command returned and the
    first 200 came are written last (what `steps` reads). A thread reads the
    pipe; for a command that runs for seconds that costs nothing measurable."""
    parsed = http.client.urlsplit(url)
    host, port = parsed.hostname, parsed.port or 80
    path = (parsed.path or "/") + ("?" + parsed.query if parsed.query else "")
    lock = threading.Lock()
    first_200 = []
    with open(log_path, "wb") as log:
        t0 = time.perf_counter_ns()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE if stamped else log, stderr=subprocess.STDOUT)
        pump = None
        if stamped:
            def copy_lines():
                try:
                    for line in proc.stdout:
                        stamp(log, t0, line)
                except ValueError:  # the log was closed: the command left something behind
                    pass

            pump = threading.Thread(target=copy_lines, daemon=True)
            pump.start()
        # A blocking wait, with a timer for the timeout: Popen.wait(timeout=...) polls
        # with sleeps that grow to 50 ms, which would see a command end up to 50 ms late.
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            proc.kill()

        watchdog = threading.Timer(timeout_s, kill)
        watchdog.start()
        proc.wait()
        watchdog.cancel()
        returned = (time.perf_counter_ns() - t0) / 1e6
        if pump:
            # Something the command left running may hold the pipe open: never wait long.
            pump.join(timeout=5)
            log.write(f"{returned:10.1f} | {RETURNED}\n".encode())
        if timed_out.is_set():
            raise CaseFailed(f"the command did not return within {timeout_s}s")
        if proc.returncode != 0:
            raise CaseFailed(f"exit code {proc.returncode}")

    def attempt():
        if http_200(host, port, path, timeout=attempt_s):
            done = (time.perf_counter_ns() - t0) / 1e6
            with lock:
                first_200.append(done)

    deadline = time.perf_counter_ns() + timeout_s * 1e9
    while True:
        with lock:
            if first_200:
                break
        if time.perf_counter_ns() > deadline:
            raise CaseFailed(f"no HTTP 200 from {url} within {timeout_s}s after the command returned")
        if threading.active_count() < 64:
            threading.Thread(target=attempt, daemon=True).start()
        time.sleep(poll_ms / 1000)
    if stamped:
        with open(log_path, "ab") as log:
            log.write(f"{min(first_200):10.1f} | {READY}\n".encode())
    return min(first_200), returned


def fmt(value, width=9):
    if value is None:
        return " " * (width - 1) + "-"
    if value >= 100:
        return f"{value:{width}.0f}"
    return f"{value:{width}.1f}"


def evaluate(args, cases, errors):
    """The target's checks on the medians; returns (verdict, lines, ratios)."""
    def median(name):
        c = cases.get(name)
        return c["median_ms"] if c and c.get("median_ms") is not None else None

    lines, ratios, verdict = [], [], "PASS"
    for num, den, label in args.ratio or []:
        a, b = median(num), median(den)
        value = round(a / b, 3) if a is not None and b else None
        ratios.append({"label": label, "num": num, "den": den, "ratio": value})
    for num, den, label in args.diff or []:
        a, b = median(num), median(den)
        value = round(a - b, 3) if a is not None and b is not None else None
        ratios.append({"label": label, "num": num, "den": den, "difference_ms": value})
    for name, limit in args.max_ms or []:
        m = median(name)
        if m is None:
            verdict = "ERROR"
            lines.append(f"{name}: median < {limit} ms: not measured")
            continue
        ok = m < float(limit)
        verdict = verdict if ok else ("FAIL" if verdict != "ERROR" else verdict)
        lines.append(f"{name}: median {m:.1f} ms < {limit} ms: {'PASS' if ok else 'FAIL'}")
    for num, den, limit in args.max_ratio or []:
        a, b = median(num), median(den)
        if a is None or not b:
            verdict = "ERROR"
            lines.append(f"{num} / {den} <= {limit}x: not measured")
            continue
        ok = a / b <= float(limit)
        verdict = verdict if ok else ("FAIL" if verdict != "ERROR" else verdict)
        lines.append(
            f"{num} / {den} = {a / b:.3f}x <= {limit}x: {'PASS' if ok else 'FAIL'}"
        )
    for name, limit in args.max_captured or []:
        got = (cases.get(name) or {}).get("captured") or []
        if not got:
            verdict = "ERROR"
            lines.append(f"{name}: engine calls <= {limit}: not captured")
            continue
        ok = max(got) <= int(limit)
        verdict = verdict if ok else ("FAIL" if verdict != "ERROR" else verdict)
        lines.append(
            f"{name}: engine calls {min(got)}..{max(got)} <= {limit}: {'PASS' if ok else 'FAIL'}"
        )
    for name, key, limit in args.max_extra or []:
        c = cases.get(name) or {}
        samples = c.get(key + "_samples") or []
        if not samples:
            verdict = "ERROR"
            lines.append(f"{name}: {key} < {limit}: not measured")
            continue
        worst = max(samples)
        ok = worst < float(limit)
        verdict = verdict if ok else ("FAIL" if verdict != "ERROR" else verdict)
        lines.append(f"{name}: {key} at most {worst:.1f} < {limit}: {'PASS' if ok else 'FAIL'}")
    if errors and verdict != "ERROR":
        verdict = "ERROR"
    return verdict, lines, ratios


def print_table(title, rounds, cases, ratios, checks, verdict, notes, extra_cols=()):
    print(f"\n== {title}  ({rounds} rounds, interleaved)")
    header = f"  {'case':<44}{'median':>9}{'min':>9}{'max':>9}"
    for col, _ in extra_cols:
        header += f"{col:>11}"
    print(header + "   (ms)")
    for name, c in cases.items():
        if c.get("skipped"):
            print(f"  {name:<44}  skipped: {c['skipped']}")
            continue
        row = f"  {name:<44}{fmt(c['median_ms'])}{fmt(c['min_ms'])}{fmt(c['max_ms'])}"
        for _, key in extra_cols:
            row += fmt(c.get(key), 11)
        if c.get("captured"):
            got = c["captured"]
            row += f"   engine calls {min(got)}" + (f"..{max(got)}" if max(got) != min(got) else "")
        print(row)
    for r in ratios:
        if "difference_ms" in r:
            value = "-" if r["difference_ms"] is None else f"{r['difference_ms']:.1f} ms"
            print(f"  diff  {r['label']:<38}{value:>9}")
            continue
        value = "-" if r["ratio"] is None else f"{r['ratio']:.3f}x"
        print(f"  ratio {r['label']:<38}{value:>9}")
    for note in notes:
        print(f"  note: {note}")
    for line in checks:
        print(f"  target {line}")
    print(f"  => {verdict}")


def common_args(p):
    p.add_argument("--id", required=True)
    p.add_argument("--title", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--case", nargs=2, action="append", metavar=("NAME", "CMD"), required=True)
    p.add_argument("--optional", action="append", default=[], metavar="NAME")
    p.add_argument("--skip", nargs=2, action="append", default=[], metavar=("NAME", "WHY"),
                   help="a case that is listed but not run, with the reason")
    p.add_argument("--ok-exit", nargs=2, action="append", default=[], metavar=("NAME", "CODES"))
    p.add_argument("--capture", nargs=2, action="append", default=[], metavar=("NAME", "REGEX"))
    p.add_argument("--note", action="append", default=[])
    p.add_argument("--ratio", nargs=3, action="append", metavar=("NUM", "DEN", "LABEL"))
    p.add_argument("--diff", nargs=3, action="append", metavar=("NUM", "DEN", "LABEL"),
                   help="median(NUM) - median(DEN), shown like a ratio")
    p.add_argument("--max-ms", nargs=2, action="append", metavar=("CASE", "MS"))
    p.add_argument("--max-ratio", nargs=3, action="append", metavar=("NUM", "DEN", "R"))
    p.add_argument("--max-captured", nargs=2, action="append", metavar=("CASE", "N"))
    p.add_argument("--max-extra", nargs=3, action="append", metavar=("CASE", "KEY", "LIMIT"),
                   help="every sample of a measured extra (e.g. peak_rss_mb) under LIMIT")
    p.add_argument("--count-lines", nargs=3, action="append", default=[],
                   metavar=("KEY", "FILE", "REGEX"),
                   help="a column KEY: lines of FILE matching REGEX added during each run")
    p.add_argument("--rotate", action="store_true",
                   help="round r runs the cases from the r-th on (A B C, B C A, ...)")
    p.add_argument("--info", action="append", default=[], metavar="NAME",
                   help="a case shown for context (a floor, one engine call), never checked")


def count_lines(path, regex):
    """Lines of the file at path that match regex (0 when it is not there)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return sum(1 for line in f if regex.search(line))
    except FileNotFoundError:
        return 0


def measure(args, run_one, extra_keys=()):
    """The round loop shared by `procs` and `up`: every live case once per round,
    in order; warm-up rounds are run and dropped."""
    names = [name for name, _ in args.case]
    argv = {name: shlex.split(cmd) for name, cmd in args.case}
    skipped = dict(args.skip)
    ok_exit = {name: {int(c) for c in codes.split(",")} for name, codes in args.ok_exit}
    capture = {name: re.compile(rx) for name, rx in args.capture}
    counters = [(key, path, re.compile(rx)) for key, path, rx in args.count_lines]
    extra_keys = tuple(extra_keys) + tuple(key for key, _, _ in counters)
    samples = {n: [] for n in names}
    extra = {n: {k: [] for k in extra_keys} for n in names}
    captured = {n: [] for n in names}
    errors = []
    for rnd in range(args.warmup + args.rounds):
        # --rotate: round r starts with case r (mod n), so no case is always first after
        # the same neighbour (for long cases that share a drifting resource: a network).
        shift = rnd % len(names) if args.rotate else 0
        for name in names[shift:] + names[:shift]:
            if name in skipped:
                continue
            try:
                before = [count_lines(path, rx) for _, path, rx in counters]
                value, more, stderr = run_one(name, argv[name], rnd, ok_exit.get(name, {0}))
                for (key, path, rx), was in zip(counters, before):
                    more = dict(more, **{key: count_lines(path, rx) - was})
            except CaseFailed as failure:
                reason = str(failure)
                if name in args.optional:
                    skipped[name] = f"failed in round {rnd + 1}: {reason.splitlines()[0]}"
                    print(f"  [{args.id}] {name}: {reason}", file=sys.stderr)
                    continue
                errors.append(f"{name}: {reason}")
                print(f"  [{args.id}] {name} failed: {reason}", file=sys.stderr)
                return samples, extra, captured, skipped, errors
            if rnd < args.warmup:
                continue
            samples[name].append(value)
            for key in extra_keys:
                extra[name][key].append(more[key])
            if name in capture:
                found = capture[name].search(stderr or "")
                if found:
                    captured[name].append(int(found.group(1)))
        if sys.stderr.isatty():
            print(f"\r    round {rnd + 1}/{args.warmup + args.rounds}"
                  f"{' (warm-up)' if rnd < args.warmup else '          '}", end="", file=sys.stderr)
    if sys.stderr.isatty():
        print("\r" + " " * 30 + "\r", end="", file=sys.stderr)
    return samples, extra, captured, skipped, errors


def finish(args, samples, extra, captured, skipped, errors, extra_cols=(), meta=None):
    cases = {}
    for name, _ in args.case:
        if name in skipped:
            cases[name] = {"skipped": skipped[name], "command": dict(args.case)[name]}
            continue
        entry = stats(samples[name]) or {"median_ms": None, "min_ms": None, "max_ms": None, "n": 0}
        for key, values in extra[name].items():
            if values:
                entry[key] = round(statistics.median(values), 3)
                entry[key + "_samples"] = [round(v, 3) for v in values]
        if captured[name]:
            entry["captured"] = captured[name]
        entry["info"] = name in args.info
        entry["command"] = dict(args.case)[name]
        cases[name] = entry
    verdict, checks, ratios = evaluate(args, cases, errors)
    extra_cols = tuple(extra_cols) + tuple((key, key) for key, _, _ in args.count_lines)
    print_table(args.title, args.rounds, cases, ratios, checks, verdict, args.note + errors, extra_cols)
    result = {
        "id": args.id,
        "title": args.title,
        "rounds": args.rounds,
        "warmup_rounds": args.warmup,
        "cases": cases,
        "ratios": ratios,
        "checks": checks,
        "notes": args.note,
        "errors": errors,
        "verdict": verdict,
    }
    if meta:
        result.update(meta)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
        f.write("\n")


def run_to_file(argv, path):
    """Spawn to exit, in ms, with stdout and stderr written to a file (a command that
    prints a lot is timed as it runs for a person redirecting it, not as Python reads
    it), and the process's peak RSS in MB (from wait4's rusage: its own, not a sum)."""
    with open(path, "wb") as out:
        t0 = time.perf_counter_ns()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = (time.perf_counter_ns() - t0) / 1e6
    proc.returncode = os.waitstatus_to_exitcode(status)
    with open(path, "rb") as f:
        f.seek(max(0, os.path.getsize(path) - 65536))
        err = f.read().decode("utf-8", "replace")
    return elapsed, proc.returncode, err, usage.ru_maxrss / 1024


def cmd_procs(args):
    if args.output_file:
        def run_one(name, argv, _rnd, ok):
            elapsed, code, stderr, rss = run_to_file(argv, args.output_file)
            if code not in ok:
                raise CaseFailed(f"exit code {code}\n{tail(stderr)}")
            return elapsed, {"peak_rss_mb": rss}, stderr

        finish(args, *measure(args, run_one, ("peak_rss_mb",)),
               extra_cols=(("peak MB", "peak_rss_mb"),))
        return

    def run_one(name, argv, _rnd, ok):
        elapsed, code, stderr = run_timed(argv)
        if code not in ok:
            raise CaseFailed(f"exit code {code}\n{tail(stderr)}")
        return elapsed, {}, stderr

    finish(args, *measure(args, run_one))


def log_path(logs, name, rnd):
    """Where case `name`'s output of round rnd (from 0, warm-up rounds included) goes."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")
    return os.path.join(logs, f"{slug}-round{rnd + 1}.log")


def cmd_up(args):
    prep = dict(args.prep)
    urls = dict(args.url)
    os.makedirs(args.logs, exist_ok=True)

    def run_one(name, argv, rnd, _ok):
        if name in prep:
            done = subprocess.run(["bash", "-c", prep[name]], stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise CaseFailed(f"prep failed ({done.returncode})\n{tail(done.stderr)}")
            time.sleep(args.settle)
        log = log_path(args.logs, name, rnd)
        try:
            ready, returned = run_up(argv, urls[name], log, args.poll_ms, args.timeout,
                                     stamped=args.stamp_output)
        except CaseFailed as failure:
            with open(log, encoding="utf-8", errors="replace") as f:
                raise CaseFailed(f"{failure} (log {log})\n{tail(f.read())}") from None
        return ready, {"returned_ms": returned}, None

    finish(args, *measure(args, run_one, ("returned_ms",)),
           extra_cols=(("returned", "returned_ms"),),
           meta={"poll_ms": args.poll_ms,
                 "metric": "ready = the command returned, then the first HTTP 200 (polled from then)"})


SHIM = """#!/bin/bash
# Written by bench/measure.py: logs each engine call (start, end, arguments),
# then is the real engine. Costs about a millisecond per call.
start=$EPOCHREALTIME
{real} "$@"
code=$?
line="$start $EPOCHREALTIME"
for arg in "$@"; do line+=$'\\x1f'"$arg"; done
printf '%s\\x1e' "$line" >>{log}
exit $code
"""


def cmd_calls(args):
    """One run of a command with a pass-through `docker` first on PATH that
    logs every engine call: when each ran and how long it took, so what is
    left is the command's own work and its waiting for ports."""
    os.makedirs(args.shim_dir, exist_ok=True)
    log = os.path.join(args.shim_dir, "calls.log")
    shim = os.path.join(args.shim_dir, os.path.basename(args.engine))
    with open(shim, "w", encoding="utf-8") as f:
        f.write(SHIM.format(real=shlex.quote(args.engine), log=shlex.quote(log)))
    os.chmod(shim, 0o755)
    open(log, "w", encoding="utf-8").close()
    env = dict(os.environ, PATH=args.shim_dir + os.pathsep + os.environ.get("PATH", ""))
    t0 = time.time()
    done = subprocess.run(shlex.split(args.cmd), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, errors="replace", env=env, check=False)
    total = (time.time() - t0) * 1000
    if done.returncode != 0:
        print(f"  (the command failed, exit {done.returncode})\n{tail(done.stderr)}")
        return 1
    calls = []
    with open(log, encoding="utf-8", errors="replace") as f:
        for record in f.read().split("\x1e"):
            if not record:
                continue
            times, *words = record.split("\x1f")
            start, end = (float(x) for x in times.split())
            if "devboot-runner" in words[:-1]:  # devboot's in-container script: say which part
                words = [words[0], "...", f"<runner {words[words.index('devboot-runner') + 1]}>"]
            shown = " ".join(w if len(w) <= 28 else w[:25] + "..." for w in words[:6])
            calls.append(((start - t0) * 1000, (end - start) * 1000, shown))
    calls.sort()
    print(f"  {'at ms':>8}{'took ms':>9}  engine call")
    for at, took, shown in calls:
        print(f"  {at:8.1f}{took:9.1f}  {os.path.basename(args.engine)} {shown}")
    engine = sum(took for _, took, _ in calls)
    last = max((at + took for at, took, _ in calls), default=0.0)
    print(f"  {total:8.1f}{'':9}  exit")
    print(f"  engine calls: {len(calls)}, {engine:.0f} ms of {total:.0f} ms; after the last one "
          f"until exit (waiting for ports): {total - last:.0f} ms")
    return 0


def cmd_profile(args):
    """Samples one run with perf (call graphs from DWARF) and splits its CPU
    samples (of --repeat runs) into groups: each sample goes to the group of the outermost frame
    on its stack that starts with one of the group's prefixes (so a helper
    counts for the phase that called it, also when a deep stack was cut
    short). With the target's median this estimates what one part alone
    takes; the result is added to the target's JSON. Prefixes name devboot's
    modules: a renamed one shows as 0%."""
    scripts = []
    for run in range(args.repeat):
        data = f"{args.data}.{run}"
        argv = ["perf", "record", "-q", "-F", "10000", "--call-graph", "dwarf,32768",
                "-o", data, "--"] + shlex.split(args.cmd)
        # stderr piped, as in the timed rounds: writing diagnostics is part of the cost.
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, errors="replace", check=False)
        # --no-inline: resolving inlined frames takes seconds and changes no group here.
        script = subprocess.run(["perf", "script", "--no-inline", "-i", data], capture_output=True,
                                text=True, errors="replace", check=False)
        if done.returncode not in (0, 2) or script.returncode != 0:
            print(f"  (perf failed, exit {done.returncode}/{script.returncode}: profile skipped)\n"
                  f"{tail(done.stderr + script.stderr, 3)}")
            return 0
        scripts.append(script.stdout)
    groups = [(label, tuple(p for p in prefixes.split(",") if p)) for label, prefixes in args.group]
    counts = {label: 0 for label, _ in groups}
    total = 0

    def attribute(frames):
        for symbol in reversed(frames):  # outermost first
            for label, prefixes in groups:
                if symbol.startswith(prefixes):
                    return label
        return None

    frames = []
    for line in "\n".join(scripts).splitlines() + [""]:
        if line.startswith(("\t", " ")):
            m = re.match(r"\s*[0-9a-f]+ (.*?)(?:\+0x[0-9a-f]+)? \(", line)
            if m:
                frames.append(m.group(1))
        elif frames or not line.strip():
            if frames:
                total += 1
                label = attribute(frames)
                if label:
                    counts[label] += 1
            frames = []
    with open(args.fragment, encoding="utf-8") as f:
        fragment = json.load(f)
    median = (fragment["cases"].get(args.case) or {}).get("median_ms")
    rows = []
    other = total - sum(counts.values())
    for label, n in list(counts.items()) + [("other (start-up, exit, glue)", other)]:
        pct = 100 * n / total if total else 0.0
        rows.append({"part": label, "samples": n, "percent": round(pct, 1),
                     "estimated_ms": round(median * pct / 100, 1) if median else None})
    print(f"  {'part (' + str(total) + f' CPU samples, {args.repeat} runs)':<44}{'share':>9}{'≈ ms':>9}"
          f"   (of the median {fmt(median).strip()} ms)")
    for r in rows:
        print(f"  {r['part']:<44}{r['percent']:>8.1f}%{fmt(r['estimated_ms'])}")
    fragment["profile"] = {"of_case": args.case, "tool": "perf record --call-graph dwarf",
                           "samples": total, "groups": dict(args.group), "parts": rows}
    with open(args.fragment, "w", encoding="utf-8") as f:
        json.dump(fragment, f, indent=2)
        f.write("\n")
    return 0

STEP = re.compile(r"Step \d+/\d+ : (.*)")
BUILT = re.compile(r"Successfully built [0-9a-f]+")
REMOVING = re.compile(r"Removing intermediate container")
FEATURE_RUN = re.compile(r"/tmp/dev-container-features/([^/ ]+?)(?:_\d+)? .*install\.sh")
# devboot installs every Feature in one container (a RUN step on Podman); its wrapper
# prints this line first, and on docker devboot says when it commits that container.
BANNER = re.compile(r"devboot: installing Feature ([^ ]+?)(?:_\d+)?$")
COMMITTING = re.compile(r"^note: install done; committing image ")


def read_stamped(path):
    """(ms, text) per line of a log written by run_up(stamped=True)."""
    rows = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            ms, sep, text = line.partition(" | ")
            if sep:
                try:
                    rows.append((float(ms), text.rstrip("\n")))
                except ValueError:
                    pass
    return rows


def phases(rows):
    """One cold up's time split by what the engine's classic builder printed: before the
    first build step (reading, fetching, staging), each Feature's install script, the
    layer commits after the RUN steps, the other build steps, the time between two builds
    (the reference CLI builds twice), after the last build until the command returned,
    and from then until the first HTTP 200. In ms; they add up to the ready time."""
    returned = next((t for t, text in rows if text == RETURNED), None)
    ready = next((t for t, text in rows if text == READY), None)
    if returned is None or ready is None:
        return None
    out = {}

    def add(key, ms):
        out[key] = out.get(key, 0.0) + ms

    marks = [(i, t, "step", m.group(1)) for i, (t, text) in enumerate(rows)
             if (m := STEP.search(text))]
    marks += [(i, t, "built", "") for i, (t, text) in enumerate(rows) if BUILT.search(text)]
    marks.sort()
    committing = next((t for t, text in rows if COMMITTING.search(text)), None)
    if not marks and committing is not None:
        return committed_phases(rows, committing, returned, ready)
    if not marks:
        add("before the build", returned)
    else:
        add("before the build (read, fetch, stage)", marks[0][1])
    for n, (i, t, kind, text) in enumerate(marks):
        end_i, end = (marks[n + 1][0], marks[n + 1][1]) if n + 1 < len(marks) else (None, returned)
        if kind == "built":
            add("between builds" if n + 1 < len(marks) else "after the build until up returned",
                end - t)
            continue
        if not text.startswith("RUN "):
            add("build: other steps (COPY, ENV, LABEL, USER, ...)", end - t)
            continue
        inside = rows[i + 1:end_i]
        removing = next((k for k, (_, x) in enumerate(inside) if REMOVING.search(x)), None)
        # The script's last line, then the layer's commit, then "Removing intermediate".
        if removing is None:
            script_end = end
        else:
            script_end = inside[removing - 1][0] if removing > 0 else t
        feature = FEATURE_RUN.search(text)
        banners = [(bt, m.group(1)) for bt, x in inside if (m := BANNER.search(x))]
        if feature or not banners:
            add(f"build: install {feature.group(1)}" if feature else "build: other RUN steps",
                script_end - t)
        else:
            # One step for all: each Feature from its banner to the next one's.
            add("build: other RUN steps", banners[0][0] - t)
            for k, (bt, name) in enumerate(banners):
                until = banners[k + 1][0] if k + 1 < len(banners) else script_end
                add(f"build: install {name}", until - bt)
        add("build: layer commits after RUN steps", end - script_end)
    add("after up returned until HTTP 200", ready - returned)
    out["total (ready)"] = ready
    # What the tool itself decides: all but the Features' own install scripts, which run
    # the same commands for every tool (here: apt-get from Debian's mirror).
    out["total without the install scripts"] = ready - sum(
        ms for key, ms in out.items() if key.startswith("build: install "))
    return out


def committed_phases(rows, committing, returned, ready):
    """The phases of a devboot up that installed its Features in one container and
    committed it: before the first Feature's banner (reading, fetching, staging, making
    and starting the container), each Feature's script until the next banner or the
    commit, then the commit, the workspace's container and its start until up returned."""
    out = {}
    banners = [(t, m.group(1)) for t, text in rows if (m := BANNER.search(text))]
    out["before the build (read, fetch, stage)"] = banners[0][0] if banners else committing
    for k, (bt, name) in enumerate(banners):
        until = banners[k + 1][0] if k + 1 < len(banners) else committing
        key = f"build: install {name}"
        out[key] = out.get(key, 0.0) + until - bt
    out["commit, then the container, until up returned"] = returned - committing
    out["after up returned until HTTP 200"] = ready - returned
    out["total (ready)"] = ready
    out["total without the install scripts"] = ready - sum(
        ms for key, ms in out.items() if key.startswith("build: install "))
    return out


def cmd_steps(args):
    """Where each case of a `up --stamp-output` target spent its time, from the logs of
    its rounds: the median of each phase over the rounds (a phase missing in a round
    counts 0 there), side by side; added to the target's JSON as `phases`."""
    with open(args.fragment, encoding="utf-8") as f:
        fragment = json.load(f)
    labels = dict(args.column or [])
    per_case, cached = {}, {}
    for name, case in fragment["cases"].items():
        if case.get("skipped") or not case.get("n"):
            continue
        runs = []
        cached[name] = 0
        for rnd in range(fragment["warmup_rounds"], fragment["warmup_rounds"] + fragment["rounds"]):
            path = log_path(args.logs, name, rnd)
            rows = read_stamped(path) if os.path.exists(path) else []
            # A cold build takes no step from the cache; one that does is shown, not hidden.
            cached[name] += sum(1 for _, text in rows if "---> Using cache" in text)
            got = phases(rows)
            if got:
                runs.append(got)
        if runs:
            keys = {k for run in runs for k in run}
            per_case[name] = {k: round(statistics.median(run.get(k, 0.0) for run in runs), 1)
                              for k in keys}
            per_case[name]["rounds"] = len(runs)
    if not per_case:
        print("  (no stamped logs: nothing to split)")
        return 1
    order = ["before the build (read, fetch, stage)", "before the build"]
    order += sorted({k for c in per_case.values() for k in c if k.startswith("build: install ")})
    order += ["build: other RUN steps", "build: layer commits after RUN steps",
              "build: other steps (COPY, ENV, LABEL, USER, ...)", "between builds",
              "after the build until up returned",
              "commit, then the container, until up returned",
              "after up returned until HTTP 200",
              "total (ready)", "total without the install scripts"]
    order = [k for k in order if any(k in c for c in per_case.values())]
    names = list(per_case)
    print(f"  {'phase (median of the rounds, s)':<50}"
          + "".join(f"{labels.get(n, n)[:16]:>17}" for n in names))
    for key in order:
        print(f"  {key:<50}" + "".join(
            f"{per_case[n].get(key, 0.0) / 1000:17.2f}" for n in names))
    print("  (medians of each phase: the rows need not add up to the total's median)")
    print("  build steps taken from the cache, all rounds: "
          + ", ".join(f"{labels.get(n, n)} {c}" for n, c in cached.items()))
    fragment["phases"] = {"unit": "ms", "source": "each round's output, stamped as it came",
                          "cases": per_case, "build_steps_from_cache": cached}
    with open(args.fragment, "w", encoding="utf-8") as f:
        json.dump(fragment, f, indent=2)
        f.write("\n")
    return 0


def cmd_report(args):
    fragments = []
    for path in args.fragments:
        with open(path, encoding="utf-8") as f:
            fragments.append(json.load(f))
    report = {k: v for k, v in args.meta}
    report["targets"] = fragments
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print("\n== summary")
    for t in fragments:
        print(f"  {t['verdict']:<6} {t['title']}")
    if "load_start" in report:
        print(f"  load average: {report['load_start']} at start, {report.get('load_end', '?')} at end")
    print(f"  results: {args.out}")
    verdicts = {t["verdict"] for t in fragments}
    if "ERROR" in verdicts:
        return 2
    if args.strict and "FAIL" in verdicts:
        return 1
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    procs = sub.add_parser("procs")
    common_args(procs)
    procs.add_argument("--output-file", help="write each run's output here (not to a pipe), "
                       "and report each case's peak RSS")
    up = sub.add_parser("up")
    common_args(up)
    up.add_argument("--prep", nargs=2, action="append", default=[], metavar=("NAME", "SH"))
    up.add_argument("--url", nargs=2, action="append", required=True, metavar=("NAME", "URL"))
    up.add_argument("--poll-ms", type=float, default=10)
    up.add_argument("--settle", type=float, default=1.0,
                    help="seconds of rest after each prep, so dockerd has finished removing")
    up.add_argument("--timeout", type=float, default=120)
    up.add_argument("--logs", required=True)
    up.add_argument("--stamp-output", action="store_true",
                    help="each output line into the log with the ms it came at (for `steps`)")
    calls = sub.add_parser("calls")
    calls.add_argument("--shim-dir", required=True, help="where the logging `docker` goes")
    calls.add_argument("--engine", required=True, help="the real engine CLI")
    calls.add_argument("cmd")
    profile = sub.add_parser("profile")
    profile.add_argument("--data", required=True, help="where perf writes its samples")
    profile.add_argument("--fragment", required=True, help="the target's JSON, to read and extend")
    profile.add_argument("--case", required=True, help="the case whose median is split")
    profile.add_argument("--group", nargs=2, action="append", required=True,
                         metavar=("LABEL", "PREFIXES"), help="comma-separated symbol prefixes")
    profile.add_argument("--repeat", type=int, default=5, help="runs to sample")
    profile.add_argument("cmd")
    steps = sub.add_parser("steps")
    steps.add_argument("--fragment", required=True, help="the target's JSON, to read and extend")
    steps.add_argument("--logs", required=True, help="the target's --logs folder")
    steps.add_argument("--column", nargs=2, action="append", metavar=("NAME", "LABEL"),
                       help="a short column heading for case NAME")
    report = sub.add_parser("report")
    report.add_argument("--out", required=True)
    report.add_argument("--strict", action="store_true")
    report.add_argument("--meta", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"))
    report.add_argument("fragments", nargs="*")
    args = parser.parse_args()
    if args.command == "procs":
        cmd_procs(args)
    elif args.command == "up":
        cmd_up(args)
    elif args.command == "calls":
        sys.exit(cmd_calls(args))
    elif args.command == "profile":
        sys.exit(cmd_profile(args))
    elif args.command == "steps":
        sys.exit(cmd_steps(args))
    else:
        sys.exit(cmd_report(args))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: run.sh's trap cleans up; no traceback
        sys.exit(130)
