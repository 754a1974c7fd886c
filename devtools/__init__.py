"""Development and test tooling: used by ``make run``, ``make test``, the benches and the tests, never by the portal.

Nothing under ``alchemiscale_portal/``, ``identities/`` or ``operations/`` imports from here.
"""
