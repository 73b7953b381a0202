"""A Cruddur-like backend: the JSON API of a small micro-blogging app, serving
canned data (no database, no auth; the signed-in user is always andrewbrown).

devboot's example workload. Start it from this folder, where `flask run` finds
app.py:

    python3 -m flask run --host=0.0.0.0 --port=4567

FRONTEND_URL and BACKEND_URL (the URLs a browser uses to reach the two halves
of the app) are the CORS origins allowed on /api/*. Unset or empty ones are
skipped; with neither set the API still answers, only without CORS headers.

Works with Debian bookworm's Flask 2.2 / flask-cors 3.0.10 and with Flask 3:
views return lists, which Flask accepts as JSON since 2.2.
"""

import os
import uuid
from datetime import datetime, timedelta, timezone

from flask import Flask, request
from flask_cors import CORS

USER = {"display_name": "Andrew Brown", "handle": "andrewbrown"}
MESSAGE_MAX_CHARS = 280
TTLS = {
    "30-days": timedelta(days=30),
    "7-days": timedelta(days=7),
    "3-days": timedelta(days=3),
    "1-day": timedelta(days=1),
    "12-hours": timedelta(hours=12),
    "3-hours": timedelta(hours=3),
    "1-hour": timedelta(hours=1),
}

app = Flask(__name__)


def cors_origins():
    """The configured origins, without the unset ones (flask-cors 3.0.10
    answers 500 on every request when an origin is None)."""
    urls = (os.getenv("FRONTEND_URL"), os.getenv("BACKEND_URL"))
    return [url for url in urls if url]


origins = cors_origins()
if origins:
    CORS(
        app,
        resources={r"/api/*": {"origins": origins}},
        expose_headers="location,link",
        allow_headers="content-type,if-modified-since",
        methods="OPTIONS,GET,HEAD,POST",
    )


def timestamp(moment):
    """ISO-8601 with an explicit UTC offset, e.g. 2023-02-18T10:00:00+00:00."""
    return moment.isoformat()


def activity(uuid_, handle, message, created, expires, likes=0, replies=(), reposts=0):
    return {
        "uuid": uuid_,
        "handle": handle,
        "message": message,
        "created_at": timestamp(created),
        "expires_at": timestamp(expires),
        "likes_count": likes,
        "replies_count": len(replies),
        "reposts_count": reposts,
        "replies": list(replies),
    }


def home_activities():
    now = datetime.now(timezone.utc)
    first = "68f126b0-1ceb-4a33-88be-d90fa7109eee"
    reply = {
        "uuid": "26e12864-1c26-5c3a-9658-97a10f8fea67",
        "reply_to_activity_uuid": first,
        "handle": "worf",
        "message": "A workspace without a config file is no workspace.",
        "likes_count": 0,
        "replies_count": 0,
        "reposts_count": 0,
        "created_at": timestamp(now - timedelta(days=2)),
    }
    return [
        activity(first, "andrewbrown", "Booted my whole dev workspace with one command!",
                 now - timedelta(days=2), now + timedelta(days=5), likes=5, replies=[reply]),
        activity("66e12864-8c26-4c3a-9658-95a10f8fea67", "worf",
                 "Port 4567 is open. Today is a good day to deploy.",
                 now - timedelta(days=7), now + timedelta(days=9)),
        activity("248959df-3079-4947-b847-9e0892d1bab4", "garek",
                 "Every container tells a story, doctor. Mostly about its logs.",
                 now - timedelta(hours=1), now + timedelta(hours=12)),
    ]


def notification_activities():
    now = datetime.now(timezone.utc)
    return [
        activity("9d1a3f52-4a0e-4f7e-9c55-0d3c8e2b6a71", "coco",
                 "Your workspace finished its init tasks.",
                 now - timedelta(days=1), now + timedelta(days=6), likes=2),
    ]


def search_activities(term):
    now = datetime.now(timezone.utc)
    return [
        activity("3c7e2f90-5b1d-4b8a-a6f4-2e9d7c1b0a58", "andrewbrown",
                 f"Everything I know about {term}.",
                 now - timedelta(hours=3), now + timedelta(days=3), likes=1),
    ]


def message_groups():
    now = datetime.now(timezone.utc)
    return [
        {"uuid": "24b95582-9e7b-4e0a-9ad1-639773ab7552", "display_name": "Andrew Brown",
         "handle": "andrewbrown", "created_at": timestamp(now - timedelta(days=1))},
        {"uuid": "417c360e-c4e6-4fce-873b-d2d71469b4ac", "display_name": "Worf",
         "handle": "worf", "created_at": timestamp(now - timedelta(days=3))},
    ]


def create_activity(message, ttl):
    """Validates a new activity; returns (errors, activity)."""
    errors = []
    message = message.strip() if isinstance(message, str) else ""
    if not isinstance(ttl, str) or ttl not in TTLS:
        errors.append("ttl_blank")
    if not message:
        errors.append("message_blank")
    elif len(message) > MESSAGE_MAX_CHARS:
        errors.append("message_exceed_max_chars")
    if errors:
        return errors, None
    now = datetime.now(timezone.utc)
    return [], {
        "uuid": str(uuid.uuid4()),
        "display_name": USER["display_name"],
        "handle": USER["handle"],
        "message": message,
        "created_at": timestamp(now),
        "expires_at": timestamp(now + TTLS[ttl]),
    }


@app.get("/api/health-check")
def health_check():
    return {"success": True}


@app.get("/api/activities/home")
def data_home():
    return home_activities()


@app.get("/api/activities/notifications")
def data_notifications():
    return notification_activities()


@app.get("/api/activities/search")
def data_search():
    term = request.args.get("term", "").strip()
    if not term:
        return ["search_term_blank"], 422
    return search_activities(term)


@app.get("/api/message_groups")
def data_message_groups():
    return message_groups()


@app.post("/api/activities")
def data_activities():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        body = {}
    errors, created = create_activity(body.get("message"), body.get("ttl"))
    if errors:
        return errors, 422
    return created
