//! Reading the installed packages of a container image without extracting it: an OCI image
//! layout folder, a docker-archive tar (`docker save`, including the OCI layout newer Docker
//! writes inside it), or a root filesystem folder.
//!
//! Layers are read as tar streams (plain, gzip or zstd, by media type or by magic), front to
//! back; only the record files of [`crate::inventory`] and CUDA's version files are kept, each
//! with the layer it came from. Whiteouts apply across layers as the OCI image spec says: a
//! `.wh.NAME` entry deletes `NAME` (a file or a whole tree) from the layers below, and
//! `.wh..wh..opq` empties its folder of everything from the layers below. Layer blobs are
//! checked against their digests while they stream.

use crate::cuda;
use crate::inventory::{self, Package, RecordError};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// What was found in an image.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct ImageInventory {
    /// Packages with the layer digest they came from (`rootfs` for a folder).
    pub packages: Vec<(Package, String)>,
    /// The image config's `Env`.
    pub env: Vec<String>,
    /// Record files that could not be read (reported, never skipped silently).
    pub errors: Vec<RecordError>,
    pub layers: usize,
    /// The image manifest's digest, when the image has one.
    pub digest: Option<String>,
    /// The distribution, from its os-release file.
    pub os: Option<OsRelease>,
}

/// Why an image could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {why}")]
    Format { path: String, why: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ImageError + '_ {
    move |source| ImageError::Io {
        path: path.display().to_string(),
        source,
    }
}

pub(crate) fn bad(path: &Path, why: impl Into<String>) -> ImageError {
    ImageError::Format {
        path: path.display().to_string(),
        why: why.into(),
    }
}

/// Is this path (inside the image) one the inventory keeps?
fn wanted(path: &str) -> bool {
    inventory::record_kind(path).is_some() || cuda_file(path) || os_release_file(path)
}

fn os_release_file(path: &str) -> bool {
    let p = path.trim_start_matches("./").trim_start_matches('/');
    p == "etc/os-release" || p == "usr/lib/os-release"
}

/// The distribution an image runs (`/etc/os-release`, else `/usr/lib/os-release`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OsRelease {
    /// `ID`: debian, ubuntu, alpine...
    pub id: String,
    /// `VERSION_ID`: 12, 22.04, 3.19.1...
    pub version_id: String,
}

impl OsRelease {
    pub fn parse(bytes: &[u8]) -> Option<OsRelease> {
        let t = String::from_utf8_lossy(bytes);
        let get = |k: &str| {
            t.lines()
                .find_map(|l| l.trim().strip_prefix(k)?.strip_prefix('='))
                .map(|v| v.trim().trim_matches(['"', '\'']).to_string())
        };
        Some(OsRelease {
            id: get("ID")?,
            version_id: get("VERSION_ID").unwrap_or_default(),
        })
    }

    /// The OSV ecosystem of this distribution's OS packages (`Debian:12`, `Ubuntu:22.04`,
    /// `Alpine:v3.19`), when it has one.
    pub fn ecosystem(&self) -> Option<String> {
        let major_minor = || {
            let mut it = self.version_id.split('.');
            match (it.next(), it.next()) {
                (Some(a), Some(b)) => format!("{a}.{b}"),
                (Some(a), None) => a.to_string(),
                _ => String::new(),
            }
        };
        match self.id.as_str() {
            "debian" if !self.version_id.is_empty() => {
                Some(format!("Debian:{}", self.version_id.split('.').next()?))
            }
            "ubuntu" if !self.version_id.is_empty() => Some(format!("Ubuntu:{}", self.version_id)),
            "alpine" if !self.version_id.is_empty() => Some(format!("Alpine:v{}", major_minor())),
            _ => None,
        }
    }
}

fn cuda_file(path: &str) -> bool {
    let p = path.trim_start_matches("./").trim_start_matches('/');
    p.starts_with("usr/local/cuda")
        && (p.ends_with("/version.json") || p.ends_with("/version.txt"))
        && p.matches('/').count() == 3
}

/// Layers read at once.
const MAX_PARALLEL_LAYERS: usize = 4;

