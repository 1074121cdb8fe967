//! The normalized audit record: one shape for a Kubernetes API request, an object-storage access
//! and an inference query, with a deterministic, versioned byte encoding that the audit trail
//! hashes into its Merkle tree.
//!
//! Owns: [`Record`] and its parts ([`Source`], [`Outcome`]), the canonical encoding
//! ([`Record::canonical`], [`Record::from_canonical`]), the compression of the raw event
//! ([`compress_raw`], [`Record::raw_event`]) and RFC 3339 time handling ([`parse_rfc3339`],
//! [`format_rfc3339`]).
//!
//! Must not: read events (see [`super::normalize`]), store records, hash (the Merkle tree hashes
//! the canonical bytes it is handed), or read a clock.
//!
//! # Time
//!
//! [`Record::time_ns`] is the event's own time, as its producer wrote it (the API server's
//! `stageTimestamp`, MinIO's `time`, the KServe agent's `ce-time`), converted to nanoseconds since
//! the Unix epoch, UTC. The receiver's clock is never used: a record is a pure function of the
//! event, so the same event normalizes to the same record (and the same canonical bytes) on every
//! receiver and on every retry. Producers' clocks can be skewed against each other; the order in
//! which the trail received records is its Merkle leaf order, and a checkpoint's signing time is
//! the receiver's view, so an auditor has both without the record holding a second clock.
//! Leap seconds are not represented (`23:59:60` reads as the first instant of the next minute, as
//! Unix time does), digits after the ninth of a fraction are dropped, and times outside
//! 1677-09-21..2262-04-11 (the range of `i64` nanoseconds) are rejected.
//!
//! # Canonical encoding, version 1
//!
//! `MLGR`, the version byte `0x01`, then every field in this fixed order, with no padding and
//! nothing after the last one:
//!
//! | field | encoding |
//! |---|---|
//! | `time_ns` | 8 bytes, two's complement, big-endian |
//! | `source` | 1 byte: `0` k8s, `1` storage, `2` inference, `3` audit |
//! | `event_id` | str |
//! | `stage` | opt str |
//! | `actor` | str |
//! | `on_behalf_of` | opt str |
//! | `groups` | u32 count, then each a str, in the record's order |
//! | `verb`, `resource` | str, str |
//! | `namespace`, `name`, `model` | opt str each |
//! | `outcome` | 1 byte (`0` unknown, `1` success, `2` failure), then the code as opt u16 |
//! | `source_ip`, `user_agent` | opt str each |
//! | `detail` | u32 count, then key str and value str per entry, keys strictly ascending (bytewise) |
//! | `raw` | u32 length, then the compressed bytes |
//!
//! A str is a u32 big-endian byte length and that many UTF-8 bytes; an opt is `0x00` for none or
//! `0x01` followed by the value; a u16 is 2 bytes big-endian. Every record has exactly one
//! encoding and [`Record::from_canonical`] accepts exactly the encodings
//! [`Record::canonical`] produces, so bytes that decode re-encode to themselves. A new field
//! means a new version; decoders keep reading the old ones.
//!
//! Example: a record of source k8s at time 1 ns, event id `a`, verb `get`, every optional field
//! empty, outcome success 200, no detail and raw `x` encodes as
//!
//! ```text
//! 4d 4c 47 52 01                       MLGR, version 1
//! 00 00 00 00 00 00 00 01              time_ns = 1
//! 00                                   source k8s
//! 00 00 00 01 61                       event_id "a"
//! 00                                   stage none
//! 00 00 00 00                          actor ""
//! 00                                   on_behalf_of none
//! 00 00 00 00                          groups []
//! 00 00 00 03 67 65 74                 verb "get"
//! 00 00 00 00                          resource ""
//! 00 00 00                             namespace, name, model none
//! 01 01 00 c8                          success, code 200
//! 00 00                                source_ip, user_agent none
//! 00 00 00 00                          detail {}
//! 00 00 00 01 78                       raw "x"
//! ```
//!
//! # Raw event
//!
//! [`Record::raw`] is the event as received (for an `EventList`, the item's own bytes; for a
//! CloudEvent in binary mode, its headers as `name: value` lines, a blank line and the body),
//! with secrets removed by the normalizer, gzip-compressed (no file name, modification time 0).
//! Compressor output can differ between library versions, so a record's canonical bytes are
//! computed from the stored record, never recomputed from the original event.

