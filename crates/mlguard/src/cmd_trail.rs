//! `mlguard audit verify|prove|verify-proof|query|report|retain|keygen`: the audit store's
//! reading side. Every read of the store (query, report, prove, verify) is itself appended to
//! the trail as a record of source `audit` (actor: the local user).

use crate::cli_trail::{FilterArgs, StoreArgs, TrailCommand};
use anyhow::{anyhow, bail, Context, Result};
use mlguard_audit::store::{
    self, proof, query::QueryRecord, report, retain, verify, Log, OpenOptions, Query,
};
use mlguard_audit::trail::note::{Signer, Verifier};
use mlguard_audit::trail::record::{self, format_rfc3339, parse_rfc3339, Record, Source};
use std::collections::BTreeMap;
use std::io::Write;

/// The store URL: the flag, or `sqlite:` in the user data folder.
pub fn store_url(args: &StoreArgs) -> Result<String> {
    if let Some(url) = &args.store {
        return Ok(url.clone());
    }
    let base = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        Some(d) => std::path::PathBuf::from(d),
        None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(h) => std::path::PathBuf::from(h).join(".local/share"),
            None => bail!("no --store given and neither XDG_DATA_HOME nor HOME is set"),
        },
    };
    Ok(format!(
        "sqlite:{}",
        base.join("mlguard/audit.db").display()
    ))
}

pub fn run(cmd: TrailCommand) -> Result<u8> {
    match cmd {
        TrailCommand::Verify {
            store,
            key,
            witness,
            format,
        } => cmd_verify(&store, &key, witness.as_deref(), &format),
        TrailCommand::Prove {
            store,
            record,
            size,
            consistency,
            output,
        } => cmd_prove(&store, record, size, consistency, output.as_deref()),
        TrailCommand::VerifyProof { proof, key } => cmd_verify_proof(&proof, &key),
        TrailCommand::Query {
            store,
            filter,
            limit,
            format,
        } => cmd_query(&store, &filter, limit, &format),
        TrailCommand::Report {
            store,
            model,
            since,
            until,
            format,
        } => cmd_report(&store, &model, since.as_deref(), until.as_deref(), &format),
        TrailCommand::Retain { store, retain } => cmd_retain(&store, &retain),
        TrailCommand::Keygen { name, output } => cmd_keygen(&name, &output),
    }
}

fn open_reader(args: &StoreArgs) -> Result<(String, Box<dyn Log>)> {
    let url = store_url(args)?;
    let log = store::open_log(
        &url,
        OpenOptions {
            checkpoints: None,
            create: false,
        },
    )
    .map_err(|e| anyhow!("{}: {e}", store::redact_url(&url)))?;
    Ok((url, log))
}

fn read_verifier(path: &str) -> Result<Verifier> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read --key {path}"))?;
    let text = text.trim();
    if text.starts_with("PRIVATE+KEY+") {
        bail!(
            "--key {path} is a private signer key: give the verifier key (the .pub file of \
             mlguard audit keygen)"
        );
    }
    Verifier::from_key_text(text).map_err(|e| anyhow!("--key {path}: {e}"))
}

/// The local OS user: $USER, else $LOGNAME, else `uid:N`.
fn local_user() -> (String, Option<u32>) {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok().map(|m| m.uid());
    let name = ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .or_else(|| uid.map(|u| format!("uid:{u}")))
        .unwrap_or_else(|| "unknown".into());
    (name, uid)
}

/// A unique event id for a read record: 128 bits from the process's randomly keyed hasher
/// (seeded by the OS), the time and the process id.
fn random_id() -> String {
    use std::hash::BuildHasher;
    let t = now_ns();
    let pid = std::process::id();
    let a = std::collections::hash_map::RandomState::new().hash_one((t, pid, 1u8));
    let b = std::collections::hash_map::RandomState::new().hash_one((t, pid, 2u8));
    format!("{a:016x}{b:016x}")
}

