"""``manage.py compute services|managers|tasks|networks|throughput|anomalies|expire-stale [--json]``: the fleet pages' answers from the
same queries (compute/queries.py), and the expiry of stale registrations from the same action (compute/actions.py;
docs/compute.md)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from compute import actions, fleetwide, present, queries, states
from compute.states import ANY, NETWORK_STATES, TASK_STATUSES
from security.actors import Actor


class Command(BaseCommand):
    help = "Look at alchemiscale's compute fleet: services, managers, tasks by scope, anomalies (read only)."

    def add_arguments(self, parser):
        parser.add_argument(
            "what", choices=["services", "managers", "tasks", "networks", "throughput", "anomalies", "expire-stale"]
        )
        parser.add_argument("--yes", action="store_true", help="expire-stale: do it (without: only list what would go)")
        parser.add_argument("--json", action="store_true", help="one JSON document instead of lines")
        parser.add_argument("--state", choices=states.SERVICE_STATES, help="services: only those in this state")
        parser.add_argument("--search", help="services: identifier or host contains this")
        parser.add_argument("--manager", help="services: only those a manager of this name started")
        parser.add_argument(
            "--sort",
            default="identifier",
            help=f"services: one of {', '.join(queries.SERVICE_ORDER)}; --sort=-KEY descends",
        )
        parser.add_argument(
            "--network-state",
            default="active",
            choices=(*NETWORK_STATES, ANY),
            help="tasks, networks: networks in this state",
        )
        parser.add_argument("--scope", help="tasks: list the tasks of this org-campaign-project (with --status)")
        parser.add_argument("--status", choices=TASK_STATUSES, help="tasks: with --scope, the status to list")
        parser.add_argument(
            "--by", choices=("scope", "service"), default="scope", help="throughput: per scope or per compute service"
        )
        parser.add_argument("--limit", type=int, default=queries.LIMIT)

    def handle(self, *args: Any, what: str, **options: Any) -> None:
        what = what.replace("-", "_")
        found = getattr(self, "_" + what)(options)
        if options["json"]:
            self.stdout.write(json.dumps(present.plain(found), indent=2, sort_keys=True))
            return
        for line in getattr(self, "_lines_" + what)(found, options):
            self.stdout.write(line)

    def _services(self, options: dict[str, Any]) -> list[dict[str, Any]]:
        sort = options["sort"]
        try:
            return queries.services(
                search=options["search"],
                state=options["state"],
                manager=options["manager"],
                order=sort.removeprefix("-"),
                descending=sort.startswith("-"),
                limit=options["limit"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None

    def _lines_services(self, found: list[dict[str, Any]], options: dict[str, Any]) -> list[str]:
        if not found:
            return [
                "no compute service registered" + (" that matches" if options["state"] or options["search"] else "")
            ]
        return [
            f"{s['identifier']}  {s['state']:<6}  heartbeat {present.age_text(s['heartbeat_age'])} ago  "
            f"failures {s['failures']}  claims {s['claims']}  manager {s['manager'] or '-'}  host {s['hostname'] or '-'}"
            for s in found
        ]

    def _managers(self, options: dict[str, Any]) -> list[dict[str, Any]]:
        return queries.managers(limit=options["limit"])

    def _lines_managers(self, found: list[dict[str, Any]], options: dict[str, Any]) -> list[str]:
        if not found:
            return ["no compute manager registered"]
        return [
            f"{m['id']}  {m['status']}{' (expired)' if m['expired'] else ''}  saturation "
            f"{'-' if m['saturation'] is None else m['saturation']}  services {m['service_count']}"
            + (f"  detail: {m['detail']}" if m["detail"] else "")
            for m in found
        ]

    def _tasks(self, options: dict[str, Any]) -> Any:
        network_state = None if options["network_state"] == ANY else options["network_state"]
        if options["scope"] is None:
            return queries.scope_status(network_state)
        parts = options["scope"].split("-")
        if len(parts) != 3 or not all(parts) or options["status"] is None:
            raise CommandError("--scope takes org-campaign-project, and needs --status")
        return queries.scope_tasks(
            parts[0], parts[1], parts[2], options["status"], network_state=network_state, limit=options["limit"]
        )

    def _lines_tasks(self, found: list[dict[str, Any]], options: dict[str, Any]) -> list[str]:
        if options["scope"] is not None:
            return [
                f"{t['task']}  {t['status']}  priority {t['priority']}  age {present.age_text(t['age'])}  "
                f"claimed by {t['claimant'] or '-'}" + (f"  last failure {t['failed_at']}" if t["failed_at"] else "")
                for t in found
            ] or ["no such task"]
        lines = [f"{'scope':<30} " + " ".join(f"{s:>8}" for s in TASK_STATUSES)]
        lines += [
            f"{row['scope']:<30} " + " ".join(f"{row['counts'].get(s, 0):>8}" for s in TASK_STATUSES) for row in found
        ]
        return lines

    # The command counts afresh each time (the pages keep their counts a few minutes: compute/counted.py).
    def _networks(self, options: dict[str, Any]) -> list[dict[str, Any]]:
        network_state = None if options["network_state"] == ANY else options["network_state"]
        return fleetwide.networks(network_state, limit=options["limit"])

    def _lines_networks(self, found: list[dict[str, Any]], options: dict[str, Any]) -> list[str]:
        return [
            f"{n['network']}  {n['state']}  weight {n['weight']}  "
            + " ".join(f"{s} {n['counts'].get(s, 0)}" for s in TASK_STATUSES)
            + f"  strategy {n['strategy_status'] or '-'}"
            + (f"  ({n['strategy_exception']})" if n["strategy_exception"] else "")
            for n in found
        ] or ["no network in this state"]

    def _throughput(self, options: dict[str, Any]) -> list[dict[str, Any]]:
        return fleetwide.throughput(options["by"], limit=options["limit"])

    def _lines_throughput(self, found: list[dict[str, Any]], options: dict[str, Any]) -> list[str]:
        lines = [f"{options['by']:<40} {'hour ok/failed':>16} {'day ok/failed':>16} {'week ok/failed':>16}"]
        lines += [
            f"{r['key']:<40} " + " ".join(f"{r[w + '_ok']:>9}/{r[w + '_failed']:<6}" for w, _ in fleetwide.WINDOWS)
            for r in found
        ]
        return lines if found else ["no result uploaded in the last week"]

    def _anomalies(self, options: dict[str, Any]) -> list[dict[str, Any]]:
        return queries.anomalies()

    def _lines_anomalies(self, found: list[dict[str, Any]], options: dict[str, Any]) -> list[str]:
        lines = []
        for a in found:
            lines.append(f"{a['title']}: {a['count']}{' or more' if a['capped'] else ''}")
            lines += [f"    {', '.join(f'{k}: {v}' for k, v in s.items())}" for s in a["sample"]]
        return lines

    def _expire_stale(self, options: dict[str, Any]) -> dict[str, Any]:
        stale = queries.stale_preview(limit=options["limit"])
        if not options["yes"] or not stale:
            return {"expired": False, "stale": stale}
        try:
            removed = actions.expire_stale([s["identifier"] for s in stale], Actor.command_line())
        except actions.NothingToDo as exc:
            raise CommandError(str(exc)) from None
        return {"expired": True, "stale": stale, "removed": removed}

    def _lines_expire_stale(self, found: dict[str, Any], options: dict[str, Any]) -> list[str]:
        if not found["stale"]:
            return ["no registration is stale"]
        if not found["expired"]:
            lines = ["would expire (run again with --yes):"]
            lines += [
                f"  {s['identifier']}  heartbeat {present.age_text(s['heartbeat_age'])} ago  "
                f"{len(s['tasks'])} running tasks back to waiting"
                for s in found["stale"]
            ]
            return lines
        removed = found["removed"]
        lines = [f"expired {len(removed)} registrations; {sum(map(len, removed.values()))} tasks back to waiting"]
        return lines + [f"  {identifier}: {', '.join(tasks) or 'no task'}" for identifier, tasks in removed.items()]
