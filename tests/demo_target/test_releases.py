"""The todo app's release repository, deploys, the supervised app, and MIG-002's two app scripts.

The scripts run here as the shell executor runs them (bash, a minimal environment,
parameters as environment variables only); tests/integration runs them on a worker.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from demo_target import supervisor
from demo_target.releases import (
    BAD_TAG,
    GOOD_TAG,
    ReleaseError,
    create_repository,
    current_release,
    deploy,
    git,
    release_version,
    tags,
)
from tests.demo_target.supervised import get_json, supervised_app

SCRIPTS = Path(__file__).resolve().parents[2] / "runbooks" / "library" / "mig-002" / "scripts"
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def run_script(name: str, work: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """bash SCRIPT with only PATH, HOME, LANG and the given variables, as a shell step."""
    return subprocess.run(
        ["/bin/bash", str(SCRIPTS / name)],
        env={"PATH": BASE_PATH, "HOME": str(work), "LANG": "C.UTF-8", **env},
        cwd=work,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def app_env(app, **extra: str) -> dict[str, str]:
    return {
        "APP_REPO_DIR": str(app.repo_dir),
        "APP_DEPLOY_DIR": str(app.deploy_dir),
        "APP_URL": app.url,
        "COMPOSE_PROJECT": "",
        "APP_IMAGE": "todo-app",
        "API_SERVICE": "api",
        **extra,
    }


def test_repository_has_one_tagged_commit_per_release_the_same_everywhere(tmp_path):
    commits = create_repository(tmp_path / "a")
    again = create_repository(tmp_path / "b")

    assert tags(tmp_path / "a") == [GOOD_TAG, BAD_TAG]
    assert commits == again  # fixed identity and dates: the same commits on every machine
    for tag in (GOOD_TAG, BAD_TAG):
        assert git(tmp_path / "a", "show", f"{tag}:VERSION").strip() == tag
    migrations = git(tmp_path / "a", "ls-tree", "--name-only", f"{BAD_TAG}:migrations").split()
    assert migrations == ["0001_initial.sql", "0002_mig002_uuid_ids.sql"]


def test_deploy_exports_the_tag_and_switches_current(tmp_path):
    commits = create_repository(tmp_path / "repo")
    deploy_dir = tmp_path / "deploy"

    deploy(tmp_path / "repo", deploy_dir, BAD_TAG)
    assert release_version(current_release(deploy_dir)) == {  # type: ignore[arg-type]
        "version": BAD_TAG,
        "revision": commits[BAD_TAG],
    }
    deploy(tmp_path / "repo", deploy_dir, GOOD_TAG)

    assert os.readlink(deploy_dir / "current") == f"releases/{GOOD_TAG}"
    assert (deploy_dir / "releases" / GOOD_TAG / "VERSION").read_text() == f"{GOOD_TAG}\n"
    assert sorted(p.name for p in (deploy_dir / "releases").iterdir()) == [GOOD_TAG, BAD_TAG]


@pytest.mark.parametrize("tag", ["v1.0", "v1.0.0; touch x", "main", "v9.9.9"])
def test_deploy_refuses_what_is_not_a_release_tag_of_the_repository(tmp_path, tag):
    create_repository(tmp_path / "repo")
    with pytest.raises(ReleaseError):
        deploy(tmp_path / "repo", tmp_path / "deploy", tag)
    assert not (tmp_path / "deploy" / "current").exists()


@pytest.mark.timeout(90)
def test_rollback_script_deploys_the_previous_tag_and_the_app_reports_it(tmp_path, target):
    with supervised_app(tmp_path, target) as app:
        before = app.version()
        assert before and before["version"] == BAD_TAG

        done = run_script(
            "rollback_application.sh", tmp_path, **app_env(app, PREVIOUS_TAG=GOOD_TAG)
        )

        assert done.returncode == 0, done.stdout + done.stderr
        assert "Application rollback completed." in done.stdout
        after = app.version()
        assert after and after["version"] == GOOD_TAG and after["pid"] != before["pid"]
        assert after["revision"] == git(app.repo_dir, "rev-parse", f"{GOOD_TAG}^{{commit}}").strip()
        assert get_json(f"{app.url}/healthz") == (
            200,
            {"status": "ok", "database": "up", "read_only": False},
        )
        # Running it again ends the same: the release is already exported.
        again = run_script(
            "rollback_application.sh", tmp_path, **app_env(app, PREVIOUS_TAG=GOOD_TAG)
        )
        assert again.returncode == 0, again.stdout + again.stderr
        assert "already exported" in again.stdout


@pytest.mark.timeout(90)
@pytest.mark.parametrize("hostile", ["v1.0.0; touch {marker}", "$(touch {marker})", "v1.4.2\n"])
def test_rollback_script_refuses_a_hostile_tag_and_runs_nothing(tmp_path, target, hostile):
    marker = tmp_path / "pwned"
    with supervised_app(tmp_path, target) as app:
        before = app.version()
        tag = hostile.format(marker=marker)

        done = run_script("rollback_application.sh", tmp_path, **app_env(app, PREVIOUS_TAG=tag))

        assert done.returncode == 2
        assert "PREVIOUS_TAG is not a release tag" in done.stderr
        assert not marker.exists()
        assert os.readlink(app.deploy_dir / "current") == f"releases/{BAD_TAG}"
        assert app.version() == before  # nothing restarted


@pytest.mark.timeout(90)
def test_rollback_script_names_the_tags_when_the_tag_is_unknown(tmp_path, target):
    with supervised_app(tmp_path, target) as app:
        done = run_script(
            "rollback_application.sh", tmp_path, **app_env(app, PREVIOUS_TAG="v9.9.9")
        )

    assert done.returncode == 2
    assert f"No release tag v9.9.9 in {app.repo_dir}" in done.stderr
    assert f"{GOOD_TAG}\n{BAD_TAG}" in done.stderr


@pytest.mark.timeout(90)
def test_restart_script_restarts_the_app_and_waits_until_it_is_healthy(tmp_path, target):
    with supervised_app(tmp_path, target) as app:
        before = app.version()
        assert before is not None

        done = run_script("restart_services.sh", tmp_path, **app_env(app))

        assert done.returncode == 0, done.stdout + done.stderr
        after = app.version()
        assert after and after["pid"] != before["pid"] and after["version"] == BAD_TAG
        assert f"version {BAD_TAG}, pid {after['pid']}, healthy" in done.stdout
        assert get_json(f"{app.url}/healthz")[0] == 200


@pytest.mark.timeout(90)
def test_restart_script_fails_saying_why_without_a_supervisor_or_a_healthy_app(tmp_path, target):
    with supervised_app(tmp_path, target) as app:
        env = app_env(app, RESTART_TIMEOUT_SECONDS="3")
        down = app_env(app, RESTART_TIMEOUT_SECONDS="3", APP_URL="http://127.0.0.1:9")
        unhealthy = run_script("restart_services.sh", tmp_path, **down)
    gone = run_script("restart_services.sh", tmp_path, **env)

    assert unhealthy.returncode == 1
    assert "did not come back healthy within 3 s" in unhealthy.stderr
    assert gone.returncode == 3
    assert "No running supervisor" in gone.stderr
    assert not (app.deploy_dir / "supervisor.pid").exists()  # removed by the supervisor at exit


@pytest.mark.timeout(60)
def test_supervisor_starts_the_app_again_when_it_dies(tmp_path, target):
    with supervised_app(tmp_path, target) as app:
        before = app.version()
        assert before is not None
        os.kill(before["pid"], 9)

        again = app.wait_version(BAD_TAG, not_pid=before["pid"])

        assert supervisor.read_pid(app.deploy_dir) == app.process.pid
        assert again["pid"] != before["pid"]


@pytest.mark.timeout(30)
def test_restart_script_never_signals_a_stranger_named_by_a_stale_pid_file(tmp_path):
    stranger = subprocess.Popen(["sleep", "30"])
    try:
        deploy_dir = tmp_path / "deploy"
        supervisor.write_pid_file(deploy_dir / "supervisor.pid", stranger.pid)
        env = {"APP_DEPLOY_DIR": str(deploy_dir), "APP_URL": "http://127.0.0.1:9"}

        done = run_script("restart_services.sh", tmp_path, COMPOSE_PROJECT="", **env)

        assert done.returncode == 3
        assert "No running supervisor" in done.stderr
        assert stranger.poll() is None  # no SIGHUP reached it
    finally:
        stranger.kill()
        stranger.wait()
