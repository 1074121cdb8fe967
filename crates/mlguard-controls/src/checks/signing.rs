//! MLG-MOD-002: in a namespace that requires signed models (label
//! `mlguard.io/require-signed-models: "true"`, or `signedModelNamespaces` in mlguard.yaml), every
//! serving pod template must verify the model's signature in an init container, which completes
//! before the server starts: `mlguard model verify ...`, or `mlguard model decrypt ...
//! --verify-key PUB` (what `mlguard model manifests --verify-key-secret` emits).
//!
//! Judged per pod template, from the template and its namespace's labels; findings land on the
//! template's object (called from the workload checks, so a focused scan skips other objects).

use super::workload::image_repo;
use super::Ctx;
use mlguard_core::inventory::{PodTemplate, WorkloadClass};
use mlguard_core::node::At;

/// The namespace label that requires signed models.
pub const LABEL_REQUIRE_SIGNED: &str = "mlguard.io/require-signed-models";

const ID: &str = "MLG-MOD-002";

/// Why namespace `ns` requires signed models (for the message), or None when it does not.
/// The label's value is read case-insensitively; an unquoted YAML `true` counts too.
pub fn requirement(ctx: &Ctx<'_>, ns: &str) -> Option<String> {
    let labelled = ctx
        .inv
        .namespace(ns)
        .and_then(|n| n.labels.get(LABEL_REQUIRE_SIGNED))
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let configured = ctx.cfg.signed_model_namespaces.iter().any(|n| n == ns);
    let label = format!("label `{LABEL_REQUIRE_SIGNED}: \"true\"`");
    let config = "`signedModelNamespaces` in mlguard.yaml";
    match (labelled, configured) {
        (true, true) => Some(format!("{label} and {config}")),
        (true, false) => Some(label),
        (false, true) => Some(config.to_owned()),
        (false, false) => None,
    }
}

/// What a container does about model signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    /// Runs `mlguard model verify`, or `mlguard model decrypt` with a verify key.
    Verifies,
    /// Runs `mlguard model decrypt` without a verify key.
    DecryptsUnverified,
    /// Anything else.
    Unrelated,
}

fn strings(c: &At<'_>, key: &str) -> Option<Vec<String>> {
    c.get(key).map(|l| {
        l.node
            .items()
            .iter()
            .filter_map(|i| i.scalar_text())
            .collect()
    })
}

/// The arguments after `mlguard` when the container runs mlguard: `command[0]` whose basename
/// is `mlguard` (then `command[1..]` and `args`), or no command and an image whose repository
/// is `mlguard` or ends in `/mlguard` (its entrypoint is mlguard; then `args`).
pub fn mlguard_args(c: &At<'_>) -> Option<Vec<String>> {
    let args = strings(c, "args").unwrap_or_default();
    match strings(c, "command").filter(|cmd| !cmd.is_empty()) {
        Some(cmd) => {
            let base = cmd[0].rsplit('/').next().unwrap_or_default();
            (base == "mlguard").then(|| cmd[1..].iter().cloned().chain(args).collect())
        }
        None => {
            let image = c.get("image")?.str()?;
            let (_, repo) = image_repo(image);
            (repo == "mlguard" || repo.ends_with("/mlguard")).then_some(args)
        }
    }
}

/// Whether env var `name` of the container has a value (a non-empty literal, or valueFrom).
fn env_set(c: &At<'_>, name: &str) -> bool {
    c.get("env").is_some_and(|envs| {
        envs.items().any(|e| {
            e.get("name").and_then(|n| n.str()) == Some(name)
                && (e.get("valueFrom").is_some()
                    || e.get("value")
                        .and_then(|v| v.node.scalar_text())
                        .is_some_and(|v| !v.trim().is_empty()))
        })
    })
}

/// Judge the arguments after `mlguard` (`env_verify_key`: MLGUARD_VERIFY_KEY is set, which
/// clap reads as `--verify-key`). Options end at `--`; `--help` or `--version` run nothing.
pub fn judge_args(args: &[String], env_verify_key: bool) -> Signature {
    let sub = match args {
        [model, sub, ..] if model == "model" => sub.as_str(),
        _ => return Signature::Unrelated,
    };
    let opts: Vec<&str> = args[2..]
        .iter()
        .map(String::as_str)
        .take_while(|a| *a != "--")
        .collect();
    if opts
        .iter()
        .any(|a| matches!(*a, "-h" | "--help" | "-V" | "--version"))
    {
        return Signature::Unrelated;
    }
    match sub {
        "verify" => Signature::Verifies,
        "decrypt" => {
            let flag = opts
                .iter()
                .enumerate()
                .any(|(i, a)| match a.strip_prefix("--verify-key") {
                    Some("") => opts
                        .get(i + 1)
                        .is_some_and(|v| !v.trim().is_empty() && !v.starts_with('-')),
                    Some(rest) => rest.strip_prefix('=').is_some_and(|v| !v.trim().is_empty()),
                    None => false,
                });
            if flag || env_verify_key {
                Signature::Verifies
            } else {
                Signature::DecryptsUnverified
            }
        }
        _ => Signature::Unrelated,
    }
}

/// What container `c` does about model signatures.
pub fn signature(c: &At<'_>) -> Signature {
    match mlguard_args(c) {
        Some(args) => judge_args(&args, env_set(c, "MLGUARD_VERIFY_KEY")),
        None => Signature::Unrelated,
    }
}

