#!/usr/bin/env bash
# mlguard webhook vs a no-op HTTPS server, in one run, under the same fixed-rate load.
#
# Both servers use the same TLS and HTTP stack (rustls, hyper, axum); the no-op one
# (crates/mlguard-server/examples/noop_webhook.rs) answers "allowed" without decoding. The
# webhook runs every control with the context `--in-cluster` would keep for a cluster running
# the example platform (examples/platform: its namespaces, policies, quotas, RBAC, services).
# oha (crates.io; `cargo install oha --locked`) sends AdmissionReviews at RATE requests/s for
# DURATION over keep-alive HTTPS connections, with latency correction (coordinated omission),
# for three realistic objects in turn (a training Pod, a PyTorchJob, an InferenceService),
# alternating webhook and baseline, after a one-second warm-up of each. Prints p50, p99 and the
# p99 ratio webhook/baseline.
# Targets (issue 6): p50 < 1 ms, p99 < 5 ms, p99 at most 2x the baseline's.
#
# Usage: bench/webhook.sh [--rate N] [--duration 10s] [--connections C]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
cd "$ROOT"
RATE=2000
DURATION=10s
CONNS=16
while [ $# -gt 0 ]; do
    case $1 in
        --rate) RATE=$2; shift 2 ;;
        --duration) DURATION=$2; shift 2 ;;
        --connections) CONNS=$2; shift 2 ;;
        -h|--help) sed -n "2,15p" "$0"; exit 0 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
command -v oha >/dev/null || { echo "oha not found: cargo install oha --locked" >&2; exit 2; }
WORK=${TMPDIR:-/tmp}/mlguard-webhook-bench
rm -rf "$WORK"; mkdir -p "$WORK"
cargo build --release -q -p mlguard
cargo build --release -q -p mlguard-server --example noop_webhook
MLG=$ROOT/target/release/mlguard
NOOP=$ROOT/target/release/examples/noop_webhook
"$MLG" webhook certs -o "$WORK/certs" --dns localhost 2>/dev/null

# The context a deployed webhook holds (`serve --in-cluster` watches these kinds, see
# crates/mlguard-server/src/cache.rs CONTEXT_KINDS) from a cluster running examples/platform:
# its namespaces, policies, quotas, RBAC and services, not its workloads.
python3 - "$WORK/context.yaml" examples/platform <<'PY'
import os, sys, yaml
kinds = {"Namespace", "ServiceAccount", "ResourceQuota", "LimitRange", "Service",
         "PersistentVolumeClaim", "NetworkPolicy", "Ingress", "Role", "RoleBinding", "ClusterRole",
         "ClusterRoleBinding", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy",
         "PeerAuthentication", "SecretProviderClass"}
out = []
for root, _, files in os.walk(sys.argv[2]):
    for f in sorted(files):
        if f.endswith((".yaml", ".yml")) and f != "mlguard.yaml":
            for d in yaml.safe_load_all(open(os.path.join(root, f))):
                if isinstance(d, dict) and d.get("kind") in kinds:
                    out.append(d)
yaml.safe_dump_all(out, open(sys.argv[1], "w"))
print(f"context: {len(out)} objects", file=sys.stderr)
PY
"$MLG" webhook serve --listen 127.0.0.1:18443 --tls-cert "$WORK/certs/tls.crt" --tls-key "$WORK/certs/tls.key" \
    --context-dir "$WORK/context.yaml" 2>"$WORK/webhook.log" &
WEBHOOK=$!
"$NOOP" 127.0.0.1:18444 "$WORK/certs/tls.crt" "$WORK/certs/tls.key" 2>"$WORK/noop.log" &
BASE=$!
trap 'kill $WEBHOOK $BASE 2>/dev/null || true' EXIT
sleep 1

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

run() { # port body -> "p50_ms p99_ms"
    oha -q "$RATE" -z "$DURATION" -c "$CONNS" --latency-correction --no-tui --output-format json \
        --cacert "$WORK/certs/ca.crt" -m POST -H 'content-type: application/json' -D "$2" \
        "https://localhost:$1/validate" > "$WORK/out.json"
    python3 - "$WORK/out.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
p = d["latencyPercentiles"]
codes = d.get("statusCodeDistribution", {})
print(f'{p["p50"]*1000:.3f} {p["p99"]*1000:.3f} {d["summary"]["requestsPerSec"]:.0f} {",".join(f"{k}:{v}" for k, v in codes.items())}')
PY
}

printf '%-12s %-9s %10s %10s %9s  %s\n' object server "p50 ms" "p99 ms" "req/s" "status codes"
ok=1
# Warm-up, not measured: one second of each body on both servers (first connections, the
# catalog and each namespace's context index are built on first use).
for body in pod pytorchjob isvc; do
    for port in 18443 18444; do
        oha -q "$RATE" -z 1s -c "$CONNS" --no-tui --output-format json --cacert "$WORK/certs/ca.crt" \
            -m POST -H 'content-type: application/json' -D "$WORK/$body.json" \
            "https://localhost:$port/validate" > /dev/null
    done
done
for body in pod pytorchjob isvc; do
    read -r wp50 wp99 wrps wcodes < <(run 18443 "$WORK/$body.json")
    read -r bp50 bp99 brps bcodes < <(run 18444 "$WORK/$body.json")
    printf '%-12s %-9s %10s %10s %9s  %s\n' "$body" webhook "$wp50" "$wp99" "$wrps" "$wcodes"
    printf '%-12s %-9s %10s %10s %9s  %s\n' "$body" baseline "$bp50" "$bp99" "$brps" "$bcodes"
    ratio=$(python3 -c "print(f'{$wp99/$bp99:.2f}')")
    verdict=$(python3 -c "print('MET' if $wp50 < 1 and $wp99 < 5 and $wp99 <= 2*$bp99 else 'NOT MET')")
    printf '%-12s p99 ratio webhook/baseline: %sx; p50 < 1 ms, p99 < 5 ms, ratio <= 2: %s\n' "$body" "$ratio" "$verdict"
    [ "$verdict" = MET ] || ok=0
done
[ $ok = 1 ] && echo "targets: MET" || echo "targets: NOT MET"
