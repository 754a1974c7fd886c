"""Set it and forget it: backup schedules (celery beat), alerts by e-mail and webhook, restore drills
(docs/unattended.md, docs/verification.md)."""

from __future__ import annotations

from ..env import env_bool, env_int, env_list, env_str

# Backup schedules are rows staff edit in the admin; `celery beat` reads them through django-celery-beat's database
# scheduler, extended to write a heartbeat the status page reads (operations/unattended/beat.py).
CELERY_BEAT_SCHEDULER = "operations.unattended.beat:PortalScheduler"
# How often beat writes its heartbeat and releases backups that waited for their maintenance window.
BEAT_HEARTBEAT_SECONDS = env_int("PORTAL_BEAT_HEARTBEAT_SECONDS", 10)
# Alerts by e-mail through Django's mail, with Django's own setting names.
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "alchemiscale-portal@localhost")
# Recipients besides those set in the admin (comma-separated), and a webhook (Slack/Mattermost incoming webhook URL).
ALERT_EMAILS = env_list("PORTAL_ALERT_EMAILS", [])
ALERT_WEBHOOK_URL = env_str("PORTAL_ALERT_WEBHOOK_URL", "")
# Neo4j not answering for this long, while no run holds it stopped within its expected outage, is an alert.
ALERT_NEO4J_DOWN_SECONDS = env_int("PORTAL_ALERT_NEO4J_DOWN_SECONDS", 120)
# Hosts the webhook may reach although they resolve to a loopback, private or link-local address, and over plain http
# (an internal Mattermost); empty: https to public addresses only (operations/unattended/webhooks.py).
ALERT_WEBHOOK_ALLOW_HOSTS = env_list("PORTAL_ALERT_WEBHOOK_ALLOW_HOSTS", [])

# Restore drills (docs/verification.md): beat has the newest backup verified in a scratch Neo4j every this many days
# (0: never).
RESTORE_DRILL_DAYS = env_int("PORTAL_RESTORE_DRILL_DAYS", 7)
# The off-site drill: the newest backup's off-site copy fetched (decrypted) and verified in a scratch Neo4j every so
# many days (needs PORTAL_BACKUP_IDENTITY_FILE on the worker for encrypted copies); 0 turns it off.
OFFSITE_DRILL_DAYS = env_int("PORTAL_OFFSITE_DRILL_DAYS", 30)