/// Largest record file kept from a layer.
const MAX_KEPT: u64 = inventory::MAX_RECORD as u64;

/// The files kept so far, by path: (layer, bytes).
#[derive(Default)]
struct Overlay {
    files: BTreeMap<String, (String, Vec<u8>)>,
    /// Kept paths whose file was larger than [`MAX_KEPT`]: not read, reported per record.
    big: std::collections::BTreeSet<String>,
}

fn norm(path: &str) -> String {
    path.trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_string()
}

/// What one layer changes: whiteouts, opaque folders, and the record files it adds.
#[derive(Default)]
struct Changes {
    deletes: Vec<String>,
    opaque: Vec<String>,
    adds: Vec<(String, Vec<u8>)>,
    /// Record files larger than [`MAX_KEPT`] (their `adds` entry is empty).
    big: Vec<String>,
}

impl Overlay {
    /// Apply one layer: its whiteouts to the layers below, then its files.
    fn layer<R: Read>(&mut self, layer: &str, tar: R, origin: &Path) -> Result<(), ImageError> {
        let changes = layer_changes(layer, tar, origin)?;
        self.apply(layer, changes);
        Ok(())
    }

    fn apply(&mut self, layer: &str, c: Changes) {
        let under = |p: &str, root: &str| {
            root.is_empty() || p == root || p.starts_with(&format!("{root}/"))
        };
        if !c.deletes.is_empty() || !c.opaque.is_empty() {
            let keep = |p: &String| {
                !c.deletes.iter().any(|d| under(p, d))
                    && !c.opaque.iter().any(|o| p != o && under(p, o))
            };
            self.files.retain(|p, _| keep(p));
            self.big.retain(keep);
        }
        for (p, b) in c.adds {
            if c.big.contains(&p) {
                self.big.insert(p.clone());
            } else {
                self.big.remove(&p);
            }
            self.files.insert(p, (layer.to_string(), b));
        }
    }
}

/// Read one layer's tar stream to its end (so that a blob's digest is checked), keeping its
/// whiteouts and record files.
fn layer_changes<R: Read>(layer: &str, tar: R, origin: &Path) -> Result<Changes, ImageError> {
    {
        let mut archive = tar::Archive::new(tar);
        let mut deletes: Vec<String> = Vec::new();
        let mut opaque: Vec<String> = Vec::new();
        let mut adds: Vec<(String, Vec<u8>)> = Vec::new();
        let mut big: Vec<String> = Vec::new();
        let entries = archive
            .entries()
            .map_err(|e| bad(origin, format!("layer {layer}: not a tar stream: {e}")))?;
        for entry in entries {
            let mut entry =
                entry.map_err(|e| bad(origin, format!("layer {layer}: broken tar entry: {e}")))?;
            let path = match entry.path() {
                Ok(p) => norm(&p.to_string_lossy()),
                Err(e) => return Err(bad(origin, format!("layer {layer}: bad entry path: {e}"))),
            };
            let (dir, name) = match path.rsplit_once('/') {
                Some((d, n)) => (d.to_string(), n.to_string()),
                None => (String::new(), path.clone()),
            };
            if name == ".wh..wh..opq" {
                opaque.push(dir);
                continue;
            }
            if let Some(target) = name.strip_prefix(".wh.").filter(|t| !t.is_empty()) {
                deletes.push(if dir.is_empty() {
                    target.to_string()
                } else {
                    format!("{dir}/{target}")
                });
                continue;
            }
            if !entry.header().entry_type().is_file() || !wanted(&path) {
                continue;
            }
            if entry.size() > MAX_KEPT {
                big.push(path.clone());
                adds.push((path, Vec::new()));
                continue;
            }
            let mut buf = Vec::with_capacity(entry.size() as usize);
            entry
                .read_to_end(&mut buf)
                .map_err(|e| bad(origin, format!("layer {layer}: reading {path}: {e}")))?;
            adds.push((path, buf));
        }
        // Read the stream to its end, so that a blob's digest is checked (the tar reader stops
        // at the end-of-archive blocks).
        std::io::copy(&mut archive.into_inner(), &mut std::io::sink())
            .map_err(|e| bad(origin, format!("layer {layer}: {e}")))?;
        Ok(Changes {
            deletes,
            opaque,
            adds,
            big,
        })
    }
}

