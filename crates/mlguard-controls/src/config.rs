//! `mlguard.yaml`: scan settings (docs/config.md). Parsed strictly: an unknown key is an error
//! naming the file and line, so a misspelt setting never silently does nothing.

use crate::catalog::CatalogError;
use mlguard_core::node::{Node, Pos};
use mlguard_core::yaml::{parse_stream, Limits};

/// Which namespaces workload controls look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// ML namespaces only (an ML kind, a GPU request, or the `mlguard.io/tenant` label).
    #[default]
    Ml,
    /// Every namespace.
    All,
}

#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Image registries (and optional path prefixes) images may come from. Empty: MLG-IMG-003
    /// is not evaluated.
    pub allowed_registries: Vec<String>,
    pub cluster_cidrs: Vec<String>,
    pub service_cidrs: Vec<String>,
    pub storage_endpoints: Vec<String>,
    /// Namespaces whose models must carry a verified signature (MLG-MOD-002).
    pub signed_model_namespaces: Vec<String>,
    /// Groups and users that administer the platform; they are not "ML team" subjects.
    pub platform_admin_groups: Vec<String>,
    pub platform_admin_users: Vec<String>,
    pub scope: Scope,
    /// Namespace given to namespaced objects that name none (as `kubectl apply` does).
    pub default_namespace: Option<String>,
}

const KNOWN: &[&str] = &[
    "allowedRegistries",
    "clusterCIDRs",
    "serviceCIDRs",
    "storageEndpoints",
    "signedModelNamespaces",
    "platformAdmins",
    "scope",
    "defaultNamespace",
];

fn strings(file: &str, n: &Node, key: &str) -> Result<Vec<String>, CatalogError> {
    let Some(v) = n.get(key) else {
        return Ok(Vec::new());
    };
    if v.is_null() {
        return Ok(Vec::new());
    }
    if !v.is_seq() {
        return Err(CatalogError {
            file: file.to_owned(),
            pos: v.pos,
            message: format!(
                "field `{key}`: expected a list of strings, found {}",
                v.type_name()
            ),
        });
    }
    v.items()
        .iter()
        .map(|i| {
            i.as_str().map(str::to_owned).ok_or_else(|| CatalogError {
                file: file.to_owned(),
                pos: i.pos,
                message: format!("field `{key}`: expected a string, found {}", i.type_name()),
            })
        })
        .collect()
}

impl Config {
    pub fn parse(file: &str, text: &str) -> Result<Config, CatalogError> {
        let err = |pos: Pos, message: String| CatalogError::at(file, pos, message);
        let s = parse_stream(text, Limits::default());
        if let Some(e) = s.error {
            return Err(err(e.pos, e.message));
        }
        let Some(root) = s.documents.into_iter().next().map(|d| d.root) else {
            return Ok(Config::default());
        };
        if root.is_null() {
            return Ok(Config::default());
        }
        if !root.is_map() {
            return Err(err(root.pos, "expected a mapping of settings".to_owned()));
        }
        for e in root.entries() {
            if !KNOWN.contains(&e.key.as_str()) {
                return Err(err(
                    e.key_pos,
                    format!("unknown setting `{}` (known: {})", e.key, KNOWN.join(", ")),
                ));
            }
        }
        let mut c = Config {
            allowed_registries: strings(file, &root, "allowedRegistries")?,
            cluster_cidrs: strings(file, &root, "clusterCIDRs")?,
            service_cidrs: strings(file, &root, "serviceCIDRs")?,
            storage_endpoints: strings(file, &root, "storageEndpoints")?,
            signed_model_namespaces: strings(file, &root, "signedModelNamespaces")?,
            ..Config::default()
        };
        // Addresses are checked here, so a typo is an error at its line rather than a control
        // judged with the wrong cluster boundary.
        for key in ["clusterCIDRs", "serviceCIDRs", "storageEndpoints"] {
            for item in root
                .get(key)
                .map(mlguard_core::Node::items)
                .unwrap_or_default()
            {
                let Some(text) = item.as_str() else { continue };
                let parsed = if key == "storageEndpoints" {
                    mlguard_netpol::intents::IsolationSettings::parse(&[], &[text.to_owned()])
                        .map(|_| ())
                } else {
                    mlguard_netpol::ip::Cidr::parse(text).map(|_| ())
                };
                if let Err(m) = parsed {
                    return Err(err(item.pos, format!("field `{key}`: {m}")));
                }
            }
        }
        if let Some(pa) = root.get("platformAdmins") {
            for e in pa.entries() {
                if e.key != "groups" && e.key != "users" {
                    return Err(err(
                        e.key_pos,
                        format!("platformAdmins: unknown key `{}` (groups, users)", e.key),
                    ));
                }
            }
            c.platform_admin_groups = strings(file, pa, "groups")?;
            c.platform_admin_users = strings(file, pa, "users")?;
        }
        if let Some(sc) = root.get("scope") {
            c.scope = match sc.as_str() {
                Some("ml") => Scope::Ml,
                Some("all") => Scope::All,
                _ => {
                    return Err(err(
                        sc.pos,
                        "field `scope`: expected `ml` or `all`".to_owned(),
                    ))
                }
            };
        }
        if let Some(d) = root.get("defaultNamespace") {
            c.default_namespace = Some(
                d.as_str()
                    .ok_or_else(|| {
                        err(
                            d.pos,
                            "field `defaultNamespace`: expected a string".to_owned(),
                        )
                    })?
                    .to_owned(),
            );
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_at_their_line() {
        let e = Config::parse("m.yaml", "clusterCIDRs: [10.244.0.0/16]\nstorageEndpoints:\n  - 10.20.0.0/16:9000\n  - 10.20.0.0/33\n").unwrap_err();
        assert_eq!(e.to_string(), "m.yaml:4:5: field `storageEndpoints`: `10.20.0.0/33` is not a CIDR (prefix length 33 > 32)");
        let e = Config::parse("m.yaml", "serviceCIDRs: [10.96.0.0]\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("m.yaml:1:16: field `serviceCIDRs`: `10.96.0.0` is not a CIDR"),
            "{e}"
        );
        assert!(Config::parse("m.yaml", "storageEndpoints: [\"10.20.0.0/16:443,9000\"]\n").is_ok());
    }

    #[test]
    fn parses_and_rejects_unknown_keys() {
        let c = Config::parse(
            "m.yaml",
            "allowedRegistries: [registry.example.com/ml]\nplatformAdmins: {groups: [ops]}\nscope: all\n",
        )
        .expect("valid");
        assert_eq!(c.allowed_registries, ["registry.example.com/ml"]);
        assert_eq!(c.platform_admin_groups, ["ops"]);
        assert_eq!(c.scope, Scope::All);
        let e = Config::parse("m.yaml", "allowedRegistry: [x]\n").expect_err("typo");
        assert_eq!(e.pos.line, 1);
        assert!(e
            .to_string()
            .starts_with("m.yaml:1:1: unknown setting `allowedRegistry`"));
        let e = Config::parse("m.yaml", "scope: ml\nallowedRegistries: x\n").expect_err("type");
        assert_eq!(e.pos.line, 2);
    }
}