fn now_ns() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// Appends the record of this read of the trail: source `audit`, actor the local user, verb
/// the command, detail the arguments (with `uid` and `host`).
fn record_read(log: &dyn Log, verb: &str, detail: BTreeMap<String, String>) -> Result<()> {
    let (user, uid) = local_user();
    let mut r = Record::new(Source::Audit, random_id(), now_ns());
    r.actor = user;
    r.verb = verb.to_string();
    r.resource = "auditrecords".into();
    // The filters stay in `detail`: a read about a model is not a record about the model.
    r.user_agent = Some(format!("mlguard/{}", env!("CARGO_PKG_VERSION")));
    r.outcome = record::Outcome {
        kind: record::OutcomeKind::Success,
        code: None,
    };
    r.detail = detail;
    if let Some(u) = uid {
        r.detail.insert("uid".into(), u.to_string());
    }
    if let Ok(h) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        r.detail.insert("host".into(), h.trim().to_string());
    }
    let raw = serde_json::to_vec(&serde_json::json!({
        "command": format!("mlguard audit {verb}"),
        "detail": r.detail,
    }))?;
    r.raw = record::compress_raw(&raw);
    log.append(std::slice::from_ref(&r)).map_err(|e| {
        anyhow!("cannot record this read of the audit trail (reads are audited): {e}")
    })?;
    Ok(())
}

/// A time flag: RFC 3339, a date (midnight UTC) or an age (`7d`: that long before now).
fn parse_time(flag: &str, s: &str) -> Result<i64> {
    if let Some(t) = parse_rfc3339(s) {
        return Ok(t);
    }
    if s.len() == 10 {
        if let Some(t) = parse_rfc3339(&format!("{s}T00:00:00Z")) {
            return Ok(t);
        }
    }
    if let Ok(age) = retain::parse_duration(s) {
        return Ok(now_ns().saturating_sub(age));
    }
    bail!(
        "{flag} {s:?} is not a time: give RFC 3339 (2026-03-01T12:00:00Z), a date (2026-03-01) \
         or an age (7d, 12h)"
    )
}

fn build_query(f: &FilterArgs, limit: Option<u64>) -> Result<(Query, BTreeMap<String, String>)> {
    let source = f
        .source
        .as_deref()
        .map(|s| {
            Source::parse(s)
                .ok_or_else(|| anyhow!("--source {s:?}: use k8s, storage, inference or audit"))
        })
        .transpose()?;
    let q = Query {
        model: f.model.clone(),
        actor: f.user.clone(),
        namespace: f.namespace.clone(),
        verb: f.verb.clone(),
        source,
        since_ns: f
            .since
            .as_deref()
            .map(|s| parse_time("--since", s))
            .transpose()?,
        until_ns: f
            .until
            .as_deref()
            .map(|s| parse_time("--until", s))
            .transpose()?,
        limit,
        after: None,
    };
    let mut d = BTreeMap::new();
    for (k, v) in [
        ("model", &f.model),
        ("user", &f.user),
        ("namespace", &f.namespace),
        ("verb", &f.verb),
        ("source", &f.source),
        ("since", &f.since),
        ("until", &f.until),
    ] {
        if let Some(v) = v {
            d.insert(k.to_string(), v.clone());
        }
    }
    if let Some(l) = limit {
        d.insert("limit".into(), l.to_string());
    }
    Ok((q, d))
}

fn cmd_query(args: &StoreArgs, f: &FilterArgs, limit: Option<u64>, format: &str) -> Result<u8> {
    if !matches!(format, "table" | "json" | "csv") {
        bail!("--format {format:?}: use table, json or csv");
    }
    let (q, detail) = build_query(f, limit)?;
    let (url, log) = open_reader(args)?;
    record_read(log.as_ref(), "query", detail)?;
    let stdout = std::io::stdout();
    let mut sink = Sink {
        w: std::io::BufWriter::new(stdout.lock()),
        format: format.to_string(),
        page: Vec::new(),
        widths: None,
        written: 0,
        io: None,
    };
    let n = store::query::for_each(log.as_ref(), &q, &mut |seq, r| {
        sink.push(QueryRecord::new(seq, r));
        if sink.io.is_some() {
            // Stop reading once stdout is gone (a closed pipe).
            return Err(store::StoreError::Backend("output closed".into()));
        }
        Ok(())
    });
    if let Some(e) = sink.io.take() {
        return Err(e.into());
    }
    n.map_err(|e| anyhow!("{}: {e}", store::redact_url(&url)))?;
    sink.finish()?;
    Ok(0)
}