use std::collections::BTreeMap;
use std::io::Read;

use mlguard_core::text::{civil_from_days, days_from_civil};
use serde::{Deserialize, Serialize};

/// The first bytes of every canonical encoding.
pub const CANONICAL_MAGIC: &[u8; 4] = b"MLGR";
/// The canonical encoding version [`Record::canonical`] writes.
pub const CANONICAL_VERSION: u8 = 1;
/// The most bytes [`Record::raw_event`] inflates a raw event to.
pub const MAX_RAW_EVENT: usize = 64 << 20;

/// Where an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Source {
    /// The Kubernetes API server's audit log or webhook (audit.k8s.io/v1 Events).
    K8s,
    /// An object store's audit log (MinIO's audit webhook).
    Storage,
    /// A model server's inference log (KServe's inference logger CloudEvents).
    Inference,
    /// A read of the audit trail itself (`mlguard audit query|report|prove|verify`): who
    /// queried the audit log, recorded by the store's reading commands.
    Audit,
}

impl Source {
    /// The name used in JSON and text: `k8s`, `storage`, `inference` or `audit`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::K8s => "k8s",
            Source::Storage => "storage",
            Source::Inference => "inference",
            Source::Audit => "audit",
        }
    }

    /// The source named `name` ([`Source::as_str`]).
    pub fn parse(name: &str) -> Option<Source> {
        Some(match name {
            "k8s" => Source::K8s,
            "storage" => Source::Storage,
            "inference" => Source::Inference,
            "audit" => Source::Audit,
            _ => return None,
        })
    }

    fn byte(self) -> u8 {
        match self {
            Source::K8s => 0,
            Source::Storage => 1,
            Source::Inference => 2,
            Source::Audit => 3,
        }
    }

    fn from_byte(b: u8) -> Option<Source> {
        Some(match b {
            0 => Source::K8s,
            1 => Source::Storage,
            2 => Source::Inference,
            3 => Source::Audit,
            _ => return None,
        })
    }
}

/// Whether the request succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum OutcomeKind {
    /// The event does not say (a Kubernetes `RequestReceived` stage, an inference request logged
    /// before the model answered).
    Unknown,
    /// Status 100-399.
    Success,
    /// Status 400 and above, or a Kubernetes `Panic` stage.
    Failure,
}

/// The outcome of a request and its status code when the event has one (HTTP status; for
/// Kubernetes, `responseStatus.code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Outcome {
    pub kind: OutcomeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
}

impl Outcome {
    /// No outcome known and no code.
    pub const UNKNOWN: Outcome = Outcome {
        kind: OutcomeKind::Unknown,
        code: None,
    };

    /// The outcome an HTTP status code means: 100-399 success, 400 and above failure, anything
    /// below 100 unknown.
    pub fn from_status(code: u16) -> Outcome {
        let kind = match code {
            100..=399 => OutcomeKind::Success,
            400.. => OutcomeKind::Failure,
            _ => OutcomeKind::Unknown,
        };
        Outcome {
            kind,
            code: Some(code),
        }
    }
}

