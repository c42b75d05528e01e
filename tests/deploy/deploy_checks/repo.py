"""Where things are: the repository root, its services, and small readers shared by the checks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema.protocols
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
SERVICES_DIR = REPO_ROOT / "services"
#: The image name of a service built from ``services/<name>/Dockerfile``.
IMAGE_PREFIX = "testing-microservices/"


def service_names() -> list[str]:
    """Every service of the repository: a folder of ``services/`` with typed settings."""
    return sorted(path.parent.parent.name for path in SERVICES_DIR.glob("*/app/config.py"))


def service_dockerfiles() -> list[Path]:
    return sorted(SERVICES_DIR.glob("*/Dockerfile"))


def all_dockerfiles() -> list[Path]:
    """Service images and the repository-level ones (``Dockerfile.test``)."""
    return [*service_dockerfiles(), *sorted(REPO_ROOT.glob("Dockerfile*"))]


def compose_files() -> list[Path]:
    return sorted(REPO_ROOT.glob("docker-compose*.yml"))


def k8s_bases() -> list[Path]:
    return sorted(path.parent for path in (REPO_ROOT / "deploy" / "k8s").glob("*/kustomization.yaml"))


def service_of_dockerfile(dockerfile: Path) -> str | None:
    """The service a Dockerfile packages, if it is ``services/<name>/Dockerfile``."""
    resolved = dockerfile.resolve()
    if resolved.name == "Dockerfile" and resolved.parent.parent == SERVICES_DIR.resolve():
        return resolved.parent.name if (resolved.parent / "app" / "config.py").is_file() else None
    return None


def service_of_image(image: str) -> str | None:
    """The service an image reference names, e.g. ``testing-microservices/users:dev`` -> users."""
    name = image.split("@", 1)[0].rsplit(":", 1)[0] if "/" in image else image
    if not name.startswith(IMAGE_PREFIX):
        return None
    service = name.removeprefix(IMAGE_PREFIX)
    return service if (SERVICES_DIR / service / "app" / "config.py").is_file() else None


def one_shot_services(services: dict[str, Any]) -> set[str]:
    """Compose services others wait to see completed (the migrations): run once, never health-checked."""
    awaited = set()
    for service in services.values():
        depends_on = service.get("depends_on") or {}
        if isinstance(depends_on, dict):
            awaited |= {
                target
                for target, condition in depends_on.items()
                if isinstance(condition, dict) and condition.get("condition") == "service_completed_successfully"
            }
    return awaited


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_yaml_documents(path: Path) -> list[Any]:
    return [document for document in yaml.safe_load_all(path.read_text(encoding="utf-8")) if document]


def tool(name: str) -> str:
    """A console script of the project's environment (the one running these tests)."""
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.is_file() else shutil.which(name)
    if found is None:
        msg = f"{name} is not installed: run `make setup`"
        raise FileNotFoundError(msg)
    return found


def run_tool(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool(args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True, check=False, timeout=60)


@cache
def _vendored_validator(name: str) -> jsonschema.protocols.Validator:
    text = (resources.files("check_jsonschema.builtin_schemas.vendor") / f"{name}.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    validator_class = jsonschema.validators.validator_for(schema)
    return validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)


def vendored_schema_problems(path: Path, name: str) -> list[str]:
    """Validate a YAML file in process against a schema check-jsonschema ships (``vendor/<name>.json``),
    for files checked many times over (every broken copy of a compose file)."""
    errors = sorted(_vendored_validator(name).iter_errors(load_yaml(path)), key=lambda error: list(error.path))
    return [f"{path.name}: not valid against {name}: {'.'.join(map(str, e.path))}: {e.message}" for e in errors]


def schema_problems(path: Path, builtin_schema: str) -> list[str]:
    """Validate a YAML file with the check-jsonschema command against one of the schemas it ships."""
    result = run_tool("check-jsonschema", "--builtin-schema", builtin_schema, str(path))
    if result.returncode == 0:
        return []
    return [f"{path.name}: not valid against {builtin_schema}: {(result.stdout + result.stderr).strip()}"]
