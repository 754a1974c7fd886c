"""Store migrations: Neo4j 4.4 to 5.x (data) and alchemiscale schema migrations, as operation runs.

Not ``operations/migrations/``, which is Django's. See ``registry.py`` for the list, ``services.py`` for what the
admin's upgrade page and ``manage.py migrate-store`` call.
"""
