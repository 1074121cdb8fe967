//! `load_json` (an admission request's object, already parsed) reads the same objects as
//! `load_documents` reads from that JSON's text: same kind, name, namespace and tree, for
//! every object of examples/ and the shared corpus.

use mlguard_core::load::{load_documents, load_json};
use mlguard_core::LoadOptions;

#[test]
fn json_values_load_as_their_text_does() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let mut paths = vec![format!("{root}/examples")];
    let corpus = format!("{root}/../shared/corpus/manifests");
    if std::path::Path::new(&corpus).is_dir() {
        paths.push(corpus);
    }
    let all = mlguard_core::load(&paths, &LoadOptions::default());
    assert!(all.objects.len() > 100, "{} objects", all.objects.len());
    for o in &all.objects {
        let value = o.root.to_json();
        let from_value = load_json("v", &value);
        let from_text = load_documents(
            &[("t".to_owned(), value.to_string())],
            &LoadOptions::default(),
        );
        assert_eq!(
            from_value.objects.len(),
            from_text.objects.len(),
            "{}",
            o.name
        );
        assert_eq!(
            from_value.errors.len(),
            from_text.errors.len(),
            "{}",
            o.name
        );
        for (a, b) in from_value.objects.iter().zip(&from_text.objects) {
            assert_eq!(
                (&a.api_version, &a.kind, &a.name, &a.namespace),
                (&b.api_version, &b.kind, &b.name, &b.namespace)
            );
            assert_eq!(a.root.to_json(), b.root.to_json(), "{} {}", a.kind, a.name);
        }
    }
}