/// Writes query answers as they are read, a page (10,000 records) at a time; the table's column
/// widths come from the first page.
struct Sink<W: Write> {
    w: W,
    format: String,
    page: Vec<QueryRecord>,
    widths: Option<Vec<usize>>,
    written: u64,
    io: Option<std::io::Error>,
}

impl<W: Write> Sink<W> {
    fn push(&mut self, r: QueryRecord) {
        if self.io.is_some() {
            return;
        }
        self.page.push(r);
        if self.page.len() >= store::query::PAGE as usize {
            if let Err(e) = self.flush_page() {
                self.io = Some(e);
            }
        }
    }

    fn flush_page(&mut self) -> std::io::Result<()> {
        let page = std::mem::take(&mut self.page);
        for r in &page {
            match self.format.as_str() {
                "json" => {
                    self.w
                        .write_all(if self.written == 0 { b"[\n" } else { b",\n" })?;
                    let text = serde_json::to_string_pretty(r).map_err(std::io::Error::other)?;
                    for (i, line) in text.lines().enumerate() {
                        if i > 0 {
                            self.w.write_all(b"\n")?;
                        }
                        write!(self.w, "  {line}")?;
                    }
                }
                "csv" => {
                    if self.written == 0 {
                        let mut header: Vec<&str> = COLUMNS.to_vec();
                        header.extend(["code", "event_id", "stage"]);
                        writeln!(self.w, "{}", header.join(","))?;
                    }
                    let mut c: Vec<String> = cells(r).to_vec();
                    c[9] = r.outcome.to_string();
                    c.push(r.code.map(|c| c.to_string()).unwrap_or_default());
                    c.push(r.event_id.clone());
                    c.push(r.stage.clone().unwrap_or_default());
                    let line: Vec<String> = c.iter().map(|s| csv_field(s)).collect();
                    writeln!(self.w, "{}", line.join(","))?;
                }
                _ => {}
            }
            self.written += 1;
        }
        if self.format == "table" && !page.is_empty() {
            let rows: Vec<Vec<String>> = page
                .iter()
                .map(|r| cells(r).iter().map(|c| clean(c)).collect())
                .collect();
            let header = self.widths.is_none();
            let widths = self.widths.get_or_insert_with(|| {
                let mut w: Vec<usize> = COLUMNS.iter().map(|h| h.len()).collect();
                for r in &rows {
                    for (i, c) in r.iter().enumerate() {
                        w[i] = w[i].max(c.chars().count());
                    }
                }
                w
            });
            if header {
                let h: Vec<String> = COLUMNS.iter().map(|h| h.to_uppercase()).collect();
                writeln!(self.w, "{}", table_line(&h, widths))?;
            }
            for r in &rows {
                writeln!(self.w, "{}", table_line(r, widths))?;
            }
        }
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<()> {
        self.flush_page()?;
        match self.format.as_str() {
            "json" if self.written == 0 => writeln!(self.w, "[]")?,
            "json" => writeln!(self.w, "\n]")?,
            "csv" if self.written == 0 => {
                let mut header: Vec<&str> = COLUMNS.to_vec();
                header.extend(["code", "event_id", "stage"]);
                writeln!(self.w, "{}", header.join(","))?;
            }
            "table" if self.written == 0 => writeln!(self.w, "no records match")?,
            "table" => writeln!(self.w, "{} records", self.written)?,
            _ => {}
        }
        self.w.flush()
    }
}

fn table_line(cells: &[String], widths: &[usize]) -> String {
    let mut s = String::new();
    for (i, c) in cells.iter().enumerate() {
        if i + 1 == cells.len() {
            s.push_str(c);
        } else {
            s.push_str(&format!("{c:<w$}  ", w = widths[i]));
        }
    }
    s.trim_end().to_string()
}

const COLUMNS: [&str; 10] = [
    "seq",
    "time",
    "source",
    "actor",
    "verb",
    "namespace",
    "resource",
    "name",
    "model",
    "outcome",
];

fn cells(r: &QueryRecord) -> [String; 10] {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        r.seq.to_string(),
        r.time.clone(),
        r.source.clone(),
        r.actor.clone(),
        r.verb.clone(),
        o(&r.namespace),
        r.resource.clone(),
        o(&r.name),
        o(&r.model),
        match r.code {
            Some(c) => format!("{} {c}", r.outcome),
            None => r.outcome.to_string(),
        },
    ]
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Control characters out of table cells (a field could hold anything a sender wrote).
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn write_rows(w: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut width: Vec<usize> = header.iter().map(|h| h.len()).collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| clean(c)).collect())
        .collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let h: Vec<String> = header.iter().map(|h| h.to_uppercase()).collect();
    writeln!(w, "{}", table_line(&h, &width))?;
    for r in &rows {
        writeln!(w, "{}", table_line(r, &width))?;
    }
    Ok(())
}