impl Overlay {
    fn finish(self, env: Vec<String>, layers: usize) -> ImageInventory {
        let mut inv = ImageInventory {
            env,
            layers,
            ..ImageInventory::default()
        };
        let os_etc = self
            .files
            .get("etc/os-release")
            .and_then(|(_, b)| OsRelease::parse(b));
        inv.os = os_etc.or_else(|| {
            self.files
                .get("usr/lib/os-release")
                .and_then(|(_, b)| OsRelease::parse(b))
        });
        for (path, (layer, bytes)) in self.files {
            if os_release_file(&path) {
                continue;
            }
            if self.big.contains(&path) {
                inv.errors.push(RecordError {
                    path,
                    why: format!("larger than {MAX_KEPT} bytes: not read"),
                });
                continue;
            }
            if cuda_file(&path) {
                let r = if path.ends_with(".json") {
                    cuda::from_version_json(&path, &bytes)
                } else {
                    cuda::from_version_txt(&path, &bytes).map(|p| vec![p])
                };
                match r {
                    Ok(ps) => inv
                        .packages
                        .extend(ps.into_iter().map(|p| (p, layer.clone()))),
                    Err(why) => inv.errors.push(RecordError { path, why }),
                }
                continue;
            }
            match inventory::parse(&path, &bytes) {
                Ok(ps) => inv
                    .packages
                    .extend(ps.into_iter().map(|p| (p, layer.clone()))),
                Err(e) => inv.errors.push(e),
            }
        }
        // CUDA from the config's environment and from the Python packages found.
        let from_python: Vec<(Package, String)> = inv
            .packages
            .iter()
            .filter_map(|(p, l)| cuda::from_python(p).map(|c| (c, l.clone())))
            .collect();
        inv.packages.extend(from_python);
        inv.packages.extend(
            cuda::from_env(&inv.env)
                .into_iter()
                .map(|p| (p, "config".to_string())),
        );
        inv
    }
}

/// A reader of a layer blob that checks its SHA-256 when it reaches the end.
struct Verified<R> {
    inner: R,
    ctx: ring::digest::Context,
    want: String,
    what: String,
}

impl<R: Read> Read for Verified<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            let got = hex(self.ctx.clone().finish().as_ref());
            if got != self.want {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "{}: digest sha256:{got} does not match sha256:{}",
                        self.what, self.want
                    ),
                ));
            }
        } else {
            self.ctx.update(&buf[..n]);
        }
        Ok(n)
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Decompress by magic: gzip, zstd, or plain tar.
fn decompressed<'a, R: Read + 'a>(
    mut r: R,
    origin: &Path,
) -> Result<Box<dyn Read + 'a>, ImageError> {
    let mut head = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = r.read(&mut head[got..]).map_err(io(origin))?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let chained = std::io::Cursor::new(head[..got].to_vec()).chain(r);
    Ok(if head[..got].starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(chained))
    } else if head[..got] == [0x28, 0xb5, 0x2f, 0xfd] {
        Box::new(
            ruzstd::decoding::StreamingDecoder::new(chained)
                .map_err(|e| bad(origin, format!("zstd layer: {e}")))?,
        )
    } else {
        Box::new(chained)
    })
}

/// Where an image's files are: a folder, the members of a tar file (docker-archive), or a
/// registry (crate::registry).
pub(crate) trait Store: Sync {
    fn label(&self, name: &str) -> PathBuf;
    fn open(&self, name: &str) -> Result<Box<dyn Read + '_>, ImageError>;
    fn has(&self, name: &str) -> bool;
    /// The size of a member in bytes, when known without reading it (for progress).
    fn size(&self, _name: &str) -> Option<u64> {
        None
    }

    fn json(&self, name: &str) -> Result<serde_json::Value, ImageError> {
        let mut b = Vec::new();
        self.open(name)?
            .take(MAX_KEPT)
            .read_to_end(&mut b)
            .map_err(io(&self.label(name)))?;
        serde_json::from_slice(&b).map_err(|e| bad(&self.label(name), format!("not JSON: {e}")))
    }
}

