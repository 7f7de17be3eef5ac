"""The sync protocol core: wire types, the closed list of events and the pure rules.

Nothing here imports Flask or SQLAlchemy, so the rules can be tested on plain data and their golden
vectors (``sync/vectors``) can be replayed by the PWA's JavaScript tests as well. What both sides share
(events, roles, vocabularies, limits, the rules' constants) is declared once, in ``sync/spec.json``.
"""