fn cmd_report(
    args: &StoreArgs,
    model: &str,
    since: Option<&str>,
    until: Option<&str>,
    format: &str,
) -> Result<u8> {
    if !matches!(format, "table" | "json") {
        bail!("--format {format:?}: use table or json");
    }
    let f = FilterArgs {
        model: Some(model.to_string()),
        user: None,
        namespace: None,
        verb: None,
        source: None,
        since: since.map(str::to_owned),
        until: until.map(str::to_owned),
    };
    let (q, detail) = build_query(&f, None)?;
    let (url, log) = open_reader(args)?;
    record_read(log.as_ref(), "report", detail)?;
    let rep = report::model_report(log.as_ref(), model, &q)
        .map_err(|e| anyhow!("{}: {e}", store::redact_url(&url)))?;
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    if format == "json" {
        serde_json::to_writer_pretty(&mut w, &rep)?;
        writeln!(w)?;
        w.flush()?;
        return Ok(0);
    }
    writeln!(w, "Model {} ({} records)", clean(&rep.model), rep.records)?;
    writeln!(w, "\nLifecycle (Kubernetes):")?;
    if rep.lifecycle.is_empty() {
        writeln!(w, "  none recorded")?;
    } else {
        let rows: Vec<Vec<String>> = rep
            .lifecycle
            .iter()
            .map(|e| {
                vec![
                    e.time.clone(),
                    e.action.to_string(),
                    e.actor.clone(),
                    e.verb.clone(),
                    format!(
                        "{}/{}",
                        e.resource,
                        [e.namespace.as_deref(), e.name.as_deref()]
                            .iter()
                            .flatten()
                            .copied()
                            .collect::<Vec<_>>()
                            .join("/")
                    ),
                    e.outcome.to_string(),
                ]
            })
            .collect();
        write_indented(
            &mut w,
            &["time", "action", "by", "verb", "object", "outcome"],
            &rows,
        )?;
    }
    for (title, ids) in [
        ("Queried by (inference)", &rep.queried_by),
        ("Weights downloaded by (storage reads)", &rep.downloaded_by),
        ("Weights written by (storage writes)", &rep.written_by),
    ] {
        writeln!(w, "\n{title}:")?;
        if ids.is_empty() {
            writeln!(w, "  none recorded")?;
            continue;
        }
        let rows: Vec<Vec<String>> = ids
            .iter()
            .map(|i| {
                vec![
                    if i.actor.is_empty() {
                        "(anonymous)".into()
                    } else {
                        i.actor.clone()
                    },
                    i.count.to_string(),
                    i.first.clone(),
                    i.last.clone(),
                ]
            })
            .collect();
        write_indented(&mut w, &["identity", "count", "first", "last"], &rows)?;
    }
    w.flush()?;
    Ok(0)
}