/// One normalized audit record. Build one with [`Record::new`] and set the fields; the
/// normalizers in [`super::normalize`] fill them from events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Record {
    /// The event's own time, nanoseconds since the Unix epoch, UTC (see the module doc).
    pub time_ns: i64,
    pub source: Source,
    /// The authenticated identity: the Kubernetes `user.username`, the MinIO access key, the
    /// caller identity header of an inference request. Empty when the event carries none
    /// (anonymous).
    pub actor: String,
    /// The impersonated user (`impersonatedUser.username`) when the actor acted as someone else.
    pub on_behalf_of: Option<String>,
    /// The actor's groups.
    pub groups: Vec<String>,
    /// The Kubernetes verb; for storage `get`, `put`, `delete`, `list` or `other` (the API name
    /// is kept in `detail["api"]`); for inference `query`.
    pub verb: String,
    /// The resource (`pods`, `pods/log`, `inferenceservices`), the request path of a
    /// non-resource Kubernetes request (`/healthz`), `objects` or `buckets` for storage.
    pub resource: String,
    pub namespace: Option<String>,
    /// The object's name; for storage the object's URI, `s3://bucket/key` (`s3://bucket` for a
    /// bucket operation).
    pub name: Option<String>,
    /// The model the event is about, set by [`super::normalize::ModelMap::resolve`].
    pub model: Option<String>,
    pub outcome: Outcome,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// The event's identifier: Kubernetes `auditID`, MinIO `requestID`, CloudEvent `ce-id`.
    pub event_id: String,
    /// The Kubernetes stage; for inference `request` or `response`; none for storage.
    pub stage: Option<String>,
    /// Source-specific facts, documented per source in [`super::normalize`].
    pub detail: BTreeMap<String, String>,
    /// The raw event, secrets removed, gzip-compressed (see the module doc).
    #[serde(with = "base64_bytes")]
    pub raw: Vec<u8>,
}

impl Record {
    /// A record with the given identity and everything else empty (outcome unknown).
    pub fn new(source: Source, event_id: impl Into<String>, time_ns: i64) -> Record {
        Record {
            time_ns,
            source,
            actor: String::new(),
            on_behalf_of: None,
            groups: Vec::new(),
            verb: String::new(),
            resource: String::new(),
            namespace: None,
            name: None,
            model: None,
            outcome: Outcome::UNKNOWN,
            source_ip: None,
            user_agent: None,
            event_id: event_id.into(),
            stage: None,
            detail: BTreeMap::new(),
            raw: Vec::new(),
        }
    }

    /// The key under which ingest is idempotent: the same event delivered twice (a webhook retry,
    /// a log replayed) has the same key. It is (source, event id, stage, time): for Kubernetes
    /// (auditID, stage, stageTimestamp), as the API server emits one event per stage with the
    /// same auditID.
    ///
    /// The time is part of the key because an event ID is not always the producer's own: the
    /// API server takes the auditID from the client's `Audit-ID` request header when there is
    /// one. Keyed on (auditID, stage) alone, a client could have the events of its later
    /// requests dropped as duplicates by reusing the audit ID of an earlier one; the time is
    /// the server's.
    pub fn idempotency_key(&self) -> (Source, &str, Option<&str>, i64) {
        (
            self.source,
            &self.event_id,
            self.stage.as_deref(),
            self.time_ns,
        )
    }

    /// The event time as RFC 3339 text, UTC.
    pub fn time_rfc3339(&self) -> String {
        format_rfc3339(self.time_ns)
    }

    /// The raw event, decompressed (at most [`MAX_RAW_EVENT`] bytes).
    pub fn raw_event(&self) -> Result<Vec<u8>, RecordError> {
        let mut out = Vec::new();
        let mut dec =
            flate2::read::GzDecoder::new(self.raw.as_slice()).take(MAX_RAW_EVENT as u64 + 1);
        dec.read_to_end(&mut out)
            .map_err(|e| RecordError::Raw(e.to_string()))?;
        if out.len() > MAX_RAW_EVENT {
            return Err(RecordError::Raw(format!(
                "the raw event inflates to more than {MAX_RAW_EVENT} bytes"
            )));
        }
        Ok(out)
    }

