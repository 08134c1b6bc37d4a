//! The actor's RSA-2048 key pair: made once by `stoa init`, the private half
//! kept in a 0600 file outside the output folder, the public half published
//! in the actor document.

use std::io::Write;
use std::path::Path;

use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};

/// Bits of the actor key (what Mastodon and activitypub-federation use).
pub const KEY_BITS: usize = 2048;

/// Errors while making or saving keys.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Key generation or encoding failed.
    #[error("could not make the key pair: {0}")]
    Crypto(String),
    /// A private key could not be read (the message never holds key material).
    #[error("{0}")]
    Unreadable(String),
    /// A key file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A key pair as PEM text.
pub struct KeyPairPem {
    /// PKCS#8 private key (secret).
    pub private_pem: zeroizing::Secret,
    /// SPKI public key.
    pub public_pem: String,
}

/// Tiny wrapper that keeps the private key out of `Debug` output and logs.
pub mod zeroizing {
    /// A secret string; `Debug` prints nothing of it.
    pub struct Secret(pub(crate) rsa::pkcs8::der::zeroize::Zeroizing<String>);

    impl Secret {
        /// The secret text.
        pub fn expose(&self) -> &str {
            &self.0
        }
    }

    impl std::fmt::Debug for Secret {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Secret(..)")
        }
    }
}

/// Makes a fresh RSA-2048 key pair.
pub fn generate() -> Result<KeyPairPem, KeyError> {
    let mut rng = rand::thread_rng();
    let private =
        RsaPrivateKey::new(&mut rng, KEY_BITS).map_err(|e| KeyError::Crypto(e.to_string()))?;
    let public = RsaPublicKey::from(&private);
    let private_pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyError::Crypto(e.to_string()))?;
    let public_pem = public
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| KeyError::Crypto(e.to_string()))?;
    Ok(KeyPairPem {
        private_pem: zeroizing::Secret(private_pem),
        public_pem,
    })
}

/// Writes the private key to a new file readable only by its owner (0600),
/// creating its folder with mode 0700. Never overwrites an existing key.
pub fn write_private(path: &Path, pem: &zeroizing::Secret) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir).map_err(io)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(pem.expose().as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)
}

/// Checks that `text` is an RSA public key in SPKI PEM and returns it
/// normalised. A private key is refused without echoing any of it.
pub fn check_public_pem(text: &str) -> Result<String, String> {
    use rsa::pkcs8::DecodePublicKey;
    if text.contains("PRIVATE KEY") {
        return Err("this file holds a PRIVATE key; point `public_key` at the public half (`…pub.pem`) and keep the private key out of the site".into());
    }
    let key = RsaPublicKey::from_public_key_pem(text.trim()).map_err(|_| {
        "not an RSA public key in PEM format (-----BEGIN PUBLIC KEY-----)".to_string()
    })?;
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|e| format!("cannot encode the key: {e}"))
}

/// A short, printable fingerprint of a public key (`sha256:` and the first
/// 16 bytes of the SHA-256 of its normalised SPKI PEM, in hex), so two
/// machines can tell whether they hold the same key without showing it.
/// `None` when `public_pem` is not an RSA public key.
pub fn fingerprint(public_pem: &str) -> Option<String> {
    use sha2::{Digest, Sha256};
    let normalised = check_public_pem(public_pem).ok()?;
    let digest = Sha256::digest(normalised.as_bytes());
    Some(format!("sha256:{}", hex::encode(&digest[..16])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_names_the_key_not_its_spelling() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        let fa = fingerprint(&a.public_pem).unwrap();
        assert!(fa.starts_with("sha256:") && fa.len() == 7 + 32, "{fa}");
        assert_eq!(
            fingerprint(&format!("\n{}\n\n", a.public_pem)),
            Some(fa.clone())
        );
        assert_ne!(fingerprint(&b.public_pem), Some(fa));
        assert_eq!(fingerprint("not a key"), None);
    }

    #[test]
    fn private_key_file_is_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let pair = generate().unwrap();
        assert!(pair.public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        assert_eq!(format!("{:?}", pair.private_pem), "Secret(..)");
        let path = dir.path().join("secrets/actor.pem");
        write_private(&path, &pair.private_pem).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert!(
            write_private(&path, &pair.private_pem).is_err(),
            "must not overwrite"
        );
    }
}

/// The actor's private key, ready to sign with `ring` (constant time; the
/// `rsa` crate's private-key operations carry RUSTSEC-2023-0071).
pub struct SigningKey(ring::signature::RsaKeyPair, String);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// Reads an RSA private key in PEM: PKCS#8 (`BEGIN PRIVATE KEY`, what
    /// stoa writes) or PKCS#1 (`BEGIN RSA PRIVATE KEY`, what older tools and
    /// `openssl genrsa` write). Errors never contain key material.
    pub fn from_pem(pem: &str) -> Result<SigningKey, KeyError> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
        let pem = pem.trim();
        let key = RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|_| {
                KeyError::Unreadable(
                    "not an RSA private key in PEM format (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)".into(),
                )
            })?;
        let der = key
            .to_pkcs8_der()
            .map_err(|_| KeyError::Crypto("cannot encode the private key".into()))?;
        let public_pem = RsaPublicKey::from(&key)
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| KeyError::Crypto("cannot derive the public key".into()))?;
        ring::signature::RsaKeyPair::from_pkcs8(der.as_bytes())
            .map(|pair| SigningKey(pair, public_pem))
            .map_err(|e| KeyError::Crypto(format!("the private key is not usable: {e}")))
    }

    /// The public half in SPKI PEM, to check it matches the published key.
    pub fn public_pem(&self) -> &str {
        &self.1
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = ring::rand::SystemRandom::new();
        let mut out = vec![0u8; self.0.public().modulus_len()];
        // Signing only fails for a wrong output length, which is set above.
        match self
            .0
            .sign(&ring::signature::RSA_PKCS1_SHA256, &rng, message, &mut out)
        {
            Ok(()) => out,
            Err(_) => Vec::new(),
        }
    }
}

/// A public key that verifies RSA-SHA256 signatures.
#[derive(Debug, Clone)]
pub struct PublicKey(Vec<u8>);

impl PublicKey {
    /// Reads an SPKI PEM public key (`publicKeyPem` of an actor).
    pub fn from_pem(pem: &str) -> Result<PublicKey, KeyError> {
        use rsa::pkcs1::EncodeRsaPublicKey;
        use rsa::pkcs8::DecodePublicKey;
        let key = RsaPublicKey::from_public_key_pem(pem.trim())
            .map_err(|_| KeyError::Crypto("not an RSA public key in PEM format".into()))?;
        key.to_pkcs1_der()
            .map(|d| PublicKey(d.as_bytes().to_vec()))
            .map_err(|e| KeyError::Crypto(e.to_string()))
    }

    /// Whether `signature` is a valid RSASSA-PKCS1-v1_5 SHA-256 signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            &self.0,
        )
        .verify(message, signature)
        .is_ok()
    }
}

/// Key pairs for tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::{PublicKey, SigningKey, generate};

    /// A fresh key pair, ready to sign and verify.
    pub(crate) fn pair() -> (SigningKey, PublicKey) {
        let p = generate().expect("keygen");
        (
            SigningKey::from_pem(p.private_pem.expose()).expect("signing key"),
            PublicKey::from_pem(&p.public_pem).expect("public key"),
        )
    }
}
