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

/// The request an event records.
fn request_of(e: &Event<'_>) -> Request {
    let s = |c: &Option<Cow<'_, str>>| c.as_deref().unwrap_or_default().to_owned();
    let mut req = Request {
        user: Some(s(&e.user.username)),
        groups: e.user.groups.iter().map(|g| g.to_string()).collect(),
        verb: e.verb.to_string(),
        ..Request::default()
    };
    match &e.object_ref {
        Some(o) if o.resource.as_deref().is_some_and(|r| !r.is_empty()) => {
            req.resource_request = true;
            req.resource = s(&o.resource);
            req.namespace = s(&o.namespace);
            req.name = s(&o.name);
            req.api_group = s(&o.api_group);
            req.subresource = s(&o.subresource);
        }
        _ => {
            let uri = e.request_u_r_i.as_deref().unwrap_or_default();
            req.path = uri.split('?').next().unwrap_or_default().to_owned();
        }
    }
    req
}

/// Account one line (1-based `line`) to `acc`.
fn account(compiled: &Compiled<'_>, line: u64, text: &[u8], acc: &mut Estimate) {
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
    let req = request_of(&e);
    let d = compiled.eval(&req);
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

/// Replay the JSON-lines log from `reader` through `compiled`. Lines are decided in parallel,
/// block by block; `progress` is called with the bytes read so far.
pub fn replay(
    compiled: &Compiled<'_>,
    mut reader: impl Read,
    mut progress: impl FnMut(u64),
) -> std::io::Result<Estimate> {
    const BLOCK: usize = 8 << 20;
    let n = compiled.policy().rules.len();
    let mut total = Estimate::new(n);
    let mut buf: Vec<u8> = Vec::new();
    let mut line_base = 0u64;
    let mut read_total = 0u64;
    let mut eof = false;
    while !eof {
        // Up to BLOCK more bytes, without zero-filling (small inputs stay small).
        let got = (&mut reader).take(BLOCK as u64).read_to_end(&mut buf)?;
        eof = got < BLOCK;
        read_total += got as u64;
        // Whole lines only, except at the end of the input.
        let cut = if eof {
            buf.len()
        } else {
            match buf.iter().rposition(|&b| b == b'\n') {
                Some(p) => p + 1,
                None => continue,
            }
        };
        let lines: Vec<&[u8]> = buf[..cut].split(|&b| b == b'\n').collect::<Vec<_>>();
        // `split` yields an empty piece after a final newline: not a line.
        let lines = match lines.split_last() {
            Some((&[], rest)) => rest.to_vec(),
            _ => lines,
        };
        let count = lines.len() as u64;
        let part = lines
            .par_iter()
            .enumerate()
            .fold(
                || Estimate::new(n),
                |mut acc, (i, l)| {
                    account(compiled, line_base + i as u64 + 1, l, &mut acc);
                    acc
                },
            )
            .reduce(|| Estimate::new(n), Estimate::merge);
        total = total.merge(part);
        line_base += count;
        buf.drain(..cut);
        progress(read_total);
    }
    total.bytes = read_total;
    Ok(total)
}
