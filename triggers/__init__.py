"""Triggers: alerts received from monitoring, and the rollbacks they propose (README, "Alerts → proposals").

A receiver is a URL of its own (``/hooks/<id>/``) with its own credential; each alert it
accepts becomes an ``Alert`` row, and a firing one proposes a rollback of a runbook in an
environment (``Proposal``) unless an incident already runs it. Commanders open the
incident from the proposal, or decline it with a reason.
"""
