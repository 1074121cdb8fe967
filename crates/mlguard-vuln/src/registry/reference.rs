//! Image references as docker writes them: `[host[:port]/]repo/path[:tag][@sha256:hex]`.
//!
//! A first component counts as a registry host when it holds a `.` or a `:`, is `localhost`, or
//! is an IPv6 address in brackets; otherwise the image is on Docker Hub (`docker.io`, whose API
//! host is `registry-1.docker.io`), where a one-component name is an official image under
//! `library/`. Without a tag or digest the tag is `latest`; with a digest, the digest is what is
//! pulled (a tag beside it is only kept for display).

use crate::image::ImageError;

/// Docker Hub, as references name it.
const DOCKER_HUB: &str = "docker.io";
/// Docker Hub's API host.
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reference {
    /// The registry as written, `host[:port]` (`docker.io` when none was written): the name
    /// credentials are looked up under.
    pub registry: String,
    /// The repository path (`library/` added for Docker Hub's official images).
    pub repository: String,
    /// The tag, when one was written (`latest` is used when neither tag nor digest was).
    pub tag: Option<String>,
    /// `sha256:<64 hex>`, when one was written.
    pub digest: Option<String>,
}

impl Reference {
    /// The `host[:port]` the distribution API is served on.
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// The host without the port (for the loopback check), brackets kept for IPv6.
    pub(crate) fn host_name(&self) -> &str {
        let h = self.api_host();
        if h.starts_with('[') {
            match h.find(']') {
                Some(i) => &h[..=i],
                None => h,
            }
        } else {
            h.split(':').next().unwrap_or(h)
        }
    }

    /// What to ask the registry for: the digest, else the tag, else `latest`.
    pub fn manifest_reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        } else if self.tag.is_none() {
            f.write_str(":latest")?;
        }
        Ok(())
    }
}

/// Whether `d` is `sha256:` and 64 lowercase hex digits.
pub(crate) fn is_sha256_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Parse an image reference (`host[:port]/repo/path[:tag][@sha256:...]`), with docker's
/// defaults for Docker Hub.
pub fn parse_reference(s: &str) -> Result<Reference, ImageError> {
    let err = |why: String| ImageError::Format {
        path: s.to_string(),
        why,
    };
    let t = s.trim();
    if t.is_empty() {
        return Err(err("an empty image reference".into()));
    }
    if t.contains("://") {
        return Err(err(
            "give an image reference (host/repository:tag), not a URL".into(),
        ));
    }
    let (rest, digest) = match t.split_once('@') {
        Some((r, d)) => {
            if !is_sha256_digest(d) {
                return Err(err(format!(
                    "digest {d:?} is not sha256: followed by 64 lowercase hex digits"
                )));
            }
            (r, Some(d.to_string()))
        }
        None => (t, None),
    };
    let (registry, path) = match rest.split_once('/') {
        Some((first, more))
            if first.contains(['.', ':']) || first == "localhost" || first.starts_with('[') =>
        {
            (first.to_string(), more)
        }
        _ => (DOCKER_HUB.to_string(), rest),
    };
    let registry = if registry == "index.docker.io" {
        DOCKER_HUB.to_string()
    } else {
        registry
    };
    valid_registry(&registry).map_err(err)?;
    let (path, tag) = match path.rsplit_once(':') {
        Some((p, tag)) => {
            let ok = !tag.is_empty()
                && tag.len() <= 128
                && !tag.starts_with(['.', '-'])
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            if !ok {
                return Err(err(format!(
                    "tag {tag:?} is not valid (letters, digits, _ . -, up to 128)"
                )));
            }
            (p, Some(tag.to_string()))
        }
        None => (path, None),
    };
    if path.is_empty() {
        return Err(err("no repository name".into()));
    }
    for c in path.split('/') {
        let ok = !c.is_empty()
            && c.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            })
            && c.as_bytes()[0].is_ascii_alphanumeric()
            && c.as_bytes()[c.len() - 1].is_ascii_alphanumeric();
        if !ok {
            return Err(err(format!(
                "repository component {c:?} is not valid (lowercase letters, digits and . _ - between them)"
            )));
        }
    }
    let repository = if registry == DOCKER_HUB && !path.contains('/') {
        format!("library/{path}")
    } else {
        path.to_string()
    };
    Ok(Reference {
        registry,
        repository,
        tag,
        digest,
    })
}

fn valid_registry(r: &str) -> Result<(), String> {
    let (host, port) = if let Some(v6) = r.strip_prefix('[') {
        let (inside, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("registry {r:?}: unclosed ["))?;
        if inside.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("registry {r:?}: not an IPv6 address"));
        }
        match after {
            "" => ("", None),
            p => match p.strip_prefix(':') {
                Some(p) => ("", Some(p)),
                None => return Err(format!("registry {r:?}: junk after the address")),
            },
        }
    } else {
        match r.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (r, None),
        }
    };
    if let Some(p) = port {
        if p.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(format!("registry {r:?}: port {p:?} is not a port number"));
        }
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
        || (!r.starts_with('[') && host.is_empty())
    {
        return Err(format!("registry host {r:?} is not valid"));
    }
    Ok(())
}
