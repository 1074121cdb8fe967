//! `mlguard model`: flags into key providers and paths, then mlguard-crypt does the work.
//! Exit codes: 0 done, 1 authentication failed (mlguard_crypt::Error::is_auth), 2 otherwise.

use crate::cli::{ModelCommand, OpenKeys, WrapKeys};
use crate::exit;
use anyhow::{bail, Context, Result};
use mlguard_crypt::file::{self, EncryptOptions};
use mlguard_crypt::provider::{self, local::LocalKey, KeyProvider};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

type Providers = Vec<Box<dyn KeyProvider>>;

pub fn run(cmd: ModelCommand) -> Result<u8> {
    let r = match cmd {
        ModelCommand::Keygen { output, age, kms } => keygen(output.as_deref(), age, kms.as_deref()),
        ModelCommand::Encrypt {
            input,
            output,
            keys,
            digest,
            force,
            quiet,
        } => encrypt(&input, &output, &keys, digest, force, quiet),
        ModelCommand::Decrypt {
            input,
            output,
            keys,
            verify_key,
            signature,
            scan,
            require_memory_fs,
            force,
            quiet,
        } => decrypt(
            &input,
            &output,
            &keys,
            &DecryptOpts {
                verify_key: verify_key.as_deref(),
                signature: signature.as_deref(),
                scan: scan
                    .as_deref()
                    .map(crate::cmd_model_scan::parse_gate)
                    .transpose()?,
                require_memory_fs,
                force,
                quiet,
            },
        ),
        ModelCommand::Rewrap {
            input,
            output,
            open,
            to_key,
            to_recipient,
            to_kms,
            add,
        } => rewrap(
            &input,
            output.as_deref(),
            &open,
            &WrapKeys {
                key: to_key,
                recipient: to_recipient,
                kms: to_kms,
            },
            add,
        ),
        ModelCommand::Inspect { input, format } => inspect(&input, &format),
        ModelCommand::Manifests { .. } => crate::cmd_model_manifests::run(cmd),
        ModelCommand::Scan { .. } => crate::cmd_model_scan::run(cmd),
        ModelCommand::Sign {
            model,
            key,
            signature,
        } => sign(&model, &key, signature.as_deref()),
        ModelCommand::Verify {
            model,
            key,
            signature,
        } => verify(&model, &key, signature.as_deref()),
    };
    match r {
        Ok(code) => Ok(code),
        Err(e) => match e.downcast_ref::<mlguard_crypt::Error>() {
            Some(c) if c.is_auth() => {
                eprintln!("error: {e:#}");
                Ok(exit::FINDINGS)
            }
            _ if e.downcast_ref::<crate::cmd_model_scan::Refused>().is_some() => {
                eprintln!("error: {e:#}");
                Ok(exit::FINDINGS)
            }
            _ => Err(e),
        },
    }
}

fn wrap_providers(k: &WrapKeys) -> Result<Providers> {
    providers(
        &k.key,
        &k.recipient,
        crate::cmd_model_keys::age_recipients,
        &k.kms,
    )?
    .context("no key given: pass --key FILE, --recipient age1... or --kms URI (see --help)")
}

fn open_providers(k: &OpenKeys) -> Result<Providers> {
    providers(
        &k.key,
        &k.identity,
        crate::cmd_model_keys::age_identities,
        &k.kms,
    )?
    .context("no key given: pass --key FILE, --identity FILE or --kms URI (see --help)")
}

/// Local key files, then age keys (recipients or identities), then key-manager URIs; `None`
/// when none was given.
fn providers(
    keys: &[String],
    age: &[String],
    age_keys: fn(&str) -> Result<Providers>,
    kms: &[String],
) -> Result<Option<Providers>> {
    let mut p: Providers = Vec::new();
    for f in keys {
        p.push(Box::new(LocalKey::read(Path::new(f))?));
    }
    for a in age {
        p.extend(age_keys(a)?);
    }
    for u in kms {
        p.push(provider::from_uri(u)?);
    }
    Ok((!p.is_empty()).then_some(p))
}

