"""Demo accounts for the embedded mode: known names, known passwords, no superuser."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import transaction

from common.capabilities import COMMANDERS, RESPONDERS, VIEWERS


@dataclass(frozen=True)
class DemoUser:
    username: str
    group: str
    role: str

    @property
    def password(self) -> str:
        # Printed on start and meant to be typed: the demo refuses to run outside demo mode.
        return f"{self.username}-demo"


DEMO_USERS = (
    DemoUser("ic", COMMANDERS, "incident commander"),
    DemoUser("sysadmin", RESPONDERS, "system administrator"),
    DemoUser("backend", RESPONDERS, "backend engineer"),
    DemoUser("frontend", RESPONDERS, "frontend engineer"),
    DemoUser("devops", RESPONDERS, "DevOps engineer"),
    DemoUser("pm", VIEWERS, "product manager"),
)


@transaction.atomic
def seed_demo_users() -> tuple[DemoUser, ...]:
    """Create or reset the demo accounts. Safe to run on every start.

    A reset account gets its known password, its one capability group and no
    staff or superuser rights back, whatever was changed since.
    """
    groups = {group.name: group for group in Group.objects.filter(name__in=_group_names())}
    missing = _group_names() - groups.keys()
    if missing:  # created by migration common/0002; absent means migrations did not run
        raise RuntimeError(f"capability groups missing: {sorted(missing)}; run migrate first")
    for demo in DEMO_USERS:
        user, _ = User.objects.get_or_create(username=demo.username)
        # Only when it differs: a new hash (new salt) would end everyone's session at
        # each restart of bin/demo (Django checks a session against the password hash).
        if not user.check_password(demo.password):
            user.set_password(demo.password)
        user.is_active = True
        user.is_staff = False
        user.is_superuser = False
        user.save()
        user.groups.set([groups[demo.group]])
    return DEMO_USERS


def load_runbooks() -> None:
    """Load the shipped runbooks (the command lives in the runbooks app)."""
    call_command("load_runbooks")


def format_user_table(users: tuple[DemoUser, ...], url: str) -> str:
    rows = [
        ("user", "password", "group", "plays"),
        *((u.username, u.password, u.group, u.role) for u in users),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(["", *lines, "", f"Ripcord demo: {url}  (sign in as any user above)", ""])


def _group_names() -> set[str]:
    return {demo.group for demo in DEMO_USERS}
