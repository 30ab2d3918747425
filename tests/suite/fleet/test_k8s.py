"""``begasist fleet k8s``'s manifests, checked against the Kubernetes schemas (strict)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from begasist_suite.fleet.k8s import ManifestFile, build_manifests, render
from begasist_suite.fleet.k8s_options import PLACEHOLDER, FleetSecrets, K8sOptions
from begasist_suite.fleet.k8s_resources import BOT, REDIS, SHARD_BOT, SUITE

REPO = Path(__file__).resolve().parents[3]
# The newest Kubernetes the pinned kubernetes-validate ships schemas for, and an older
# one still in providers' support windows: the manifests use nothing newer than that.
KUBERNETES_VERSIONS = ["1.33.0", "1.37.0"]
HOTELS = ["sol", "plaza", "casa-azul"]
SECRETS = FleetSecrets(
    secret_key="k" * 43,
    bot_tokens={"plaza": "bot-token-plaza", "sol": "bot-token-sol"},
    fleet_token="fleet-token",
)


def objects(files: list[ManifestFile]) -> list[dict[str, Any]]:
    return [obj for file in files for obj in file.objects]


def find(files: list[ManifestFile], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects(files) if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def validate_all(files: list[ManifestFile], version: str) -> None:
    # Through YAML and back: what kubectl would read, not the dicts in memory.
    for file in files:
        for obj in yaml.safe_load_all(render(file, "header")):
            kubernetes_validate.validate(obj, version, strict=True)


LAYOUTS = {
    "per-hotel": K8sOptions(),
    "sharded": K8sOptions(sharded=4),
    "external-redis": K8sOptions(external_redis=True, slot="green", image_tag="pr-17"),
    "astra": K8sOptions(store="astra", sharded=2),
}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_manifest_validates_strictly(layout: str, version: str) -> None:
    validate_all(build_manifests(HOTELS, LAYOUTS[layout], SECRETS), version)


@pytest.mark.parametrize(
    ("break_it", "complaint"),
    [
        (
            lambda d: d["spec"]["template"]["spec"]["containers"][0].update(livenesProbe={}),
            "livenesProbe",
        ),
        (lambda d: d["spec"].update(replicas="two"), "two"),
        (lambda d: d["spec"].pop("selector"), "selector"),
    ],
    ids=["misspelt field", "wrong type", "missing required field"],
)
def test_a_broken_manifest_is_refused(break_it: Any, complaint: str) -> None:
    deployment = copy.deepcopy(
        find(build_manifests(HOTELS, K8sOptions(), SECRETS), "Deployment", "bot-plaza")
    )
    kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)
    break_it(deployment)
    with pytest.raises(kubernetes_validate.ValidationError, match=complaint):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


def test_the_suite_has_probes_a_service_and_an_ingress_with_tls() -> None:
    files = build_manifests(HOTELS, K8sOptions(domain="inbox.hotel.test"), SECRETS)
    deployment = find(files, "Deployment", "suite-blue")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["image"] == "begasist/suite:latest"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["BEGASIST_PUBLIC_URL"] == "https://inbox.hotel.test"
    service = find(files, "Service", "suite")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    ingress = find(files, "Ingress", "suite")
    assert ingress["spec"]["tls"][0]["hosts"] == ["inbox.hotel.test"]
    annotations = ingress["metadata"]["annotations"]
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) > 60


def test_with_astra_db_the_suite_runs_two_pods_rolled_one_at_a_time() -> None:
    files = build_manifests(HOTELS, K8sOptions(store="astra", slot="green"), SECRETS)
    deployment = find(files, "Deployment", "suite-green")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    budget = find(files, "PodDisruptionBudget", "suite-green")
    assert budget["spec"]["selector"] == deployment["spec"]["selector"]
    assert not [o for o in objects(files) if o["metadata"]["name"] == "suite-data"]
    env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["BEGASIST_STORE"]["value"] == "astra"
    assert (
        env["ASTRA_DB_APPLICATION_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "begasist-astra"
    )
    assert find(files, "Secret", "begasist-astra")["stringData"] == {
        "ASTRA_DB_API_ENDPOINT": PLACEHOLDER,
        "ASTRA_DB_APPLICATION_TOKEN": PLACEHOLDER,
    }
    sqlite = build_manifests(HOTELS, K8sOptions(), SECRETS)
    assert find(sqlite, "Deployment", "suite-blue")["spec"]["strategy"] == {"type": "Recreate"}
    find(sqlite, "PersistentVolumeClaim", "suite-data")


def test_redis_is_a_statefulset_with_aof_on_a_volume_or_external() -> None:
    files = build_manifests(HOTELS, K8sOptions(), SECRETS)
    redis = find(files, "StatefulSet", "redis")
    args = redis["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--appendonly") + 1] == "yes"
    assert args[args.index("--maxmemory-policy") + 1] == "noeviction"
    assert redis["spec"]["volumeClaimTemplates"][0]["spec"]["accessModes"] == ["ReadWriteOnce"]
    find(files, "Service", "redis")

    external = build_manifests(HOTELS, K8sOptions(external_redis=True), SECRETS)
    assert not [o for o in objects(external) if "redis" in o["metadata"]["name"].split("-")[:1]]
    secret = find(external, "Secret", "begasist-redis")
    assert secret["stringData"] == {"BEGASIST_REDIS_URL": PLACEHOLDER}
    suite = find(external, "Deployment", "suite-blue")["spec"]["template"]["spec"]
    url = next(e for e in suite["containers"][0]["env"] if e["name"] == "BEGASIST_REDIS_URL")
    assert url["valueFrom"]["secretKeyRef"]["name"] == "begasist-redis"


def test_each_hotel_has_two_bots_a_budget_and_its_token() -> None:
    files = build_manifests(HOTELS, K8sOptions(image_tag="2026.12.1"), SECRETS)
    bots = [
        o
        for o in objects(files)
        if o["kind"] == "Deployment" and o["metadata"]["name"] != "suite-blue"
    ]
    assert [o["metadata"]["name"] for o in bots] == ["bot-casa-azul", "bot-plaza", "bot-sol"]
    for hotel in sorted(HOTELS):
        deployment = find(files, "Deployment", f"bot-{hotel}")
        assert deployment["spec"]["replicas"] == 2
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["args"] == ["--hotel", hotel]
        assert container["image"] == "begasist/channelbot:2026.12.1"
        assert container["readinessProbe"]["exec"]["command"] == ["channelbot", "health"]
        env = {e["name"]: e for e in container["env"]}
        assert env["BEGASIST_BOT_HEALTH_PORT"]["value"] == "8081"
        assert env["BEGASIST_BOT_TOKEN"]["valueFrom"]["secretKeyRef"] == {
            "name": "begasist-bot-tokens",
            "key": hotel,
        }
        budget = find(files, "PodDisruptionBudget", f"bot-{hotel}")
        assert budget["spec"]["minAvailable"] == 1
        assert budget["spec"]["selector"] == deployment["spec"]["selector"]
    tokens = find(files, "Secret", "begasist-bot-tokens")["stringData"]
    assert tokens == {"casa-azul": PLACEHOLDER, "plaza": "bot-token-plaza", "sol": "bot-token-sol"}
    notes = next(f.notes for f in files if f.name == "10-secrets.yaml")
    assert any("BEGASIST_BOT_TOKEN_CASA_AZUL" in note for note in notes)


def test_sharded_bots_are_one_statefulset_of_n_finding_their_shard_from_the_host_name() -> None:
    files = build_manifests(HOTELS, K8sOptions(sharded=3), SECRETS)
    statefulset = find(files, "StatefulSet", "bots")
    assert statefulset["spec"]["replicas"] == 3
    container = statefulset["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["--shard-from-hostname"]
    env = {e["name"]: e for e in container["env"]}
    assert env["BEGASIST_SHARD_COUNT"]["value"] == "3"
    assert (
        env["BEGASIST_FLEET_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "begasist-fleet-token"
    )
    assert "BEGASIST_BOT_TOKEN" not in env
    assert find(files, "Secret", "begasist-fleet-token")["stringData"] == {
        "BEGASIST_FLEET_TOKEN": "fleet-token"
    }
    find(files, "PodDisruptionBudget", "bots")
    assert not [o for o in objects(files) if o["metadata"]["name"].startswith("bot-")]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_pod_passes_the_restricted_pod_security_standard(layout: str) -> None:
    files = build_manifests(HOTELS, LAYOUTS[layout], SECRETS)
    namespace = find(files, "Namespace", "begasist")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    workloads = [o for o in objects(files) if o["kind"] in {"Deployment", "StatefulSet"}]
    assert workloads
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] > 0
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"] == {"drop": ["ALL"]}
            assert set(container["resources"]) == {"requests", "limits"}


def test_the_same_input_gives_the_same_files_and_a_new_hotel_adds_only_its_own() -> None:
    def texts(hotels: list[str]) -> dict[str, str]:
        return {f.name: render(f, "h") for f in build_manifests(hotels, K8sOptions(), SECRETS)}

    before = texts(["plaza", "sol"])
    assert texts(["sol", "plaza"]) == before
    after = texts(["plaza", "sol", "mar"])
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {"10-secrets.yaml", "50-bots.yaml"}
    old_bots = list(yaml.safe_load_all(before["50-bots.yaml"]))
    new_bots = list(yaml.safe_load_all(after["50-bots.yaml"]))
    assert [bot for bot in new_bots if bot not in old_bots] == [
        bot for bot in new_bots if bot["metadata"]["name"] == "bot-mar"
    ]
    assert all(bot in new_bots for bot in old_bots)


def test_every_resource_figure_quotes_the_benchmarks() -> None:
    benchmarks = (REPO / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    for resources in (SUITE, BOT, SHARD_BOT, REDIS):
        assert resources.sources
        for quote in resources.sources:
            assert quote in benchmarks, quote


@pytest.mark.parametrize("store", ["sqlite", "astra"])
def test_a_slot_label_picks_out_only_that_slots_suite_for_a_blue_green_apply(store: Any) -> None:
    # docs/deploy.md applies a new slot with `kubectl apply -f ... -l begasist.io/slot=green`.
    files = build_manifests(HOTELS, K8sOptions(slot="green", store=store), SECRETS)
    picked = [
        (o["kind"], o["metadata"]["name"])
        for o in objects(files)
        if o["metadata"]["labels"].get("begasist.io/slot") == "green"
    ]
    expected = [("Deployment", "suite-green")]
    if store == "astra":
        expected.append(("PodDisruptionBudget", "suite-green"))
    assert picked == expected
    service = find(files, "Service", "suite")
    assert service["spec"]["selector"]["begasist.io/slot"] == "green"
    for file in files:
        text = render(file, "h")
        assert "&id" not in text, (
            f"{file.name}: a YAML alias, which kubectl reads but people misread"
        )
