//! `pkcs11` stanzas: the data key encrypted inside an HSM (any PKCS#11 module: SoftHSM2, a
//! network HSM's client library, a smart card) with an AES key that never leaves it.
//!
//! Key URI (RFC 7512):
//!
//! ```text
//! pkcs11:token=TOKEN;object=LABEL[;id=%01%02][;serial=S][;slot-id=N]...[?module-path=/path/to/module.so][&pin-source=file:/run/secrets/pin | &pin-value=PIN]
//! ```
//!
//! - path attributes (`;`-separated): `token` and `object` are required (the token label and
//!   the AES key's CKA_LABEL); `id` (the key's CKA_ID, percent-encoded bytes), `manufacturer`,
//!   `serial`, `model`, `slot-id`, `slot-description`, `slot-manufacturer` narrow the choice;
//!   `type`, when present, must be `secret-key`. Values are percent-decoded (`%20` for a space).
//! - query attributes (`&`-separated): `module-path` (the PKCS#11 module; default: the
//!   environment variable `MLGUARD_PKCS11_MODULE`), `pin-source=file:PATH` (a file holding the
//!   user PIN, one trailing newline ignored: a mounted Kubernetes Secret) or `pin-value=PIN`
//!   (default for both: the environment variable `MLGUARD_PKCS11_PIN`).
//! - vendor attributes (`x-...`) are ignored; any other attribute is an error, so a typo never
//!   silently widens the match.
//!
//! Stanza:
//!
//! ```text
//! {"type":"pkcs11","args":{"token":TOKEN,"object":LABEL[,"id":HEX]},"body":B64(iv(12) || ciphertext(32) || tag(16))}
//! ```
//!
//! where the ciphertext and tag are CKM_AES_GCM inside the HSM under the AES key `LABEL` of
//! token `TOKEN`: a random 12-byte IV (or the IV the HSM chose, when it generates its own), a
//! 128-bit tag, associated data `"mlguard-model/v1 pkcs11"`. `id` (lowercase hex) is present
//! only when the URI that wrapped named one. Stanzas carry neither the module nor the PIN: any
//! module that reaches the same token opens them.
//!
//! Errors: a stanza for another token, key label or id is `Ok(None)` (not this key); a refused
//! login (CKR_PIN_INCORRECT, CKR_PIN_LOCKED...) and a decryption the HSM refuses are
//! [`Error::Auth`]. SoftHSM2 reports a wrong GCM tag as CKR_GENERAL_ERROR (other modules as
//! CKR_FUNCTION_FAILED, CKR_ENCRYPTED_DATA_INVALID...): for the codes a failing HSM also
//! returns, the key must pass a probe encryption and decryption before the failure is blamed on
//! the stanza; otherwise it is [`Error::Provider`]. A missing token or key is [`Error::Key`]
//! naming the tokens or key labels that exist.
//!
//! The PIN is held zeroized and never appears in Debug output or errors. One operation at a
//! time per module in this process: each opens a session, logs in, works, and closes the
//! session (which logs out when no other session of this process is open on the token).

use super::{b64, unb64, KeyProvider};
use crate::format::Stanza;
use crate::key::{random_fill, KEY_LEN};
use crate::{DataKey, Error};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11 as Context};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::RawAuthPin;
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use zeroize::Zeroizing;

const KIND: &str = "pkcs11";
/// The associated data of every wrap.
pub const AAD: &[u8] = b"mlguard-model/v1 pkcs11";
/// Environment variable naming the module when the URI has no `module-path`.
pub const MODULE_ENV: &str = "MLGUARD_PKCS11_MODULE";
/// Environment variable holding the user PIN when the URI has no `pin-value` or `pin-source`.
pub const PIN_ENV: &str = "MLGUARD_PKCS11_PIN";
const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;
const BODY_LEN: usize = IV_LEN + KEY_LEN + TAG_LEN;

fn provider(message: impl Into<String>) -> Error {
    Error::Provider {
        provider: KIND,
        message: message.into(),
    }
}

