"""The import page: preview, problems at their lines, zip download, save as a runbook (version)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from incidents import services
from runbooks.importers.files import read_runbook_file
from runbooks.models import Runbook
from runbooks.services import load_runbook_files
from tests.runbooks.markdown.paths import PLAN
from tests.runbooks.markdown.test_hostile import HOSTILE_HTML

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]
IMPORT = reverse("runbooks:import")
PLAN_TEXT = PLAN.read_text()


@pytest.fixture
def commander(client, ic):
    client.force_login(ic)
    return client


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path) -> Path:
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR


def preview(client, text: str, runbook_id: str = "") -> str:
    response = client.post(IMPORT, {"text": text, "runbook_id": runbook_id})
    assert response.status_code == 200, response.content.decode()[:2000]
    return response.content.decode()


def test_the_runbook_list_offers_the_import_to_commanders_only(client, ic, backend):
    client.force_login(ic)
    assert IMPORT in client.get(reverse("runbooks:list")).content.decode()
    client.force_login(backend)
    assert IMPORT not in client.get(reverse("runbooks:list")).content.decode()
    assert client.get(IMPORT).status_code == 403


def test_a_pasted_plan_is_previewed_with_phases_owners_scripts_and_todos(commander):
    html = preview(commander, PLAN_TEXT, "mig-002-imported")
    for shown in (
        "Data rollback",  # a phase
        "15\u201360 min",
        "Stop all write operations",  # a step
        "owner: system_administrator",
        "scripts/rollback_database.sh",  # a script, named and shown
        "pg_restore --verbose --clean",
        "approval: incident_commander",
        "2 wait for the incident commander&#x27;s approval to run",  # the readiness summary
    ):
        assert shown in html, shown
    # A TODO, with its line and that line of the document beside it.
    assert "line 40" in html
    assert "**Scale down new services**: Reduce resources for new features" in html
    assert "no role&#x27;s duties match; guessed incident_commander" in html


def test_an_uploaded_file_is_previewed(commander):
    upload = SimpleUploadedFile("plan.md", PLAN.read_bytes(), content_type="text/markdown")
    response = commander.post(IMPORT, {"document": upload})
    assert response.status_code == 200
    assert "Rollback Plan for Migration Issues (MIG-002)" in response.content.decode()


def test_imported_html_is_shown_as_text_never_as_markup(commander):
    html = preview(commander, HOSTILE_HTML.decode())
    assert "<script>alert(" not in html
    assert 'onclick="steal()"' not in html and "<b onclick" not in html
    assert "<img src=x" not in html
    assert "Run the &lt;script&gt;alert(2)&lt;/script&gt; restore" in html
    assert "Click &lt;b onclick=&quot;steal()&quot;&gt;here&lt;/b&gt; to disable writes" in html


def test_problems_are_shown_beside_their_line(commander):
    data = b"# Plan\n\n1. Stop writes\n2. Restore \xff the backup\n"
    upload = SimpleUploadedFile("broken.md", data)
    response = commander.post(IMPORT, {"document": upload})
    assert response.status_code == 400
    html = response.content.decode()
    assert "broken.md cannot be imported" in html
    problem = html.split('<li class="problem">', 1)[1].split("</li>", 1)[0]
    assert "line 4" in problem
    assert "2. Restore \ufffd the backup" in problem  # the line itself, beside the message
    assert "the file is not UTF-8 text" in problem


def test_neither_or_both_sources_is_a_form_error(commander):
    assert commander.post(IMPORT, {}).status_code == 400
    upload = SimpleUploadedFile("plan.md", b"# x\n")
    assert commander.post(IMPORT, {"document": upload, "text": "# y"}).status_code == 400


def imported_form(text: str = PLAN_TEXT, runbook_id: str = "mig-002-imported") -> dict[str, str]:
    return {"source": text, "name": "pasted.md", "runbook_id": runbook_id}


def test_the_folder_downloads_as_a_zip_check_runbook_accepts(commander, tmp_path):
    response = commander.post(reverse("runbooks:import_download"), imported_form())
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="mig-002-imported.zip"'
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert sorted(archive.namelist()) == [
            "mig-002-imported/runbook.yaml",
            "mig-002-imported/scripts/rollback_application.sh",
            "mig-002-imported/scripts/rollback_database.sh",
        ]
        archive.extractall(tmp_path / "unzipped")
    checked = read_runbook_file(tmp_path / "unzipped" / "mig-002-imported" / "runbook.yaml")
    assert len(checked.spec.phases) == 4


def test_save_makes_a_runbook_then_a_new_version_when_it_changes(commander):
    save = reverse("runbooks:import_save")
    response = commander.post(save, imported_form())
    assert response.status_code == 302
    assert response["Location"] == reverse("runbooks:detail", args=["mig-002-imported"])
    runbook = Runbook.objects.get(slug="mig-002-imported")
    assert runbook.current_version is not None and runbook.current_version.number == 1
    # The same document again changes nothing; a changed one is version 2.
    commander.post(save, imported_form())
    assert runbook.versions.count() == 1
    commander.post(save, imported_form(PLAN_TEXT.replace("Update schema", "Update the schema")))
    runbook.refresh_from_db()
    assert (runbook.versions.count(), runbook.current_version.number) == (2, 2)
    steps = [s.title for s in runbook.current_version.parsed().all_steps()]
    assert "Update the schema" in steps


def test_a_saved_runbook_is_the_same_as_its_folder_loaded_from_disk(commander, tmp_path):
    """Saved through the page, then the downloaded folder loaded like any file: nothing new."""
    commander.post(reverse("runbooks:import_save"), imported_form())
    saved = Runbook.objects.get(slug="mig-002-imported").current_version
    download = commander.post(reverse("runbooks:import_download"), imported_form())
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        archive.extractall(tmp_path / "unzipped")
    [result] = load_runbook_files([tmp_path / "unzipped" / "mig-002-imported" / "runbook.yaml"])
    assert (result.runbook_id, result.version, result.status) == (
        "mig-002-imported",
        1,
        "unchanged",
    )
    assert saved is not None and Path(saved.source_path).is_relative_to(
        tmp_path / "var" / "imported"
    )


def test_a_responder_may_not_save(client, backend):
    client.force_login(backend)
    response = client.post(reverse("runbooks:import_save"), imported_form())
    assert response.status_code == 403
    assert not Runbook.objects.filter(slug="mig-002-imported").exists()


def test_saved_html_stays_text_on_the_runbook_and_incident_pages(commander, ic):
    """Imported HTML shown wherever the runbook goes: its page and an incident's page."""
    commander.post(reverse("runbooks:import_save"), imported_form(HOSTILE_HTML.decode(), "hostile"))
    version = Runbook.objects.get(slug="hostile").current_version
    assert version is not None
    incident = services.open_incident(
        version=version,
        environment="production",
        title="Hostile drill",
        severity="sev3",
        is_drill=False,
        opened_by=ic,
        confirm_environment="production",
    )
    for url in (
        reverse("runbooks:detail", args=["hostile"]),
        reverse("incidents:detail", args=[incident.pk]),
    ):
        html = commander.get(url).content.decode()
        assert "Run the &lt;script&gt;alert(2)&lt;/script&gt; restore" in html, url
        assert "<script>alert(" not in html and "<b onclick" not in html, url


