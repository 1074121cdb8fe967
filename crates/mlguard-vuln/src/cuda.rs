//! NVIDIA components of an ML image (CUDA, cuDNN, NCCL, cuBLAS...), which OS package scanners
//! miss: read from the image config's environment (`CUDA_VERSION`, `NV_CUDNN_VERSION`,
//! `NCCL_VERSION`, `NV_LIBNCCL_PACKAGE_VERSION`, `NVIDIA_REQUIRE_CUDA`), from
//! `/usr/local/cuda*/version.json` and `version.txt`, from the `nvidia-*-cu12` wheels, and from
//! the CUDA build a PyTorch local version names (`2.1.0+cu121` is CUDA 12.1).
//!
//! They are reported in the ecosystem `NVIDIA` (not an OSV ecosystem: advisories for it are
//! built as OSV records by whoever has them), with component names `cuda`, `cudnn`, `nccl`,
//! `cublas`, `cudart`..., and versions compared with dpkg's ordering, which orders dotted
//! numeric versions (`8.9.2.26`) as NVIDIA numbers them.

use crate::inventory::Package;

/// The ecosystem name of NVIDIA components.
pub const ECOSYSTEM: &str = "NVIDIA";

fn component(name: &str, version: &str, path: &str) -> Package {
    Package::new(ECOSYSTEM, name, version, path)
}

/// A version made of digits and dots, trimmed; anything else is not taken.
fn numeric(v: &str) -> Option<&str> {
    let v = v.trim();
    (!v.is_empty()
        && v.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
    .then_some(v)
}

/// Components named by the image config's `Env` entries (`KEY=value`).
pub fn from_env(env: &[String]) -> Vec<Package> {
    let mut out = Vec::new();
    let get = |k: &str| {
        env.iter()
            .find_map(|e| e.strip_prefix(k).and_then(|r| r.strip_prefix('=')))
    };
    let path = "image config Env";
    if let Some(v) = get("CUDA_VERSION").and_then(numeric) {
        out.push(component("cuda", v, path));
    } else if let Some(req) = get("NVIDIA_REQUIRE_CUDA") {
        // "cuda>=12.1 brand=tesla,driver>=470,driver<471 ..."
        if let Some(v) = req
            .split([' ', ','])
            .find_map(|t| t.strip_prefix("cuda>="))
            .and_then(numeric)
        {
            out.push(component("cuda", v, path));
        }
    }
    for (key, name) in [
        ("NV_CUDNN_VERSION", "cudnn"),
        ("CUDNN_VERSION", "cudnn"),
        ("NCCL_VERSION", "nccl"),
        ("NV_LIBNCCL_PACKAGE_VERSION", "nccl"),
        ("NV_LIBCUBLAS_VERSION", "cublas"),
        ("NV_CUDA_CUDART_VERSION", "cudart"),
    ] {
        if out.iter().any(|p| p.name == name) {
            continue;
        }
        // Package versions like "2.18.1-1+cuda12.1" or "12.1.3.1-1": the part before '-'.
        if let Some(v) = get(key).and_then(|v| numeric(v.split('-').next().unwrap_or(v))) {
            out.push(component(name, v, path));
        }
    }
    out
}

/// `/usr/local/cuda*/version.json` (CUDA 11.1 and later): every component with a version.
pub fn from_version_json(path: &str, bytes: &[u8]) -> Result<Vec<Package>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("{path}: not JSON: {e}"))?;
    let obj = v
        .as_object()
        .ok_or_else(|| format!("{path}: not a JSON object"))?;
    let mut out = Vec::new();
    for (key, entry) in obj {
        let Some(ver) = entry
            .get("version")
            .and_then(serde_json::Value::as_str)
            .and_then(numeric)
        else {
            continue;
        };
        // "cuda" is the toolkit; "cuda_cudart", "libcublas"... the libraries.
        let name = key.trim_start_matches("lib").trim_start_matches("cuda_");
        let name = if key == "cuda" { "cuda" } else { name };
        out.push(component(name, ver, path));
    }
    if out.is_empty() {
        return Err(format!("{path}: no component with a version"));
    }
    Ok(out)
}

/// `/usr/local/cuda*/version.txt` (before CUDA 11.1): `CUDA Version 10.2.89`.
pub fn from_version_txt(path: &str, bytes: &[u8]) -> Result<Package, String> {
    let t = String::from_utf8_lossy(bytes);
    t.lines()
        .find_map(|l| l.trim().strip_prefix("CUDA Version "))
        .and_then(numeric)
        .map(|v| component("cuda", v, path))
        .ok_or_else(|| format!("{path}: no `CUDA Version N` line"))
}