/// `CKR_PIN_INCORRECT` from cryptoki's `PinIncorrect`.
fn ckr_name(rv: RvError) -> String {
    let camel = format!("{rv:?}");
    if !camel.chars().all(|c| c.is_ascii_alphanumeric()) {
        return camel;
    }
    let mut out = String::from("CKR");
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// A cryptoki error in one line, with the CKR_ name instead of the spec's paragraph.
fn ck_text(e: &CkError) -> String {
    match e {
        CkError::Pkcs11(rv, func) => format!("{func}: {}", ckr_name(*rv)),
        other => other.to_string(),
    }
}

/// Which token the URI selects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct TokenFilter {
    token: String,
    manufacturer: Option<String>,
    serial: Option<String>,
    model: Option<String>,
    slot_id: Option<u64>,
    slot_description: Option<String>,
    slot_manufacturer: Option<String>,
}

/// A parsed URI, before the module is loaded.
struct Parsed {
    filter: TokenFilter,
    object: String,
    id: Option<Vec<u8>>,
    module_path: PathBuf,
    pin: Zeroizing<Vec<u8>>,
}

fn percent_decode(name: &str, v: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    let b = v.as_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(b.len()));
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    Error::Key(format!(
                        "pkcs11 URI attribute {name}: a '%' is not followed by two hex digits"
                    ))
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn utf8(name: &str, v: Zeroizing<Vec<u8>>) -> Result<String, Error> {
    String::from_utf8(v.to_vec()).map_err(|_| {
        Error::Key(format!(
            "pkcs11 URI attribute {name}: not UTF-8 after percent-decoding"
        ))
    })
}

/// The PIN from a `pin-source` value: `file:/path`, `file:///path` or a plain path.
fn read_pin_source(source: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    let path = if let Some(rest) = source.strip_prefix("file:") {
        rest.strip_prefix("//").unwrap_or(rest)
    } else if source.starts_with('|') {
        return Err(Error::Key(
            "pkcs11 URI pin-source: commands (\"|...\") are not supported; use pin-source=file:PATH".into(),
        ));
    } else {
        source
    };
    if path.is_empty() {
        return Err(Error::Key("pkcs11 URI pin-source: no file named".into()));
    }
    let mut pin = Zeroizing::new(std::fs::read(path).map_err(|e| Error::io(path, e))?);
    if pin.ends_with(b"\n") {
        pin.pop();
        if pin.ends_with(b"\r") {
            pin.pop();
        }
    }
    if pin.is_empty() {
        return Err(Error::Key(format!("pkcs11 PIN file {path}: empty")));
    }
    Ok(pin)
}

