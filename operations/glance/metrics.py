"""``/metrics`` for Prometheus: the portal's figures as gauges, read fresh at each scrape (docs/metrics.md).

The endpoint exists only when a bearer token (PORTAL_METRICS_TOKEN) or an address list (PORTAL_METRICS_ALLOWED)
is configured; otherwise it answers 404 like any unknown page.
"""

from __future__ import annotations

import hmac
import ipaddress
import time

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from operations import registries
from operations.unattended.beat import beat_alive, heartbeat

from . import figures

PREFIX = "alchemiscale_portal_"


def _gauge(name: str, text: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, text, labels=labels)


class PortalCollector:
    """Reads every figure when collected; a source that cannot be read says so in ``*_up`` instead of failing."""

    def collect(self):
        started = time.perf_counter()
        yield from self._backups()
        yield from self._runs()
        yield from self._identities()
        yield from self._workers()
        yield from self._registered()
        scrape = _gauge("scrape_duration_seconds", "Time taken to read these figures")
        scrape.add_metric([], time.perf_counter() - started)
        yield scrape

    def _backups(self):
        totals = figures.backup_totals()
        count = _gauge("backups", "Catalogued backups", ["purpose"])
        size = _gauge("backups_bytes", "Bytes of catalogued backups", ["purpose"])
        for purpose in sorted(totals.count):
            count.add_metric([purpose], totals.count[purpose])
            size.add_metric([purpose], totals.size[purpose])
        yield count
        yield size
        # No sample at all when there is no backup yet: alert on absent(...) as well as on the age.
        age = _gauge("newest_backup_age_seconds", "Seconds since the newest catalogued (complete, checksummed) backup")
        if totals.newest is not None:
            age.add_metric([], (timezone.now() - totals.newest).total_seconds())
        yield age

    def _runs(self):
        runs = _gauge(
            "operation_runs", "Operation runs by kind and status (pending and running included)", ["kind", "status"]
        )
        for (kind, status), n in sorted(figures.runs_by_kind_and_status().items()):
            runs.add_metric([kind, status], n)
        yield runs
        duration = _gauge(
            "last_run_duration_seconds", "Duration of the last finished run of each kind", ["kind", "status"]
        )
        finished = _gauge(
            "last_run_finished_timestamp_seconds", "When the last run of each kind ended", ["kind", "status"]
        )
        for run in figures.last_finished_runs():
            if run.duration is not None:
                duration.add_metric([run.kind, run.status], run.duration)
            finished.add_metric([run.kind, run.status], run.finished_at.timestamp())
        yield duration
        yield finished

    def _identities(self):
        up = _gauge("neo4j_up", "1 when the state store answered for these figures")
        identities = _gauge(
            "identities", "Identities by type and status (active, disabled, expired)", ["type", "status"]
        )
        expiring = _gauge(
            "identities_expiring_30d", "Active identities whose expiry falls in the next 30 days", ["type"]
        )
        try:
            counts = figures.identity_counts()
        except Exception:  # the store down must not take the portal's own figures with it
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        for c in counts:
            for status in ("active", "disabled", "expired"):
                identities.add_metric([c.kind, status], getattr(c, status))
            expiring.add_metric([c.kind], c.expiring)
        yield up
        yield identities
        yield expiring

    def _workers(self):
        workers = figures.alive_workers()
        known = _gauge("broker_up", "1 when the Celery broker could be asked which workers are alive")
        known.add_metric([], 0 if workers is None else 1)
        yield known
        alive = _gauge("workers_alive", "Celery workers answering within 1 s")
        if workers is not None:
            alive.add_metric([], len(workers))
        yield alive
        yield from self._beat()

    def _beat(self):
        up = _gauge("beat_up", "1 while celery beat's heartbeat is fresh (schedules fire), else 0")
        up.add_metric([], 1 if beat_alive()[0] else 0)
        yield up
        try:
            beat = heartbeat()
        except Exception:  # Redis unreachable: beat_up already says 0
            beat = None
        age = _gauge("beat_heartbeat_age_seconds", "seconds since celery beat's last heartbeat (absent: none)")
        if beat is not None:
            age.add_metric([], beat["age"])
        yield age

    def _registered(self):
        """The gauges other apps registered (operations/registries.py); one that cannot be read says so."""
        up = _gauge("source_up", "1 when a registered source of figures could be read", ["source"])
        for name, source in registries.metric_sources().items():
            try:
                gauges = source()
            except Exception:  # one source down must not take the others with it
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            for gauge in gauges:
                family = _gauge(gauge.name, gauge.help, list(gauge.labels))
                for labels, value in gauge.samples:
                    family.add_metric(list(labels), value)
                yield family
        yield up


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(PortalCollector())


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """None when the request may read the metrics; else the response saying why not."""
    token, networks = settings.METRICS_TOKEN, settings.METRICS_ALLOWED
    if not token and not networks:
        raise Http404("metrics are off")
    if networks:
        try:
            address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            address = None
        if address is None or not any(address in network for network in networks):
            return HttpResponse("this address may not read the metrics\n", status=403, content_type="text/plain")
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            response = HttpResponse("a valid bearer token is needed\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    return None


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
