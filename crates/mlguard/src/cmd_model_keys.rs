//! Key and signature plumbing for `mlguard model`: age recipients and identities from flags,
//! and model-signing sign/verify with key files.

use crate::exit;
use anyhow::{Context, Result};
use mlguard_crypt::provider::age::{AgeIdentity, AgeRecipient};
use mlguard_crypt::provider::KeyProvider;
use mlguard_crypt::sign;
use std::path::{Path, PathBuf};

/// `--recipient`: an `age1...` string, or a file of them.
pub fn age_recipients(arg: &str) -> Result<Vec<Box<dyn KeyProvider>>> {
    let list = if arg.starts_with("age1") {
        vec![AgeRecipient::parse(arg)?]
    } else if Path::new(arg).is_file() {
        AgeRecipient::read_file(Path::new(arg))?
    } else {
        anyhow::bail!(
            "--recipient {arg:?}: neither an age recipient (age1...) nor a recipients file"
        );
    };
    Ok(list
        .into_iter()
        .map(|r| Box::new(r) as Box<dyn KeyProvider>)
        .collect())
}

/// `--identity`: an age identity file.
pub fn age_identities(path: &str) -> Result<Vec<Box<dyn KeyProvider>>> {
    Ok(AgeIdentity::read_file(Path::new(path))?
        .into_iter()
        .map(|i| Box::new(i) as Box<dyn KeyProvider>)
        .collect())
}

/// A new age identity: its file text (secret) and its recipient.
pub fn age_keygen() -> Result<(zeroize::Zeroizing<String>, String)> {
    let id = AgeIdentity::generate()?;
    Ok((id.to_file_text(), id.recipient().to_string()))
}

/// Where `model`'s signature is by default.
pub fn default_signature(model: &Path) -> PathBuf {
    sign::default_signature_path(model)
}

pub fn sign_model(model: &Path, key: &str, signature: Option<&str>) -> Result<u8> {
    let pem = zeroize::Zeroizing::new(
        std::fs::read(key).with_context(|| format!("{key}: cannot read the signing key"))?,
    );
    let sig = signature
        .map(PathBuf::from)
        .unwrap_or_else(|| default_signature(model));
    let opts = sign::SignOptions {
        signature: Some(sig.clone()),
        ..sign::SignOptions::default()
    };
    let signed = sign::sign_dir(model, &pem, &opts)?;
    crate::output::write_to(Some(&sig), signed.bundle_json.as_bytes())?;
    eprintln!(
        "signed {} files; signature in {}",
        signed.manifest.files.len(),
        sig.display()
    );
    Ok(exit::CLEAN)
}

/// Verify `model` with the public key file `key` and the bundle at `sig`; the number of files.
pub fn verify_model(model: &Path, key: &str, sig: &Path) -> Result<usize> {
    let pem = std::fs::read(key).with_context(|| format!("{key}: cannot read the public key"))?;
    let bundle = std::fs::read(sig)
        .with_context(|| format!("{}: cannot read the signature", sig.display()))?;
    let opts = sign::VerifyOptions {
        signature: Some(sig.to_owned()),
        ..sign::VerifyOptions::default()
    };
    let v = sign::verify_dir(model, &bundle, &pem, &opts)?;
    Ok(v.files.len())
}