/// Parse `uri`, taking defaults from `env` (the process environment outside tests).
fn parse(uri: &str, env: &dyn Fn(&str) -> Option<OsString>) -> Result<Parsed, Error> {
    let rest = uri
        .strip_prefix("pkcs11:")
        .ok_or_else(|| Error::Key("a PKCS#11 key URI starts with \"pkcs11:\"".into()))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut seen: Vec<String> = Vec::new();
    let mut token = None;
    let mut object = None;
    let mut filter = TokenFilter::default();
    let mut id = None;
    let mut module_path = None;
    let mut pin_value = None;
    let mut pin_source = None;
    let attrs = path
        .split(';')
        .map(|a| (a, true))
        .chain(query.split('&').map(|a| (a, false)));
    for (attr, in_path) in attrs {
        if attr.is_empty() {
            continue;
        }
        let Some((name, value)) = attr.split_once('=') else {
            // Never echo the attribute: it could be a PIN written without its name.
            return Err(Error::Key(format!(
                "pkcs11 URI: an attribute without '=' in the {}",
                if in_path { "path" } else { "query" }
            )));
        };
        if name.starts_with("x-") {
            continue;
        }
        if seen.iter().any(|s| s == name) {
            return Err(Error::Key(format!(
                "pkcs11 URI: attribute {name} given twice"
            )));
        }
        seen.push(name.to_owned());
        let v = percent_decode(name, value)?;
        match (in_path, name) {
            (true, "token") => token = Some(utf8(name, v)?),
            (true, "object") => object = Some(utf8(name, v)?),
            (true, "id") => id = Some(v.to_vec()),
            (true, "manufacturer") => filter.manufacturer = Some(utf8(name, v)?),
            (true, "serial") => filter.serial = Some(utf8(name, v)?),
            (true, "model") => filter.model = Some(utf8(name, v)?),
            (true, "slot-description") => filter.slot_description = Some(utf8(name, v)?),
            (true, "slot-manufacturer") => filter.slot_manufacturer = Some(utf8(name, v)?),
            (true, "slot-id") => {
                let s = utf8(name, v)?;
                filter.slot_id = Some(s.parse().map_err(|_| {
                    Error::Key(format!("pkcs11 URI slot-id: {s:?} is not a decimal number"))
                })?)
            }
            (true, "type") => {
                let t = utf8(name, v)?;
                if t != "secret-key" {
                    return Err(Error::Key(format!(
                        "pkcs11 URI type={t}: the key-encryption key is an AES key (type=secret-key)"
                    )));
                }
            }
            (false, "module-path") => module_path = Some(PathBuf::from(utf8(name, v)?)),
            (false, "module-name") => {
                return Err(Error::Key(
                    "pkcs11 URI module-name is not supported: give module-path=/path/to/module.so or set MLGUARD_PKCS11_MODULE".into(),
                ))
            }
            (false, "pin-value") => pin_value = Some(v),
            (false, "pin-source") => pin_source = Some(utf8(name, v)?),
            _ => {
                return Err(Error::Key(format!(
                    "pkcs11 URI: unsupported {} attribute {name:?} (path: token, object, id, type, manufacturer, serial, model, slot-id, slot-description, slot-manufacturer; query: module-path, pin-source, pin-value)",
                    if in_path { "path" } else { "query" }
                )))
            }
        }
    }
    filter.token = token.filter(|t| !t.is_empty()).ok_or_else(|| {
        Error::Key("pkcs11 URI: no token=LABEL (pkcs11:token=T;object=KEY-LABEL)".into())
    })?;
    let object = object.filter(|o| !o.is_empty()).ok_or_else(|| {
        Error::Key(
            "pkcs11 URI: no object=LABEL, the AES key's label (pkcs11:token=T;object=KEY-LABEL)"
                .into(),
        )
    })?;
    let module_path = match module_path {
        Some(p) => p,
        None => match env(MODULE_ENV) {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => {
                return Err(Error::Key(format!(
                    "pkcs11: no PKCS#11 module: add ?module-path=/path/to/module.so to the URI or set {MODULE_ENV}"
                )))
            }
        },
    };
    let pin = match (pin_value, pin_source) {
        (Some(_), Some(_)) => {
            return Err(Error::Key(
                "pkcs11 URI: pin-value and pin-source both given; keep one".into(),
            ))
        }
        (Some(v), None) => v,
        (None, Some(s)) => read_pin_source(&s)?,
        (None, None) => match env(PIN_ENV) {
            Some(p) if !p.is_empty() => {
                use std::os::unix::ffi::OsStringExt;
                Zeroizing::new(p.into_vec())
            }
            _ => {
                return Err(Error::Key(format!(
                    "pkcs11: no PIN for token {:?}: add pin-source=file:/path/to/pin to the URI's query or set {PIN_ENV}",
                    filter.token
                )))
            }
        },
    };
    if pin.is_empty() {
        return Err(Error::Key(format!(
            "pkcs11: empty PIN for token {:?}",
            filter.token
        )));
    }
    Ok(Parsed {
        filter,
        object,
        id,
        module_path,
        pin,
    })
}

/// A loaded and initialised module, shared by every provider of this process that names it:
/// C_Initialize may run once per process.
struct Module {
    path: PathBuf,
    ctx: Context,
    /// One operation at a time (the login state of a token is shared by the whole process).
    busy: Mutex<()>,
}

impl Module {
    fn lock(&self) -> MutexGuard<'_, ()> {
        self.busy.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn load_module(path: &Path) -> Result<Arc<Module>, Error> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Arc<Module>>>> = OnceLock::new();
    let canon = std::fs::canonicalize(path)
        .map_err(|e| Error::Key(format!("pkcs11 module {}: {e}", path.display())))?;
    let mut modules = MODULES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(m) = modules.get(&canon) {
        return Ok(m.clone());
    }
    let ctx = Context::new(&canon).map_err(|e| {
        Error::Key(format!(
            "pkcs11 module {}: not a loadable PKCS#11 module: {}",
            canon.display(),
            ck_text(&e)
        ))
    })?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => {
            return Err(provider(format!(
                "module {}: {}",
                canon.display(),
                ck_text(&e)
            )))
        }
    }
    let m = Arc::new(Module {
        path: canon.clone(),
        ctx,
        busy: Mutex::new(()),
    });
    modules.insert(canon, m.clone());
    Ok(m)
}

