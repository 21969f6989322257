"""Deterministic rows for the todo application, from ``random.Random(seed)``.

The same seed and sizes give byte-identical tables, so a fingerprint taken on one
run can be compared with one taken on another. Nothing reads the clock: every
timestamp is placed around ``ANCHOR``, and live sessions expire after
``LIVE_SESSIONS_UNTIL`` (far ahead, so demo logins keep working whenever the demo
is run; expired sessions lie before the anchor).

Demo accounts: every 100th user, ids 100, 200, 300, ..., is

* email ``demo<id>@todo.example``, e.g. ``demo100@todo.example``
* password ``demo-password-<id>``, e.g. ``demo-password-100``
* holding one live session (expiring in 2035 or later).

With the default 1,000 users that is ten accounts (100 to 1000). The bad
migration truncates the hash of every eighth user, so after it the accounts
200, 400, 600, ... can no longer log in to the demo application (app.py), while
100, 300, 500, ... still can; after a good restore all of them can again. All
other users have random passwords nobody knows.

Feature flags (FEATURE_FLAGS) are all off before the migration: the backup holds
them off, the bad migration switches them on as the rollout did.
"""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime, timedelta

from demo_target.passwords import make_password_hash

ANCHOR = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
LIVE_SESSIONS_UNTIL = datetime(2035, 1, 1, tzinfo=UTC)
DEMO_EVERY = 100
FEATURE_FLAGS = ("api_v1", "uuid_ids")  # the features MIG-002 shipped behind flags

Row = tuple[object, ...]

FIRST_NAMES = (
    "Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia",
    "Dennis", "Margaret", "Tim", "Hedy", "Linus", "Katherine", "John", "Sophie", "Guido",
)  # fmt: skip
LAST_NAMES = (
    "Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson",
    "Perlman", "Ritchie", "Hamilton", "Lee", "Lamarr", "Torvalds", "Johnson", "Backus",
    "Wilson", "Rossum",
)  # fmt: skip
VERBS = ("Write", "Review", "Fix", "Plan", "Call", "Email", "Book", "Buy", "Clean", "Update")
OBJECTS = (
    "the quarterly report", "groceries", "the dentist", "release notes", "the flaky test",
    "flight to Lisbon", "team offsite", "garage", "tax return", "onboarding docs",
    "birthday present", "database backup", "client proposal", "bike repair",
)  # fmt: skip
TAGS = (
    ("work", "#1f77b4"), ("home", "#ff7f0e"), ("urgent", "#d62728"), ("errand", "#2ca02c"),
    ("health", "#9467bd"), ("finance", "#8c564b"), ("travel", "#e377c2"), ("family", "#7f7f7f"),
    ("reading", "#bcbd22"), ("someday", "#17becf"), ("waiting", "#aec7e8"), ("ideas", "#ffbb78"),
)  # fmt: skip
TIMEZONES = (
    "UTC",
    "Europe/Paris",
    "Europe/Lisbon",
    "America/New_York",
    "Asia/Tokyo",
    "Australia/Sydney",
)
LOCALES = ("en-US", "en-GB", "fr-FR", "pt-PT", "ja-JP", "de-DE")
BIOS = ("", "", "Inbox zero or bust.", "Lists all the way down.", "Mostly groceries.")
RULES = (
    "FREQ=DAILY",
    "FREQ=WEEKLY;BYDAY=MO",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR",
    "FREQ=MONTHLY;BYMONTHDAY=1",
    "FREQ=YEARLY",
)
MEMBER_PERMISSIONS = ("tasks.read", "tasks.write")
ADMIN_PERMISSIONS = (*MEMBER_PERMISSIONS, "tags.manage", "users.manage", "billing.view")
_SALT_ALPHABET = string.ascii_letters + string.digits
_SESSION_ALPHABET = string.ascii_lowercase + string.digits


def is_demo_user(user_id: int) -> bool:
    return user_id % DEMO_EVERY == 0


def demo_email(user_id: int) -> str:
    return f"demo{user_id}@todo.example"


def demo_password(user_id: int) -> str:
    return f"demo-password-{user_id}"


def demo_credentials(users: int) -> list[tuple[str, str]]:
    """(email, password) of every demo account in a target generated with ``users`` users."""
    return [
        (demo_email(user_id), demo_password(user_id))
        for user_id in range(DEMO_EVERY, users + 1, DEMO_EVERY)
    ]