fn name_of(c: &At<'_>) -> String {
    c.get("name")
        .and_then(|n| n.str())
        .unwrap_or_default()
        .to_owned()
}

/// Whether a serving template loads a model: every serving template but a KServe transformer
/// (which pre- and post-processes requests for the predictor).
fn loads_model(ctx: &Ctx<'_>, t: &PodTemplate<'_>) -> bool {
    let o = &ctx.inv.objects[t.object];
    let transformer = o.group() == "serving.kserve.io"
        && o.kind == "InferenceService"
        && t.role
            .as_deref()
            .is_some_and(|r| r.split('.').next() == Some("transformer"));
    t.class == WorkloadClass::Serving && !transformer
}

pub fn check(ctx: &mut Ctx<'_>, t: &PodTemplate<'_>) {
    if !loads_model(ctx, t) {
        return;
    }
    let Some(ns) = ctx.ns_of(t.object) else {
        return;
    };
    let Some(why) = requirement(ctx, ns) else {
        return;
    };
    ctx.eval(ID);
    let inits = t.spec.get("initContainers");
    let mut unverified: Option<(String, At<'_>)> = None;
    let mut sidecar: Option<(String, At<'_>)> = None;
    for c in inits.iter().flat_map(|l| l.items()) {
        let restart = c.get("restartPolicy");
        let is_sidecar = restart.as_ref().and_then(|r| r.str()) == Some("Always");
        match signature(&c) {
            // Init containers run to completion, in order, before any container starts.
            Signature::Verifies if !is_sidecar => return,
            // A native sidecar only has to start, not finish, before the server starts.
            Signature::Verifies if sidecar.is_none() => {
                sidecar = restart.map(|r| (name_of(&c), r));
            }
            Signature::DecryptsUnverified if unverified.is_none() => {
                let at = c
                    .get("args")
                    .or_else(|| c.get("command"))
                    .unwrap_or(c.clone());
                unverified = Some((name_of(&c), at));
            }
            _ => {}
        }
    }
    // A regular container verifying runs beside the server, not before it.
    let beside = t
        .spec
        .get("containers")
        .iter()
        .flat_map(|l| l.items())
        .find(|c| signature(c) == Signature::Verifies)
        .map(|c| (name_of(&c), c));
    let o = &ctx.inv.objects[t.object];
    let what = match t.role.as_deref() {
        Some(r) => format!("{} `{}` ({r})", o.kind, o.name),
        None => format!("{} `{}`", o.kind, o.name),
    };
    let prefix = format!("namespace `{ns}` requires signed models ({why}), but {what}");
    let (at, message) = if let Some((name, at)) = unverified {
        (
            at,
            format!("{prefix} decrypts its model in init container `{name}` with `mlguard model decrypt` without `--verify-key`, so the signature is never checked"),
        )
    } else if let Some((name, at)) = sidecar {
        (
            at,
            format!("{prefix} verifies its model only in init container `{name}` with `restartPolicy: Always` (a sidecar, which does not hold the server back until verification completes)"),
        )
    } else if let Some((name, at)) = beside {
        (
            at,
            format!("{prefix} verifies its model only in container `{name}`, which runs beside the server, not before it; move it to initContainers"),
        )
    } else {
        (
            inits.unwrap_or_else(|| t.spec.clone()),
            format!("{prefix} has no init container verifying the model before the server starts (`mlguard model verify`, or `mlguard model decrypt` with `--verify-key`)"),
        )
    };
    ctx.emit(ID, t.object, &at, message);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn arguments() {
        use Signature::*;
        let judge = |a: &[&str], env: bool| judge_args(&v(a), env);
        assert_eq!(
            judge(&["model", "verify", "/m", "--key", "k.pub"], false),
            Verifies
        );
        let manifests = [
            "model",
            "decrypt",
            "/encrypted/model",
            "-o",
            "/models",
            "--require-memory-fs",
            "--quiet",
            "--key",
            "/var/run/mlguard/key/model.key",
            "--verify-key",
            "/var/run/mlguard/verify/model.pub",
        ];
        assert_eq!(judge(&manifests, false), Verifies);
        assert_eq!(
            judge(&["model", "decrypt", "in", "--verify-key=/k.pub"], false),
            Verifies
        );
        assert_eq!(
            judge(&["model", "decrypt", "in", "-o", "/m"], false),
            DecryptsUnverified
        );
        assert_eq!(
            judge(&["model", "decrypt", "in", "-o", "/m"], true),
            Verifies
        );
        assert_eq!(
            judge(&["model", "decrypt", "in", "--verify-key="], false),
            DecryptsUnverified
        );
        assert_eq!(
            judge(&["model", "decrypt", "in", "--verify-key"], false),
            DecryptsUnverified
        );
        assert_eq!(
            judge(
                &["model", "decrypt", "in", "--verify-key", "--quiet"],
                false
            ),
            DecryptsUnverified
        );
        assert_eq!(
            judge(&["model", "decrypt", "--", "--verify-key", "k"], false),
            DecryptsUnverified
        );
        assert_eq!(judge(&["model", "verify", "--help"], false), Unrelated);
        assert_eq!(judge(&["model", "sign", "/m"], false), Unrelated);
        assert_eq!(judge(&["scan", "x"], false), Unrelated);
    }
}