/// An AES key-encryption key in a PKCS#11 token.
pub struct Pkcs11 {
    filter: TokenFilter,
    object: String,
    id: Option<Vec<u8>>,
    pin: Zeroizing<Vec<u8>>,
    module: Arc<Module>,
}

impl std::fmt::Debug for Pkcs11 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11")
            .field("token", &self.filter.token)
            .field("object", &self.object)
            .field("id", &self.id.as_deref().map(crate::file::hex))
            .field("module", &self.module.path)
            .field("pin", &"<redacted>")
            .finish()
    }
}

/// Create the AES key a `pkcs11:` URI names (what `mlguard model keygen --kms pkcs11:...`
/// does): see [`Pkcs11::generate_kek`].
pub fn generate_kek(uri: &str) -> Result<(), Error> {
    Pkcs11::from_uri(uri)?.generate_kek()
}

impl Pkcs11 {
    /// Parse a `pkcs11:` key URI (module and PIN defaults from `MLGUARD_PKCS11_MODULE` and
    /// `MLGUARD_PKCS11_PIN`) and load the module. Opens no session yet.
    pub fn from_uri(uri: &str) -> Result<Self, Error> {
        Self::from_parsed(parse(uri, &|k| std::env::var_os(k))?)
    }

    fn from_parsed(p: Parsed) -> Result<Self, Error> {
        let module = load_module(&p.module_path)?;
        Ok(Pkcs11 {
            filter: p.filter,
            object: p.object,
            id: p.id,
            pin: p.pin,
            module,
        })
    }

    /// The token label.
    pub fn token(&self) -> &str {
        &self.filter.token
    }

    /// The key's label (CKA_LABEL).
    pub fn object(&self) -> &str {
        &self.object
    }

    fn what(&self) -> String {
        format!("token {:?}, key {:?}", self.filter.token, self.object)
    }

