"""DEV TOOLS: the project's own Neo4j installer and instance manager, Java 11 for Neo4j 4.4, stand-ins.

Used by make run, make test, the benches and the tests; nothing under alchemiscale_portal/, identities/ or
operations/ imports this package (tests/test_no_dev_imports.py checks it).
"""
