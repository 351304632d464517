"""`make deploy-check`: render the Helm chart, validate every object, scan it, enforce policy.

For the default values and every `ci/*-values.yaml` of the chart this
1. lints the chart and validates the values against `values.schema.json` (Helm's own code,
   through the Helm v4 SDK in `helm-python-sdk`: no helm binary needed),
2. renders it offline as `helm template` would and writes the manifests to
   `build/deploy-check/<values>/`,
3. validates every object against the Kubernetes OpenAPI schemas (`kubernetes-validate`,
   bundled, offline); custom resources (ServiceMonitor, PrometheusRule, ScaledObject...)
   have no schema there and are listed as not validated,
4. checks that every container has probes (long-running ones), cpu and memory requests and
   limits, and a non-root, read-only, capability-free securityContext, and runs the role the
   image's entry point expects,
then runs `checkov` over the rendered manifests and the Dockerfile and fails on any failed
check not listed in `deploy/checkov-skips.yaml` with its reason.

Run it with the tool environment: `.venv-tools/bin/python deploy/check.py`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

DEPLOY = Path(__file__).resolve().parent
CHART = DEPLOY / "helm" / "threadline"
OUT = DEPLOY.parent / "build" / "deploy-check"
KUBERNETES_VERSION = "1.31.0"
ROLES = ("api", "ingest", "smtp", "worker", "migrate", "insights")
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
RELEASE, NAMESPACE = "threadline", "threadline"

Obj = Mapping[str, Any]


def pod_spec(obj: Obj) -> Mapping[str, Any] | None:
    """The pod spec of a workload object, or None for anything else."""
    if obj.get("kind") not in WORKLOADS:
        return None
    spec = obj.get("spec", {})
    if obj["kind"] == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    result: Mapping[str, Any] = spec.get("template", {}).get("spec", {})
    return result


def container_problems(obj: Obj) -> list[str]:
    """Every policy breach of one object's containers (empty when it complies)."""
    spec = pod_spec(obj)
    if spec is None:
        return []
    where = f"{obj['kind']}/{obj.get('metadata', {}).get('name')}"
    pod_ctx = spec.get("securityContext", {}) or {}
    problems = []
    if spec.get("automountServiceAccountToken") is not False:
        problems.append(f"{where}: automountServiceAccountToken is not false")
    for c in [*spec.get("initContainers", []), *spec.get("containers", [])]:
        name = f"{where}/{c.get('name')}"
        if obj["kind"] not in ("Job", "CronJob"):
            for probe in ("livenessProbe", "readinessProbe"):
                if not c.get(probe):
                    problems.append(f"{name}: no {probe}")
        resources = c.get("resources", {}) or {}
        for kind in ("requests", "limits"):
            for res in ("cpu", "memory"):
                if not (resources.get(kind) or {}).get(res):
                    problems.append(f"{name}: no {res} {kind}")
        problems += _security_problems(name, pod_ctx, c.get("securityContext", {}) or {})
        role = (c.get("args") or [None])[0]
        if role not in ROLES:
            problems.append(f"{name}: args {c.get('args')!r} name no threadline role")
    return problems


def _security_problems(name: str, pod: Mapping[str, Any], ctx: Mapping[str, Any]) -> list[str]:
    def setting(key: str) -> Any:
        return ctx.get(key, pod.get(key))

    problems = []
    if setting("runAsNonRoot") is not True:
        problems.append(f"{name}: runAsNonRoot is not true")
    if setting("runAsUser") in (None, 0):
        problems.append(f"{name}: runAsUser is unset or root")
    if ctx.get("readOnlyRootFilesystem") is not True:
        problems.append(f"{name}: readOnlyRootFilesystem is not true")
    if ctx.get("allowPrivilegeEscalation") is not False:
        problems.append(f"{name}: allowPrivilegeEscalation is not false")
    if ctx.get("privileged"):
        problems.append(f"{name}: privileged")
    if "ALL" not in ((ctx.get("capabilities") or {}).get("drop") or []):
        problems.append(f"{name}: capabilities do not drop ALL")
    return problems


