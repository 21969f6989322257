"""The worker's side of scripted steps: claim a queued run, execute it, record the outcome."""