struct DirStore(PathBuf);

impl Store for DirStore {
    fn label(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    fn open(&self, name: &str) -> Result<Box<dyn Read + '_>, ImageError> {
        let p = self.0.join(name);
        let f = std::fs::File::open(&p).map_err(io(&p))?;
        Ok(Box::new(std::io::BufReader::new(f)))
    }
    fn has(&self, name: &str) -> bool {
        self.0.join(name).is_file()
    }
    fn size(&self, name: &str) -> Option<u64> {
        std::fs::metadata(self.0.join(name)).ok().map(|m| m.len())
    }
}

/// The members of a tar file, by name: (offset of the data, size). Members are read in place.
struct TarStore {
    path: PathBuf,
    members: BTreeMap<String, (u64, u64)>,
}

impl TarStore {
    fn new(path: &Path) -> Result<TarStore, ImageError> {
        let f = std::fs::File::open(path).map_err(io(path))?;
        let mut archive = tar::Archive::new(std::io::BufReader::new(f));
        let mut members = BTreeMap::new();
        for e in archive
            .entries()
            .map_err(|e| bad(path, format!("not a tar file: {e}")))?
        {
            let e = e.map_err(|e| bad(path, format!("broken tar entry: {e}")))?;
            if !e.header().entry_type().is_file() {
                continue;
            }
            let name = e
                .path()
                .map(|p| norm(&p.to_string_lossy()))
                .map_err(|e| bad(path, format!("bad entry path: {e}")))?;
            members.insert(name, (e.raw_file_position(), e.size()));
        }
        Ok(TarStore {
            path: path.to_path_buf(),
            members,
        })
    }
}

impl Store for TarStore {
    fn label(&self, name: &str) -> PathBuf {
        PathBuf::from(format!("{}:{name}", self.path.display()))
    }
    fn open(&self, name: &str) -> Result<Box<dyn Read + '_>, ImageError> {
        use std::io::Seek;
        let &(offset, size) = self
            .members
            .get(&norm(name))
            .ok_or_else(|| bad(&self.label(name), "no such member in the archive"))?;
        let mut f = std::fs::File::open(&self.path).map_err(io(&self.path))?;
        f.seek(std::io::SeekFrom::Start(offset))
            .map_err(io(&self.path))?;
        Ok(Box::new(std::io::BufReader::new(f).take(size)))
    }
    fn has(&self, name: &str) -> bool {
        self.members.contains_key(&norm(name))
    }
    fn size(&self, name: &str) -> Option<u64> {
        self.members.get(&norm(name)).map(|m| m.1)
    }
}

fn blob_name(store: &dyn Store, digest: &str) -> Result<String, ImageError> {
    let bad_digest = || {
        bad(
            &store.label("index.json"),
            format!("digest {digest:?} is not a sha256 digest"),
        )
    };
    let (alg, hexd) = digest.split_once(':').ok_or_else(bad_digest)?;
    if alg != "sha256" || hexd.len() != 64 || !hexd.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad_digest());
    }
    Ok(format!("blobs/{alg}/{hexd}"))
}

/// Told how far the reading of an image's layers is (for a progress bar). Both methods count
/// bytes of layer blobs as stored (compressed).
pub trait Progress: Sync {
    /// The total, when the sizes are known; called once before the first layer.
    fn total(&self, _bytes: u64) {}
    /// `bytes` more were read.
    fn advance(&self, _bytes: u64) {}
}

/// No progress reporting.
impl Progress for () {}

/// A reader that tells a [`Progress`] how much went through it.
struct Counted<'p, R> {
    inner: R,
    progress: &'p dyn Progress,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