    /// The one slot whose token matches the URI.
    fn slot(&self) -> Result<Slot, Error> {
        let ctx = &self.module.ctx;
        let slots = ctx
            .get_slots_with_token()
            .map_err(|e| provider(format!("listing slots: {}", ck_text(&e))))?;
        let f = &self.filter;
        let mut found = Vec::new();
        let mut present = Vec::new();
        for slot in slots {
            let Ok(info) = ctx.get_token_info(slot) else {
                continue;
            };
            if !info.token_initialized() {
                continue;
            }
            present.push(format!(
                "{:?} (slot-id {}, serial {:?})",
                info.label(),
                slot.id(),
                info.serial_number()
            ));
            let mut ok = info.label() == f.token
                && f.manufacturer
                    .as_deref()
                    .is_none_or(|m| m == info.manufacturer_id())
                && f.serial
                    .as_deref()
                    .is_none_or(|s| s == info.serial_number())
                && f.model.as_deref().is_none_or(|m| m == info.model())
                && f.slot_id.is_none_or(|id| id == slot.id());
            if ok && (f.slot_description.is_some() || f.slot_manufacturer.is_some()) {
                ok = match ctx.get_slot_info(slot) {
                    Ok(si) => {
                        f.slot_description
                            .as_deref()
                            .is_none_or(|d| d == si.slot_description())
                            && f.slot_manufacturer
                                .as_deref()
                                .is_none_or(|m| m == si.manufacturer_id())
                    }
                    Err(_) => false,
                };
            }
            if ok {
                found.push(slot);
            }
        }
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(Error::Key(format!(
                "pkcs11: no token matches token={:?}{} in module {}; tokens present: {}",
                f.token,
                if *f != (TokenFilter { token: f.token.clone(), ..Default::default() }) {
                    " (and the URI's other token attributes)"
                } else {
                    ""
                },
                self.module.path.display(),
                if present.is_empty() {
                    "none".to_owned()
                } else {
                    present.join(", ")
                }
            ))),
            many => Err(Error::Key(format!(
                "pkcs11: {} tokens match token={:?} in module {} (slot-ids {}); add serial= or slot-id= to the URI",
                many.len(),
                f.token,
                self.module.path.display(),
                many.iter().map(|s| s.id().to_string()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// Run `f` in a fresh, logged-in session on the token, one operation at a time per module.
    fn with_session<T>(
        &self,
        read_write: bool,
        f: impl FnOnce(&Session) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let _busy = self.module.lock();
        let slot = self.slot()?;
        let ctx = &self.module.ctx;
        let session = if read_write {
            ctx.open_rw_session(slot)
        } else {
            ctx.open_ro_session(slot)
        }
        .map_err(|e| {
            provider(format!(
                "token {:?}: opening a session: {}",
                self.filter.token,
                ck_text(&e)
            ))
        })?;
        let pin = RawAuthPin::new(Box::new(self.pin.to_vec()));
        match session.login_with_raw(UserType::User, &pin) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(CkError::Pkcs11(
                rv @ (RvError::PinIncorrect
                | RvError::PinInvalid
                | RvError::PinLenRange
                | RvError::PinLocked),
                _,
            )) => {
                return Err(Error::Auth(format!(
                    "pkcs11 token {:?}: login refused ({}){}",
                    self.filter.token,
                    ckr_name(rv),
                    if rv == RvError::PinLocked {
                        ": the user PIN is locked"
                    } else {
                        ": the PIN is wrong"
                    }
                )))
            }
            Err(e) => {
                return Err(provider(format!(
                    "token {:?}: login: {}",
                    self.filter.token,
                    ck_text(&e)
                )))
            }
        }
        drop(pin);
        let out = f(&session);
        // Closing the session (drop) logs out once no other session of this process is open.
        let _ = session.close();
        out
    }

    fn label_template(&self) -> Vec<Attribute> {
        let mut t = vec![Attribute::Label(self.object.as_bytes().to_vec())];
        if let Some(id) = &self.id {
            t.push(Attribute::Id(id.clone()));
        }
        t
    }

    /// The key object: exactly one AES secret key with the URI's label (and id).
    fn key(&self, session: &Session) -> Result<ObjectHandle, Error> {
        let mut template = vec![Attribute::Class(ObjectClass::SECRET_KEY)];
        template.extend(self.label_template());
        let found = session
            .find_objects(&template)
            .map_err(|e| provider(format!("{}: finding the key: {}", self.what(), ck_text(&e))))?;
        let key = match found.as_slice() {
            [one] => *one,
            [] => {
                let labels = self.secret_key_labels(session);
                return Err(Error::Key(format!(
                    "pkcs11: no secret key labelled {:?}{} on token {:?}; secret keys on the token: {}",
                    self.object,
                    self.id
                        .as_deref()
                        .map(|id| format!(" with id {}", crate::file::hex(id)))
                        .unwrap_or_default(),
                    self.filter.token,
                    if labels.is_empty() {
                        "none".to_owned()
                    } else {
                        labels.join(", ")
                    }
                )));
            }
            many => {
                return Err(Error::Key(format!(
                    "pkcs11: {} secret keys labelled {:?} on token {:?}; add id= to the URI",
                    many.len(),
                    self.object,
                    self.filter.token
                )))
            }
        };
        let attrs = session
            .get_attributes(key, &[AttributeType::KeyType])
            .map_err(|e| {
                provider(format!(
                    "{}: reading the key type: {}",
                    self.what(),
                    ck_text(&e)
                ))
            })?;
        match attrs.first() {
            Some(Attribute::KeyType(t)) if *t == KeyType::AES => Ok(key),
            Some(Attribute::KeyType(t)) => Err(Error::Key(format!(
                "pkcs11: {} is a {t} key, not AES",
                self.what()
            ))),
            _ => Err(provider(format!(
                "{}: the key has no key type",
                self.what()
            ))),
        }
    }

    /// Labels (and ids) of the secret keys the session sees, for error messages.
    fn secret_key_labels(&self, session: &Session) -> Vec<String> {
        let Ok(keys) = session.find_objects(&[Attribute::Class(ObjectClass::SECRET_KEY)]) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for k in keys.into_iter().take(50) {
            let Ok(attrs) = session.get_attributes(k, &[AttributeType::Label, AttributeType::Id])
            else {
                continue;
            };
            let mut label = String::from("(no label)");
            let mut id = String::new();
            for a in attrs {
                match a {
                    Attribute::Label(l) => label = format!("{:?}", String::from_utf8_lossy(&l)),
                    Attribute::Id(i) if !i.is_empty() => {
                        id = format!(" (id {})", crate::file::hex(&i))
                    }
                    _ => {}
                }
            }
            out.push(label + &id);
        }
        out
    }

    /// Create the AES-256 key this URI names on its token: CKA_TOKEN, CKA_PRIVATE and
    /// CKA_SENSITIVE true, CKA_EXTRACTABLE false, CKA_ENCRYPT and CKA_DECRYPT true (wrap,
    /// unwrap, sign, verify and derive false), CKA_LABEL = `object`, CKA_ID = `id` when the URI
    /// has one. Refuses when any object with that label exists on the token.
    pub fn generate_kek(&self) -> Result<(), Error> {
        self.with_session(true, |session| {
            let existing = session
                .find_objects(&[Attribute::Label(self.object.as_bytes().to_vec())])
                .map_err(|e| provider(format!("{}: looking for the label: {}", self.what(), ck_text(&e))))?;
            if !existing.is_empty() {
                return Err(Error::Key(format!(
                    "pkcs11: token {:?} already has {} object(s) labelled {:?}; keygen creates a new key and never replaces one",
                    self.filter.token,
                    existing.len(),
                    self.object
                )));
            }
            let mut template = vec![
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::ValueLen((KEY_LEN as u64).into()),
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Encrypt(true),
                Attribute::Decrypt(true),
                Attribute::Wrap(false),
                Attribute::Unwrap(false),
                Attribute::Sign(false),
                Attribute::Verify(false),
                Attribute::Derive(false),
            ];
            template.extend(self.label_template());
            session
                .generate_key(&Mechanism::AesKeyGen, &template)
                .map_err(|e| provider(format!("{}: generating the key: {}", self.what(), ck_text(&e))))?;
            Ok(())
        })
    }
}

enum GcmError {
    Ours(Error),
    Hsm(CkError),
}

/// CKM_AES_GCM encryption in the HSM with a random IV: (the IV used, ciphertext || tag). The IV
/// returned is read back from the parameters: a module that generates its own IVs writes it there.
fn gcm_encrypt(
    session: &Session,
    key: ObjectHandle,
    plain: &[u8],
) -> Result<([u8; IV_LEN], Vec<u8>), GcmError> {
    let mut iv = [0u8; IV_LEN];
    random_fill(&mut iv).map_err(GcmError::Ours)?;
    let params = GcmParams::new(&mut iv, AAD, ((TAG_LEN * 8) as u64).into())
        .map_err(|e| GcmError::Ours(provider(ck_text(&e))))?;
    let ct = session
        .encrypt(&Mechanism::AesGcm(params), key, plain)
        .map_err(GcmError::Hsm)?;
    Ok((iv, ct))
}

/// CKM_AES_GCM decryption in the HSM; the plaintext is zeroized on drop.
fn gcm_decrypt(
    session: &Session,
    key: ObjectHandle,
    mut iv: [u8; IV_LEN],
    ct_tag: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CkError> {
    let params = GcmParams::new(&mut iv, AAD, ((TAG_LEN * 8) as u64).into())?;
    session
        .decrypt(&Mechanism::AesGcm(params), key, ct_tag)
        .map(Zeroizing::new)
}

impl Pkcs11 {
    /// Encrypt and decrypt a constant with the key: Ok when the HSM and the key work.
    fn probe(&self, session: &Session, key: ObjectHandle) -> Result<(), String> {
        let plain = [0x5au8; KEY_LEN];
        let (iv, ct) = gcm_encrypt(session, key, &plain).map_err(|e| match e {
            GcmError::Ours(e) => e.to_string(),
            GcmError::Hsm(e) => ck_text(&e),
        })?;
        match gcm_decrypt(session, key, iv, &ct) {
            Ok(p) if p.as_slice() == plain => Ok(()),
            Ok(_) => Err("the probe decrypts to other bytes".into()),
            Err(e) => Err(ck_text(&e)),
        }
    }
}

impl KeyProvider for Pkcs11 {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn wrap(&self, key: &DataKey) -> Result<Stanza, Error> {
        let (iv, ct) = self.with_session(false, |session| {
            let handle = self.key(session)?;
            gcm_encrypt(session, handle, key.expose()).map_err(|e| match e {
                GcmError::Ours(e) => e,
                GcmError::Hsm(e) => provider(format!(
                    "{}: encrypting (CKM_AES_GCM): {}",
                    self.what(),
                    ck_text(&e)
                )),
            })
        })?;
        if ct.len() != KEY_LEN + TAG_LEN {
            return Err(provider(format!(
                "{}: CKM_AES_GCM returned {} bytes for a {KEY_LEN}-byte key, expected {}",
                self.what(),
                ct.len(),
                KEY_LEN + TAG_LEN
            )));
        }
        let mut body = iv.to_vec();
        body.extend_from_slice(&ct);
        let mut args = std::collections::BTreeMap::new();
        args.insert("token".to_owned(), self.filter.token.clone());
        args.insert("object".to_owned(), self.object.clone());
        if let Some(id) = &self.id {
            args.insert("id".to_owned(), crate::file::hex(id));
        }
        Ok(Stanza {
            kind: KIND.into(),
            args,
            body: b64(&body),
        })
    }

    fn unwrap(&self, stanza: &Stanza) -> Result<Option<DataKey>, Error> {
        if stanza.kind != KIND
            || stanza.args.get("token") != Some(&self.filter.token)
            || stanza.args.get("object") != Some(&self.object)
        {
            return Ok(None);
        }
        if let (Some(theirs), Some(ours)) = (stanza.args.get("id"), &self.id) {
            if *theirs != crate::file::hex(ours) {
                return Ok(None);
            }
        }
        let body = unb64(stanza)?;
        if body.len() != BODY_LEN {
            return Err(Error::Format(format!(
                "pkcs11 stanza body: {} bytes, expected {BODY_LEN}",
                body.len()
            )));
        }
        let iv: [u8; IV_LEN] = body[..IV_LEN].try_into().expect("12 bytes");
        let plain = self.with_session(false, |session| {
            let handle = self.key(session)?;
            let refused = |rv: RvError| {
                Error::Auth(format!(
                    "pkcs11 {}: the HSM does not verify the stanza ({}): it was modified, or made with another key of that label",
                    self.what(),
                    ckr_name(rv)
                ))
            };
            match gcm_decrypt(session, handle, iv, &body[IV_LEN..]) {
                Ok(p) => Ok(p),
                Err(CkError::Pkcs11(
                    rv @ (RvError::EncryptedDataInvalid | RvError::EncryptedDataLenRange),
                    _,
                )) => Err(refused(rv)),
                // SoftHSM2 answers a wrong GCM tag with CKR_GENERAL_ERROR, other modules with
                // CKR_FUNCTION_FAILED or CKR_DATA_INVALID: codes an ailing HSM returns too. The
                // key round-trips a probe when the HSM is well, and then the stanza was at fault.
                Err(CkError::Pkcs11(
                    rv @ (RvError::GeneralError
                    | RvError::FunctionFailed
                    | RvError::DataInvalid
                    | RvError::DataLenRange),
                    _,
                )) => match self.probe(session, handle) {
                    Ok(()) => Err(refused(rv)),
                    Err(e) => Err(provider(format!(
                        "{}: decrypting (CKM_AES_GCM): {}; the key fails a probe encryption too ({e}): the HSM is failing",
                        self.what(),
                        ckr_name(rv)
                    ))),
                },
                Err(e) => Err(provider(format!(
                    "{}: decrypting (CKM_AES_GCM): {}",
                    self.what(),
                    ck_text(&e)
                ))),
            }
        })?;
        if plain.len() != KEY_LEN {
            return Err(Error::Auth(format!(
                "pkcs11 {}: the HSM returned {} bytes, not a {KEY_LEN}-byte data key",
                self.what(),
                plain.len()
            )));
        }
        Ok(Some(DataKey::from_slice(&plain)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_none(_: &str) -> Option<OsString> {
        None
    }

    fn err(r: Result<Parsed, Error>) -> Error {
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => e,
        }
    }

    #[test]
    fn parses_path_and_query_with_percent_decoding() {
        let p = parse(
            "pkcs11:token=My%20Token;object=kek%3bone;id=%01%FF;serial=abc;slot-id=7;type=secret-key;x-vendor=1?module-path=/usr/lib/m%2Eso&pin-value=12%2634",
            &env_none,
        )
        .unwrap();
        assert_eq!(p.filter.token, "My Token");
        assert_eq!(p.object, "kek;one");
        assert_eq!(p.id.as_deref(), Some(&[1u8, 0xff][..]));
        assert_eq!(p.filter.serial.as_deref(), Some("abc"));
        assert_eq!(p.filter.slot_id, Some(7));
        assert_eq!(p.module_path, PathBuf::from("/usr/lib/m.so"));
        assert_eq!(p.pin.as_slice(), b"12&34");
    }

    #[test]
    fn defaults_from_the_environment() {
        let env = |k: &str| match k {
            MODULE_ENV => Some(OsString::from("/m.so")),
            PIN_ENV => Some(OsString::from("9999")),
            _ => None,
        };
        let p = parse("pkcs11:token=T;object=K", &env).unwrap();
        assert_eq!(p.module_path, PathBuf::from("/m.so"));
        assert_eq!(p.pin.as_slice(), b"9999");
        // The URI wins over the environment.
        let p = parse(
            "pkcs11:token=T;object=K?module-path=/n.so&pin-value=1",
            &env,
        )
        .unwrap();
        assert_eq!(p.module_path, PathBuf::from("/n.so"));
        assert_eq!(p.pin.as_slice(), b"1");
    }

    #[test]
    fn pin_from_a_file_without_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pin");
        std::fs::write(&f, "4321\n").unwrap();
        for src in [
            format!("file:{}", f.display()),
            format!("file://{}", f.display()),
        ] {
            let uri = format!("pkcs11:token=T;object=K?module-path=/m.so&pin-source={src}");
            assert_eq!(parse(&uri, &env_none).unwrap().pin.as_slice(), b"4321");
        }
    }

    #[test]
    fn clear_errors_without_module_or_pin() {
        let e = err(parse("pkcs11:token=T;object=K?pin-value=1", &env_none)).to_string();
        assert!(e.contains("module-path") && e.contains(MODULE_ENV), "{e}");
        let e = err(parse(
            "pkcs11:token=T;object=K?module-path=/m.so",
            &env_none,
        ))
        .to_string();
        assert!(e.contains("PIN") && e.contains(PIN_ENV), "{e}");
        let e = err(parse(
            "pkcs11:object=K?module-path=/m.so&pin-value=1",
            &env_none,
        ))
        .to_string();
        assert!(e.contains("token="), "{e}");
        let e = err(parse(
            "pkcs11:token=T?module-path=/m.so&pin-value=1",
            &env_none,
        ))
        .to_string();
        assert!(e.contains("object="), "{e}");
    }

    #[test]
    fn rejects_malformed_and_unknown_attributes() {
        for (uri, want) in [
            (
                "pkcs11:token=T;objekt=K?module-path=/m&pin-value=1",
                "objekt",
            ),
            (
                "pkcs11:token=T;object=K;token=U?module-path=/m&pin-value=1",
                "twice",
            ),
            (
                "pkcs11:token=T;object=K%G1?module-path=/m&pin-value=1",
                "hex digits",
            ),
            (
                "pkcs11:token=T;object=K;type=private?module-path=/m&pin-value=1",
                "secret-key",
            ),
            (
                "pkcs11:token=T;object=K?module-name=softhsm2&pin-value=1",
                "module-path",
            ),
            (
                "pkcs11:token=T;object=K?module-path=/m&pin-value=1&pin-source=file:/p",
                "both",
            ),
            ("vault://x", "pkcs11:"),
        ] {
            let e = err(parse(uri, &env_none)).to_string();
            assert!(e.contains(want), "{uri}: {e}");
        }
    }

    #[test]
    fn the_pin_is_never_shown() {
        let secret = "s3cr3t-PIN-value";
        // Malformed around the PIN: the error must not echo it.
        for uri in [
            format!("pkcs11:token=T;object=K?module-path=/nonexistent/m.so&pin-value={secret}"),
            format!("pkcs11:token=T;object=K?module-path=/m&{secret}"),
            format!("pkcs11:token=T;object=K?module-path=/m&pin-value={secret}%zz"),
        ] {
            let e = Pkcs11::from_uri(&uri).unwrap_err();
            assert!(!format!("{e} {e:?}").contains(secret), "{e:?}");
        }
    }

    #[test]
    fn ckr_names() {
        assert_eq!(ckr_name(RvError::PinIncorrect), "CKR_PIN_INCORRECT");
        assert_eq!(
            ckr_name(RvError::EncryptedDataInvalid),
            "CKR_ENCRYPTED_DATA_INVALID"
        );
    }
}