/// Write a secret file: mode 0600, never over an existing file.
fn write_secret(path: &str, text: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if path == "-" {
        std::io::stdout().write_all(text)?;
        return Ok(());
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| {
            format!("{path}: cannot create the key file (keygen never overwrites one)")
        })?;
    f.write_all(text)?;
    f.sync_all()?;
    Ok(())
}

fn keygen(output: Option<&str>, age: bool, kms: Option<&str>) -> Result<u8> {
    if let Some(uri) = kms {
        if output.is_some() {
            bail!("--kms creates the key inside the token; -o does not apply");
        }
        if !uri.starts_with("pkcs11:") {
            bail!("keygen --kms creates keys in PKCS#11 tokens only; create KMS and Vault keys with their own tools");
        }
        provider::pkcs11::generate_kek(uri)?;
        eprintln!(
            "created a non-extractable AES-256 key in {}",
            uri.split('?').next().unwrap_or(uri)
        );
        return Ok(exit::CLEAN);
    }
    let Some(output) = output else {
        bail!("-o PATH is required (`-o -` writes the key to stdout)");
    };
    if age {
        let (text, recipient) = crate::cmd_model_keys::age_keygen()?;
        write_secret(output, text.as_bytes())?;
        eprintln!("Public key: {recipient}");
    } else {
        let k = LocalKey::generate()?;
        write_secret(output, k.to_file_text().as_bytes())?;
        eprintln!("wrote a key (id {}) to {output}", k.kid());
    }
    Ok(exit::CLEAN)
}

/// A byte-counting progress bar on stderr (hidden when quiet or not a terminal).
fn bar(total: u64, quiet: bool, what: &str) -> indicatif::ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    indicatif::ProgressBar::new(total).with_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{what} {{bar:30}} {{bytes}}/{{total_bytes}} ({{bytes_per_sec}}, {{eta}})"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    )
}

fn tree_size(root: &Path, files: &[PathBuf]) -> u64 {
    files
        .iter()
        .filter_map(|f| std::fs::metadata(root.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

fn prepare_out_file(out: &Path, force: bool) -> Result<()> {
    if out.exists() && !force {
        bail!("{}: exists (pass --force to replace it)", out.display());
    }
    Ok(())
}

fn encrypt(
    input: &str,
    output: &str,
    keys: &WrapKeys,
    digest: bool,
    force: bool,
    quiet: bool,
) -> Result<u8> {
    let providers = wrap_providers(keys)?;
    if input == "-" || output == "-" {
        if digest {
            bail!("--digest needs a file input (the digest goes into the header, before the body)");
        }
        let mut r: Box<dyn std::io::Read> = if input == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(std::fs::File::open(input).with_context(|| input.to_owned())?)
        };
        let name = if input == "-" {
            "stdin"
        } else {
            base_name(input)
        };
        let pb = bar(0, quiet, "encrypting");
        let progress = |n: u64| pb.inc(n);
        if output == "-" {
            file::encrypt_stream(
                &mut r,
                &mut std::io::stdout().lock(),
                name,
                &providers,
                &progress,
            )?;
        } else {
            prepare_out_file(Path::new(output), force)?;
            let mut w = std::io::BufWriter::new(
                std::fs::File::create(output).with_context(|| output.to_owned())?,
            );
            file::encrypt_stream(&mut r, &mut w, name, &providers, &progress)?;
        }
        pb.finish_and_clear();
        return Ok(exit::CLEAN);
    }
    let inp = Path::new(input);
    let out = Path::new(output);
    let opts = EncryptOptions { digest };
    if inp.is_dir() {
        let files = file::tree_files(inp)?;
        if out.exists()
            && !force
            && std::fs::read_dir(out)
                .map(|mut d| d.next().is_some())
                .unwrap_or(true)
        {
            bail!(
                "{}: exists and is not an empty folder (pass --force)",
                out.display()
            );
        }
        let (key, stanzas) = file::new_key(&providers)?;
        let pb = bar(tree_size(inp, &files), quiet, "encrypting");
        for rel in &files {
            let target = out.join(rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).with_context(|| parent.display().to_string())?;
            }
            file::encrypt_file_with(
                &inp.join(rel),
                &target,
                &key,
                stanzas.clone(),
                &opts,
                &|n| pb.inc(n),
            )?;
        }
        pb.finish_and_clear();
        eprintln!("encrypted {} files into {}", files.len(), out.display());
    } else {
        prepare_out_file(out, force)?;
        let size = std::fs::metadata(inp)
            .with_context(|| input.to_owned())?
            .len();
        let pb = bar(size, quiet, "encrypting");
        file::encrypt_file(inp, out, &providers, &opts, &|n| pb.inc(n))?;
        pb.finish_and_clear();
    }
    Ok(exit::CLEAN)
}

fn base_name(p: &str) -> &str {
    Path::new(p)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("model")
}

/// The filesystem type holding `path` (from /proc/self/mountinfo), if it can be told.
fn fs_type(path: &Path) -> Option<String> {
    let canon = path.canonicalize().ok()?;
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut best: Option<(usize, String)> = None;
    for line in info.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let mount = fields.get(4)?;
        let sep = fields.iter().position(|f| *f == "-")?;
        let fstype = fields.get(sep + 1)?;
        let mount = mount.replace("\\040", " ");
        if canon.starts_with(&mount) && best.as_ref().is_none_or(|(l, _)| mount.len() >= *l) {
            best = Some((mount.len(), (*fstype).to_owned()));
        }
    }
    best.map(|(_, t)| t)
}

