//! The API resources (plural names, as audit policies and requests name them) of ML workloads
//! and of credentials, by API group.

/// ML resources by group: training jobs, notebooks, model serving, Ray.
pub const ML_RESOURCES: &[(&str, &[&str])] = &[
    (
        "kubeflow.org",
        &[
            "pytorchjobs",
            "tfjobs",
            "mpijobs",
            "xgboostjobs",
            "paddlejobs",
            "jaxjobs",
            "notebooks",
        ],
    ),
    (
        "trainer.kubeflow.org",
        &["trainjobs", "trainingruntimes", "clustertrainingruntimes"],
    ),
    (
        "serving.kserve.io",
        &[
            "inferenceservices",
            "inferencegraphs",
            "servingruntimes",
            "clusterservingruntimes",
            "trainedmodels",
        ],
    ),
    ("ray.io", &["rayclusters", "rayjobs", "rayservices"]),
];

/// The groups an ML resource (plural) belongs to; empty when it is not an ML resource.
pub fn ml_groups(resource: &str) -> Vec<&'static str> {
    ML_RESOURCES
        .iter()
        .filter(|(_, rs)| rs.contains(&resource))
        .map(|(g, _)| *g)
        .collect()
}

/// Every (group, resource) of [`ML_RESOURCES`] that is namespaced.
pub fn namespaced_ml_resources() -> impl Iterator<Item = (&'static str, &'static str)> {
    ML_RESOURCES
        .iter()
        .flat_map(|(g, rs)| rs.iter().map(move |r| (*g, *r)))
        .filter(|(_, r)| !r.starts_with("cluster"))
}

/// Requests whose bodies carry credentials: (group, resource, subresource).
pub const CREDENTIALS: &[(&str, &str, &str)] = &[
    ("", "secrets", ""),
    ("", "serviceaccounts", "token"),
    ("authentication.k8s.io", "tokenreviews", ""),
];

/// Verbs that change objects, and verbs that read them.
pub const WRITE_VERBS: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];
pub const READ_VERBS: &[&str] = &["get", "list", "watch"];
