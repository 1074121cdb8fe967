//! Builders the image tests share: tar layers, gzip, SHA-256 digests and blobs of an OCI
//! layout.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;

/// A tar of (path, body) regular files.
pub fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, body) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, path, *body).unwrap();
    }
    b.into_inner().unwrap()
}

pub fn gzip_with(b: &[u8], level: flate2::Compression) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), level);
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

pub fn gzip(b: &[u8]) -> Vec<u8> {
    gzip_with(b, flate2::Compression::fast())
}

/// Lower-case hex SHA-256.
pub fn sha256(b: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, b)
        .as_ref()
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Write a blob under `root/blobs/sha256`, return its digest.
pub fn blob(root: &Path, b: &[u8]) -> String {
    let d = sha256(b);
    std::fs::write(root.join("blobs/sha256").join(&d), b).unwrap();
    format!("sha256:{d}")
}
