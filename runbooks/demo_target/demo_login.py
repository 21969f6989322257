"""A login against the demo todo application, without the application.

The todo app authenticates a user by email and password and keeps a server-side
session row; ``check_login`` does both checks against the database the way the
app would, which is what "test login functionality" in the plan's validation
needs.

Demo accounts (made by data.py): every 100th user, ids 100, 200, 300, ..., is

* email ``demo<id>@todo.example``, e.g. ``demo100@todo.example``
* password ``demo-password-<id>``, e.g. ``demo-password-100``
* holding one live session (expiring in 2035 or later).

With the default 1,000 users that is ten accounts (100 to 1000). The bad
migration truncates the hash of every eighth user, so after it the accounts
200, 400, 600, ... can no longer log in, while 100, 300, 500, ... still can;
after a good restore all of them can again. All other users have random
passwords nobody knows.
"""

from __future__ import annotations

from runbooks.demo_target import pg
from runbooks.demo_target.data import DEMO_EVERY, demo_email, demo_password
from runbooks.demo_target.passwords import is_valid_hash, verify_password


def demo_credentials(users: int) -> list[tuple[str, str]]:
    """(email, password) of every demo account in a target generated with ``users`` users."""
    return [
        (demo_email(user_id), demo_password(user_id))
        for user_id in range(DEMO_EVERY, users + 1, DEMO_EVERY)
    ]


def login_problem(dsn: str, email: str, password: str) -> str | None:
    """Why logging in as ``email`` fails, or None when it works."""
    with pg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT u.password_hash, EXISTS ("
            "  SELECT 1 FROM sessions s WHERE s.user_id = u.id AND s.expires_at > now()"
            ") FROM users u WHERE u.email = %s",
            [email],
        ).fetchone()
    if row is None:
        return f"no user with email {email}"
    password_hash, has_live_session = str(row[0]), bool(row[1])
    if not is_valid_hash(password_hash):
        return f"the password hash of {email} is not a valid pbkdf2_sha256 hash"
    if not verify_password(password, password_hash):
        return f"wrong password for {email}"
    if not has_live_session:
        return f"{email} has no live session"
    return None


def check_login(dsn: str, email: str, password: str) -> bool:
    """True when ``password`` matches the stored hash and the user has a live session."""
    return login_problem(dsn, email, password) is None
