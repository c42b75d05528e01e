"""Kubernetes checks: each resource against the Kubernetes schemas (kubernetes-validate), then
the references between them, the pods' hardening, and the settings each container gets."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate

from tests.deploy.deploy_checks import recipe, settings
from tests.deploy.deploy_checks.repo import SERVICES_DIR, load_yaml, load_yaml_documents, service_of_image

KUBERNETES_VERSION = kubernetes_validate.latest_version()
SECRET_TEMPLATE = "secrets.env.example"
WORKLOADS = ("Deployment", "Job", "StatefulSet", "DaemonSet")


def resources(base: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The resources a kustomization lists, and what is wrong with the list itself."""
    kustomization = load_yaml(base / "kustomization.yaml")
    listed = kustomization.get("resources") or []
    problems = [f"kustomization lists {name}, which does not exist" for name in listed if not (base / name).is_file()]
    unlisted = {p.name for p in base.glob("*.yaml")} - set(listed) - {"kustomization.yaml"}
    problems += [f"{name} is not listed in the kustomization" for name in sorted(unlisted)]
    documents = [doc for name in listed if (base / name).is_file() for doc in load_yaml_documents(base / name)]
    return documents, problems


def schema_problems(documents: list[dict[str, Any]]) -> list[str]:
    found = (_schema_problem(json.dumps(document, sort_keys=True)) for document in documents)
    return [problem for problem in found if problem is not None]


@cache
def _schema_problem(document_json: str) -> str | None:
    """What the Kubernetes schema says of one resource (given as JSON, so that it can be cached:
    kubernetes-validate reads and parses its schema files on every call, and the broken copies
    checked here share all but one of their resources with the real ones)."""
    document = json.loads(document_json)
    try:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        where = f"{document.get('kind')}/{(document.get('metadata') or {}).get('name')}"
        return f"{where}: {error.message} at {'.'.join(str(p) for p in error.path)}"
    except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as error:
        return f"{document.get('kind')}: no schema: {error}"
    return None


def _by_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in documents if doc.get("kind") == kind}


def _pod_spec(workload: Mapping[str, Any]) -> dict[str, Any]:
    return dict(workload["spec"]["template"]["spec"])


