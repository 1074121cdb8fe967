//! Keras model configurations: the `config.json` of a Keras v3 `.keras` archive, the
//! `model_config` attribute of a Keras HDF5 file, and the Keras metadata of a SavedModel.
//!
//! What runs code when Keras deserializes a configuration:
//! - a `Lambda` layer: its function travels as marshalled Python bytecode (or source) and runs
//!   when the model is called, or on load with `safe_mode=False` (MS010, critical);
//! - any object whose `module` is outside Keras: Keras imports the module and looks the class or
//!   function up, so the configuration picks code to run (MS011; critical when the module is on
//!   the pickle deny list, medium otherwise);
//! - references that switch safe mode off or fetch code (`enable_unsafe_deserialization`,
//!   `get_file`, `TFSMLayer` which loads a SavedModel with arbitrary ops) (MS012, high).
//!
//! Keras 2 configurations carry no `module`; a custom class there is only a name that the loader
//! must be given, so it is not reported (the loader fails without it).

use crate::finding::FileFinding;
use crate::pickle::{classify_global, Severity, Verdict};
use serde_json::Value;

/// Modules (and their submodules) a Keras configuration may import without a finding.
const KERAS_MODULES: &[&str] = &[
    "keras",
    "tf_keras",
    "tensorflow.keras",
    "tensorflow.python.keras",
    "keras_nlp",
    "keras_hub",
    "keras_cv",
];

/// Names that switch Keras' safe mode off, fetch files or load other models.
const UNSAFE_REFERENCES: &[&str] = &[
    "enable_unsafe_deserialization",
    "get_file",
    "TFSMLayer",
    "load_model",
    "set_session",
];

/// Deepest JSON nesting walked; deeper configurations are "not verifiably safe".
const MAX_DEPTH: usize = 256;

/// Analyse a Keras configuration given as JSON text. Malformed JSON is MS003.
pub fn scan_keras_config(text: &[u8]) -> Vec<FileFinding> {
    let v: Value = match serde_json::from_slice(text) {
        Ok(v) => v,
        Err(e) => {
            return vec![FileFinding::incomplete(format!(
                "the Keras configuration is not valid JSON: {e}"
            ))]
        }
    };
    let mut out = Vec::new();
    walk(&v, "$", 0, &mut out);
    out
}

fn under(module: &str, prefix: &str) -> bool {
    module == prefix
        || module
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.'))
}

fn walk(v: &Value, path: &str, depth: usize, out: &mut Vec<FileFinding>) {
    if depth > MAX_DEPTH {
        out.push(
            FileFinding::incomplete(format!(
                "the Keras configuration nests deeper than {MAX_DEPTH} levels"
            ))
            .global(path),
        );
        return;
    }
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{path}[{i}]"), depth + 1, out);
            }
        }
        Value::Object(map) => {
            let class = map.get("class_name").and_then(Value::as_str);
            let module = map.get("module").and_then(Value::as_str);
            let name = map
                .get("config")
                .and_then(|c| c.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let here = if name.is_empty() {
                path.to_string()
            } else {
                format!("{path} ({name})")
            };
            if let Some(class) = class {
                check_object(class, module, map, &here, out);
            }
            for (k, item) in map {
                walk(item, &format!("{path}.{k}"), depth + 1, out);
            }
        }
        Value::String(s) => {
            for r in UNSAFE_REFERENCES {
                if s == r || s.ends_with(&format!(".{r}")) {
                    out.push(
                        FileFinding::new(
                            "MS012",
                            Severity::High,
                            format!(
                                "the configuration references {s}, which switches Keras' safe mode off, fetches files or loads another model"
                            ),
                        )
                        .global(path),
                    );
                }
            }
        }
        _ => {}
    }
}

fn check_object(
    class: &str,
    module: Option<&str>,
    map: &serde_json::Map<String, Value>,
    here: &str,
    out: &mut Vec<FileFinding>,
) {
    let lambda_function = map
        .get("config")
        .and_then(|c| c.get("function_type"))
        .and_then(Value::as_str)
        == Some("lambda");
    if class == "Lambda" || class == "__lambda__" || lambda_function {
        out.push(
            FileFinding::new(
                "MS010",
                Severity::Critical,
                format!(
                    "Keras {class} at {here}: its Python function is stored in the file and runs when the model is loaded or called"
                ),
            )
            .opcode(class)
            .global(here),
        );
        return;
    }
    let Some(module) = module else { return };
    if KERAS_MODULES.iter().any(|k| under(module, k)) {
        return;
    }
    // Keras 3 writes `builtins` as the module of plain Python values (a tuple, a function
    // name) only with class_name `function`/`tuple`; anything else there imports code.
    let severity = match classify_global(module, class) {
        Verdict::Denied => Severity::Critical,
        _ => Severity::Medium,
    };
    out.push(
        FileFinding::new(
            "MS011",
            severity,
            format!(
                "custom object {module}.{class} at {here}: Keras imports {module} and calls into it when the model is loaded"
            ),
        )
        .opcode(class)
        .global(format!("{module}.{class}")),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(json: &str) -> Vec<(&'static str, Severity)> {
        scan_keras_config(json.as_bytes())
            .into_iter()
            .map(|f| (f.code, f.severity))
            .collect()
    }

    #[test]
    fn plain_keras3_sequential_is_clean() {
        let j = r#"{"module": "keras", "class_name": "Sequential", "config": {"name": "s",
            "layers": [{"module": "keras.layers", "class_name": "Dense",
            "config": {"name": "d", "units": 2, "activation": "relu",
            "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}}},
            "registered_name": null}]}, "registered_name": null}"#;
        assert!(codes(j).is_empty(), "{:?}", codes(j));
    }

    #[test]
    fn lambda_layers_are_critical_in_both_generations() {
        let k3 = r#"{"module": "keras", "class_name": "Sequential", "config": {"layers": [
            {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "l",
            "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAA"}}}}]}}"#;
        assert!(codes(k3).contains(&("MS010", Severity::Critical)));
        let k2 = r#"{"class_name": "Model", "config": {"layers": [{"class_name": "Lambda",
            "config": {"name": "l", "function": ["4wEAAAAA", null, null], "function_type": "lambda"}}]}}"#;
        assert_eq!(codes(k2), vec![("MS010", Severity::Critical)]);
    }

    #[test]
    fn foreign_modules_and_unsafe_references() {
        let j = r#"{"module": "keras", "class_name": "Functional", "config": {"layers": [
            {"module": "os", "class_name": "system", "config": {"name": "x"}},
            {"module": "mylib.layers", "class_name": "Custom", "config": {}},
            {"module": "keras.config", "class_name": "function", "config": "enable_unsafe_deserialization"}]}}"#;
        let c = codes(j);
        assert!(c.contains(&("MS011", Severity::Critical)), "{c:?}");
        assert!(c.contains(&("MS011", Severity::Medium)), "{c:?}");
        assert!(c.contains(&("MS012", Severity::High)), "{c:?}");
    }

    #[test]
    fn malformed_and_deep_json_is_not_verifiably_safe() {
        assert_eq!(codes("{\"layers\": ["), vec![("MS003", Severity::High)]);
        let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
        // serde_json's own recursion limit (128) or ours: either way not a pass.
        assert_eq!(codes(&deep), vec![("MS003", Severity::High)]);
    }
}
