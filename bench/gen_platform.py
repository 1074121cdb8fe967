#!/usr/bin/env python3
"""Generate a realistic ML platform of Kubernetes manifests for benchmarks.

Default: 1,000 namespaces x 100 objects = 100,000 objects, of which 20,000 are Pods, written as
one multi-document YAML file per namespace (`OUT/ns-0000.yaml` ...). Deterministic for a given
--seed: the same arguments give byte-identical files.

Each namespace holds (per-namespace counts; the total is asserted):
  1 Namespace (tenant and data-classification labels; some unlabelled),
  20 Pods (trainers, data loaders, inference servers, notebooks; a few with violations:
     privileged, hostIPC/hostPID, hostNetwork, root, `latest` tags, missing GPU limits, literal
     credentials in env, writable model mounts, disk-backed /dev/shm),
  6 Deployments, 2 Jobs, 1 StatefulSet, 1 CronJob,
  1 ML kind (PyTorchJob, InferenceService, Notebook, RayCluster or TFJob, in rotation),
  3 NetworkPolicies (default deny, same-namespace ingress, DNS egress; some namespaces miss the
     default deny or carry a policy that selects nothing), 3 ServiceAccounts, 3 Roles,
  3 RoleBindings (a few with wildcards, secret reads or system:authenticated),
  1 ResourceQuota (some with the ignored `limits.nvidia.com/gpu` key), 1 LimitRange,
  10 Services (a few LoadBalancers), 2 Ingresses, 20 ConfigMaps (a few holding keys), 8 Secrets,
  5 PersistentVolumeClaims, 9 more ConfigMaps as plain bulk config.

Usage: gen_platform.py OUT_DIR [--namespaces 1000] [--seed 42]
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys

PER_NAMESPACE = 100
PODS_PER_NAMESPACE = 20

REGISTRIES = ["registry.example.com/ml", "ghcr.io/example-ml", "nvcr.io/nvidia", "docker.io/library"]
IMAGES = [
    ("pytorch-train", ["2.3.1-cuda12.1", "2.4.0-cuda12.4", "latest"]),
    ("tf-serving", ["2.15.0", "2.16.1-gpu"]),
    ("triton", ["24.05-py3", "24.07-py3"]),
    ("jupyter-scipy", ["2024-06-10", "latest"]),
    ("feature-loader", ["1.4.2", "1.5.0"]),
    ("vllm", ["0.5.3", "0.6.0"]),
]
CLASSES = ["phi", "pii", "internal", "confidential", "public", "pci"]


def q(s: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(s)


class Gen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def image(self, i: int) -> str:
        name, tags = IMAGES[i % len(IMAGES)]
        reg = REGISTRIES[self.r.randrange(len(REGISTRIES))]
        if self.r.random() < 0.15:
            digest = "%064x" % self.r.getrandbits(256)
            return f"{reg}/{name}@sha256:{digest}"
        return f"{reg}/{name}:{tags[self.r.randrange(len(tags))]}"

    # -- pod specs -------------------------------------------------------------------------------

    def container(self, name: str, image: str, indent: str, *, gpu: int, bad: set[str]) -> str:
        lines = [f"{indent}- name: {name}", f"{indent}  image: {image}"]
        lines.append(f"{indent}  args: [\"--config\", \"/etc/app/config.yaml\", \"--port\", \"8080\"]")
        lines.append(f"{indent}  ports:")
        lines.append(f"{indent}  - {{containerPort: 8080, name: http}}")
        lines.append(f"{indent}  env:")
        lines.append(f"{indent}  - {{name: LOG_LEVEL, value: info}}")
        lines.append(f"{indent}  - name: DB_PASSWORD")
        if "literal-secret" in bad:
            lines.append(f"{indent}    value: {q('hunter2-' + str(self.r.randrange(10**6)))}")
        else:
            lines.append(f"{indent}    valueFrom: {{secretKeyRef: {{name: db, key: password}}}}")
        lines.append(f"{indent}  resources:")
        lines.append(f"{indent}    requests: {{cpu: \"2\", memory: 8Gi}}")
        if gpu and "no-gpu-limit" in bad:
            lines.append(f"{indent}    limits: {{cpu: \"4\", memory: 16Gi}}")
            lines[-2] = f"{indent}    requests: {{cpu: \"2\", memory: 8Gi, nvidia.com/gpu: {gpu}}}"
        elif gpu:
            lines.append(f"{indent}    limits: {{cpu: \"4\", memory: 16Gi, nvidia.com/gpu: {gpu}}}")
        else:
            lines.append(f"{indent}    limits: {{cpu: \"4\", memory: 16Gi}}")
        lines.append(f"{indent}  securityContext:")
        if "privileged" in bad:
            lines.append(f"{indent}    privileged: true")
        if "root" in bad:
            lines.append(f"{indent}    runAsUser: 0")
            lines.append(f"{indent}    allowPrivilegeEscalation: true")
        else:
            lines.append(f"{indent}    runAsNonRoot: true")
            lines.append(f"{indent}    allowPrivilegeEscalation: false")
        lines.append(f"{indent}    capabilities: {{drop: [ALL]}}")
        lines.append(f"{indent}  volumeMounts:")
        lines.append(f"{indent}  - {{name: config, mountPath: /etc/app, readOnly: true}}")
        lines.append(f"{indent}  - {{name: dshm, mountPath: /dev/shm}}")
        ro = "false" if "writable-model" in bad else "true"
        lines.append(f"{indent}  - {{name: model, mountPath: /models, readOnly: {ro}}}")
        return "\n".join(lines)

    def pod_spec(self, ns: str, role: str, i: int, indent: str, bad: set[str]) -> str:
        gpu = 0 if role in ("loader", "notebook") else self.r.choice([1, 1, 2, 4, 8])
        out = [f"{indent}serviceAccountName: {role}"]
        if "no-token" not in bad and role == "trainer":
            out.append(f"{indent}automountServiceAccountToken: false")
        if "hostNetwork" in bad:
            out.append(f"{indent}hostNetwork: true")
        if "hostIPC" in bad:
            out.append(f"{indent}hostIPC: true")
        if "hostPID" in bad:
            out.append(f"{indent}hostPID: true")
        out.append(f"{indent}securityContext: {{runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000}}")
        out.append(f"{indent}nodeSelector: {{nvidia.com/gpu.present: \"true\"}}" if gpu else f"{indent}nodeSelector: {{pool: cpu}}")
        out.append(f"{indent}tolerations:")
        out.append(f"{indent}- {{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}}")
        out.append(f"{indent}containers:")
        out.append(self.container(role, self.image(i), indent, gpu=gpu, bad=bad))
        if role == "server" and self.r.random() < 0.5:
            out.append(self.container("metrics", "registry.example.com/ml/metrics-sidecar:0.9.1", indent, gpu=0, bad=set()))
        out.append(f"{indent}volumes:")
        out.append(f"{indent}- name: config")
        out.append(f"{indent}  configMap: {{name: {role}-config}}")
        out.append(f"{indent}- name: dshm")
        if "disk-shm" in bad:
            out.append(f"{indent}  emptyDir: {{}}")
        else:
            out.append(f"{indent}  emptyDir: {{medium: Memory, sizeLimit: 8Gi}}")
        out.append(f"{indent}- name: model")
        out.append(f"{indent}  persistentVolumeClaim: {{claimName: models-{i % 5}, readOnly: true}}")
        return "\n".join(out)

    def violations(self, rate: float) -> set[str]:
        kinds = ["privileged", "hostIPC", "hostPID", "hostNetwork", "root", "no-gpu-limit",
                 "literal-secret", "writable-model", "disk-shm", "no-token"]
        return {k for k in kinds if self.r.random() < rate}

    # -- objects ----------------------------------------------------------------------------------

    def meta(self, kind: str, api: str, name: str, ns: str | None, labels: dict[str, str] | None = None,
             annotations: dict[str, str] | None = None) -> list[str]:
        out = [f"apiVersion: {api}", f"kind: {kind}", "metadata:", f"  name: {name}"]
        if ns is not None:
            out.append(f"  namespace: {ns}")
        if labels:
            out.append("  labels:")
            out.extend(f"    {k}: {q(v)}" for k, v in labels.items())
        if annotations:
            out.append("  annotations:")
            out.extend(f"    {k}: {q(v)}" for k, v in annotations.items())
        return out

    def namespace_docs(self, n: int) -> list[str]:
        ns = f"ml-team-{n:04d}"
        tenant = f"team-{n // 4:03d}"
        cls = CLASSES[n % len(CLASSES)]
        regulated = cls in ("phi", "pii", "pci")
        rate = 0.01 if regulated else 0.06
        docs: list[str] = []

        labels = {"mlguard.io/tenant": tenant, "team": tenant}
        if n % 17 != 0:  # a few namespaces miss their classification label
            labels["mlguard.io/data-classification"] = cls
        docs.append("\n".join(self.meta("Namespace", "v1", ns, None, labels)))

        app_labels = lambda role: {"app": role, "mlguard.io/tenant": tenant}  # noqa: E731

        roles = ["trainer", "loader", "server", "notebook"]
        for i in range(PODS_PER_NAMESPACE):
            role = roles[i % len(roles)]
            name = f"{role}-{i:02d}-{self.r.getrandbits(20):05x}"
            head = self.meta("Pod", "v1", name, ns, app_labels(role),
                             {"kubernetes.io/created-by": "bench/gen_platform.py"})
            docs.append("\n".join(head + ["spec:", self.pod_spec(ns, role, i, "  ", self.violations(rate))]))

        for i in range(6):
            role = roles[i % len(roles)]
            name = f"{role}-deploy-{i}"
            head = self.meta("Deployment", "apps/v1", name, ns, app_labels(role))
            body = [
                "spec:",
                f"  replicas: {self.r.choice([1, 2, 3])}",
                f"  selector: {{matchLabels: {{app: {role}, deploy: {name}}}}}",
                "  template:",
                "    metadata:",
                f"      labels: {{app: {role}, deploy: {name}}}",
                "    spec:",
                self.pod_spec(ns, role, i, "      ", self.violations(rate)),
            ]
            docs.append("\n".join(head + body))

        for i in range(2):
            head = self.meta("Job", "batch/v1", f"preprocess-{i}", ns, app_labels("loader"))
            body = ["spec:", "  backoffLimit: 2", "  template:", "    spec:", "      restartPolicy: Never",
                    self.pod_spec(ns, "loader", i, "      ", self.violations(rate))]
            docs.append("\n".join(head + body))

        head = self.meta("StatefulSet", "apps/v1", "feature-store", ns, app_labels("loader"))
        docs.append("\n".join(head + [
            "spec:", "  serviceName: feature-store", "  replicas: 1",
            "  selector: {matchLabels: {app: feature-store}}", "  template:", "    metadata:",
            "      labels: {app: feature-store}", "    spec:",
            self.pod_spec(ns, "loader", 1, "      ", self.violations(rate))]))

        head = self.meta("CronJob", "batch/v1", "nightly-eval", ns, app_labels("trainer"))
        docs.append("\n".join(head + [
            "spec:", "  schedule: \"0 2 * * *\"", "  jobTemplate:", "    spec:", "      template:",
            "        spec:", "          restartPolicy: OnFailure",
            self.pod_spec(ns, "trainer", 2, "          ", self.violations(rate))]))

        docs.append(self.ml_kind(n, ns, tenant, rate))

        # Network policies.
        np_api = "networking.k8s.io/v1"
        if n % 11 != 0:
            docs.append("\n".join(self.meta("NetworkPolicy", np_api, "default-deny", ns) + [
                "spec:", "  podSelector: {}", "  policyTypes: [Ingress, Egress]"]))
        else:
            docs.append("\n".join(self.meta("NetworkPolicy", np_api, "deny-ingress-only", ns) + [
                "spec:", "  podSelector: {}", "  policyTypes: [Ingress]"]))
        docs.append("\n".join(self.meta("NetworkPolicy", np_api, "allow-same-namespace", ns) + [
            "spec:", "  podSelector: {}", "  policyTypes: [Ingress]", "  ingress:",
            "  - from:", "    - podSelector: {}"]))
        dns_selector = "{app: does-not-exist}" if n % 23 == 0 else "{}"
        docs.append("\n".join(self.meta("NetworkPolicy", np_api, "allow-dns", ns) + [
            "spec:", f"  podSelector: {dns_selector}", "  policyTypes: [Egress]", "  egress:",
            "  - to:",
            "    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}",
            "      podSelector: {matchLabels: {k8s-app: kube-dns}}",
            "    ports:", "    - {protocol: UDP, port: 53}", "    - {protocol: TCP, port: 53}"]))

        # RBAC.
        for sa in ("trainer", "loader", "server"):
            docs.append("\n".join(self.meta("ServiceAccount", "v1", sa, ns, {"mlguard.io/tenant": tenant})))
        rbac_api = "rbac.authorization.k8s.io/v1"
        docs.append("\n".join(self.meta("Role", rbac_api, "ml-developer", ns) + [
            "rules:",
            "- apiGroups: [\"\", apps, batch]",
            "  resources: [pods, pods/log, deployments, jobs, services, configmaps]",
            "  verbs: [get, list, watch, create, update, patch, delete]",
            "- apiGroups: [kubeflow.org, serving.kserve.io]",
            "  resources: [\"*\"]" if n % 13 == 0 else "  resources: [pytorchjobs, tfjobs, inferenceservices]",
            "  verbs: [\"*\"]" if n % 13 == 0 else "  verbs: [get, list, watch, create, delete]"]))
        docs.append("\n".join(self.meta("Role", rbac_api, "ml-viewer", ns) + [
            "rules:",
            "- apiGroups: [\"\"]",
            "  resources: [pods, services, secrets]" if n % 7 == 0 else "  resources: [pods, services]",
            "  verbs: [get, list, watch]"]))
        docs.append("\n".join(self.meta("Role", rbac_api, "ml-debug", ns) + [
            "rules:",
            "- apiGroups: [\"\"]",
            "  resources: [pods/exec, pods/portforward]",
            "  verbs: [create]"]))
        for role, subject in (("ml-developer", f"{tenant}-developers"), ("ml-viewer", f"{tenant}-viewers"),
                              ("ml-debug", f"{tenant}-oncall")):
            if role == "ml-viewer" and n % 97 == 0:
                subject = "system:authenticated"
            docs.append("\n".join(self.meta("RoleBinding", rbac_api, f"{role}-binding", ns) + [
                "roleRef:", f"  apiGroup: {rbac_api}", "  kind: Role", f"  name: {role}",
                "subjects:", f"- {{apiGroup: {rbac_api}, kind: Group, name: {q(subject)}}}"]))

        # Quotas.
        gpu_key = "limits.nvidia.com/gpu" if n % 19 == 0 else "requests.nvidia.com/gpu"
        docs.append("\n".join(self.meta("ResourceQuota", "v1", "compute", ns) + [
            "spec:", "  hard:", "    requests.cpu: \"200\"", "    requests.memory: 800Gi",
            f"    {gpu_key}: \"{self.r.choice([8, 16, 32])}\"", "    pods: \"100\""]))
        docs.append("\n".join(self.meta("LimitRange", "v1", "defaults", ns) + [
            "spec:", "  limits:", "  - type: Container",
            "    default: {cpu: \"1\", memory: 2Gi}", "    defaultRequest: {cpu: 500m, memory: 1Gi}"]))

        # Services and ingresses.
        for i in range(10):
            role = roles[i % len(roles)]
            typ = "LoadBalancer" if (i == 2 and n % 9 == 0) else "ClusterIP"
            docs.append("\n".join(self.meta("Service", "v1", f"{role}-svc-{i}", ns, {"app": role}) + [
                "spec:", f"  type: {typ}", f"  selector: {{app: {role}}}",
                "  ports:", "  - {name: http, port: 80, targetPort: 8080, protocol: TCP}"]))
        for i in range(2):
            tls = [] if n % 5 == 0 else ["  tls:", f"  - hosts: [{ns}-{i}.ml.example.com]", f"    secretName: tls-{i}"]
            docs.append("\n".join(self.meta("Ingress", "networking.k8s.io/v1", f"inference-{i}", ns) + [
                "spec:", "  ingressClassName: nginx"] + tls + [
                "  rules:", f"  - host: {ns}-{i}.ml.example.com", "    http:", "      paths:",
                "      - path: /", "        pathType: Prefix",
                f"        backend: {{service: {{name: server-svc-{2 + 4 * i}, port: {{number: 80}}}}}}"]))

        # Config and data.
        for i in range(20):
            role = roles[i % len(roles)]
            data = ["data:", "  config.yaml: |", f"    batch_size: {self.r.choice([16, 32, 64, 128])}",
                    f"    learning_rate: {self.r.choice(['0.001', '0.0003', '0.01'])}",
                    f"    dataset: s3://datasets-{tenant}/{role}/v{self.r.randrange(1, 9)}",
                    f"  LOG_FORMAT: json"]
            if i == 3 and n % 8 == 0:
                data.append(f"  AWS_SECRET_ACCESS_KEY: {q('%040x' % self.r.getrandbits(160))}")
            name = f"{role}-config" if i < 4 else f"{role}-config-{i}"
            docs.append("\n".join(self.meta("ConfigMap", "v1", name, ns, {"app": role}) + data))
        for i in range(9):
            docs.append("\n".join(self.meta("ConfigMap", "v1", f"bulk-{i:02d}", ns) + [
                "data:", f"  key: {q('%032x' % self.r.getrandbits(128))}", f"  index: \"{i}\""]))
        for i in range(8):
            name = "db" if i == 0 else f"secret-{i}"
            lbl = {"mlguard.io/data-classification": cls} if i < 2 else None
            docs.append("\n".join(self.meta("Secret", "v1", name, ns, lbl) + [
                "type: Opaque", "data:", f"  password: {q('cGFzc3dvcmQ=')}"]))
        for i in range(5):
            lbl = {"mlguard.io/data-classification": "phi" if (i == 0 and n % 29 == 0) else cls}
            docs.append("\n".join(self.meta("PersistentVolumeClaim", "v1", f"models-{i}", ns, lbl) + [
                "spec:", "  accessModes: [ReadOnlyMany]", "  storageClassName: fast-ssd",
                f"  resources: {{requests: {{storage: {self.r.choice([50, 100, 500])}Gi}}}}"]))

        assert len(docs) == PER_NAMESPACE, (ns, len(docs))
        return docs

    def ml_kind(self, n: int, ns: str, tenant: str, rate: float) -> str:
        which = n % 5
        bad = self.violations(rate)
        if which == 0:
            head = self.meta("PyTorchJob", "kubeflow.org/v1", "train-llm", ns, {"mlguard.io/tenant": tenant})
            body = ["spec:", "  pytorchReplicaSpecs:"]
            for role, replicas in (("Master", 1), ("Worker", 3)):
                body += [f"    {role}:", f"      replicas: {replicas}", "      restartPolicy: OnFailure",
                         "      template:", "        spec:",
                         self.pod_spec(ns, "trainer", replicas, "          ", bad)]
            return "\n".join(head + body)
        if which == 1:
            head = self.meta("InferenceService", "serving.kserve.io/v1beta1", "classifier", ns,
                             {"mlguard.io/tenant": tenant})
            uri = "http://models.example.com/classifier" if "writable-model" in bad else f"s3://models-{tenant}/classifier/v3"
            return "\n".join(head + [
                "spec:", "  predictor:", "    serviceAccountName: server", "    model:",
                "      modelFormat: {name: pytorch}", f"      storageUri: {uri}",
                "      resources: {limits: {cpu: \"2\", memory: 8Gi, nvidia.com/gpu: 1}}"])
        if which == 2:
            head = self.meta("Notebook", "kubeflow.org/v1", "workbench", ns, {"mlguard.io/tenant": tenant})
            return "\n".join(head + ["spec:", "  template:", "    spec:",
                                     self.pod_spec(ns, "notebook", 0, "      ", bad)])
        if which == 3:
            head = self.meta("RayCluster", "ray.io/v1", "ray", ns, {"mlguard.io/tenant": tenant})
            svc = "LoadBalancer" if n % 3 == 0 and rate > 0.05 else "ClusterIP"
            return "\n".join(head + [
                "spec:", "  rayVersion: \"2.34.0\"", "  headGroupSpec:", f"    serviceType: {svc}",
                "    rayStartParams: {dashboard-host: 0.0.0.0}", "    template:", "      spec:",
                self.pod_spec(ns, "trainer", 0, "        ", bad),
                "  workerGroupSpecs:", "  - groupName: gpu", "    replicas: 4", "    minReplicas: 1",
                "    maxReplicas: 8", "    rayStartParams: {}", "    template:", "      spec:",
                self.pod_spec(ns, "trainer", 1, "        ", self.violations(rate))])
        head = self.meta("TFJob", "kubeflow.org/v1", "train-tf", ns, {"mlguard.io/tenant": tenant})
        return "\n".join(head + [
            "spec:", "  tfReplicaSpecs:", "    Worker:", "      replicas: 2", "      template:", "        spec:",
            self.pod_spec(ns, "trainer", 0, "          ", bad)])


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="output folder (created; existing ns-*.yaml files are replaced)")
    ap.add_argument("--namespaces", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)

    os.makedirs(args.out, exist_ok=True)
    for f in os.listdir(args.out):
        if f.startswith("ns-") and f.endswith(".yaml"):
            os.remove(os.path.join(args.out, f))
    g = Gen(args.seed)
    total = pods = size = 0
    for n in range(args.namespaces):
        docs = g.namespace_docs(n)
        text = "".join("---\n" + d + "\n" for d in docs)
        path = os.path.join(args.out, f"ns-{n:04d}.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        total += len(docs)
        pods += sum(1 for d in docs if "\nkind: Pod\n" in d)
        size += len(text.encode())
    print(f"wrote {total} objects ({pods} Pods) in {args.namespaces} namespaces, "
          f"{size / 1e6:.1f} MB, to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
