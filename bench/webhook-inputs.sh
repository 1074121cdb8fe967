#!/usr/bin/env bash
# The inputs of the webhook benchmark, also the training run of scripts/build-pgo: in WORK, a CA
# and serving certificate (certs/), the context a deployed webhook would hold (context.yaml) and
# three realistic AdmissionReview bodies: a training Pod (pod.json), a PyTorchJob
# (pytorchjob.json) and an InferenceService (isvc.json).
#
# Usage: bench/webhook-inputs.sh WORK MLGUARD_BINARY [NAMESPACES]
# With NAMESPACES > 0 the context also holds the watched objects of a generated cluster of that
# many more namespaces (bench/gen_platform.py).
set -euo pipefail
[ $# -ge 2 ] || { sed -n "2,9p" "$0" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$(dirname "$HERE")"
WORK=$1
MLG=$2
NAMESPACES=${3:-0}
mkdir -p "$WORK"
"$MLG" webhook certs -o "$WORK/certs" --dns localhost 2>/dev/null

# The context a deployed webhook holds (`serve --in-cluster` watches these kinds, see
# crates/mlguard-server/src/cache.rs CONTEXT_KINDS) from a cluster running examples/platform:
# its namespaces, policies, quotas, RBAC and services, not its workloads.
ROOTS=(examples/platform)
if [ "$NAMESPACES" -gt 0 ]; then
    python3 bench/gen_platform.py "$WORK/cluster" --namespaces "$NAMESPACES" >/dev/null
    ROOTS+=("$WORK/cluster")
fi
python3 - "$WORK/context.yaml" "${ROOTS[@]}" <<'PY'
import os, sys, yaml
kinds = {"Namespace", "ServiceAccount", "ResourceQuota", "LimitRange", "Service",
         "PersistentVolumeClaim", "NetworkPolicy", "Ingress", "Role", "RoleBinding", "ClusterRole",
         "ClusterRoleBinding", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy",
         "PeerAuthentication", "SecretProviderClass"}
out = []
for top in sys.argv[2:]:
    for root, _, files in os.walk(top):
        for f in sorted(files):
            if f.endswith((".yaml", ".yml")) and f != "mlguard.yaml":
                for d in yaml.safe_load_all(open(os.path.join(root, f))):
                    if isinstance(d, dict) and d.get("kind") in kinds:
                        out.append(d)
yaml.safe_dump_all(out, open(sys.argv[1], "w"))
print(f"context: {len(out)} objects", file=sys.stderr)
PY

review() { # kind-json group version kind resource object-json
    printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"b9a1c8e2-0000-4000-8000-000000000001","kind":{"group":"%s","version":"%s","kind":"%s"},"resource":{"group":"%s","version":"%s","resource":"%s"},"name":"x","namespace":"team-a","operation":"CREATE","userInfo":{"username":"system:serviceaccount:kubeflow:training-operator"},"object":%s,"dryRun":false}}' \
        "$1" "$2" "$3" "$1" "$2" "$4" "$5"
}
IMG='registry.example.com/ml/pytorch@sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1'
CTR='{"name":"pytorch","image":"'$IMG'","resources":{"requests":{"cpu":"8","memory":"64Gi","nvidia.com/gpu":"8"},"limits":{"cpu":"8","memory":"64Gi","nvidia.com/gpu":"8"}},"securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]}},"volumeMounts":[{"name":"dshm","mountPath":"/dev/shm"}]}'
PODSPEC='{"automountServiceAccountToken":false,"securityContext":{"runAsNonRoot":true,"runAsUser":1000,"seccompProfile":{"type":"RuntimeDefault"}},"containers":['$CTR'],"volumes":[{"name":"dshm","emptyDir":{"medium":"Memory","sizeLimit":"16Gi"}}]}'
review "" v1 Pod pods '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"llama-worker-0","namespace":"team-a","labels":{"mlguard.io/workload":"training","mlguard.io/job":"llama","training.kubeflow.org/job-name":"llama"}},"spec":'"$PODSPEC"'}' > "$WORK/pod.json"
review kubeflow.org v1 PyTorchJob pytorchjobs '{"apiVersion":"kubeflow.org/v1","kind":"PyTorchJob","metadata":{"name":"llama","namespace":"team-a"},"spec":{"pytorchReplicaSpecs":{"Master":{"replicas":1,"template":{"metadata":{"labels":{"mlguard.io/workload":"training","mlguard.io/job":"llama"}},"spec":'"$PODSPEC"'}},"Worker":{"replicas":7,"template":{"metadata":{"labels":{"mlguard.io/workload":"training","mlguard.io/job":"llama"}},"spec":'"$PODSPEC"'}}}}}' > "$WORK/pytorchjob.json"
review serving.kserve.io v1beta1 InferenceService inferenceservices '{"apiVersion":"serving.kserve.io/v1beta1","kind":"InferenceService","metadata":{"name":"llm","namespace":"team-a","labels":{"mlguard.io/workload":"serving"}},"spec":{"predictor":{"model":{"modelFormat":{"name":"pytorch"},"storageUri":"s3://models/llm","resources":{"limits":{"cpu":"4","memory":"16Gi"}}}}}}' > "$WORK/isvc.json"
