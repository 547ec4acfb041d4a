"""examples/deploy/ holds what it says: manifests Kubernetes accepts, an image that serves what they expect.

The manifests are validated against the Kubernetes API's own JSON schemas (strict: an unknown or
misspelt field fails), then checked for the facts the deployment relies on. The container image
cannot be built here, so its definition is parsed and checked statically. The nginx configuration is
exercised for real by tests/e2e/test_behind_nginx.py.
"""

from __future__ import annotations

import io
import json
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from dockerfile_parse import DockerfileParser  # type: ignore[import-untyped]

from mix_mcp.config import HEALTH_PATH, READY_PATH, SETTINGS

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "examples" / "deploy"
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
#: The Kubernetes release whose schemas the manifests must satisfy (bundled by kubernetes-validate).
KUBERNETES_VERSION = "1.30.0"
#: Settings of the OAuth resource server, which the Secret carries beside the others.
OAUTH_ENV = {"MIX_MCP_OAUTH_ISSUER", "MIX_MCP_PUBLIC_URL"}
KNOWN_ENV = {s.env for s in SETTINGS} | OAUTH_ENV | {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"}


def _documents() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in MANIFESTS:
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            found[document["kind"]] = document
    return found


DOCS = _documents()


def _container() -> dict[str, Any]:
    (container,) = DOCS["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def _image() -> DockerfileParser:
    return DockerfileParser(fileobj=io.BytesIO((DEPLOY / "Containerfile").read_bytes()))


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.name for p in MANIFESTS])
def test_each_manifest_satisfies_the_kubernetes_schemas(path: Path) -> None:
    for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_validator_refuses_a_misspelt_field() -> None:
    """The control: a probe with a typo is not silently accepted."""
    broken = json.loads(json.dumps(DOCS["Deployment"]))
    probe = broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    probe["httpGet"]["paht"] = probe["httpGet"].pop("path")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_the_manifests_cover_a_deployment_a_service_and_a_secret() -> None:
    assert set(DOCS) == {"Deployment", "Service", "Secret"}


def test_probes_point_at_the_health_endpoints_on_the_served_port() -> None:
    container = _container()
    (port,) = container["ports"]
    assert container["readinessProbe"]["httpGet"] == {"path": READY_PATH, "port": port["name"]}
    assert container["livenessProbe"]["httpGet"] == {"path": HEALTH_PATH, "port": port["name"]}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert int(env["MIX_MCP_PORT"]) == port["containerPort"] == int(_instructions("EXPOSE")[0])


def test_replicas_are_stateless_and_confirm_with_the_shared_key_from_the_secret() -> None:
    deployment, secret = DOCS["Deployment"], DOCS["Secret"]
    container = _container()
    assert deployment["spec"]["replicas"] >= 2
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["MIX_MCP_STATELESS"] == "true" and env["MIX_MCP_CONFIRM_DESTRUCTIVE"] == "true"
    assert env["MIX_MCP_TRANSPORT"] == "http" and env["MIX_MCP_HOST"] == "0.0.0.0"
    assert container["envFrom"] == [{"secretRef": {"name": secret["metadata"]["name"]}}]
    secret_keys = set(secret["stringData"])
    assert {"MIX_MCP_STATE_KEY", "MIX_API_KEY"} | OAUTH_ENV <= secret_keys
    assert len(secret["stringData"]["MIX_MCP_STATE_KEY"]) >= 32
    assert not secret_keys & set(env), "a secret setting is given once, in the Secret"
    assert set(env) | secret_keys <= KNOWN_ENV, "every variable is one mix-mcp reads"
    grace = float(env["MIX_MCP_SHUTDOWN_GRACE"])
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > grace + 5


def test_the_service_reaches_the_pods_by_their_labels_and_port_name() -> None:
    service, deployment = DOCS["Service"], DOCS["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == _container()["ports"][0]["name"]
    assert "sessionAffinity" not in service["spec"], "stateless replicas need no affinity"


def test_pods_run_unprivileged_with_a_read_only_root() -> None:
    pod = DOCS["Deployment"]["spec"]["template"]["spec"]
    security = _container()["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == int(_instructions("USER")[-1])
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]


def _instructions(name: str) -> list[str]:
    return [i["value"] for i in _image().structure if i["instruction"] == name]


def test_the_image_serves_stateless_http_as_a_non_root_user() -> None:
    image = _image()
    assert image.baseimage.startswith("python:3.")
    envs = image.envs
    assert envs["MIX_MCP_TRANSPORT"] == "http" and envs["MIX_MCP_HOST"] == "0.0.0.0"
    assert envs["MIX_MCP_STATELESS"] == "true" and envs["MIX_MCP_PORT"] in _instructions("EXPOSE")
    assert set(envs) <= KNOWN_ENV
    (user,) = _instructions("USER")
    assert user not in ("0", "root")
    assert _instructions("ENTRYPOINT") == ['["mix-mcp", "serve"]']
    assert _instructions("STOPSIGNAL") == ["SIGTERM"]
    (healthcheck,) = _instructions("HEALTHCHECK")
    assert f":{envs['MIX_MCP_PORT']}{HEALTH_PATH}" in healthcheck


def test_the_image_copies_what_the_package_build_needs() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    copied = {part for value in _instructions("COPY") for part in value.split()[:-1]}
    assert {"pyproject.toml", project["readme"], *project["license-files"], "mix_mcp"} <= copied
    assert all((ROOT / part).exists() for part in copied)