fn write_indented(w: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut buf = Vec::new();
    write_rows(&mut buf, header, rows)?;
    for l in String::from_utf8_lossy(&buf).lines() {
        writeln!(w, "  {l}")?;
    }
    Ok(())
}

fn cmd_verify(args: &StoreArgs, key: &str, witness: Option<&str>, format: &str) -> Result<u8> {
    if !matches!(format, "txt" | "json") {
        bail!("--format {format:?}: use txt or json");
    }
    let verifier = read_verifier(key)?;
    let (url, log) = open_reader(args)?;
    let v = verify::verify(log.as_ref(), &verifier, witness.map(std::path::Path::new))
        .map_err(|e| anyhow!("{}: {e}", store::redact_url(&url)))?;
    let mut detail = BTreeMap::from([
        ("key".to_string(), verifier.name().to_string()),
        (
            "result".to_string(),
            if v.problem.is_none() {
                "verified"
            } else {
                "failed"
            }
            .to_string(),
        ),
        ("records".to_string(), v.records.to_string()),
    ]);
    if let Some(w) = witness {
        detail.insert("witness".into(), w.to_string());
    }
    // Recorded after the check (the check covers the log as it was); a store too damaged to
    // append to still gets its verdict.
    let recorded = record_read(log.as_ref(), "verify", detail);
    if format == "json" {
        let j = serde_json::json!({
            "verified": v.problem.is_none(),
            "records": v.records,
            "expired": v.expired,
            "checkpoints": v.checkpoints,
            "witness_notes": v.witness_notes,
            "signed_size": v.signed_size,
            "problem": v.problem.as_ref().map(|p| serde_json::json!({
                "seq": p.seq,
                "event_id": p.event_id,
                "message": p.message,
            })),
        });
        println!("{}", serde_json::to_string_pretty(&j)?);
    } else {
        match &v.problem {
            None => {
                println!(
                    "verified: {} records ({} expired), {} signed checkpoints up to size {}{}",
                    v.records,
                    v.expired,
                    v.checkpoints,
                    v.signed_size,
                    if witness.is_some() {
                        format!(", {} witness notes agree", v.witness_notes)
                    } else {
                        String::new()
                    }
                );
                if v.records > v.signed_size {
                    println!(
                        "note: the last {} records are not yet covered by a signed checkpoint",
                        v.records - v.signed_size
                    );
                }
                if witness.is_none() {
                    println!(
                        "note: without --witness a store rewritten to a shorter log with its \
                         checkpoints cannot be told apart"
                    );
                }
            }
            Some(p) => {
                println!("FAILED: {}", p.message);
                if let Some(s) = p.seq {
                    println!("first bad record: {s}");
                }
            }
        }
    }
    if let Err(e) = recorded {
        eprintln!("warning: {e:#}");
    }
    Ok(if v.problem.is_none() { 0 } else { 1 })
}

fn write_output(output: Option<&str>, text: &str) -> Result<()> {
    match output {
        Some(path) if path != "-" => {
            std::fs::write(path, text).with_context(|| format!("cannot write {path}"))
        }
        _ => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
            Ok(())
        }
    }
}

