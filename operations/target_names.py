"""The names of the operations targets, given in PORTAL_OPERATIONS_TARGET and PORTAL_OPERATIONS_QUEUES and stored
on operation runs.

Imports nothing: the settings read it before Django is set up, and ``operations.targets`` maps each name to its class.
"""

LOCAL_TARGET = "local"
DOCKER_TARGET = "docker"
#: every target the portal can build, in the order the settings list them
TARGET_NAMES = (LOCAL_TARGET, DOCKER_TARGET)