def roles_deployed(objects: list[Obj]) -> set[str]:
    """The threadline roles the rendered workloads run."""
    roles: set[str] = set()
    for obj in objects:
        spec = pod_spec(obj)
        for c in (spec or {}).get("containers", []):
            roles.update((c.get("args") or [])[:1])
    return roles


def dockerfile_problems(dockerfile: str, pyproject: str) -> list[str]:
    """The image must copy every package the project ships, and run `threadline`."""
    import tomllib

    project = tomllib.loads(pyproject)
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    copied: set[str] = set()
    for line in dockerfile.splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            copied.update(w.rstrip("/") for w in words[1:-1])
    needed = ["pyproject.toml", project["project"]["readme"], *packages]
    problems = [f"Dockerfile: does not COPY {name}" for name in needed if name not in copied]
    if 'ENTRYPOINT ["threadline"]' not in dockerfile:
        problems.append('Dockerfile: ENTRYPOINT is not ["threadline"]')
    if not any(line.startswith("USER ") and " 0" not in line for line in dockerfile.splitlines()):
        problems.append("Dockerfile: no non-root USER")
    return problems


def value_sets() -> Iterator[tuple[str, Path | None]]:
    """The default values and every ci/*-values.yaml, by short name."""
    yield "default", None
    for path in sorted((CHART / "ci").glob("*-values.yaml")):
        yield path.name.removesuffix("-values.yaml"), path


def render(name: str, values_file: Path | None) -> tuple[list[Obj], list[str]]:
    """Lint, schema-check and render one value set; write its manifests; objects + errors."""
    import helm_python as helm
    import yaml

    values = helm.values_from_yaml(values_file.read_text()) if values_file else {}
    errors = []
    report = helm.lint(str(CHART), values, strict=True, namespace=NAMESPACE)
    errors += [f"helm lint: {m['path']}: {m['error']}" for m in report["messages"]]
    errors += [f"helm lint: {e}" for e in report["errors"]]
    objects: list[Obj] = []
    with helm.Chart.load(str(CHART)) as chart:
        chart.validate_schema(values)
        manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    target = OUT / name
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.yaml"):
        old.unlink()
    for template, text in sorted(manifests.items()):
        if not template.endswith((".yaml", ".yml")):
            continue
        docs = [d for d in yaml.safe_load_all(text) if d]
        objects += docs
        if docs:
            file = target / template.split("/templates/", 1)[-1].replace("/", "_")
            file.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return objects, errors


def validate(objects: list[Obj]) -> tuple[list[str], set[str]]:
    """Schema errors of the objects, and the kinds that have no bundled schema."""
    import kubernetes_validate as kv

    errors, unchecked = [], set()
    for obj in objects:
        label = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        try:
            kv.validate(dict(obj), KUBERNETES_VERSION, strict=True)
        except kv.SchemaNotFoundError:
            unchecked.add(f"{obj.get('apiVersion')} {obj.get('kind')}")
        except kv.ValidationError as exc:
            errors.append(f"{label}: {exc.message} at {'.'.join(map(str, exc.path))}")
    return errors, unchecked


def excused(check_id: str, target: str, skips: Mapping[str, Any]) -> bool:
    """True if checkov-skips.yaml excuses `check_id` for this value set (or Dockerfile)."""
    entry = skips.get(check_id)
    if entry is None:
        return False
    if isinstance(entry, str):
        return True
    return "values" not in entry or target in entry["values"]


def example_problems(examples: list[Obj], production: Mapping[str, Any]) -> list[str]:
    """deploy/examples must fit the production values: partitions, database secret name."""
    problems = []
    topics = {o["metadata"]["name"]: o for o in examples if o.get("kind") == "KafkaTopic"}
    interactions = topics.get("threadline.interactions")
    if interactions is None:
        problems.append("examples: no KafkaTopic threadline.interactions")
    else:
        partitions = interactions["spec"]["partitions"]
        workers = production["worker"]["keda"]["maxReplicas"]
        if partitions < workers or partitions != production["config"]["partitions"]:
            problems.append(
                f"examples: threadline.interactions has {partitions} partitions; production "
                f"values expect config.partitions ({production['config']['partitions']}) "
                f"and at least worker.keda.maxReplicas ({workers})"
            )
    if "threadline.deadletter" not in topics:
        problems.append("examples: no KafkaTopic threadline.deadletter")
    clusters = [o for o in examples if o.get("kind") == "Cluster"]
    secrets = {f"{c['metadata']['name']}-app" for c in clusters}
    if production["database"]["secretName"] not in secrets:
        problems.append(f"examples: no CloudNativePG Cluster writes {production['database']}")
    return problems