def build_rows(*, users: int, tasks: int, seed: int) -> dict[str, list[Row]]:
    """Every table's rows, keyed by table name (see schema.COLUMNS for the column order)."""
    if users < 1 or tasks < 0:
        raise ValueError("need at least one user and a non-negative number of tasks")
    rng = random.Random(seed)
    rows: dict[str, list[Row]] = {}
    rows.update(_users(rng, users))
    rows["tags"] = [(tag_id, name, color) for tag_id, (name, color) in enumerate(TAGS, 1)]
    rows.update(_tasks(rng, users, tasks))
    rows["feature_flags"] = [(name, False) for name in FEATURE_FLAGS]
    return rows


def _users(rng: random.Random, count: int) -> dict[str, list[Row]]:
    users: list[Row] = []
    profiles: list[Row] = []
    permissions: list[Row] = []
    sessions: list[Row] = []
    session_keys: set[str] = set()
    for user_id in range(1, count + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        demo = is_demo_user(user_id)
        role = "admin" if user_id == 1 or rng.random() < 0.03 else "member"
        password = demo_password(user_id) if demo else "".join(rng.choices(_SALT_ALPHABET, k=16))
        salt = "".join(rng.choices(_SALT_ALPHABET, k=22))
        email = demo_email(user_id) if demo else f"{first}.{last}.{user_id}@todo.example".lower()
        created_at = ANCHOR - timedelta(days=rng.randint(30, 730), seconds=rng.randint(0, 86_399))
        users.append(
            (
                user_id,
                email,
                f"{first} {last}",
                role,
                make_password_hash(password, salt),
                created_at,
            )
        )
        profiles.append((user_id, rng.choice(TIMEZONES), rng.choice(LOCALES), rng.choice(BIOS)))
        granted = list(ADMIN_PERMISSIONS if role == "admin" else MEMBER_PERMISSIONS)
        if role == "member" and rng.random() < 0.1:
            granted.append("tasks.share")
        permissions.extend((user_id, permission) for permission in granted)
        live = 1 if demo else rng.choices((0, 1, 2), weights=(40, 45, 15))[0]
        expired = rng.choices((0, 1), weights=(70, 30))[0]
        for index in range(live + expired):
            key = "".join(rng.choices(_SESSION_ALPHABET, k=32))
            while key in session_keys:
                key = "".join(rng.choices(_SESSION_ALPHABET, k=32))
            session_keys.add(key)
            if index < live:
                expires_at = LIVE_SESSIONS_UNTIL + timedelta(hours=rng.randint(0, 24 * 365))
            else:
                expires_at = ANCHOR - timedelta(hours=rng.randint(1, 24 * 90))
            sessions.append((key, user_id, expires_at))
    return {"users": users, "profiles": profiles, "permissions": permissions, "sessions": sessions}


def _tasks(rng: random.Random, users: int, count: int) -> dict[str, list[Row]]:
    tasks: list[Row] = []
    task_tags: list[Row] = []
    recurrences: list[Row] = []
    tag_ids = list(range(1, len(TAGS) + 1))
    for task_id in range(1, count + 1):
        title = f"{rng.choice(VERBS)} {rng.choice(OBJECTS)}"
        status = rng.choices(("todo", "in_progress", "done"), weights=(45, 20, 35))[0]
        priority = rng.choices((1, 2, 3, 4), weights=(10, 40, 35, 15))[0]
        created_at = ANCHOR - timedelta(days=rng.randint(0, 365), minutes=rng.randint(0, 1439))
        updated_at = min(ANCHOR, created_at + timedelta(minutes=rng.randint(0, 60 * 24 * 30)))
        due_at = (
            created_at.replace(hour=17, minute=0) + timedelta(days=rng.randint(1, 60))
            if rng.random() < 0.7
            else None
        )
        owner_id = rng.randint(1, users)
        tasks.append((task_id, owner_id, title, status, priority, due_at, created_at, updated_at))
        how_many = rng.choices((0, 1, 2, 3), weights=(30, 40, 20, 10))[0]
        task_tags.extend((task_id, tag_id) for tag_id in sorted(rng.sample(tag_ids, how_many)))
        if rng.random() < 0.15:
            next_at = (due_at or created_at) + timedelta(days=rng.randint(1, 30))
            recurrences.append((task_id, rng.choice(RULES), next_at))
    return {"tasks": tasks, "task_tags": task_tags, "recurrences": recurrences}
