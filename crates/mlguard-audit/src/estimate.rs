//! Estimating what a policy would log, by replaying a recorded audit log (JSON lines of
//! audit.k8s.io Events) through it.
//!
//! Each event is turned back into the request it records and decided by the compiled policy.
//! It counts towards the deciding rule unless the policy drops it (level None, or its stage
//! omitted). Its size is its line's, less the request body when the new level is below
//! Request and the response body when below RequestResponse. When the new level is above the
//! recorded one, the bodies are not in the log: those events are counted as `levelRaised` and
//! their size is a lower bound. Per-day figures scale by the span between the first and last
//! timestamps in the log.

use crate::eval::Request;
use crate::index::Compiled;
use crate::policy::{Level, Stage};
use rayon::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::io::Read;

#[derive(Deserialize)]
struct User<'a> {
    #[serde(borrow, default)]
    username: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    groups: Vec<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ObjectRef<'a> {
    #[serde(borrow, default)]
    resource: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    namespace: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    api_group: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    subresource: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    #[serde(borrow)]
    level: Cow<'a, str>,
    #[serde(borrow)]
    stage: Cow<'a, str>,
    #[serde(borrow)]
    verb: Cow<'a, str>,
    #[serde(borrow, default)]
    request_u_r_i: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user: User<'a>,
    #[serde(borrow, default)]
    object_ref: Option<ObjectRef<'a>>,
    #[serde(borrow, default)]
    stage_timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    request_received_timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    request_object: Option<&'a RawValue>,
    #[serde(borrow, default)]
    response_object: Option<&'a RawValue>,
}

/// Volume decided by one rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Volume {
    pub events: u64,
    pub bytes: u64,
}

/// The result of a replay.
#[derive(Debug, Clone, Default)]
pub struct Estimate {
    /// Per rule, by index.
    pub rules: Vec<Volume>,
    /// Events no rule matches (not logged).
    pub unmatched: Volume,
    /// Events dropped because their stage is omitted.
    pub stage_omitted: Volume,
    /// Events the policy logs at a higher level than recorded (their size is a lower bound).
    pub level_raised: u64,
    /// Events recorded at each stage (indexed by [`Stage`] order: Panic, RequestReceived,
    /// ResponseComplete, ResponseStarted).
    pub stages: [u64; 4],
    /// ResponseComplete events whose deciding rule keeps RequestReceived: when the log has no
    /// RequestReceived events (it was recorded with that stage omitted), the policy would add
    /// about this many more, of about these bytes (without the response body).
    pub request_received_extra: Volume,
    /// Events read, and bytes of the log.
    pub events: u64,
    pub bytes: u64,
    /// Earliest and latest timestamps, seconds since the epoch.
    pub first: Option<f64>,
    pub last: Option<f64>,
    /// Lines that are not audit events: (1-based line, message), the first [`MAX_ERRORS`].
    pub errors: Vec<(u64, String)>,
    pub error_count: u64,
}

/// How many bad lines are kept with their message.
pub const MAX_ERRORS: usize = 20;

impl Estimate {
    fn new(rules: usize) -> Self {
        Estimate {
            rules: vec![Volume::default(); rules],
            ..Estimate::default()
        }
    }

    fn merge(mut self, o: Estimate) -> Estimate {
        for (a, b) in self.rules.iter_mut().zip(&o.rules) {
            a.events += b.events;
            a.bytes += b.bytes;
        }
        self.unmatched.events += o.unmatched.events;
        self.unmatched.bytes += o.unmatched.bytes;
        self.stage_omitted.events += o.stage_omitted.events;
        self.stage_omitted.bytes += o.stage_omitted.bytes;
        self.level_raised += o.level_raised;
        for (a, b) in self.stages.iter_mut().zip(o.stages) {
            *a += b;
        }
        self.request_received_extra.events += o.request_received_extra.events;
        self.request_received_extra.bytes += o.request_received_extra.bytes;
        self.events += o.events;
        self.bytes += o.bytes;
        self.first = min_opt(self.first, o.first);
        self.last = max_opt(self.last, o.last);
        self.error_count += o.error_count;
        self.errors.extend(o.errors);
        self.errors.sort_by_key(|e| e.0);
        self.errors.truncate(MAX_ERRORS);
        self
    }

    /// Seconds between the first and last timestamps.
    pub fn span(&self) -> Option<f64> {
        match (self.first, self.last) {
            (Some(a), Some(b)) if b > a => Some(b - a),
            _ => None,
        }
    }

    /// Events (and bytes) the policy would add at RequestReceived that the log cannot show,
    /// because it has none at that stage; zero when the log has some.
    pub fn missing_request_received(&self) -> Volume {
        if self.stages[Stage::RequestReceived as usize] > 0 {
            Volume::default()
        } else {
            self.request_received_extra
        }
    }