/// The NVIDIA component a PyPI package is (`nvidia-cudnn-cu12 8.9.2.26` is cuDNN 8.9.2.26),
/// or the CUDA build a local version label names (`torch 2.1.0+cu121` is CUDA 12.1).
pub fn from_python(p: &Package) -> Option<Package> {
    if p.ecosystem != "PyPI" {
        return None;
    }
    let name = crate::version::pypi::normalize_name(&p.name);
    if let Some(rest) = name.strip_prefix("nvidia-") {
        let base = rest
            .strip_suffix("-cu12")
            .or_else(|| rest.strip_suffix("-cu11"))?;
        let comp = match base {
            "cuda-runtime" => "cudart",
            "cuda-nvrtc" => "nvrtc",
            "cuda-cupti" => "cupti",
            other => other,
        };
        let v = numeric(p.version.split('+').next().unwrap_or(&p.version))?;
        return Some(component(comp, v, &p.path));
    }
    let local = p.version.split_once('+')?.1;
    let digits = local.strip_prefix("cu")?;
    if digits.len() < 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // cu121 = 12.1, cu118 = 11.8, cu92 is too old to matter (and ambiguous).
    let (major, minor) = digits.split_at(digits.len() - 1);
    Some(component("cuda", &format!("{major}.{minor}"), &p.path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[Package]) -> Vec<(String, String)> {
        v.iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect()
    }

    #[test]
    fn env_of_nvidia_base_images() {
        let env: Vec<String> = [
            "PATH=/usr/local/nvidia/bin:/usr/local/cuda/bin:/usr/bin",
            "NVARCH=x86_64",
            "NVIDIA_REQUIRE_CUDA=cuda>=12.1 brand=tesla,driver>=470,driver<471",
            "NV_CUDA_CUDART_VERSION=12.1.105-1",
            "CUDA_VERSION=12.1.1",
            "NV_LIBCUBLAS_VERSION=12.1.3.1-1",
            "NV_LIBNCCL_PACKAGE_VERSION=2.17.1-1+cuda12.1",
            "NV_CUDNN_VERSION=8.9.0.131",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let got = names(&from_env(&env));
        for want in [
            ("cuda", "12.1.1"),
            ("cudnn", "8.9.0.131"),
            ("nccl", "2.17.1"),
            ("cublas", "12.1.3.1"),
            ("cudart", "12.1.105"),
        ] {
            assert!(
                got.contains(&(want.0.into(), want.1.into())),
                "{want:?} in {got:?}"
            );
        }
        let only_require = vec!["NVIDIA_REQUIRE_CUDA=cuda>=11.8 brand=tesla".to_string()];
        assert_eq!(
            names(&from_env(&only_require)),
            [("cuda".into(), "11.8".into())]
        );
        assert!(from_env(&["CUDA_VERSION=latest".to_string()]).is_empty());
    }

    #[test]
    fn version_files() {
        let j = br#"{"cuda": {"name": "CUDA SDK", "version": "12.1.1"}, "cuda_cudart": {"name": "CUDA Runtime (cudart)", "version": "12.1.105"}, "libcublas": {"name": "CUDA cuBLAS", "version": "12.1.3.1"}}"#;
        let got = names(&from_version_json("usr/local/cuda/version.json", j).unwrap());
        assert_eq!(got.len(), 3);
        assert!(
            got.contains(&("cublas".into(), "12.1.3.1".into()))
                && got.contains(&("cudart".into(), "12.1.105".into()))
        );
        assert!(from_version_json("v.json", b"[]").is_err());
        let t = from_version_txt("usr/local/cuda/version.txt", b"CUDA Version 10.2.89\n").unwrap();
        assert_eq!((t.name.as_str(), t.version.as_str()), ("cuda", "10.2.89"));
        assert!(from_version_txt("v.txt", b"nothing").is_err());
    }

    #[test]
    fn wheels_and_local_versions() {
        let pkg = |n: &str, v: &str| Package::new("PyPI", n, v, "site-packages/x");
        let c = from_python(&pkg("nvidia-cudnn-cu12", "8.9.2.26")).unwrap();
        assert_eq!((c.name.as_str(), c.version.as_str()), ("cudnn", "8.9.2.26"));
        let c = from_python(&pkg("nvidia_cuda_runtime_cu12", "12.1.105")).unwrap();
        assert_eq!(c.name, "cudart");
        let c = from_python(&pkg("torch", "2.1.0+cu121")).unwrap();
        assert_eq!((c.name.as_str(), c.version.as_str()), ("cuda", "12.1"));
        assert_eq!(
            from_python(&pkg("torch", "2.1.0+cu118")).unwrap().version,
            "11.8"
        );
        assert!(from_python(&pkg("torch", "2.1.0+cpu")).is_none());
        assert!(from_python(&pkg("torch", "2.1.0")).is_none());
        assert!(from_python(&pkg("nvidia-ml-py", "12.535.133")).is_none());
    }
}
