//! Times model signing and verification (model-signing v1.0 format) on a folder, to compare
//! with `model_signing sign key` / `verify key` on the same folder:
//!
//!   cargo build --release -p mlguard-crypt --example sign_bench
//!   target/release/examples/sign_bench sign MODEL PRIVATE_KEY.pem SIGNATURE
//!   target/release/examples/sign_bench verify MODEL PUBLIC_KEY.pem SIGNATURE
//!   target/release/examples/sign_bench keygen PRIVATE_KEY.pem PUBLIC_KEY.pem

use mlguard_crypt::sign::{self, SignOptions, VerifyOptions};
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let start = Instant::now();
    let outcome = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["sign", model, key, sig] => std::fs::read(key)
            .map_err(|e| format!("{key}: {e}"))
            .and_then(|k| {
                let opts = SignOptions {
                    signature: Some(PathBuf::from(sig)),
                    ..SignOptions::default()
                };
                let s = sign::sign_dir(model.as_ref(), &k, &opts).map_err(|e| e.to_string())?;
                std::fs::write(sig, &s.bundle_json).map_err(|e| format!("{sig}: {e}"))?;
                Ok(format!("signed {} files", s.manifest.files.len()))
            }),
        ["verify", model, key, sig] => {
            let k = std::fs::read(key).map_err(|e| format!("{key}: {e}"));
            let b = std::fs::read(sig).map_err(|e| format!("{sig}: {e}"));
            k.and_then(|k| {
                let opts = VerifyOptions {
                    signature: Some(PathBuf::from(sig)),
                    ..VerifyOptions::default()
                };
                let v =
                    sign::verify_dir(model.as_ref(), &b?, &k, &opts).map_err(|e| e.to_string())?;
                Ok(format!(
                    "verified {} files, subject sha256:{}",
                    v.files.len(),
                    sign::hex(&v.subject_sha256)
                ))
            })
        }
        ["keygen", private, public] => sign::generate_key_pair()
            .map_err(|e| e.to_string())
            .and_then(|kp| {
                std::fs::write(private, kp.private_pem.as_bytes()).map_err(|e| e.to_string())?;
                std::fs::write(public, &kp.public_pem).map_err(|e| e.to_string())?;
                Ok("key pair written".to_string())
            }),
        _ => {
            Err("usage: sign_bench sign|verify MODEL KEY SIGNATURE | keygen PRIVATE PUBLIC".into())
        }
    };
    match outcome {
        Ok(msg) => println!("{msg} in {:.3} s", start.elapsed().as_secs_f64()),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