fn cmd_prove(
    args: &StoreArgs,
    record: Option<u64>,
    size: Option<u64>,
    consistency: Option<Vec<u64>>,
    output: Option<&str>,
) -> Result<u8> {
    let (url, log) = open_reader(args)?;
    let fail = |e: store::StoreError| anyhow!("{}: {e}", store::redact_url(&url));
    let (text, detail) = match (record, consistency.as_deref()) {
        (Some(n), _) => {
            let p = proof::inclusion(log.as_ref(), n, size).map_err(fail)?;
            let mut d = BTreeMap::from([("record".to_string(), n.to_string())]);
            d.insert("size".into(), p.tree_size.to_string());
            (serde_json::to_string_pretty(&p)?, d)
        }
        (None, Some([old, new])) => {
            let p = proof::consistency(log.as_ref(), *old, *new).map_err(fail)?;
            let d = BTreeMap::from([("consistency".to_string(), format!("{old} {new}"))]);
            (serde_json::to_string_pretty(&p)?, d)
        }
        _ => bail!("give --record N or --consistency OLD NEW"),
    };
    record_read(log.as_ref(), "prove", detail)?;
    write_output(output, &(text + "\n"))?;
    Ok(0)
}

fn cmd_verify_proof(path: &str, key: &str) -> Result<u8> {
    let verifier = read_verifier(key)?;
    let bytes = if path == "-" {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b).context("reading stdin")?;
        b
    } else {
        std::fs::read(path).with_context(|| format!("cannot read {path}"))?
    };
    match proof::check(&bytes, &verifier) {
        Ok(proof::Checked::Inclusion {
            leaf_index,
            tree_size,
            origin,
            canonical,
        }) => {
            println!(
                "verified: record {leaf_index} is in the log {origin} at its signed size \
                 {tree_size}{}",
                if canonical {
                    " (the record's canonical bytes match its leaf hash)"
                } else {
                    " (the record's payload was dropped by retention; its leaf hash is proved)"
                }
            );
            Ok(0)
        }
        Ok(proof::Checked::Consistency {
            old_size,
            new_size,
            origin,
            old_signed,
        }) => {
            println!(
                "verified: the log {origin} at its signed size {new_size} extends its tree of \
                 size {old_size}{}",
                if old_signed {
                    " (also signed)"
                } else {
                    " (compare old_root with a checkpoint you trust)"
                }
            );
            Ok(0)
        }
        Err(e @ proof::CheckError::Invalid(_)) => {
            println!("FAILED: {path}: {e}");
            Ok(1)
        }
        Err(e) => bail!("{path}: {e}"),
    }
}

fn cmd_retain(args: &StoreArgs, keep: &str) -> Result<u8> {
    let keep_ns = retain::parse_duration(keep).map_err(|e| anyhow!("--retain: {e}"))?;
    let cutoff = retain::cutoff(now_ns(), keep_ns);
    let (url, log) = open_reader(args)?;
    let n = log
        .retain(cutoff)
        .map_err(|e| anyhow!("{}: {e}", store::redact_url(&url)))?;
    println!(
        "expired {n} records with event time before {} (payloads dropped, leaf hashes kept)",
        format_rfc3339(cutoff)
    );
    Ok(0)
}

fn cmd_keygen(name: &str, dir: &str) -> Result<u8> {
    let (private, public) = Signer::generate(name).map_err(|e| anyhow!("--name {name:?}: {e}"))?;
    let file = name.replace(['/', '\\'], "_");
    if file.starts_with('.') {
        bail!("--name {name:?}: a key name may not start with a dot");
    }
    let dir = std::path::Path::new(dir);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let key_path = dir.join(format!("{file}.key"));
    let pub_path = dir.join(format!("{file}.pub"));
    for p in [&key_path, &pub_path] {
        if p.exists() {
            bail!("{} exists: not overwriting a key", p.display());
        }
    }
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&key_path)
            .with_context(|| format!("cannot create {}", key_path.display()))?;
        f.write_all(private.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
    }
    std::fs::write(&pub_path, format!("{public}\n"))
        .with_context(|| format!("cannot write {}", pub_path.display()))?;
    println!(
        "wrote {} (the signer: mode 0600, keep it outside the store, e.g. in a Secret) and {} \
         (the verifier: give it to auditors, pass it to audit verify --key)",
        key_path.display(),
        pub_path.display()
    );
    Ok(0)
}