def test_a_runbook_may_not_take_the_import_pages_id(commander):
    """``import`` names the import page: a runbook with that id could never be opened."""
    response = commander.post(reverse("runbooks:import_save"), imported_form(runbook_id="import"))
    assert response.status_code == 400
    assert "runbook id 'import' is reserved" in response.content.decode()
    assert not Runbook.objects.filter(slug="import").exists()
    preview = commander.post(IMPORT, {"text": PLAN_TEXT, "runbook_id": "import"})
    assert preview.status_code == 400
    assert "runbook id &#x27;import&#x27; is reserved" in preview.content.decode()


@pytest.mark.parametrize(
    ("front", "said"),
    [
        ('title: "nul\\0here"', "front matter (the runbook&#x27;s title) contains a NUL character"),
        ('description: "\\ud800"', "(the runbook&#x27;s summary) contains a lone surrogate"),
    ],
)
def test_front_matter_text_that_cannot_be_stored_is_refused_at_line_1(commander, front, said):
    response = commander.post(IMPORT, {"text": f"---\n{front}\n---\n\n# Plan\n\n1. Stop writes\n"})
    assert response.status_code == 400
    problem = response.content.decode().split('<li class="problem">', 1)[1].split("</li>", 1)[0]
    assert "line 1" in problem and said in problem


def test_a_document_the_page_could_not_post_back_is_refused_with_the_command_named(commander):
    big = PLAN_TEXT + "\n" + ("Filler prose line for the size limit.\n" * 60_000)
    assert len(big.encode()) > 2 * 1024 * 1024
    upload = SimpleUploadedFile("big.md", big.encode())
    response = commander.post(IMPORT, {"document": upload})
    assert response.status_code == 400
    assert "up to 2 MB; import a larger one with manage.py import_runbook" in (
        response.content.decode()
    )


def test_a_save_that_fails_names_no_server_path(commander, var_dir):
    response = commander.post(reverse("runbooks:import_save"), imported_form(runbook_id="import"))
    assert str(var_dir) not in response.content.decode()
