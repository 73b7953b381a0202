#!/usr/bin/env python3
"""Checks that the Cruddur example backend is up and got its environment.

usage: scripts/check-cruddur.py BASE_URL [--origin FRONTEND_URL] [--wait SECONDS]

Polls BASE_URL/api/activities/home until it answers 200 (up to --wait seconds,
default 10), then checks each endpoint's status and JSON shape. With --origin,
also checks that a request from that origin gets it back in
Access-Control-Allow-Origin, which proves FRONTEND_URL reached the process.
Prints one line per check; exits 1 on the first failure. Standard library only.
"""

import argparse
import json
import sys
import time
import urllib.error
import urllib.request

HOME_UUIDS = [
    "68f126b0-1ceb-4a33-88be-d90fa7109eee",
    "66e12864-8c26-4c3a-9658-95a10f8fea67",
    "248959df-3079-4947-b847-9e0892d1bab4",
]
ACTIVITY_KEYS = {
    "uuid", "handle", "message", "created_at", "expires_at",
    "likes_count", "replies_count", "reposts_count", "replies",
}


def request(url, method="GET", body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def fail(message):
    print(f"FAIL {message}", file=sys.stderr)
    sys.exit(1)


def expect(name, url, status, check=None, **kwargs):
    got, headers, body = request(url, **kwargs)
    if got != status:
        fail(f"{name}: status {got}, want {status}: {body[:200]!r}")
    value = json.loads(body) if body else None
    if check is not None:
        problem = check(value, headers)
        if problem:
            fail(f"{name}: {problem}")
    print(f"ok   {name}")
    return value


def wait_for_home(base, seconds):
    start = time.monotonic()
    last = "no answer"
    while time.monotonic() - start < seconds:
        try:
            status, _, _ = request(f"{base}/api/activities/home")
            if status == 200:
                return time.monotonic() - start
            last = f"status {status}"
        except OSError as err:
            last = str(err)
        time.sleep(0.1)
    fail(f"no 200 from {base}/api/activities/home within {seconds}s (last: {last})")


def check_home(items, headers):
    if headers.get_content_type() != "application/json":
        return f"content type {headers.get_content_type()}"
    if [item.get("uuid") for item in items] != HOME_UUIDS:
        return f"uuids {[item.get('uuid') for item in items]}"
    if set(items[0]) != ACTIVITY_KEYS:
        return f"keys {sorted(items[0])}"
    if items[0]["replies"][0]["uuid"] != "26e12864-1c26-5c3a-9658-97a10f8fea67":
        return "first reply uuid"
    if not items[0]["created_at"].endswith("+00:00"):
        return f"created_at {items[0]['created_at']} has no +00:00 offset"
    return None


def length(n):
    return lambda value, _: None if isinstance(value, list) and len(value) == n else f"want {n} items: {value}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("--origin")
    parser.add_argument("--wait", type=float, default=10)
    args = parser.parse_args()
    base = args.base.rstrip("/")

    took = wait_for_home(base, args.wait)
    print(f"ok   first 200 from /api/activities/home after {took:.2f}s")
    expect("home: 3 activities, uuids, keys, UTC offset", f"{base}/api/activities/home", 200, check_home)
    if args.origin:
        def acao(_, headers):
            got = headers.get("Access-Control-Allow-Origin")
            return None if got == args.origin else f"Access-Control-Allow-Origin {got!r}, want {args.origin!r}"
        expect("CORS: origin echoed back", f"{base}/api/activities/home", 200, acao,
               headers={"Origin": args.origin})
    expect("notifications: 1 activity", f"{base}/api/activities/notifications", 200, length(1))
    expect("search without term: 422", f"{base}/api/activities/search", 422,
           lambda v, _: None if v == ["search_term_blank"] else f"body {v}")
    expect("search: 1 activity", f"{base}/api/activities/search?term=devboot", 200, length(1))
    expect("message groups: 2", f"{base}/api/message_groups", 200, length(2))
    expect("health check", f"{base}/api/health-check", 200,
           lambda v, _: None if v == {"success": True} else f"body {v}")
    expect("create activity", f"{base}/api/activities", 200,
           lambda v, _: None if v.get("handle") == "andrewbrown" and v.get("uuid") else f"body {v}",
           method="POST", body={"message": "hi", "ttl": "7-days"})
    expect("create activity, bad ttl: 422", f"{base}/api/activities", 422,
           lambda v, _: None if v == ["ttl_blank"] else f"body {v}",
           method="POST", body={"message": "hi", "ttl": "2-days"})
    expect("create activity, no message: 422", f"{base}/api/activities", 422,
           lambda v, _: None if v == ["message_blank"] else f"body {v}",
           method="POST", body={"ttl": "1-day"})
    print("all checks passed")


if __name__ == "__main__":
    main()
