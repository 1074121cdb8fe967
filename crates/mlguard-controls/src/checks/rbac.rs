//! RBAC-001..005: what ML teams can do, from effective permissions (mlguard-rbac).
//!
//! An "ML team" subject is any user, group or service account bound by a RoleBinding in an ML
//! namespace, except `system:` identities and the platform admins named in mlguard.yaml.

use super::Ctx;
use mlguard_core::node::{PathBuf, Pos};
use mlguard_rbac::{Grant, Subject};
use std::collections::{BTreeMap, BTreeSet};

const DANGEROUS_GROUPS: &[&str] = &[
    "system:authenticated",
    "system:unauthenticated",
    "system:serviceaccounts",
];

fn is_team_subject(ctx: &Ctx<'_>, s: &Subject) -> bool {
    match s {
        Subject::User(n) => !n.starts_with("system:") && !ctx.cfg.platform_admin_users.contains(n),
        Subject::Group(n) => {
            !n.starts_with("system:") && !ctx.cfg.platform_admin_groups.contains(n)
        }
        Subject::ServiceAccount { namespace, .. } => ctx.inv.is_ml_namespace(namespace),
    }
}

/// Team subjects and the ML namespaces to judge them in: those they are bound in, and every
/// ML namespace when a ClusterRoleBinding reaches them.
fn teams(ctx: &Ctx<'_>) -> BTreeMap<Subject, BTreeSet<String>> {
    let mut out: BTreeMap<Subject, BTreeSet<String>> = BTreeMap::new();
    for b in ctx.rbac.bindings() {
        let Some(ns) = b.namespace.as_deref() else {
            continue;
        };
        if !ctx.inv.is_ml_namespace(ns) {
            continue;
        }
        for (s, _, _, _) in &b.subjects {
            if is_team_subject(ctx, s) {
                out.entry(s.clone()).or_default().insert(ns.to_owned());
            }
        }
    }
    let all_ml: BTreeSet<String> = ctx.inv.ml_namespaces().map(|n| n.name.clone()).collect();
    for (s, namespaces) in &mut out {
        if !ctx.rbac.grants_for(s, None).is_empty() {
            namespaces.extend(all_ml.iter().cloned());
        }
    }
    out
}

/// Where a grant comes from: the rule in a Role/ClusterRole read from the inputs, or the
/// binding's roleRef for built-in roles.
fn grant_site(ctx: &Ctx<'_>, g: &Grant<'_>) -> (usize, PathBuf, Pos) {
    if let Some(obj) = g.rule.object {
        return (
            obj,
            PathBuf::parse(&g.rule.path),
            Pos {
                line: g.rule.line,
                column: g.rule.column,
            },
        );
    }
    let b = &ctx.inv.objects[g.binding.object];
    let at = b.at();
    let rr = at.get("roleRef").unwrap_or(at);
    (g.binding.object, rr.path(), rr.node.pos)
}

fn via(g: &Grant<'_>) -> String {
    format!(
        "{} `{}` -> {} `{}`",
        g.binding.kind, g.binding.name, g.role.kind, g.role.name
    )
}