    /// Scale a count over the log's span to a day.
    pub fn per_day(&self, n: u64) -> Option<f64> {
        self.span().map(|s| n as f64 * 86_400.0 / s)
    }
}

fn min_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Seconds since the epoch of an RFC 3339 UTC or offset timestamp
/// (`2017-09-11T19:55:05Z`, `2024-05-01T10:00:00.123456+02:00`).
pub fn parse_time(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[13] != b':'
        || b[16] != b':'
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&d)
        || h > 23
        || mi > 59
        || sec > 60
    {
        return None;
    }
    let mut rest = &s[19..];
    let mut frac = 0.0;
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        frac = format!("0.{}", &r[..n]).parse().ok()?;
        rest = &r[n..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && matches!(o.as_bytes()[0], b'+' | b'-') && o.as_bytes()[3] == b':' => {
            let oh = num_str(o.get(1..3)?)?;
            let om = num_str(o.get(4..6)?)?;
            let v = oh * 3600 + om * 60;
            if o.starts_with('-') {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    // Days from civil (proleptic Gregorian), Howard Hinnant's algorithm.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + h * 3600 + mi * 60 + sec - offset) as f64 + frac)
}

fn num_str(s: &str) -> Option<i64> {
    if s.bytes().all(|c| c.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

fn set(dst: &mut String, src: Option<&str>) {
    dst.clear();
    dst.push_str(src.unwrap_or_default());
}

/// Make `req` the request an event records, reusing its buffers.
fn fill_request(e: &Event<'_>, req: &mut Request) {
    let user = req.user.get_or_insert_with(String::new);
    set(user, e.user.username.as_deref());
    req.groups.truncate(e.user.groups.len());
    for (i, g) in e.user.groups.iter().enumerate() {
        match req.groups.get_mut(i) {
            Some(x) => set(x, Some(g)),
            None => req.groups.push(g.to_string()),
        }
    }
    set(&mut req.verb, Some(&e.verb));
    match &e.object_ref {
        Some(o) if o.resource.as_deref().is_some_and(|r| !r.is_empty()) => {
            req.resource_request = true;
            set(&mut req.resource, o.resource.as_deref());
            set(&mut req.namespace, o.namespace.as_deref());
            set(&mut req.name, o.name.as_deref());
            set(&mut req.api_group, o.api_group.as_deref());
            set(&mut req.subresource, o.subresource.as_deref());
            req.path.clear();
        }
        _ => {
            req.resource_request = false;
            for f in [
                &mut req.resource,
                &mut req.namespace,
                &mut req.name,
                &mut req.api_group,
                &mut req.subresource,
            ] {
                f.clear();
            }
            let uri = e.request_u_r_i.as_deref().unwrap_or_default();
            set(&mut req.path, uri.split('?').next());
        }
    }
}

/// Account one line (1-based `line`) to `acc`; `req` is scratch space.
fn account(compiled: &Compiled<'_>, line: u64, text: &[u8], acc: &mut Estimate, req: &mut Request) {
    let trimmed = text.trim_ascii();
    if trimmed.is_empty() {
        return;
    }
    let e: Event<'_> = match serde_json::from_slice(trimmed) {
        Ok(e) => e,
        Err(err) => {
            acc.error_count += 1;
            if acc.errors.len() < MAX_ERRORS {
                acc.errors
                    .push((line, format!("not an audit event: {err}")));
            }
            return;
        }
    };
    let (Some(recorded), Some(stage)) = (Level::parse(&e.level), Stage::parse(&e.stage)) else {
        acc.error_count += 1;
        if acc.errors.len() < MAX_ERRORS {
            acc.errors.push((
                line,
                format!("unknown level `{}` or stage `{}`", e.level, e.stage),
            ));
        }
        return;
    };
    acc.events += 1;
    acc.stages[stage as usize] += 1;
    let ts = e
        .stage_timestamp
        .as_deref()
        .or(e.request_received_timestamp.as_deref())
        .or(e.timestamp.as_deref())
        .and_then(parse_time);
    acc.first = min_opt(acc.first, ts);
    acc.last = max_opt(acc.last, ts);
    fill_request(&e, req);
    let d = compiled.eval(req);
    let size = trimmed.len() as u64 + 1;
    let Some(rule) = d.rule else {
        acc.unmatched.events += 1;
        acc.unmatched.bytes += size;
        return;
    };
    if d.level == Level::None {
        acc.rules[rule].events += 1;
        return;
    }
    if d.omit_stages.contains(&stage) {
        acc.stage_omitted.events += 1;
        acc.stage_omitted.bytes += size;
        return;
    }
    // `,"requestObject":` and `,"responseObject":` are 17 and 18 bytes.
    let mut bytes = size;
    if d.level < Level::Request {
        bytes -= e.request_object.map_or(0, |r| r.get().len() as u64 + 17);
    }
    if d.level < Level::RequestResponse {
        bytes -= e.response_object.map_or(0, |r| r.get().len() as u64 + 18);
    }
    if d.level > recorded {
        acc.level_raised += 1;
    }
    if stage == Stage::ResponseComplete && !d.omit_stages.contains(&Stage::RequestReceived) {
        let response = e.response_object.map_or(0, |r| r.get().len() as u64 + 18);
        acc.request_received_extra.events += 1;
        acc.request_received_extra.bytes += bytes.saturating_sub(response);
    }
    let v = &mut acc.rules[rule];
    v.events += 1;
    v.bytes += bytes;
}

/// The index of the first `\n` in `b`, eight bytes at a time.
pub fn find_newline(b: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = LO * b'\n' as u64;
    let mut words = b.chunks_exact(8);
    let mut at = 0;
    for w in words.by_ref() {
        let x = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]) ^ NL;
        // A zero byte in x is a newline in w.
        if x.wrapping_sub(LO) & !x & HI != 0 {
            break;
        }
        at += 8;
    }
    b[at..].iter().position(|&c| c == b'\n').map(|p| at + p)
}

/// Decide the lines of `block` (whole lines) in parallel: the estimate, with line numbers
/// counted from 1 at the block's start, and the number of lines.
fn process_block(compiled: &Compiled<'_>, block: &[u8]) -> (Estimate, u64) {
    let n = compiled.policy().rules.len();
    // Chunks of whole lines, a few per thread, so no thread waits long for the others.
    let parts = rayon::current_num_threads() * 4;
    let target = block.len() / parts + 1;
    let mut chunks = Vec::with_capacity(parts + 1);
    let mut start = 0;
    while start < block.len() {
        let mut end = (start + target).min(block.len());
        if end < block.len() {
            end = block[end..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(block.len(), |p| end + p + 1);
        }
        chunks.push(&block[start..end]);
        start = end;
    }
    let parts: Vec<(Estimate, u64)> = chunks
        .par_iter()
        .map(|chunk| {
            let mut acc = Estimate::new(n);
            let mut req = Request::default();
            let body = chunk.strip_suffix(b"\n").unwrap_or(chunk);
            let mut count = 0;
            let mut rest = body;
            loop {
                let (line, next) = match find_newline(rest) {
                    Some(p) => (&rest[..p], Some(&rest[p + 1..])),
                    None => (rest, None),
                };
                count += 1;
                account(compiled, count, line, &mut acc, &mut req);
                match next {
                    Some(n) => rest = n,
                    None => break,
                }
            }
            (acc, count)
        })
        .collect();
    let mut total = Estimate::new(n);
    let mut base = 0;
    for (mut part, count) in parts {
        for e in &mut part.errors {
            e.0 += base;
        }
        total = total.merge(part);
        base += count;
    }
    (total, base)
}

/// Replay the JSON-lines log from `reader` through `compiled`. A reader thread reads blocks of
/// whole lines while the blocks before are decided in parallel; `progress` is called with the
/// bytes read so far.
pub fn replay(
    compiled: &Compiled<'_>,
    reader: impl Read + Send,
    mut progress: impl FnMut(u64),
) -> std::io::Result<Estimate> {
    const BLOCK: u64 = 8 << 20;
    let n = compiled.policy().rules.len();
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<(Vec<u8>, u64)>>(2);
        s.spawn(move || {
            let mut reader = reader;
            let mut carry: Vec<u8> = Vec::new();
            loop {
                let mut buf = std::mem::take(&mut carry);
                // Room for a whole block, so reading never reallocates (nothing is zero-filled).
                buf.reserve(BLOCK as usize);
                let got = match (&mut reader).take(BLOCK).read_to_end(&mut buf) {
                    Ok(g) => g as u64,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                let eof = got < BLOCK;
                if !eof {
                    // Whole lines only; the rest goes with the next block.
                    match buf.iter().rposition(|&b| b == b'\n') {
                        Some(p) => carry = buf.split_off(p + 1),
                        None => {
                            carry = buf;
                            continue;
                        }
                    }
                }
                if tx.send(Ok((buf, got))).is_err() || eof {
                    return;
                }
            }
        });
        let mut total = Estimate::new(n);
        let mut read_total = 0u64;
        let mut line_base = 0u64;
        for msg in rx {
            let (block, got) = msg?;
            read_total += got;
            let (mut part, count) = process_block(compiled, &block);
            for e in &mut part.errors {
                e.0 += line_base;
            }
            total = total.merge(part);
            line_base += count;
            progress(read_total);
        }
        total.bytes = read_total;
        Ok(total)
    })
}
