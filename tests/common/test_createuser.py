"""``manage.py createuser``: people added from a script, the password never on the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError

from common.capabilities import ALL_GROUPS, COMMANDERS, RESPONDERS, VIEWERS

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"


@pytest.fixture
def groups(db) -> None:
    """The capability groups (made by a migration, but flushed by transactional tests)."""
    for name in ALL_GROUPS:
        Group.objects.get_or_create(name=name)


def create(*args: str, stdin: str = PASSWORD + "\n") -> str:
    out = StringIO()
    call_command("createuser", *args, stdin=StringIO(stdin), stdout=out)
    return out.getvalue()


def group_names(username: str) -> set[str]:
    return set(User.objects.get(username=username).groups.values_list("name", flat=True))


def test_creates_a_commander_with_the_password_from_stdin(groups):
    said = create("alice", "--group", COMMANDERS)

    assert said == "Created user 'alice' in group commanders.\n"
    alice = User.objects.get(username="alice")
    assert alice.check_password(PASSWORD)
    assert group_names("alice") == {COMMANDERS}
    assert not alice.is_staff and not alice.is_superuser


def test_reads_the_first_line_of_a_password_file(groups, tmp_path):
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\nignored second line\n")

    create("pm", "--group", VIEWERS, "--password-file", str(secret), stdin="")

    assert User.objects.get(username="pm").check_password(PASSWORD)
    assert group_names("pm") == {VIEWERS}


@pytest.mark.parametrize("stdin", ["", "\n"])
def test_refuses_an_empty_password(groups, stdin):
    with pytest.raises(CommandError, match="the password is empty"):
        create("bob", "--group", RESPONDERS, stdin=stdin)
    assert not User.objects.filter(username="bob").exists()


def test_refuses_a_password_the_validators_refuse(groups):
    with pytest.raises(CommandError, match="password refused: This password is too short"):
        create("bob", "--group", RESPONDERS, stdin="abc\n")
    assert not User.objects.filter(username="bob").exists()


def test_refuses_an_unknown_group(groups):
    with pytest.raises(CommandError, match="invalid choice: 'admins'"):
        create("bob", "--group", "admins")


def test_an_existing_user_is_refused_unless_updated(groups):
    create("bob", "--group", VIEWERS)
    with pytest.raises(CommandError, match="already exists; pass --update"):
        create("bob", "--group", COMMANDERS, stdin="another password 1\n")
    assert User.objects.get(username="bob").check_password(PASSWORD)

    said = create("bob", "--group", RESPONDERS, "--update", stdin="another password 1\n")

    assert said == "Updated user 'bob' in group responders.\n"
    assert User.objects.get(username="bob").check_password("another password 1")
    assert group_names("bob") == {RESPONDERS}  # the old capability replaced, not added to


def test_update_keeps_groups_that_are_not_ripcord_capabilities(groups):
    create("bob", "--group", VIEWERS)
    User.objects.get(username="bob").groups.add(Group.objects.create(name="on-call"))

    create("bob", "--group", COMMANDERS, "--update")

    assert group_names("bob") == {COMMANDERS, "on-call"}


def test_update_of_a_missing_user_is_refused(groups):
    with pytest.raises(CommandError, match="no user 'carol' to update"):
        create("carol", "--group", VIEWERS, "--update")


def test_without_migrations_the_missing_group_is_named(db):
    Group.objects.filter(name=COMMANDERS).delete()
    with pytest.raises(CommandError, match=r"no group 'commanders': run `manage\.py migrate`"):
        create("alice", "--group", COMMANDERS)


def manage(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    """manage.py in a child process, on this test session's database."""
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.test_settings"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_exit_status_says_what_went_wrong(groups):
    unknown = manage("createuser", "bob", "--group", "admins", stdin=PASSWORD)
    assert unknown.returncode == 2
    assert "invalid choice: 'admins'" in unknown.stderr

    empty = manage("createuser", "bob", "--group", RESPONDERS, stdin="")
    assert empty.returncode == 1
    assert "the password is empty" in empty.stderr

    made = manage("createuser", "bob", "--group", RESPONDERS, stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    assert PASSWORD not in made.stdout + made.stderr
    assert User.objects.get(username="bob").check_password(PASSWORD)
