from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.urls import reverse

from common.capabilities import RESPONDERS, VIEWERS
from runbooks.services import load_runbook_files

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.runbooks.urls")]

MIG_002 = Path(settings.BASE_DIR) / "runbooks" / "library" / "mig-002" / "runbook.yaml"


@pytest.fixture
def viewer(client):
    user = User.objects.create_user("pm", password="x")
    user.groups.add(Group.objects.get_or_create(name=VIEWERS)[0])
    client.force_login(user)
    return user


@pytest.fixture
def mig_002():
    load_runbook_files([MIG_002])


def test_runbook_list_shows_latest_version(client, viewer, mig_002):
    response = client.get(reverse("runbooks:list"))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="runbook-mig-002"' in page
    assert "Roll back migration MIG-002" in page
    assert "v1" in page
    assert reverse("runbooks:detail", args=["mig-002"]) in page


def test_runbook_list_says_when_empty(client, viewer):
    assert "No runbooks loaded yet" in client.get(reverse("runbooks:list")).content.decode()


def test_runbook_detail_shows_whole_plan_without_secret_values(client, viewer, mig_002):
    response = client.get(reverse("runbooks:detail", args=["mig-002"]))

    assert response.status_code == 200
    page = response.content.decode()
    for fragment in [
        'id="trigger-api_errors"',
        'id="safeguard-flags_default_off"',
        "15\N{EN DASH}60 min",
        'id="step-restore_database"',
        "approval: incident_commander",
        "after stop_writes",
        "owner: system_administrator",
        'id="validation-password_hashes_valid"',
        "signed off by product_manager",
        'id="communication-status_page"',
        'id="post-action-investigation"',
        "Primary On-Call",
    ]:
        assert fragment in page, fragment
    # Viewers see no variables, secret references or commands (DESIGN.md, permissions).
    for detail in ["<code>PGHOST</code>", "RIPCORD_PROD_PGPASSWORD", 'class="step-command"']:
        assert detail not in page, detail


def test_runbook_detail_shows_variable_names_to_responders_never_values(client, mig_002):
    user = User.objects.create_user("backend", password="x")
    user.groups.add(Group.objects.get_or_create(name=RESPONDERS)[0])
    client.force_login(user)

    page = client.get(reverse("runbooks:detail", args=["mig-002"])).content.decode()

    assert "<code>PGHOST</code>" in page
    assert "from env RIPCORD_PROD_PGPASSWORD" in page
    assert '<p class="step-command">script <code>scripts/rollback_database.sh</code>' in page
    assert "db.prod.todoapp.internal" not in page  # variable names only, never values


def test_runbook_detail_is_404_for_unknown_runbook(client, viewer):
    assert client.get(reverse("runbooks:detail", args=["nope"])).status_code == 404


def test_runbook_pages_redirect_anonymous_to_login(client, mig_002):
    response = client.get(reverse("runbooks:detail", args=["mig-002"]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_runbook_pages_refuse_users_without_capability(client, mig_002):
    client.force_login(User.objects.create_user("outsider", password="x"))

    assert client.get(reverse("runbooks:list")).status_code == 403
    assert client.get(reverse("runbooks:detail", args=["mig-002"])).status_code == 403


def test_runbook_pages_admit_superusers(client, mig_002):
    client.force_login(User.objects.create_superuser("root", password="x"))

    assert client.get(reverse("runbooks:list")).status_code == 200


def test_runbook_pages_refuse_post(client, viewer):
    assert client.post(reverse("runbooks:list")).status_code == 405
