"""The deployment files, checked statically (no Docker engine or cluster here): they parse,
every variable they set is a setting a service reads, and ports, images and databases agree
with the services' own definitions."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices

from wafa_shared.services import SERVICES, ServiceInfo

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"


def settings_env_names(info: ServiceInfo) -> set[str]:
    """Every environment variable name the service's Settings class reads."""
    cls = importlib.import_module(f"{info.package}.settings").Settings
    names = set()
    for field_name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {str(c).upper() for c in alias.choices}
        else:
            names.add(f"{info.env_prefix}{field_name}".upper())
    return names


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def k8s() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((DEPLOY / "k8s" / "wafa.yaml").read_text()) if d]


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


@pytest.mark.parametrize("info", SERVICES, ids=lambda s: s.name)
def test_compose_sets_only_settings_the_service_reads_and_agrees_on_port_and_image(info: ServiceInfo) -> None:
    svc = compose()["services"][info.name]
    known = settings_env_names(info)
    unknown = set(svc["environment"]) - known
    assert not unknown, f"compose sets variables {info.name} never reads: {unknown}"
    assert svc["ports"] == [f"{info.port}:{info.port}"]
    migrate = compose()["services"][f"migrate-{info.name}"]
    assert migrate["image"] == svc["image"] == f"wafa/{info.name}:0.1.0"
    assert migrate["command"] == ["wafa", "migrate", info.name]
    assert info.database in svc["environment"][f"{info.env_prefix}DATABASE_URL"]


@pytest.mark.parametrize("info", SERVICES, ids=lambda s: s.name)
def test_kubernetes_objects_exist_and_agree_with_the_service(info: ServiceInfo) -> None:
    docs = k8s()
    deployment = by_kind(docs, "Deployment")[info.name]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == compose()["services"][info.name]["image"]
    assert container["ports"][0]["containerPort"] == info.port
    assert container["securityContext"]["runAsNonRoot"] is True
    config = by_kind(docs, "ConfigMap")["wafa-config"]["data"]
    secrets = by_kind(docs, "Secret")["wafa-secrets"]["stringData"]
    known = settings_env_names(info)
    set_here = set(config) | {e["name"] for e in container["env"]}
    assert not set_here - known, f"k8s sets variables {info.name} never reads: {set_here - known}"
    for env in container["env"]:
        if "valueFrom" in env:
            assert env["valueFrom"]["secretKeyRef"]["key"] in secrets
    assert not {k for k in secrets if k.startswith("WAFA_") and not any(k in settings_env_names(s) for s in SERVICES)}
    service = by_kind(docs, "Service")[info.name]
    assert service["spec"]["ports"][0]["targetPort"] == info.port
    assert by_kind(docs, "HorizontalPodAutoscaler")[info.name]["spec"]["scaleTargetRef"]["name"] == info.name
    assert by_kind(docs, "PodDisruptionBudget")[info.name]["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    job = by_kind(docs, "Job")[f"migrate-{info.name}"]
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["wafa", "migrate", info.name]
    ingress = by_kind(docs, "Ingress")["wafa"]
    backends = {p["backend"]["service"]["name"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]}
    assert info.name in backends


@pytest.mark.parametrize("info", SERVICES, ids=lambda s: s.name)
def test_each_dockerfile_runs_the_service_non_root_on_its_port(info: ServiceInfo) -> None:
    text = (ROOT / "services" / info.name / "Dockerfile").read_text()
    assert f"EXPOSE {info.port}" in text
    assert f'"{info.package}.app:create_app"' in text and f'"{info.port}"' in text
    assert re.search(r"^USER 10001$", text, re.M), "the final user is not root"
    assert "USER 10001" in (DEPLOY / "Dockerfile.base").read_text()


def test_postgres_init_creates_one_database_per_service() -> None:
    sql = (DEPLOY / "postgres" / "init.sql").read_text()
    for info in SERVICES:
        assert f"CREATE DATABASE {info.database};" in sql


def test_alert_rules_use_metrics_the_services_export() -> None:
    from wafa_shared import observability

    exported = {m._name for m in vars(observability).values() if hasattr(m, "_name") and hasattr(m, "collect")}
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())["groups"][0]["rules"]
    for rule in rules:
        used = set(re.findall(r"wafa_[a-z_]+", rule["expr"]))
        assert used, rule["alert"]
        for name in used:
            assert name.removesuffix("_total") in exported, f"{rule['alert']} uses unknown metric {name}"