    /// The canonical encoding, version [`CANONICAL_VERSION`] (see the module doc).
    pub fn canonical(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(128 + self.raw.len());
        w.extend_from_slice(CANONICAL_MAGIC);
        w.push(CANONICAL_VERSION);
        w.extend_from_slice(&self.time_ns.to_be_bytes());
        w.push(self.source.byte());
        put_str(&mut w, &self.event_id);
        put_opt(&mut w, self.stage.as_deref());
        put_str(&mut w, &self.actor);
        put_opt(&mut w, self.on_behalf_of.as_deref());
        put_len(&mut w, self.groups.len());
        for g in &self.groups {
            put_str(&mut w, g);
        }
        put_str(&mut w, &self.verb);
        put_str(&mut w, &self.resource);
        put_opt(&mut w, self.namespace.as_deref());
        put_opt(&mut w, self.name.as_deref());
        put_opt(&mut w, self.model.as_deref());
        w.push(match self.outcome.kind {
            OutcomeKind::Unknown => 0,
            OutcomeKind::Success => 1,
            OutcomeKind::Failure => 2,
        });
        match self.outcome.code {
            None => w.push(0),
            Some(c) => {
                w.push(1);
                w.extend_from_slice(&c.to_be_bytes());
            }
        }
        put_opt(&mut w, self.source_ip.as_deref());
        put_opt(&mut w, self.user_agent.as_deref());
        put_len(&mut w, self.detail.len());
        for (k, v) in &self.detail {
            put_str(&mut w, k);
            put_str(&mut w, v);
        }
        put_bytes(&mut w, &self.raw);
        w
    }

    /// Decodes a canonical encoding; the exact inverse of [`Record::canonical`].
    pub fn from_canonical(bytes: &[u8]) -> Result<Record, RecordError> {
        let mut r = Reader { b: bytes, at: 0 };
        if r.take(4, "magic")? != CANONICAL_MAGIC {
            return Err(RecordError::Magic);
        }
        let version = r.byte("version")?;
        if version != CANONICAL_VERSION {
            return Err(RecordError::Version(version));
        }
        let time_ns = i64::from_be_bytes(r.array::<8>("time_ns")?);
        let b = r.byte("source")?;
        let source = Source::from_byte(b).ok_or(RecordError::Tag {
            field: "source",
            tag: b,
        })?;
        let event_id = r.str("event_id")?;
        let stage = r.opt("stage")?;
        let actor = r.str("actor")?;
        let on_behalf_of = r.opt("on_behalf_of")?;
        let n = r.len("groups")?;
        let mut groups = Vec::with_capacity(n.min(r.remaining() / 4));
        for _ in 0..n {
            groups.push(r.str("groups")?);
        }
        let verb = r.str("verb")?;
        let resource = r.str("resource")?;
        let namespace = r.opt("namespace")?;
        let name = r.opt("name")?;
        let model = r.opt("model")?;
        let b = r.byte("outcome")?;
        let kind = match b {
            0 => OutcomeKind::Unknown,
            1 => OutcomeKind::Success,
            2 => OutcomeKind::Failure,
            tag => {
                return Err(RecordError::Tag {
                    field: "outcome",
                    tag,
                })
            }
        };
        let code = match r.byte("outcome.code")? {
            0 => None,
            1 => Some(u16::from_be_bytes(r.array::<2>("outcome.code")?)),
            tag => {
                return Err(RecordError::Tag {
                    field: "outcome.code",
                    tag,
                })
            }
        };
        let source_ip = r.opt("source_ip")?;
        let user_agent = r.opt("user_agent")?;
        let n = r.len("detail")?;
        let mut detail = BTreeMap::new();
        let mut last: Option<String> = None;
        for _ in 0..n {
            let k = r.str("detail")?;
            let v = r.str("detail")?;
            if last
                .as_deref()
                .is_some_and(|l| l.as_bytes() >= k.as_bytes())
            {
                return Err(RecordError::DetailOrder(k));
            }
            last = Some(k.clone());
            detail.insert(k, v);
        }
        let raw = r.bytes("raw")?.to_vec();
        if r.remaining() != 0 {
            return Err(RecordError::Trailing(r.remaining()));
        }
        Ok(Record {
            time_ns,
            source,
            actor,
            on_behalf_of,
            groups,
            verb,
            resource,
            namespace,
            name,
            model,
            outcome: Outcome { kind, code },
            source_ip,
            user_agent,
            event_id,
            stage,
            detail,
            raw,
        })
    }
}

