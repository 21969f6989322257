"""An incident's checks: the target's snapshot, validation results, what they block, their panel.

The checks themselves are the validation app's (a library of check families);
this package keeps what they found about *this* incident: ``services`` writes
(snapshot, results of a validation run, a validation step's command) and
``selectors`` reads (latest results, blockers, the results panel).
"""