fn check_memory_fs(dir: &Path, require: bool) -> Result<()> {
    let t = fs_type(dir);
    let memory = matches!(t.as_deref(), Some("tmpfs" | "ramfs"));
    if !memory {
        let what = t.unwrap_or_else(|| "an unknown filesystem".into());
        let msg = format!(
            "{} is on {what}, not a memory filesystem: the decrypted model will be written to disk. \
             Mount an emptyDir with medium: Memory there (see `mlguard model manifests`).",
            dir.display()
        );
        if require {
            bail!("{msg}");
        }
        eprintln!("WARNING: {msg}");
    }
    Ok(())
}

/// How `model decrypt` treats its output (from the flags).
struct DecryptOpts<'a> {
    verify_key: Option<&'a str>,
    /// Scan the decrypted model before it is visible, refusing findings at or above this.
    scan: Option<mlguard_modelscan::Severity>,
    signature: Option<&'a str>,
    require_memory_fs: bool,
    force: bool,
    quiet: bool,
}

fn decrypt(input: &str, output: &str, keys: &OpenKeys, o: &DecryptOpts<'_>) -> Result<u8> {
    let providers = open_providers(keys)?;
    if input == "-" || output == "-" {
        if o.verify_key.is_some() || o.scan.is_some() {
            bail!("--verify-key and --scan need a file or folder OUT (the model is checked before it is visible)");
        }
        let mut r: Box<dyn std::io::Read> = if input == "-" {
            Box::new(std::io::BufReader::new(std::io::stdin().lock()))
        } else {
            Box::new(std::io::BufReader::new(
                std::fs::File::open(input).with_context(|| input.to_owned())?,
            ))
        };
        let pb = bar(0, o.quiet, "decrypting");
        if output == "-" {
            file::decrypt_stream(&mut r, &mut std::io::stdout().lock(), &providers, &|n| {
                pb.inc(n)
            })?;
        } else {
            // A file OUT from a stream: decrypt into memory-free temp then rename.
            let out = Path::new(output);
            prepare_out_file(out, o.force)?;
            let dir = out
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            check_memory_fs(dir, o.require_memory_fs)?;
            let tmp = dir.join(format!(".{}.mlguard-tmp", base_name(output)));
            let res = (|| -> Result<()> {
                let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
                file::decrypt_stream(&mut r, &mut w, &providers, &|n| pb.inc(n))?;
                use std::io::Write;
                w.flush()?;
                std::fs::rename(&tmp, out)?;
                Ok(())
            })();
            if res.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            res?;
        }
        pb.finish_and_clear();
        return Ok(exit::CLEAN);
    }
    let inp = Path::new(input);
    let out = Path::new(output);
    if inp.is_dir() {
        return decrypt_tree(inp, out, &providers, o);
    }
    let header = file::read_header(inp)?;
    let target = if out.is_dir() {
        out.join(&header.meta.name)
    } else {
        out.to_owned()
    };
    prepare_out_file(&target, o.force)?;
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    check_memory_fs(dir, o.require_memory_fs)?;
    let key = provider::unlock(&header, &providers)?;
    let d = file::Decryptor::with_key(inp, header, &key)?;
    drop(key);
    let pb = bar(d.size(), o.quiet, "decrypting");
    if o.verify_key.is_some() || o.scan.is_some() {
        // Decrypt beside the target, verify and scan, then rename.
        let staging = dir.join(format!(
            ".{}.mlguard-verify",
            base_name(&target.to_string_lossy())
        ));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging)?;
        let staged = staging.join(target.file_name().unwrap_or_default());
        let res = (|| -> Result<()> {
            d.decrypt_to(&staged, &|n| pb.inc(n))?;
            if let Some(pubkey) = o.verify_key {
                let sig = o
                    .signature
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from(format!("{input}.sig")));
                crate::cmd_model_keys::verify_model(&staged, pubkey, &sig)?;
            }
            if let Some(at) = o.scan {
                crate::cmd_model_scan::gate(&staged, at)?;
            }
            std::fs::rename(&staged, &target)?;
            Ok(())
        })();
        let _ = std::fs::remove_dir_all(&staging);
        res?;
    } else {
        d.decrypt_to(&target, &|n| pb.inc(n))?;
    }
    pb.finish_and_clear();
    Ok(exit::CLEAN)
}