def _containers(documents: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for document in documents:
        if document.get("kind") in WORKLOADS:
            name = f"{document['kind']}/{document['metadata']['name']}"
            pod = _pod_spec(document)
            for container in pod.get("containers", []):
                yield f"{name}/{container['name']}", pod, container


def _matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def reference_problems(documents: list[dict[str, Any]], base: Path) -> list[str]:
    """Names and selectors that point at something in the base, images the kustomization sets."""
    problems = []
    deployments = _by_kind(documents, "Deployment")
    pod_labels = [d["spec"]["template"]["metadata"].get("labels", {}) for d in deployments.values()]
    for name, service in _by_kind(documents, "Service").items():
        if not any(_matches(service["spec"].get("selector", {}), labels) for labels in pod_labels):
            problems.append(f"Service/{name}: its selector matches no Deployment's pods")
    for name, budget in _by_kind(documents, "PodDisruptionBudget").items():
        if not any(_matches(budget["spec"]["selector"].get("matchLabels", {}), labels) for labels in pod_labels):
            problems.append(f"PodDisruptionBudget/{name}: its selector matches no Deployment's pods")
    for name, autoscaler in _by_kind(documents, "HorizontalPodAutoscaler").items():
        target = autoscaler["spec"]["scaleTargetRef"]
        if target["kind"] != "Deployment" or target["name"] not in deployments:
            problems.append(
                f"HorizontalPodAutoscaler/{name}: scales {target['kind']}/{target['name']}, not in the base"
            )
    kustomized = {image["name"] for image in load_yaml(base / "kustomization.yaml").get("images") or []}
    config_maps = _by_kind(documents, "ConfigMap")
    for where, _pod, container in _containers(documents):
        if container["image"].split(":")[0] not in kustomized:
            problems.append(f"{where}: image {container['image']} is not set by the kustomization's images")
        for source in container.get("envFrom", []):
            ref = source.get("configMapRef")
            if ref and ref["name"] not in config_maps:
                problems.append(f"{where}: ConfigMap {ref['name']} is not in the base")
        ports = {port.get("name") for port in container.get("ports", [])}
        for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
            port = (container.get(probe_name) or {}).get("httpGet", {}).get("port")
            if isinstance(port, str) and port not in ports:
                problems.append(f"{where}: {probe_name} uses port {port}, which the container does not name")
    return problems


def hardening_problems(documents: list[dict[str, Any]]) -> list[str]:
    """Non-root, no privilege escalation, read-only root, bounded resources, HTTP probes on every
    container that serves (declares ports); no Secret committed."""
    problems = []
    for where, pod, container in _containers(documents):
        security = {**(pod.get("securityContext") or {}), **(container.get("securityContext") or {})}
        problems += [
            f"{where}: securityContext.{key} is not {wanted}"
            for key, wanted in (
                ("runAsNonRoot", True),
                ("allowPrivilegeEscalation", False),
                ("readOnlyRootFilesystem", True),
            )
            if security.get(key) is not wanted
        ]
        if "ALL" not in ((container.get("securityContext") or {}).get("capabilities") or {}).get("drop", []):
            problems.append(f"{where}: capabilities are not all dropped")
        resources = container.get("resources") or {}
        for bound in ("requests", "limits"):
            if not {"cpu", "memory"} <= set((resources.get(bound) or {}).keys()):
                problems.append(f"{where}: resources.{bound} lacks cpu or memory")
        if where.startswith("Deployment/") and container.get("ports"):
            problems += [
                f"{where}: no {probe}"
                for probe in ("livenessProbe", "readinessProbe")
                if "httpGet" not in (container.get(probe) or {})
            ]
    problems += [
        f"Secret/{doc['metadata']['name']}: a Secret is committed" for doc in documents if doc.get("kind") == "Secret"
    ]
    return problems


def secret_template_problems(base: Path) -> list[str]:
    """The Secret's keys are documented with empty values: names only, never a value."""
    template = base / SECRET_TEMPLATE
    if not template.is_file():
        return [f"{SECRET_TEMPLATE} is missing: it documents the Secret's keys"]
    problems = []
    for number, line in enumerate(template.read_text(encoding="utf-8").splitlines(), start=1):
        name, separator, value = line.partition("=")
        if separator and not name.strip().startswith("#") and value.strip():
            problems.append(f"{SECRET_TEMPLATE}:{number}: {name.strip()} has a value; commit names only")
    return problems


def _secret_keys(base: Path) -> set[str]:
    template = base / SECRET_TEMPLATE
    lines = template.read_text(encoding="utf-8").splitlines() if template.is_file() else []
    return {line.partition("=")[0].strip() for line in lines if "=" in line and not line.lstrip().startswith("#")}


def _provided(
    service: str, container: Mapping[str, Any], config_maps: Mapping[str, Any], base: Path
) -> tuple[dict[str, str], list[str]]:
    """The variables a container gets, secrets stood in for (random values, URLs for URL
    settings), and bad references."""
    environment: dict[str, str] = {}
    problems = []
    secret_keys = _secret_keys(base)
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            data = (config_maps.get(source["configMapRef"]["name"]) or {}).get("data") or {}
            environment.update({key: str(value) for key, value in data.items()})
        if "secretRef" in source:
            environment.update({key: settings.placeholder(service, key) for key in secret_keys})
    for variable in container.get("env", []):
        reference = (variable.get("valueFrom") or {}).get("secretKeyRef")
        if reference is not None:
            if reference["key"] not in secret_keys:
                problems.append(f"secret key {reference['key']} is not documented in {SECRET_TEMPLATE}")
            environment[variable["name"]] = settings.placeholder(service, variable["name"])
        elif "value" in variable:
            environment[variable["name"]] = str(variable["value"])
    return environment, problems


GRACE_SETTING = "SHUTDOWN_GRACE_SECONDS"
#: Kubernetes' default terminationGracePeriodSeconds.
DEFAULT_TERMINATION_GRACE = 30


def _grace_problems(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    environment: Mapping[str, str],
    known: settings.ServiceSettings,
) -> list[str]:
    """The pod must outlive the preStop pause plus the service's own drain (SHUTDOWN_GRACE_SECONDS):
    past terminationGracePeriodSeconds the kubelet kills it mid-request."""
    if GRACE_SETTING not in known.variables:
        return []
    drain = int(environment.get(GRACE_SETTING, str(known.defaults[GRACE_SETTING])))
    pause = int((((container.get("lifecycle") or {}).get("preStop") or {}).get("sleep") or {}).get("seconds", 0))
    allowed = int(pod.get("terminationGracePeriodSeconds", DEFAULT_TERMINATION_GRACE))
    if pause + drain < allowed:
        return []
    return [f"terminationGracePeriodSeconds {allowed} does not outlast preStop {pause}s + {GRACE_SETTING} {drain}s"]


def settings_problems(documents: list[dict[str, Any]], base: Path) -> list[str]:
    """Every container of a service gets every variable its settings require, each variable it
    gets is a setting, and the whole environment (secrets stood in for) validates; a Deployment
    that runs more than one replica also gets the shared stores (e.g. REDIS_URL)."""
    problems = []
    config_maps = _by_kind(documents, "ConfigMap")
    replicated = {
        autoscaler["spec"]["scaleTargetRef"]["name"]
        for autoscaler in _by_kind(documents, "HorizontalPodAutoscaler").values()
        if autoscaler["spec"].get("minReplicas", 1) > 1
    } | {name for name, d in _by_kind(documents, "Deployment").items() if d["spec"].get("replicas", 1) > 1}
    for where, _pod, container in _containers(documents):
        service = service_of_image(container["image"])
        if service is None:
            continue
        known = settings.describe(service)
        environment, reference_errors = _provided(service, container, config_maps, base)
        problems += [f"{where}: {p}" for p in reference_errors]
        required = set(known.required)
        if where.split("/")[0] == "Deployment" and where.split("/")[1] in replicated:
            required |= known.shared_state
        problems += [
            f"{where}: {v} is required by {service} and not provided" for v in sorted(required - environment.keys())
        ]
        problems += [
            f"{where}: {v} is not a setting of {service}"
            for v in sorted(environment)
            if v not in known.variables and v not in settings.PROCESS_VARIABLES
        ]
        problems += [f"{where}: {p}" for p in _grace_problems(_pod, container, environment, known)]
        if environment.get("ENVIRONMENT") != "production":
            problems.append(f"{where}: ENVIRONMENT is not production")
        probes = {
            name: container[name]["httpGet"]
            for name in ("livenessProbe", "readinessProbe", "startupProbe")
            if "httpGet" in (container.get(name) or {})
        }
        if recipe.runs_image_server(SERVICES_DIR / service / "Dockerfile", _command(container)):
            paths = {name: probe["path"] for name, probe in probes.items()}
            problems += [f"{where}: {p}" for p in settings.runtime_problems(service, environment, paths)]
        else:  # another process of the image (the worker): probed where its settings make it listen
            problems += settings.runtime_problems(service, environment)
            problems += [
                f"{where}: {name}: {p}"
                for name, probe in probes.items()
                for p in settings.listening_port_problems(
                    service, environment, _port_number(container, probe["port"]), probed_from_outside=True
                )
            ]
    return problems


def _command(container: Mapping[str, Any]) -> list[str] | None:
    """The container's command line (``command`` then ``args``), None when the image's CMD runs."""
    if "command" in container:
        return [*container["command"], *container.get("args", [])]
    return list(container["args"]) if "args" in container else None


def _port_number(container: Mapping[str, Any], port: int | str) -> int | str:
    """A probe's port as a number (a named port looked up among the container's ports)."""
    named = {entry.get("name"): entry["containerPort"] for entry in container.get("ports", [])}
    return named.get(port, port) if isinstance(port, str) else port


def base_problems(base: Path) -> list[str]:
    documents, problems = resources(base)
    problems += schema_problems(documents)
    if problems:
        return problems
    return [
        *reference_problems(documents, base),
        *hardening_problems(documents),
        *secret_template_problems(base),
        *settings_problems(documents, base),
    ]