/// Why canonical bytes or a raw event could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    #[error("not a canonical audit record: it does not start with \"MLGR\"")]
    Magic,
    #[error("canonical audit record version {0} is not supported (this build reads version 1)")]
    Version(u8),
    #[error("canonical audit record ends inside field `{0}`")]
    Truncated(&'static str),
    #[error("canonical audit record: field `{field}` has the invalid tag byte {tag}")]
    Tag { field: &'static str, tag: u8 },
    #[error("canonical audit record: field `{0}` is not UTF-8")]
    Utf8(&'static str),
    #[error("canonical audit record: detail key {0:?} is out of order or repeated")]
    DetailOrder(String),
    #[error("canonical audit record: {0} bytes after the last field")]
    Trailing(usize),
    #[error("raw event: {0}")]
    Raw(String),
}

/// Gzip-compresses a raw event (no file name, modification time 0; see [`super::gzip`]).
pub fn compress_raw(bytes: &[u8]) -> Vec<u8> {
    super::gzip::compress(bytes)
}

fn put_len(w: &mut Vec<u8>, n: usize) {
    let n = u32::try_from(n).expect("a record field longer than 4 GiB");
    w.extend_from_slice(&n.to_be_bytes());
}

fn put_bytes(w: &mut Vec<u8>, b: &[u8]) {
    put_len(w, b.len());
    w.extend_from_slice(b);
}

fn put_str(w: &mut Vec<u8>, s: &str) {
    put_bytes(w, s.as_bytes());
}

fn put_opt(w: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => w.push(0),
        Some(s) => {
            w.push(1);
            put_str(w, s);
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.b.len() - self.at
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], RecordError> {
        if self.remaining() < n {
            return Err(RecordError::Truncated(field));
        }
        let s = &self.b[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], RecordError> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N, field)?);
        Ok(a)
    }

    fn byte(&mut self, field: &'static str) -> Result<u8, RecordError> {
        Ok(self.take(1, field)?[0])
    }

    fn len(&mut self, field: &'static str) -> Result<usize, RecordError> {
        Ok(u32::from_be_bytes(self.array::<4>(field)?) as usize)
    }

    fn bytes(&mut self, field: &'static str) -> Result<&'a [u8], RecordError> {
        let n = self.len(field)?;
        self.take(n, field)
    }

    fn str(&mut self, field: &'static str) -> Result<String, RecordError> {
        let b = self.bytes(field)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| RecordError::Utf8(field))
    }

    fn opt(&mut self, field: &'static str) -> Result<Option<String>, RecordError> {
        match self.byte(field)? {
            0 => Ok(None),
            1 => self.str(field).map(Some),
            tag => Err(RecordError::Tag { field, tag }),
        }
    }
}

/// Parses an RFC 3339 date-time (`2024-05-01T12:00:00Z`, `2024-05-01T14:00:00.123456789+02:00`;
/// `T` or `t` or a space between date and time, `Z` or `z`) into nanoseconds since the Unix
/// epoch, UTC. None when the text is not one, names a day that does not exist, or lies outside
/// the `i64` nanosecond range. See the module doc for leap seconds and long fractions.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60
    {
        return None;
    }
    let mut rest = &b[19..];
    let mut nanos = 0i64;
    if let Some(r) = rest.strip_prefix(b".") {
        let n = r.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        for i in 0..9 {
            nanos = nanos * 10
                + r.get(i)
                    .filter(|_| i < n)
                    .map_or(0, |c| i64::from(c - b'0'));
        }
        rest = &r[n..];
    }
    let offset = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: u8, b: u8| -> Option<i64> {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
            };
            let (oh, om) = (two(*h1, *h2)?, two(*m1, *m2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let v = oh * 3600 + om * 60;
            if *sign == b'-' {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + sec - offset;
    i64::try_from(i128::from(secs) * 1_000_000_000 + i128::from(nanos)).ok()
}

/// Formats nanoseconds since the Unix epoch as RFC 3339 in UTC, with as many fraction digits as
/// needed (none for whole seconds): `2024-05-01T12:00:00.5Z`.
pub fn format_rfc3339(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    );
    if frac != 0 {
        let f = format!("{frac:09}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}
