"""The public status page: what was published about an incident, and nothing else.

Deliberately free of ``incidents``: an update names its source incident by id only, and
everything shown publicly is what a publisher typed into an update (README, "Status page").
"""
