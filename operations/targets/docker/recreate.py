"""Re-creating the Neo4j container on another image, keeping everything compose gave it.

Name, labels and environment (minus what the old image supplied, with the Neo4j settings 5.x renamed spelled as the
new version spells them), user, host configuration (binds, restart policy, network mode, ports) and networks with
their aliases. The container is created, not started.

The old container is renamed aside (``REPLACED_SUFFIX``) first and removed only once its successor exists, so a
failure leaves it in place (renamed back) and a kill in between leaves both, which :meth:`Discovery.container` and
:meth:`Recreator.remove_replaced` sort out.
"""

from __future__ import annotations

from typing import Any

from ..base import TargetError
from .discovery import REPLACED_SUFFIX, Discovery
from .sdk import docker

#: Neo4j 4.4 settings 5.x renamed, among those a compose deployment sets through NEO4J_<setting> variables.
#: Checked against 5.26.12 itself: it accepts each old name, logs "Use of deprecated setting ... It is replaced by"
#: and uses it under the new name, *unless the new name is set too*, and then the old value is silently dropped. The
#: image's own configuration sets server.default_listen_address and server.directories.* (the official image's
#: too), so a 4.4 container's NEO4J_dbms_default__listen__address=127.0.0.1 would quietly become 0.0.0.0 on 5.x.
#: The switch to 5.x therefore renames these variables itself (and back again when returning to 4.4).
RENAMED_IN_5 = {
    "dbms.default_listen_address": "server.default_listen_address",
    "dbms.default_advertised_address": "server.default_advertised_address",
    "dbms.connector.bolt.enabled": "server.bolt.enabled",
    "dbms.connector.bolt.listen_address": "server.bolt.listen_address",
    "dbms.connector.bolt.advertised_address": "server.bolt.advertised_address",
    "dbms.connector.http.enabled": "server.http.enabled",
    "dbms.connector.http.listen_address": "server.http.listen_address",
    "dbms.connector.http.advertised_address": "server.http.advertised_address",
    "dbms.connector.https.enabled": "server.https.enabled",
    "dbms.connector.https.listen_address": "server.https.listen_address",
    "dbms.connector.https.advertised_address": "server.https.advertised_address",
    "dbms.memory.heap.initial_size": "server.memory.heap.initial_size",
    "dbms.memory.heap.max_size": "server.memory.heap.max_size",
    "dbms.memory.pagecache.size": "server.memory.pagecache.size",
    "dbms.directories.data": "server.directories.data",
    "dbms.directories.logs": "server.directories.logs",
    "dbms.directories.import": "server.directories.import",
    "dbms.directories.plugins": "server.directories.plugins",
    "dbms.jvm.additional": "server.jvm.additional",
    "dbms.tx_log.rotation.retention_policy": "db.tx_log.rotation.retention_policy",
    "dbms.memory.transaction.global_max_size": "dbms.memory.transaction.total.max",
    # the stop's tuning of docs/outage.md "What the outage is made of"
    "unsupported.dbms.bolt.netty_server_shutdown_quiet_period": "internal.dbms.bolt.netty_server_shutdown_quiet_period",
}


def setting_of(variable: str) -> str | None:
    """``NEO4J_dbms_memory_heap_max__size`` -> ``dbms.memory.heap.max_size`` (the images' spelling: ``_`` is ``.``,
    ``__`` is ``_``); None for anything not a NEO4J_ variable."""
    if not variable.startswith("NEO4J_"):
        return None
    return variable[len("NEO4J_") :].replace("__", "\0").replace("_", ".").replace("\0", "_")


def variable_of(setting: str) -> str:
    return "NEO4J_" + setting.replace("_", "__").replace(".", "_")


def translate_settings(environment: list[str], to_version: str) -> list[str]:
    """``KEY=value`` entries with the renamed settings spelled as ``to_version`` spells them (``RENAMED_IN_5``)."""
    table = RENAMED_IN_5 if not to_version.startswith("4.") else {new: old for old, new in RENAMED_IN_5.items()}
    out = []
    for entry in environment:
        name, sep, value = entry.partition("=")
        setting = setting_of(name)
        if setting in table:
            name = variable_of(table[setting])
        out.append(f"{name}{sep}{value}")
    return out


