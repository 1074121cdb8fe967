//! The data key: 32 random bytes, the input key material of the body's streaming AEAD (and of
//! the header MAC key). Zeroized on drop; its Debug output never shows the bytes.

use crate::Error;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// Length of a data key and of a local key-encryption key, in bytes.
pub const KEY_LEN: usize = 32;

/// A data key. Cloning copies the secret (both copies are zeroized on drop).
#[derive(Clone, PartialEq, Eq)]
pub struct DataKey(Zeroizing<[u8; KEY_LEN]>);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl DataKey {
    /// A fresh key from the operating system's random source.
    pub fn random() -> Result<Self, Error> {
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        random_fill(k.as_mut())?;
        Ok(DataKey(k))
    }

    /// A key from exactly 32 bytes (a provider's unwrapped plaintext).
    pub fn from_slice(b: &[u8]) -> Result<Self, Error> {
        let arr: [u8; KEY_LEN] = b
            .try_into()
            .map_err(|_| Error::Key(format!("a data key has {KEY_LEN} bytes, got {}", b.len())))?;
        Ok(DataKey(Zeroizing::new(arr)))
    }

    /// The secret bytes. Do not log or print them.
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

/// Fill `buf` with random bytes from the operating system.
pub fn random_fill(buf: &mut [u8]) -> Result<(), Error> {
    SystemRandom::new().fill(buf).map_err(|_| Error::Provider {
        provider: "random",
        message: "the operating system's random source failed".into(),
    })
}

/// HKDF-SHA256 of `ikm` with `salt` and `info`, `N` bytes out.
pub fn hkdf_sha256<const N: usize>(ikm: &[u8], salt: &[u8], info: &[&[u8]]) -> Zeroizing<[u8; N]> {
    struct Len(usize);
    impl ring::hkdf::KeyType for Len {
        fn len(&self) -> usize {
            self.0
        }
    }
    let mut out = Zeroizing::new([0u8; N]);
    ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, salt)
        .extract(ikm)
        .expand(info, Len(N))
        .and_then(|okm| okm.fill(out.as_mut()))
        .expect("HKDF-SHA256 output of at most 255 * 32 bytes");
    out
}
