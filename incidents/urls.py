from __future__ import annotations

from django.urls import path

from incidents.views import actions, closing, follow_ups, measuring, pages, runs, safeguards
from incidents.views import scheduled_drills as scheduled

app_name = "incidents"

urlpatterns = [
    path("", pages.incident_list, name="list"),
    path("incidents/new/", pages.open_incident, name="open"),
    path("incidents/new/environments/", pages.environments, name="environments"),
    path("incidents/<int:incident_id>/", pages.incident_detail, name="detail"),
    path("incidents/<int:incident_id>/live/", pages.incident_live, name="live"),
    path("incidents/<int:incident_id>/me/", pages.my_controls, name="me"),
    path("incidents/<int:incident_id>/timeline/", pages.incident_timeline, name="timeline"),
    path(
        "incidents/<int:incident_id>/phases/<int:phase_id>/steps/",
        pages.phase_steps,
        name="phase_steps",
    ),
    path("incidents/<int:incident_id>/notes/", actions.note_add, name="note_add"),
    path("incidents/<int:incident_id>/roles/assign/", actions.role_assign, name="role_assign"),
    path(
        "incidents/<int:incident_id>/roles/<int:assignment_id>/remove/",
        actions.role_unassign,
        name="role_unassign",
    ),
    path(
        "incidents/<int:incident_id>/steps/<int:step_id>/complete/",
        actions.step_complete,
        name="step_complete",
    ),
    path(
        "incidents/<int:incident_id>/steps/<int:step_id>/skip/",
        actions.step_skip,
        name="step_skip",
    ),
    path(
        "incidents/<int:incident_id>/steps/<int:step_id>/reopen/",
        actions.step_reopen,
        name="step_reopen",
    ),
    path(
        "incidents/<int:incident_id>/steps/<int:step_id>/run/",
        runs.run_request,
        name="run_request",
    ),
    path(
        "incidents/<int:incident_id>/runs/<int:run_id>/approve/",
        runs.run_approve,
        name="run_approve",
    ),
    path(
        "incidents/<int:incident_id>/runs/<int:run_id>/self-approve/",
        runs.run_self_approve,
        name="run_self_approve",
    ),
    path(
        "incidents/<int:incident_id>/runs/<int:run_id>/cancel/",
        runs.run_cancel,
        name="run_cancel",
    ),
    path("incidents/<int:incident_id>/runs/<int:run_id>/log/", runs.run_log, name="run_log"),
    path(
        "incidents/<int:incident_id>/runs/<int:run_id>/log/view/",
        runs.run_log_view,
        name="run_log_view",
    ),
    path("incidents/<int:incident_id>/advance/", closing.phase_advance, name="phase_advance"),
    path("incidents/<int:incident_id>/resolve/", closing.resolve, name="resolve"),
    path("incidents/<int:incident_id>/preflight/", closing.preflight, name="preflight"),
    path("incidents/<int:incident_id>/signoffs/", closing.signoffs, name="signoffs"),
    path(
        "incidents/<int:incident_id>/criteria/<int:criterion_id>/sign-off/",
        closing.sign_off,
        name="sign_off",
    ),
    # criteria9: measure a criterion's metric checks now
    path(
        "incidents/<int:incident_id>/criteria/<int:criterion_id>/measure/",
        measuring.measure_now,
        name="measure_now",
    ),
    # drills11: safeguards that gate
    path(
        "incidents/<int:incident_id>/safeguards/<slug:safeguard_id>/confirm/",
        safeguards.safeguard_confirm,
        name="safeguard_confirm",
    ),
    path(
        "incidents/<int:incident_id>/steps/<int:step_id>/run-override/",
        safeguards.run_override,
        name="run_override",
    ),
    # drills11: follow-ups
    path("follow-ups/", follow_ups.follow_up_list, name="follow_ups"),
    path("follow-ups/export.csv", follow_ups.follow_up_export, name="follow_ups_csv"),
    path(
        "incidents/<int:incident_id>/follow-ups/<int:follow_up_id>/",
        follow_ups.follow_up_update,
        name="follow_up_update",
    ),
    path(
        "incidents/<int:incident_id>/follow-ups/<int:follow_up_id>/accept/",
        follow_ups.follow_up_accept,
        name="follow_up_accept",
    ),
    path(
        "incidents/<int:incident_id>/follow-ups/<int:follow_up_id>/dismiss/",
        follow_ups.follow_up_dismiss,
        name="follow_up_dismiss",
    ),
    # finish11: scheduled drills
    path("drills/scheduled/", scheduled.scheduled_drills, name="scheduled_drills"),
]
