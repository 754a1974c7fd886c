"""alchemiscale's compute side as it stands in the state store: services, managers, tasks, results (docs/compute.md).

Read only: the app's queries never write (tests/compute/test_read_only.py)."""