/// Stream the layers (name in the store, digest to check if known) into the overlay.
pub(crate) fn read_layers(
    store: &dyn Store,
    layers: &[(String, Option<String>)],
    env: Vec<String>,
    progress: &dyn Progress,
) -> Result<ImageInventory, ImageError> {
    let sizes: Option<u64> = layers.iter().map(|(n, _)| store.size(n)).sum();
    if let Some(total) = sizes {
        progress.total(total);
    }
    let read_one = |(name, digest): &(String, Option<String>)| -> Result<Changes, ImageError> {
        let label = store.label(name);
        let r: Box<dyn Read + '_> = Box::new(Counted {
            inner: store.open(name)?,
            progress,
        });
        let r: Box<dyn Read + '_> = match digest {
            Some(d) => Box::new(Verified {
                inner: r,
                ctx: ring::digest::Context::new(&ring::digest::SHA256),
                want: d.trim_start_matches("sha256:").to_string(),
                what: format!("layer {d}"),
            }),
            None => r,
        };
        let id = digest.clone().unwrap_or_else(|| name.clone());
        layer_changes(&id, decompressed(r, &label)?, &label)
    };
    // Layers are read in parallel (decompression and hashing are the work), then applied in
    // order; what a layer keeps is only its record files, so memory stays small.
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_PARALLEL_LAYERS)
        .min(layers.len().max(1));
    let results: Vec<Option<Result<Changes, ImageError>>> = if workers <= 1 {
        let mut out: Vec<Option<Result<Changes, ImageError>>> = Vec::new();
        for l in layers {
            let r = read_one(l);
            let stop = r.is_err();
            out.push(Some(r));
            if stop {
                break;
            }
        }
        out
    } else {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let failed = std::sync::atomic::AtomicBool::new(false);
        let slots: std::sync::Mutex<Vec<Option<Result<Changes, ImageError>>>> =
            std::sync::Mutex::new((0..layers.len()).map(|_| None).collect());
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= layers.len() || failed.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let r = read_one(&layers[i]);
                    if r.is_err() {
                        failed.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    if let Ok(mut s) = slots.lock() {
                        s[i] = Some(r);
                    }
                });
            }
        });
        slots.into_inner().unwrap_or_default()
    };
    // Applied in layer order. The first error in that order is the answer; a layer left
    // unread because another failed is never taken for an empty one.
    let mut overlay = Overlay::default();
    let mut unread = None;
    for (i, ((name, digest), r)) in layers.iter().zip(results).enumerate() {
        match r {
            Some(Err(e)) => return Err(e),
            Some(Ok(c)) if unread.is_none() => {
                let id = digest.clone().unwrap_or_else(|| name.clone());
                overlay.apply(&id, c);
            }
            Some(Ok(_)) => {}
            None => {
                unread.get_or_insert(i);
            }
        }
    }
    if let Some(i) = unread {
        return Err(bad(&store.label(&layers[i].0), "layer not read"));
    }
    Ok(overlay.finish(env, layers.len()))
}

/// An OCI layout (in a folder or a tar): the image manifest with digest `pick` (else the
/// first), following one level of nested index and preferring linux/amd64.
fn read_oci(
    store: &dyn Store,
    pick: Option<&str>,
    progress: &dyn Progress,
) -> Result<ImageInventory, ImageError> {
    let index = store.json("index.json")?;
    let mut desc = match pick {
        None => index["manifests"].get(0).cloned(),
        Some(d) => index["manifests"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["digest"] == d).cloned()),
    }
    .ok_or_else(|| match pick {
        None => bad(&store.label("index.json"), "no manifests"),
        Some(d) => bad(&store.label("index.json"), format!("no manifest {d}")),
    })?;
    // The digest a reference resolves to (an index's, for a multi-platform image).
    let top = desc["digest"].as_str().map(str::to_string);
    if desc["mediaType"]
        .as_str()
        .is_some_and(|m| m.contains("index"))
    {
        let inner = store.json(&blob_name(store, desc["digest"].as_str().unwrap_or(""))?)?;
        let list = inner["manifests"].as_array().cloned().unwrap_or_default();
        desc = list
            .iter()
            .find(|m| m["platform"]["architecture"] == "amd64" && m["platform"]["os"] == "linux")
            .or_else(|| list.first())
            .cloned()
            .ok_or_else(|| {
                bad(
                    &store.label("index.json"),
                    "the nested index has no manifests",
                )
            })?;
    }
    let manifest_name = blob_name(store, desc["digest"].as_str().unwrap_or(""))?;
    let manifest = store.json(&manifest_name)?;
    let config = store.json(&blob_name(
        store,
        manifest["config"]["digest"].as_str().unwrap_or(""),
    )?)?;
    let layers = manifest["layers"]
        .as_array()
        .ok_or_else(|| bad(&store.label(&manifest_name), "no layers"))?
        .iter()
        .map(|l| {
            let d = l["digest"].as_str().unwrap_or("").to_string();
            Ok((blob_name(store, &d)?, Some(d)))
        })
        .collect::<Result<Vec<_>, ImageError>>()?;
    let mut inv = read_layers(store, &layers, env_of(&config), progress)?;
    inv.digest = top;
    Ok(inv)
}

