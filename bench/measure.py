#!/usr/bin/env python3
"""The timer behind bench/run.sh: runs contenders interleaved per round, times
each whole process, prints one table per target and writes the target's
results as a JSON file. Only the standard library, so it runs anywhere
python3 does.

    measure.py procs  --id ID --title T --out F --case NAME CMD ... [checks]
    measure.py up     --id ID --title T --out F --case NAME CMD --prep NAME SH
                      --url NAME URL ... [checks]
    measure.py trace  --out STRACE.log CMD
    measure.py profile --data PERF.data --fragment F --case NAME --group LABEL PREFIXES ... CMD
    measure.py report --out F [--strict] --meta K V ... FRAGMENT.json ...

`procs`: a round runs every case once, in the order given (A B C, A B C, ...),
so drift of the machine hits all of them alike. Time = spawn to exit.

`up`: before each case the untimed `--prep` shell command runs (removing the
container), then the case's command starts and, at the same moment, the URL
is polled every --poll-ms (GET, the same way for every case). A sample is
"ready": the command has returned *and* the URL has answered 200, the moment
a script after `up` can go on. The first 200 and the return are kept too.

Checks decide PASS/FAIL on medians:
  --max-ms CASE MS           median(CASE) < MS
  --max-ratio NUM DEN R      median(NUM) / median(DEN) <= R
  --max-captured CASE N      every number captured from CASE's stderr <= N
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


def run_up(argv, url, log_path, poll_ms, timeout_s):
    """Starts argv and polls url until the command has returned and the URL
    answered 200. Returns (ready, first_200, returned) in ms from the start."""
    parsed = http.client.urlsplit(url)
    host, port = parsed.hostname, parsed.port or 80
    path = parsed.path or "/"
    if parsed.query:
        path += "?" + parsed.query
    with open(log_path, "wb") as log:
        t0 = time.perf_counter_ns()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        first_200 = returned = None
        deadline = t0 + timeout_s * 1e9
        while first_200 is None or returned is None:
            now = time.perf_counter_ns()
            if returned is None and proc.poll() is not None:
                returned = (now - t0) / 1e6
                if proc.returncode != 0:
                    raise CaseFailed(f"exit code {proc.returncode}")
            if first_200 is None and http_200(host, port, path):
                first_200 = (time.perf_counter_ns() - t0) / 1e6
            if first_200 is not None and returned is not None:
                break
            if now > deadline:
                proc.kill()
                proc.wait()
                what = "no HTTP 200 from " + url if first_200 is None else "the command did not return"
                raise CaseFailed(f"{what} within {timeout_s}s")
            time.sleep(poll_ms / 1000)
    return max(first_200, returned), first_200, returned


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
    p.add_argument("--info", action="append", default=[], metavar="NAME",
                   help="a case shown for context (a floor, one engine call), never checked")


def measure(args, run_one, extra_keys=()):
    """The round loop shared by `procs` and `up`: every live case once per round,
    in order; warm-up rounds are run and dropped."""
    names = [name for name, _ in args.case]
    argv = {name: shlex.split(cmd) for name, cmd in args.case}
    skipped = dict(args.skip)
    ok_exit = {name: {int(c) for c in codes.split(",")} for name, codes in args.ok_exit}
    capture = {name: re.compile(rx) for name, rx in args.capture}
    samples = {n: [] for n in names}
    extra = {n: {k: [] for k in extra_keys} for n in names}
    captured = {n: [] for n in names}
    errors = []
    for rnd in range(args.warmup + args.rounds):
        for name in names:
            if name in skipped:
                continue
            try:
                value, more, stderr = run_one(name, argv[name], rnd, ok_exit.get(name, {0}))
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


def cmd_procs(args):
    def run_one(name, argv, _rnd, ok):
        elapsed, code, stderr = run_timed(argv)
        if code not in ok:
            raise CaseFailed(f"exit code {code}\n{tail(stderr)}")
        return elapsed, {}, stderr

    finish(args, *measure(args, run_one))


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
        log = os.path.join(args.logs, f"{name.split()[0]}-round{rnd + 1}.log")
        try:
            ready, first, returned = run_up(argv, urls[name], log, args.poll_ms, args.timeout)
        except CaseFailed as failure:
            with open(log, encoding="utf-8", errors="replace") as f:
                raise CaseFailed(f"{failure} (log {log})\n{tail(f.read())}") from None
        return ready, {"first_200_ms": first, "returned_ms": returned}, None

    keys = ("first_200_ms", "returned_ms")
    finish(args, *measure(args, run_one, keys),
           extra_cols=(("first 200", "first_200_ms"), ("returned", "returned_ms")),
           meta={"poll_ms": args.poll_ms, "metric": "ready = max(first HTTP 200, command returned)"})


EXECVE = re.compile(r'^(\d+) +([\d.]+) execve\("([^"]*)", \[(.*?)\]')
EXITED = re.compile(r'^(\d+) +([\d.]+) \+\+\+ exited with (\d+)')
CONNECT = re.compile(r'^(\d+) +([\d.]+) connect\(\d+, \{sa_family=AF_INET6?, '
                     r'sin6?_port=htons\((\d+)\), .*?addr(?:=inet_addr\(|\()"([^"]+)"')


def cmd_trace(args):
    """One run of a command under strace: when each child process (an engine
    call) ran and how long, and each TCP connect (a port probe), so the time
    between them is visibly devboot's own. Times are inflated by strace."""
    trace_file = args.out
    argv = ["strace", "-f", "-ttt", "-s", "48", "-o", trace_file, "-e", "signal=none",
            "-e", "trace=execve,connect"] + shlex.split(args.cmd)
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        print(f"  (strace run failed, exit {done.returncode})\n{tail(done.stderr)}")
        return 1
    starts, ends, events, root = {}, {}, [], None
    with open(trace_file, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = EXECVE.match(line)
            if m and "= -1" not in line:
                pid, ts = m.group(1), float(m.group(2))
                words = re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(4))
                if root is None:
                    root = (pid, ts)
                    continue
                shown = [os.path.basename(m.group(3))] + [
                    w if len(w) <= 28 else w[:25] + "..." for w in words[1:5]]
                if "devboot-runner" in words[:-1]:
                    shown.append(f"<runner {words[words.index('devboot-runner') + 1]}>")
                starts[pid] = (ts, " ".join(shown))
                continue
            m = EXITED.match(line)
            if m:
                ends[m.group(1)] = float(m.group(2))
                continue
            m = CONNECT.match(line)
            if m and root and m.group(1) == root[0]:
                events.append((float(m.group(2)), f"connect {m.group(4)}:{m.group(3)} (port probe)", None))
    if root is None:
        print("  (no trace)")
        return 1
    for pid, (ts, shown) in starts.items():
        end = ends.get(pid)
        events.append((ts, shown, (end - ts) * 1000 if end else None))
    events.sort()
    t0, t_end = root[1], ends.get(root[0], max((e[0] for e in events), default=root[1]))
    print(f"  {'at ms':>8}  {'took ms':>8}  what")
    for ts, what, took in events:
        print(f"  {(ts - t0) * 1000:8.1f}  {fmt(took, 8) if took is not None else ' ' * 8}  {what}")
    print(f"  {(t_end - t0) * 1000:8.1f}  {'':>8}  exit")
    engine = sum(took for _, _, took in events if took is not None)
    print(f"  child processes: {engine:.1f} ms of {(t_end - t0) * 1000:.1f} ms (under strace)")
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
    up = sub.add_parser("up")
    common_args(up)
    up.add_argument("--prep", nargs=2, action="append", default=[], metavar=("NAME", "SH"))
    up.add_argument("--url", nargs=2, action="append", required=True, metavar=("NAME", "URL"))
    up.add_argument("--poll-ms", type=float, default=10)
    up.add_argument("--settle", type=float, default=1.0,
                    help="seconds of rest after each prep, so dockerd has finished removing")
    up.add_argument("--timeout", type=float, default=120)
    up.add_argument("--logs", required=True)
    trace = sub.add_parser("trace")
    trace.add_argument("--out", required=True, help="where strace writes its log")
    trace.add_argument("cmd")
    profile = sub.add_parser("profile")
    profile.add_argument("--data", required=True, help="where perf writes its samples")
    profile.add_argument("--fragment", required=True, help="the target's JSON, to read and extend")
    profile.add_argument("--case", required=True, help="the case whose median is split")
    profile.add_argument("--group", nargs=2, action="append", required=True,
                         metavar=("LABEL", "PREFIXES"), help="comma-separated symbol prefixes")
    profile.add_argument("--repeat", type=int, default=5, help="runs to sample")
    profile.add_argument("cmd")
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
    elif args.command == "trace":
        sys.exit(cmd_trace(args))
    elif args.command == "profile":
        sys.exit(cmd_profile(args))
    else:
        sys.exit(cmd_report(args))


if __name__ == "__main__":
    main()