pub fn run(ctx: &mut Ctx<'_>) {
    // Findings land on Roles, ClusterRoles and their bindings (`grant_site`): with another
    // object as the focus there is nothing to find.
    if let Some(f) = ctx.focus {
        let kind = ctx.inv.objects[f].kind.as_str();
        if !matches!(
            kind,
            "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding"
        ) {
            return;
        }
    }
    let teams = teams(ctx);
    let mut seen: BTreeSet<(&'static str, usize, String, String)> = BTreeSet::new();
    let mut pending: Vec<(&'static str, usize, PathBuf, Pos, String)> = Vec::new();
    let mut report = |ctl: &'static str, site: (usize, PathBuf, Pos), key: String, msg: String| {
        if seen.insert((ctl, site.0, site.1.to_string(), key)) {
            pending.push((ctl, site.0, site.1, site.2, msg));
        }
    };
    let mut evals: Vec<&'static str> = Vec::new();
    for (subject, namespaces) in &teams {
        for ns in namespaces {
            let regulated = ctx.inv.is_regulated(ns);
            evals.extend(["MLG-RBAC-001", "MLG-RBAC-002", "MLG-RBAC-004"]);
            for g in ctx.rbac.grants_for(subject, Some(ns)) {
                if g.rule.has_wildcard() {
                    report(
                        "MLG-RBAC-001",
                        grant_site(ctx, &g),
                        String::new(),
                        format!(
                            "{} `{}` grants wildcard access to {subject} ({})",
                            g.role.kind,
                            g.role.name,
                            via(&g)
                        ),
                    );
                }
            }
            for verb in ["get", "list", "watch"] {
                for g in ctx
                    .rbac
                    .can_any_name(subject, verb, "", "secrets", Some(ns))
                {
                    report(
                        "MLG-RBAC-002",
                        grant_site(ctx, &g),
                        format!("{subject}/{ns}"),
                        format!("{subject} can {verb} Secrets in `{ns}` ({})", via(&g)),
                    );
                }
            }
            if regulated {
                evals.push("MLG-RBAC-003");
                for sub in ["pods/exec", "pods/attach", "pods/portforward"] {
                    for verb in ["create", "get"] {
                        for g in ctx.rbac.can_any_name(subject, verb, "", sub, Some(ns)) {
                            report(
                                "MLG-RBAC-003",
                                grant_site(ctx, &g),
                                format!("{subject}/{ns}/{sub}"),
                                format!(
                                    "{subject} can use {sub} in regulated namespace `{ns}` ({})",
                                    via(&g)
                                ),
                            );
                        }
                    }
                }
            }
            for (group, res) in [
                ("networking.k8s.io", "networkpolicies"),
                ("", "resourcequotas"),
                ("", "limitranges"),
                ("rbac.authorization.k8s.io", "rolebindings"),
            ] {
                for verb in ["create", "update", "patch", "delete"] {
                    for g in ctx.rbac.can_any_name(subject, verb, group, res, Some(ns)) {
                        report(
                            "MLG-RBAC-004",
                            grant_site(ctx, &g),
                            format!("{subject}/{ns}/{res}"),
                            format!(
                                "{subject} can {verb} {res} in `{ns}`, which confine it ({})",
                                via(&g)
                            ),
                        );
                    }
                }
            }
        }
    }
    // RBAC-005: bindings in ML namespaces and cluster-wide bindings.
    for b in ctx.rbac.bindings() {
        let in_scope = b
            .namespace
            .as_deref()
            .is_none_or(|ns| ctx.inv.is_ml_namespace(ns));
        if !in_scope {
            continue;
        }
        let o = &ctx.inv.objects[b.object];
        let bootstrap = b.name.starts_with("system:")
            && o.annotation("rbac.authorization.kubernetes.io/autoupdate") == Some("true");
        if bootstrap {
            continue;
        }
        evals.push("MLG-RBAC-005");
        for (s, path, line, column) in &b.subjects {
            let everyone = match s {
                Subject::Group(g) => DANGEROUS_GROUPS.contains(&g.as_str()),
                Subject::User(u) => u == "system:anonymous",
                Subject::ServiceAccount { .. } => false,
            };
            let pos = Pos {
                line: *line,
                column: *column,
            };
            if everyone {
                report(
                    "MLG-RBAC-005",
                    (b.object, PathBuf::parse(path), pos),
                    String::new(),
                    format!(
                        "{} `{}` grants {} `{}` to {s}",
                        b.kind, b.name, b.role_ref.kind, b.role_ref.name
                    ),
                );
            } else if b.role_ref.kind == "ClusterRole"
                && b.role_ref.name == "cluster-admin"
                && matches!(s, Subject::Group(g) if g != "system:masters" && !ctx.cfg.platform_admin_groups.contains(g))
            {
                report(
                    "MLG-RBAC-005",
                    (b.object, PathBuf::parse(path), pos),
                    String::new(),
                    format!("{} `{}` makes {s} cluster-admin", b.kind, b.name),
                );
            }
        }
    }
    for e in evals {
        ctx.eval(e);
    }
    for (ctl, obj, path, pos, message) in pending {
        ctx.raw.push(super::RawFinding {
            control: ctl.to_owned(),
            object: obj,
            path,
            pos,
            message,
        });
    }
}
