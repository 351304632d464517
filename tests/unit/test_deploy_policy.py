"""The container policy `make deploy-check` enforces on every rendered workload."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

CHECK = Path(__file__).resolve().parents[2] / "deploy" / "check.py"


@pytest.fixture(scope="module")
def check() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_check", CHECK)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SECURE = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
}
RESOURCES = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


def deployment(**container: Any) -> dict[str, Any]:
    base = {
        "name": "api",
        "args": ["api"],
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}},
        "resources": RESOURCES,
        "securityContext": SECURE,
    }
    pod = {"automountServiceAccountToken": False, "containers": [{**base, **container}]}
    return {
        "kind": "Deployment",
        "metadata": {"name": "t"},
        "spec": {"template": {"spec": pod}},
    }


def test_a_compliant_deployment_passes(check: ModuleType) -> None:
    assert check.container_problems(deployment()) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"livenessProbe": None}, "no livenessProbe"),
        ({"readinessProbe": None}, "no readinessProbe"),
        ({"resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}, "no cpu limits"),
        ({"securityContext": {**SECURE, "runAsNonRoot": False}}, "runAsNonRoot is not true"),
        ({"securityContext": {**SECURE, "runAsUser": 0}}, "runAsUser is unset or root"),
        ({"securityContext": {**SECURE, "readOnlyRootFilesystem": False}}, "readOnlyRoot"),
        ({"securityContext": {**SECURE, "capabilities": {}}}, "do not drop ALL"),
        ({"securityContext": {**SECURE, "allowPrivilegeEscalation": True}}, "PrivilegeEsc"),
        ({"args": ["serve"]}, "name no threadline role"),
    ],
)
def test_each_breach_is_reported(check: ModuleType, change: dict[str, Any], problem: str) -> None:
    problems = check.container_problems(deployment(**change))
    assert any(problem in p for p in problems), problems


def test_pod_level_non_root_counts_and_jobs_need_no_probes(check: ModuleType) -> None:
    job = deployment(livenessProbe=None, readinessProbe=None, args=["migrate"])
    job["kind"] = "Job"
    container = job["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"] = {
        k: v for k, v in SECURE.items() if k not in ("runAsNonRoot", "runAsUser")
    }
    job["spec"]["template"]["spec"]["securityContext"] = {"runAsNonRoot": True, "runAsUser": 1}
    assert check.container_problems(job) == []


def test_cronjob_containers_need_no_probes_but_everything_else(check: ModuleType) -> None:
    pod = deployment(livenessProbe=None, readinessProbe=None, args=["insights", "refresh"])
    cron = {
        "kind": "CronJob",
        "metadata": {"name": "insights-refresh"},
        "spec": {"jobTemplate": {"spec": pod["spec"]}},
    }
    assert check.container_problems(cron) == []
    assert check.roles_deployed([cron]) == {"insights"}
    del cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert any("no cpu requests" in p for p in check.container_problems(cron))


def test_objects_without_pods_are_not_workloads(check: ModuleType) -> None:
    assert check.container_problems({"kind": "Service", "spec": {}}) == []


def test_roles_deployed_and_skips(check: ModuleType) -> None:
    worker = copy.deepcopy(deployment(args=["worker"]))
    assert check.roles_deployed([deployment(), worker]) == {"api", "worker"}
    skips = {"A": "always", "B": {"reason": "r", "values": ["default"]}}
    assert check.excused("A", "production", skips)
    assert check.excused("B", "default", skips)
    assert not check.excused("B", "production", skips)
    assert not check.excused("C", "default", skips)


def test_examples_must_fit_the_production_values(check: ModuleType) -> None:
    production = {
        "config": {"partitions": 24},
        "worker": {"keda": {"maxReplicas": 24}},
        "database": {"secretName": "threadline-db-app"},
    }

    def topic(name: str, partitions: int) -> dict[str, Any]:
        spec = {"partitions": partitions}
        return {"kind": "KafkaTopic", "metadata": {"name": name}, "spec": spec}

    cluster = {"kind": "Cluster", "metadata": {"name": "threadline-db"}}
    good = [topic("threadline.interactions", 24), topic("threadline.deadletter", 3), cluster]
    assert check.example_problems(good, production) == []
    few = [topic("threadline.interactions", 8), topic("threadline.deadletter", 3), cluster]
    assert "8 partitions" in check.example_problems(few, production)[0]
    assert len(check.example_problems(good[:2], production)) == 1


def test_the_image_copies_every_package_and_runs_as_non_root(check: ModuleType) -> None:
    root = CHECK.parent.parent
    dockerfile = (root / "deploy" / "Dockerfile").read_text()
    pyproject = (root / "pyproject.toml").read_text()
    assert check.dockerfile_problems(dockerfile, pyproject) == []
    without_api = dockerfile.replace("COPY api ./api\n", "")
    assert check.dockerfile_problems(without_api, pyproject) == ["Dockerfile: does not COPY api"]
    as_root = dockerfile.replace("USER 10001:10001", "USER 0")
    assert check.dockerfile_problems(as_root, pyproject) == ["Dockerfile: no non-root USER"]