fn decrypt_tree(inp: &Path, out: &Path, providers: &Providers, o: &DecryptOpts<'_>) -> Result<u8> {
    let files = file::tree_files(inp)?;
    if out.exists() {
        let nonempty = std::fs::read_dir(out)
            .with_context(|| format!("{}: not a folder", out.display()))?
            .next()
            .is_some();
        if nonempty && !o.force {
            bail!(
                "{}: not empty (pass --o.force to replace its entries)",
                out.display()
            );
        }
    } else {
        std::fs::create_dir_all(out).with_context(|| out.display().to_string())?;
    }
    check_memory_fs(out, o.require_memory_fs)?;
    // Everything goes into a staging folder inside OUT (same filesystem, so the final moves
    // are renames), verified, then moved into place entry by entry.
    let staging = out.join(".mlguard-staging");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)?;
    let res = (|| -> Result<()> {
        let pb = bar(tree_size(inp, &files), o.quiet, "decrypting");
        let mut key: Option<mlguard_crypt::DataKey> = None;
        for rel in &files {
            let src = inp.join(rel);
            let header = file::read_header(&src)?;
            // One folder usually shares one data key: try it first, then the providers.
            let k = match key.as_ref().filter(|k| header.verify(k).is_ok()) {
                Some(k) => k.clone(),
                None => provider::unlock(&header, providers)?,
            };
            let d = file::Decryptor::with_key(&src, header, &k)?;
            key = Some(k);
            let target = staging.join(rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            d.decrypt_to(&target, &|n| pb.inc(n))?;
        }
        pb.finish_and_clear();
        if let Some(pubkey) = o.verify_key {
            let sig = o
                .signature
                .map(PathBuf::from)
                .unwrap_or_else(|| staging.join(mlguard_crypt::sign::DEFAULT_SIGNATURE));
            crate::cmd_model_keys::verify_model(&staging, pubkey, &sig)?;
        }
        if let Some(at) = o.scan {
            crate::cmd_model_scan::gate(&staging, at)?;
        }
        for entry in std::fs::read_dir(&staging)? {
            let entry = entry?;
            let dest = out.join(entry.file_name());
            if dest.is_dir() {
                std::fs::remove_dir_all(&dest)?;
            }
            std::fs::rename(entry.path(), &dest)?;
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&staging);
    res?;
    eprintln!("decrypted {} files into {}", files.len(), out.display());
    Ok(exit::CLEAN)
}

fn rewrap(
    input: &str,
    output: Option<&str>,
    open: &OpenKeys,
    to: &WrapKeys,
    add: bool,
) -> Result<u8> {
    let opener = open_providers(open)?;
    let wrapper = wrap_providers(to)
        .context("rewrap needs new keys: --to-key, --to-recipient or --to-kms")?;
    let inp = Path::new(input);
    let out = Path::new(output.unwrap_or(input));
    if inp.is_dir() {
        let files = file::tree_files(inp)?;
        for rel in &files {
            let target = out.join(rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            file::rewrap_file(&inp.join(rel), &target, &opener, &wrapper, add)?;
        }
        eprintln!("rewrapped {} files", files.len());
    } else {
        let h = file::rewrap_file(inp, out, &opener, &wrapper, add)?;
        eprintln!(
            "{}: {} stanza(s): {}",
            out.display(),
            h.stanzas.len(),
            h.stanzas
                .iter()
                .map(|s| s.describe())
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    Ok(exit::CLEAN)
}

fn inspect(inputs: &[String], format: &str) -> Result<u8> {
    if !matches!(format, "text" | "json") {
        bail!("--format: {format:?} is not one of text, json");
    }
    let mut docs = Vec::new();
    let mut text = String::new();
    for input in inputs {
        let p = Path::new(input);
        let h = file::read_header(p)?;
        let len = std::fs::metadata(p)?.len();
        let body = len.saturating_sub(h.len() as u64);
        let plain = mlguard_crypt::stream::plaintext_len(body).ok();
        let segments = plain.map(mlguard_crypt::stream::segments);
        if format == "json" {
            docs.push(serde_json::json!({
                "file": input,
                "format_version": mlguard_crypt::format::VERSION,
                "header_bytes": h.len(),
                "body_bytes": body,
                "segments": segments,
                "meta": h.meta,
                "stanzas": h.stanzas.iter().map(|s| serde_json::json!({"type": s.kind, "args": s.args})).collect::<Vec<_>>(),
            }));
        } else {
            use std::fmt::Write;
            let _ = writeln!(text, "{input}");
            let _ = writeln!(
                text,
                "  format:     mlguard encrypted model v{}",
                mlguard_crypt::format::VERSION
            );
            let _ = writeln!(
                text,
                "  algorithm:  {} (segments of {} bytes)",
                h.meta.algorithm, h.meta.segment_size
            );
            let _ = writeln!(text, "  name:       {}", h.meta.name);
            let _ = writeln!(
                text,
                "  size:       {}",
                h.meta
                    .size
                    .map(|s| format!("{s} bytes"))
                    .unwrap_or_else(|| "not recorded (encrypted from a stream)".into())
            );
            let _ = writeln!(
                text,
                "  sha256:     {}",
                h.meta.sha256.as_deref().unwrap_or("not recorded")
            );
            let _ = writeln!(
                text,
                "  body:       {body} bytes, {}",
                segments
                    .map(|n| format!("{n} segments"))
                    .unwrap_or_else(|| "malformed length (truncated?)".into())
            );
            let _ = writeln!(text, "  stanzas:    {}", h.stanzas.len());
            for s in &h.stanzas {
                let _ = writeln!(text, "    - {}", s.describe());
            }
        }
    }
    let body = if format == "json" {
        let v = if docs.len() == 1 {
            docs.remove(0)
        } else {
            serde_json::Value::Array(docs)
        };
        serde_json::to_string_pretty(&v)? + "\n"
    } else {
        text
    };
    crate::output::write_to(None, body.as_bytes())?;
    Ok(exit::CLEAN)
}

fn sign(model: &str, key: &str, signature: Option<&str>) -> Result<u8> {
    crate::cmd_model_keys::sign_model(Path::new(model), key, signature)
}

fn verify(model: &str, key: &str, signature: Option<&str>) -> Result<u8> {
    let m = Path::new(model);
    let sig = signature
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::cmd_model_keys::default_signature(m));
    let n = crate::cmd_model_keys::verify_model(m, key, &sig)?;
    eprintln!("verified: {n} files match the signature");
    Ok(exit::CLEAN)
}