class Recreator:
    """Replaces the container ``discovery`` finds by one of another image."""

    def __init__(self, discovery: Discovery):
        self.discovery = discovery

    def remove_replaced(self) -> list[str]:
        """Predecessors a killed switch left behind once their successor existed (see ``Discovery.container``)."""
        done = []
        found = self.discovery.labelled()
        if len(found) > 1:
            for c in found:
                if c.name.endswith(REPLACED_SUFFIX):
                    c.remove(force=True)
                    done.append(f"removed {c.name}, left by an interrupted switch")
        return done

    def recreate(self, old, image_name: str, version: str):
        """Replace ``old`` by a container of ``image_name`` made from the same compose settings."""
        client = self.discovery.client()
        name = old.name[: -len(REPLACED_SUFFIX)] if old.name.endswith(REPLACED_SUFFIX) else old.name
        config, extra_networks = self.create_config(old, image_name, version)
        try:
            if old.name != name + REPLACED_SUFFIX:
                old.rename(name + REPLACED_SUFFIX)
        except docker.errors.APIError as exc:
            raise TargetError(f"renaming container {old.name} aside failed: {exc.explanation or exc}") from None
        created = None
        try:
            created = client.api.create_container_from_config(config, name=name)["Id"]
            for network, endpoint in extra_networks.items():
                client.api.connect_container_to_network(
                    created,
                    network,
                    aliases=endpoint.get("Aliases"),
                    links=endpoint.get("Links"),
                    ipv4_address=(endpoint.get("IPAMConfig") or {}).get("IPv4Address"),
                    ipv6_address=(endpoint.get("IPAMConfig") or {}).get("IPv6Address"),
                )
        except docker.errors.APIError as exc:
            if created:
                client.api.remove_container(created, force=True)
            old.rename(name)
            raise TargetError(
                f"re-creating container {name} on {image_name} failed (the old container is kept as "
                f"it was): {exc.explanation or exc}"
            ) from None
        try:
            old.remove()
        except docker.errors.APIError:
            pass  # its successor exists and is the container now; the next switch removes it (remove_replaced)
        return client.containers.get(created)

    def create_config(self, old, image_name: str, version: str) -> tuple[dict[str, Any], dict[str, dict]]:
        """The engine's create request for ``old``'s successor, and the networks to connect it to afterwards."""
        try:
            old_image = self.discovery.client().images.get(old.attrs["Image"]).attrs.get("Config") or {}
        except docker.errors.ImageNotFound:
            raise TargetError(
                f"the image of container {old.name} ({self.discovery.image_name(old)}) is gone, so what it "
                f"supplied cannot be told from what compose set; pull it again"
            ) from None
        config = dict(old.attrs.get("Config") or {})
        config["Image"] = image_name
        image_env = set(old_image.get("Env") or [])
        config["Env"] = translate_settings([e for e in config.get("Env") or [] if e not in image_env], version)
        image_labels = old_image.get("Labels") or {}
        config["Labels"] = {k: v for k, v in (config.get("Labels") or {}).items() if image_labels.get(k) != v}
        # What the old image supplied comes from the new image instead.
        for key in (
            "Cmd",
            "Entrypoint",
            "WorkingDir",
            "ExposedPorts",
            "Volumes",
            "Healthcheck",
            "StopSignal",
            "Shell",
            "OnBuild",
        ):
            if key in config and config[key] == old_image.get(key):
                del config[key]
        host = dict(old.attrs.get("HostConfig") or {})
        mode = host.get("NetworkMode") or ""
        # The engine named the old container after its id, or after the host: neither is compose's setting.
        if mode == "host" or mode.startswith("container:") or config.get("Hostname") == old.id[:12]:
            config.pop("Hostname", None)
            config.pop("Domainname", None)
        config["HostConfig"] = host
        endpoints = {}
        for network, endpoint in ((old.attrs.get("NetworkSettings") or {}).get("Networks") or {}).items():
            aliases = [a for a in endpoint.get("Aliases") or [] if a not in (old.id[:12], old.id)]
            endpoints[network] = {
                "Aliases": aliases or None,
                "Links": endpoint.get("Links"),
                "IPAMConfig": endpoint.get("IPAMConfig"),
                "DriverOpts": endpoint.get("DriverOpts"),
            }
        primary = mode if mode in endpoints else None
        if primary:
            config["NetworkingConfig"] = {"EndpointsConfig": {primary: endpoints.pop(primary)}}
        elif mode in ("host", "none"):
            endpoints.pop(mode, None)
        return config, endpoints