/// An OCI image layout folder (`oci-layout`, `index.json`, `blobs/`).
pub fn read_oci_layout(root: &Path) -> Result<ImageInventory, ImageError> {
    read_oci_layout_with(root, &())
}

/// [`read_oci_layout`], telling `progress` how far it is.
pub fn read_oci_layout_with(
    root: &Path,
    progress: &dyn Progress,
) -> Result<ImageInventory, ImageError> {
    read_oci(&DirStore(root.to_path_buf()), None, progress)
}

/// The images of an OCI layout folder: (name, digest) for each entry of `index.json`, the name
/// being its `org.opencontainers.image.ref.name` annotation (else the digest).
pub fn list_oci_layout(root: &Path) -> Result<Vec<(String, String)>, ImageError> {
    let store = DirStore(root.to_path_buf());
    let index = store.json("index.json")?;
    let list = index["manifests"]
        .as_array()
        .ok_or_else(|| bad(&store.label("index.json"), "no manifests"))?;
    let mut out = Vec::new();
    for (i, m) in list.iter().enumerate() {
        let digest = m["digest"].as_str().ok_or_else(|| {
            bad(
                &store.label("index.json"),
                format!("manifests[{i}].digest is missing"),
            )
        })?;
        blob_name(&store, digest)?;
        let name = m["annotations"]["org.opencontainers.image.ref.name"]
            .as_str()
            .unwrap_or(digest);
        out.push((name.to_string(), digest.to_string()));
    }
    Ok(out)
}

/// One image of an OCI layout folder, by the digest `index.json` gives it.
pub fn read_oci_layout_digest(
    root: &Path,
    digest: &str,
    progress: &dyn Progress,
) -> Result<ImageInventory, ImageError> {
    read_oci(&DirStore(root.to_path_buf()), Some(digest), progress)
}

/// A docker-archive tar (`docker save`): its `manifest.json` (first image), config and layer
/// tars; layers stored as `blobs/sha256/<digest>` (Docker 25 and later) are checked against
/// their digest. An archive holding an OCI layout without `manifest.json` is read as one.
pub fn read_docker_archive(path: &Path) -> Result<ImageInventory, ImageError> {
    read_docker_archive_with(path, &())
}

/// [`read_docker_archive`], telling `progress` how far it is.
pub fn read_docker_archive_with(
    path: &Path,
    progress: &dyn Progress,
) -> Result<ImageInventory, ImageError> {
    read_archive(&TarStore::new(path)?, path, progress)
}

/// A docker-archive or OCI-layout tar held in memory (for fuzzing the archive path; members
/// larger than the record limit are refused).
pub fn read_archive_bytes(bytes: &[u8]) -> Result<ImageInventory, ImageError> {
    let origin = Path::new("<archive>");
    let mut members = BTreeMap::new();
    let mut archive = tar::Archive::new(bytes);
    for e in archive
        .entries()
        .map_err(|e| bad(origin, format!("not a tar file: {e}")))?
    {
        let mut e = e.map_err(|e| bad(origin, format!("broken tar entry: {e}")))?;
        if !e.header().entry_type().is_file() {
            continue;
        }
        let name = e
            .path()
            .map(|p| norm(&p.to_string_lossy()))
            .map_err(|e| bad(origin, format!("bad entry path: {e}")))?;
        let mut b = Vec::new();
        (&mut e)
            .take(MAX_KEPT + 1)
            .read_to_end(&mut b)
            .map_err(io(origin))?;
        if b.len() as u64 > MAX_KEPT {
            return Err(bad(origin, format!("{name}: member too large")));
        }
        members.insert(name, b);
    }
    read_archive(&MemStore(members), origin, &())
}

