"""Run as a script inside a service's folder (every service's package is called ``app``, so one
process per service, kept for the whole test run). Reads one request a line on stdin,
``{"environments": {label: {VAR: value}}, "paths": [...]}``, and answers one line: what the
service's settings require, which of the paths its app serves to a GET, and whether each
environment validates."""

from __future__ import annotations

import json
import os
import secrets
import sys
import typing
from pathlib import Path
from typing import Any

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def main() -> None:
    sys.path.insert(0, str(Path.cwd()))
    for line in sys.stdin:
        sys.stdout.write(json.dumps(answer(json.loads(line))) + "\n")
        sys.stdout.flush()


def answer(request: dict[str, Any]) -> dict[str, Any]:
    environments: dict[str, dict[str, str]] = request["environments"]
    from pydantic import AnyUrl, SecretStr  # noqa: PLC0415 - after the path set-up, like the service

    from app.config import Settings  # noqa: PLC0415 - imported from the service's folder on purpose

    prefix = str(Settings.model_config.get("env_prefix") or "")
    fields: dict[str, dict[str, Any]] = {}
    for name, info in Settings.model_fields.items():
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        if isinstance(default, SecretStr):
            default = default.get_secret_value()
        if default is not None and not isinstance(default, str | int | float | bool):
            default = str(default)
        fields[name] = {
            "env": (prefix + name).upper(),
            "required": info.is_required(),
            "default": default,
            "url": _is_a(info.annotation, AnyUrl),
        }

    def validates(environment: dict[str, str]) -> str | None:
        os.environ.clear()
        os.environ.update(environment)
        try:
            Settings()
        except Exception as error:  # noqa: BLE001 - any refusal is the answer
            return str(error)
        return None

    validation = {label: validates(env) for label, env in environments.items()}
    # The app is built at import: with the first environment the settings accept, else defaults.
    accepted = [environments[label] for label, error in validation.items() if error is None]
    served = _served_paths(request.get("paths", []), accepted[0] if accepted else {})
    return {
        "variables": sorted(field["env"] for field in fields.values()),
        "defaults": {field["env"]: field["default"] for field in fields.values()},
        "required": sorted(_required(fields, validates)),
        "shared_state": sorted(_shared_state(fields)),
        "urls": sorted(field["env"] for field in fields.values() if field["url"]),
        "served": served,
        "validation": validation,
    }


def _is_a(annotation: Any, kind: type) -> bool:
    """Whether ``annotation`` is ``kind`` or a union (``X | None``) with it."""
    if isinstance(annotation, type):
        return issubclass(annotation, kind)
    return any(_is_a(argument, kind) for argument in typing.get_args(annotation))


def _required(fields: dict[str, dict[str, Any]], validates: Any) -> set[str]:
    """Variables a deployment must set: settings without a default, settings whose default
    production refuses, and connection settings whose default is the loopback (inside a
    container that is the container itself)."""
    required = {field["env"] for field in fields.values() if field["required"]}
    for name, field in fields.items():
        default = field["default"]
        connection = name.endswith(("_url", "_host"))
        if connection and isinstance(default, str) and any(host in default for host in LOOPBACK_HOSTS):
            required.add(field["env"])
    environment_field = fields.get("environment")
    if environment_field is None:
        return required
    production = {environment_field["env"]: "production"}
    production.update({fields[name]["env"]: secrets.token_urlsafe(48) for name in fields if fields[name]["required"]})
    if validates(production) is None:
        return required
    for field in fields.values():
        if isinstance(field["default"], str) and field["env"] not in production:
            fixed = validates({**production, field["env"]: secrets.token_urlsafe(48)}) is None
            if fixed:
                required.add(field["env"])
    return required


def _shared_state(fields: dict[str, dict[str, Any]]) -> set[str]:
    """Optional stores that are per-process when unset (e.g. REDIS_URL): needed beyond one replica."""
    return {
        field["env"]
        for name, field in fields.items()
        if name.endswith("_url") and not field["required"] and field["default"] is None
    }


def _served_paths(paths: list[str], environment: dict[str, str]) -> list[str]:
    """The paths a GET reaches a route for, asked of the app's own router (built once, at its
    first import, with ``environment``: a service may require settings)."""
    if not paths:
        return []
    os.environ.clear()
    if "app.main" not in sys.modules:
        os.environ.update(environment)
    from starlette.routing import Match  # noqa: PLC0415

    import app.main  # noqa: PLC0415 - the service's own app, from its folder

    def served(path: str) -> bool:
        scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "query_string": b"", "headers": []}
        return any(route.matches(scope)[0] is Match.FULL for route in app.main.app.router.routes)

    return [path for path in paths if served(path)]


if __name__ == "__main__":
    main()
