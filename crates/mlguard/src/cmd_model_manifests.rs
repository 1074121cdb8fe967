//! `mlguard model manifests`: the pod spec fragment that decrypts a model at load time.

use crate::cli::ModelCommand;
use crate::exit;
use anyhow::{bail, Result};
use serde_json::{json, Value};

/// Where the init container finds a key file mounted from a Secret or the CSI driver.
const KEY_DIR: &str = "/var/run/mlguard/key";
/// Where it finds the model-signing public key.
const VERIFY_DIR: &str = "/var/run/mlguard/verify";

pub fn run(cmd: ModelCommand) -> Result<u8> {
    let ModelCommand::Manifests {
        image,
        encrypted_path,
        encrypted_pvc,
        model_path,
        size_limit,
        key_secret,
        key_csi,
        kms,
        verify_key_secret,
        scan,
        container,
        format,
    } = cmd
    else {
        unreachable!("called for `model manifests` only");
    };
    crate::output::require_pinned(&image)?;
    let scan = match scan.as_str() {
        "none" => None,
        s => {
            crate::cmd_model_scan::parse_gate(s)?;
            Some(s.to_ascii_lowercase())
        }
    };
    let Some(bytes) = mlguard_tenant::spec::quantity_value(&size_limit).filter(|b| *b > 0.0) else {
        bail!("--size-limit: {size_limit:?} is not a positive Kubernetes quantity (e.g. 16Gi)");
    };
    // tmpfs pages are charged to the container that writes them: the init container's limit
    // must hold the whole decrypted model, plus mlguard's own few dozen MiB.
    let init_limit = format!("{}Mi", (bytes / f64::from(1 << 20)).ceil() as u64 + 256);
    let spec = fragment(&Plan {
        image: &image,
        encrypted_path: &encrypted_path,
        encrypted_pvc: &encrypted_pvc,
        model_path: &model_path,
        size_limit: &size_limit,
        key: match (key_secret, key_csi, kms) {
            (Some(s), None, None) => Key::Secret(s),
            (None, Some(c), None) => Key::Csi(c),
            (None, None, Some(u)) => Key::Kms(u),
            (None, None, None) => {
                bail!("say where the key comes from: --key-secret, --key-csi or --kms")
            }
            _ => bail!("--key-secret, --key-csi and --kms are alternatives; give one"),
        },
        verify_key_secret: verify_key_secret.as_deref(),
        scan: scan.as_deref(),
        container: &container,
        init_limit: &init_limit,
    });
    let body = match format.as_str() {
        "yaml" => format!(
            "# mlguard model manifests: merge into the serving pod template (kubectl patch --type strategic,\n\
             # or copy into an InferenceService predictor). The init container decrypts (and verifies) the\n\
             # model into memory before the server starts; the server reads it read-only.\n{}",
            mlguard_core::emit::to_yaml(&spec)
        ),
        "json" => serde_json::to_string_pretty(&spec)? + "\n",
        f => bail!("--format: {f:?} is not one of yaml, json"),
    };
    crate::output::write_to(None, body.as_bytes())?;
    Ok(exit::CLEAN)
}

enum Key {
    Secret(String),
    Csi(String),
    Kms(String),
}

struct Plan<'a> {
    image: &'a str,
    encrypted_path: &'a str,
    encrypted_pvc: &'a str,
    model_path: &'a str,
    size_limit: &'a str,
    key: Key,
    verify_key_secret: Option<&'a str>,
    scan: Option<&'a str>,
    container: &'a str,
    init_limit: &'a str,
}

fn fragment(p: &Plan<'_>) -> Value {
    let mut args = vec![
        "model".to_owned(),
        "decrypt".to_owned(),
        p.encrypted_path.to_owned(),
        "-o".to_owned(),
        p.model_path.to_owned(),
        "--require-memory-fs".to_owned(),
        "--quiet".to_owned(),
    ];
    let mut init_mounts = vec![
        json!({"name": "encrypted-model", "mountPath": p.encrypted_path, "readOnly": true}),
        json!({"name": "model", "mountPath": p.model_path}),
    ];
    let mut volumes = vec![
        json!({"name": "encrypted-model", "persistentVolumeClaim": {"claimName": p.encrypted_pvc, "readOnly": true}}),
        json!({"name": "model", "emptyDir": {"medium": "Memory", "sizeLimit": p.size_limit}}),
    ];
    match &p.key {
        Key::Secret(s) => {
            args.extend(["--key".into(), format!("{KEY_DIR}/model.key")]);
            init_mounts.push(json!({"name": "model-key", "mountPath": KEY_DIR, "readOnly": true}));
            volumes.push(json!({"name": "model-key", "secret": {"secretName": s, "defaultMode": 0o400, "items": [{"key": "model.key", "path": "model.key"}]}}));
        }
        Key::Csi(class) => {
            args.extend(["--key".into(), format!("{KEY_DIR}/model.key")]);
            init_mounts.push(json!({"name": "model-key", "mountPath": KEY_DIR, "readOnly": true}));
            volumes.push(json!({"name": "model-key", "csi": {"driver": "secrets-store.csi.k8s.io", "readOnly": true, "volumeAttributes": {"secretProviderClass": class}}}));
        }
        Key::Kms(uri) => {
            args.extend(["--kms".into(), uri.clone()]);
            // Only the init container gets a token, short-lived and for the key manager.
            let audience = if uri.starts_with("awskms://") {
                "sts.amazonaws.com"
            } else {
                "vault"
            };
            init_mounts.push(json!({"name": "kms-token", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}));
            volumes.push(json!({"name": "kms-token", "projected": {"sources": [
                {"serviceAccountToken": {"path": "token", "audience": audience, "expirationSeconds": 600}}
            ]}}));
        }
    }
    if let Some(s) = p.scan {
        args.extend(["--scan".into(), s.to_owned()]);
    }
    if let Some(s) = p.verify_key_secret {
        args.extend(["--verify-key".into(), format!("{VERIFY_DIR}/model.pub")]);
        init_mounts
            .push(json!({"name": "model-verify-key", "mountPath": VERIFY_DIR, "readOnly": true}));
        volumes.push(json!({"name": "model-verify-key", "secret": {"secretName": s, "items": [{"key": "model.pub", "path": "model.pub"}]}}));
    }
    json!({
        "spec": {
            "automountServiceAccountToken": false,
            "initContainers": [{
                "name": "mlguard-decrypt",
                "image": p.image,
                "args": args,
                "resources": {
                    "requests": {"cpu": "2", "memory": "256Mi"},
                    "limits": {"memory": p.init_limit},
                },
                "securityContext": {
                    "runAsNonRoot": true,
                    "readOnlyRootFilesystem": true,
                    "allowPrivilegeEscalation": false,
                    "capabilities": {"drop": ["ALL"]},
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "volumeMounts": init_mounts,
            }],
            "containers": [{
                "name": p.container,
                "volumeMounts": [{"name": "model", "mountPath": p.model_path, "readOnly": true}],
            }],
            "volumes": volumes,
        }
    })
}