/// Members of an archive held in memory.
struct MemStore(BTreeMap<String, Vec<u8>>);

impl Store for MemStore {
    fn label(&self, name: &str) -> PathBuf {
        PathBuf::from(format!("<archive>:{name}"))
    }
    fn open(&self, name: &str) -> Result<Box<dyn Read + '_>, ImageError> {
        let b = self
            .0
            .get(&norm(name))
            .ok_or_else(|| bad(&self.label(name), "no such member in the archive"))?;
        Ok(Box::new(&b[..]))
    }
    fn has(&self, name: &str) -> bool {
        self.0.contains_key(&norm(name))
    }
}

/// A docker-archive (`manifest.json`) or an OCI layout (`index.json`) in a store.
fn read_archive(
    store: &dyn Store,
    path: &Path,
    progress: &dyn Progress,
) -> Result<ImageInventory, ImageError> {
    if !store.has("manifest.json") {
        if store.has("index.json") {
            return read_oci(store, None, progress);
        }
        return Err(bad(
            path,
            "neither manifest.json (docker-archive) nor index.json (OCI layout) in the archive",
        ));
    }
    let manifest = store.json("manifest.json")?;
    let first = manifest
        .get(0)
        .ok_or_else(|| bad(&store.label("manifest.json"), "no image"))?;
    let config_name = first["Config"]
        .as_str()
        .ok_or_else(|| bad(&store.label("manifest.json"), "no Config"))?;
    let config = store.json(config_name)?;
    let layers = first["Layers"]
        .as_array()
        .ok_or_else(|| bad(&store.label("manifest.json"), "no Layers"))?
        .iter()
        .map(|l| {
            let name = l.as_str().unwrap_or("").to_string();
            let digest = name
                .strip_prefix("blobs/sha256/")
                .filter(|h| h.len() == 64)
                .map(|h| format!("sha256:{h}"));
            (name, digest)
        })
        .collect::<Vec<_>>();
    read_layers(store, &layers, env_of(&config), progress)
}

pub(crate) fn env_of(config: &serde_json::Value) -> Vec<String> {
    config["config"]["Env"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A root filesystem folder (an unpacked image, or a Python environment's prefix): its record
/// files are read in place; there are no layers.
pub fn read_rootfs(root: &Path) -> Result<ImageInventory, ImageError> {
    let mut overlay = Overlay::default();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let e = e.map_err(io(&dir))?;
            let ft = e.file_type().map_err(io(&dir))?;
            let p = e.path();
            if ft.is_dir() {
                stack.push(p);
                continue;
            }
            if !ft.is_file() {
                continue;
            }
            let rel = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .to_string_lossy()
                .replace('\\', "/");
            if wanted(&rel) {
                if e.metadata().map_err(io(&p))?.len() > MAX_KEPT {
                    overlay.big.insert(rel.clone());
                    overlay
                        .files
                        .insert(rel, ("rootfs".to_string(), Vec::new()));
                    continue;
                }
                let b = std::fs::read(&p).map_err(io(&p))?;
                overlay.files.insert(rel, ("rootfs".to_string(), b));
            }
        }
    }
    Ok(overlay.finish(Vec::new(), 0))
}

/// One layer blob (plain, gzip or zstd tar) read as a whole image: for tests and fuzzing of the
/// layer path without a manifest around it.
pub fn read_layer_bytes(bytes: &[u8]) -> Result<ImageInventory, ImageError> {
    let origin = Path::new("<layer>");
    let mut overlay = Overlay::default();
    overlay.layer(
        "layer",
        decompressed(std::io::Cursor::new(bytes), origin)?,
        origin,
    )?;
    Ok(overlay.finish(Vec::new(), 1))
}