def check_examples() -> tuple[list[str], set[str]]:
    """Validate deploy/examples and match them against the production values."""
    import helm_python as helm
    import yaml

    examples: list[Obj] = []
    for path in sorted((DEPLOY / "examples").glob("*.yaml")):
        examples += [d for d in yaml.safe_load_all(path.read_text()) if d]
    errors, unchecked = validate(examples)
    with helm.Chart.load(str(CHART)) as chart:
        values_file = CHART / "ci" / "production-values.yaml"
        production = chart.merge_values(helm.values_from_yaml(values_file.read_text()))
    print(f"deploy-check [examples]: {len(examples)} objects checked")
    return [f"[examples] schema: {e}" for e in errors] + example_problems(examples, production), (
        unchecked
    )


def checkov(paths: list[Path]) -> list[str]:
    """Failed checkov checks not excused in checkov-skips.yaml (with the reason)."""
    import yaml

    skips: dict[str, Any] = yaml.safe_load((DEPLOY / "checkov-skips.yaml").read_text()) or {}
    tool = Path(sys.executable).parent / "checkov"
    failures = []
    for path in paths:
        flag = "-f" if path.is_file() else "-d"
        framework = "dockerfile" if path.is_file() else "kubernetes"
        cmd = [str(tool), flag, str(path), "--framework", framework, "-o", "json", "--quiet"]
        cmd.append("--skip-download")  # offline: no Prisma Cloud mappings or severities
        run = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if run.returncode not in (0, 1) or not run.stdout.strip():
            return [f"checkov did not run on {path}: {run.stderr.strip()[-500:]}"]
        reports = json.loads(run.stdout)
        for report in reports if isinstance(reports, list) else [reports]:
            for check in (report.get("results") or {}).get("failed_checks", []):
                if not excused(check["check_id"], path.name, skips):
                    failures.append(
                        f"checkov {check['check_id']} ({check.get('severity') or 'no severity'})"
                        f" {check['resource']}: {check['check_name']}"
                    )
    return failures


def main() -> int:
    """Run every check; print a summary; exit 1 on any problem."""
    problems: list[str] = []
    unchecked: set[str] = set()
    rendered: list[Path] = []
    for name, values_file in value_sets():
        objects, errors = render(name, values_file)
        rendered.append(OUT / name)
        problems += [f"[{name}] {e}" for e in errors]
        schema_errors, kinds = validate(objects)
        unchecked |= kinds
        problems += [f"[{name}] schema: {e}" for e in schema_errors]
        for obj in objects:
            problems += [f"[{name}] policy: {p}" for p in container_problems(obj)]
        missing = set(ROLES) - roles_deployed(objects)
        if missing:
            problems.append(f"[{name}] no workload runs {sorted(missing)}")
        print(f"deploy-check [{name}]: {len(objects)} objects rendered and checked")
    problems += dockerfile_problems(
        (DEPLOY / "Dockerfile").read_text(), (DEPLOY.parent / "pyproject.toml").read_text()
    )
    example_errors, kinds = check_examples()
    problems += example_errors
    unchecked |= kinds
    problems += checkov([*rendered, DEPLOY / "Dockerfile"])
    if unchecked:
        print(f"deploy-check: no bundled schema (not validated): {', '.join(sorted(unchecked))}")
    for problem in problems:
        print(f"deploy-check: {problem}", file=sys.stderr)
    print(f"deploy-check: {'FAILED' if problems else 'passed'} ({len(problems)} problems)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
