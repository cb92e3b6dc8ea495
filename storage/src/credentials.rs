//! The stored credential formats, in one place for every writer and reader of accounts: the engine
//! (registration, login, token sign-in), `magpiectl admin create-user` (users written straight
//! into the store) and the load generator's seeding (devices written straight into the store).
//! A user or device written by any of them must verify exactly like one the engine wrote.
//!
//! - Passwords: argon2id, version 0x13, t = 2 iterations, p = 1 lane, memory from the engine's
//!   configuration ([`DEFAULT_MEMORY_KIB`] unless a test lowers it), stored as a PHC string
//!   (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), which carries its own parameters.
//! - Device tokens: 256 random bits, hex-encoded, shown to the client once; the store keeps only
//!   their SHA-256 ([`token_hash`]).
//!
//! Hashing a password costs tens of milliseconds of a core: callers on an async runtime run it on
//! a blocking thread. Built with the `credentials` feature (on by default).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// argon2id memory cost in KiB that the engine uses unless configured otherwise (19 MiB, OWASP's
/// recommendation for argon2id with t = 2, p = 1).
pub const DEFAULT_MEMORY_KIB: u32 = 19 * 1024;
/// argon2id iterations (t).
pub const ITERATIONS: u32 = 2;
/// argon2id lanes (p).
pub const PARALLELISM: u32 = 1;

fn argon2(memory_kib: u32) -> Result<Argon2<'static>, String> {
    let params = Params::new(memory_kib, ITERATIONS, PARALLELISM, None).map_err(|e| format!("argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// An argon2id PHC string for `password`, with a fresh random salt.
pub fn hash_password(password: &str, memory_kib: u32) -> Result<String, String> {
    let mut salt_bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| e.to_string())?;
    argon2(memory_kib)?.hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
}

/// Checks `password` against a stored PHC string (with the parameters the string names). Anything
/// that is not a PHC string (such as the load generator's seeded accounts) matches no password.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A PHC string no password matches, used to spend the same time on unknown usernames as on
/// known ones. Computed once per process: hashing it per login would double the work for unknown
/// names.
pub fn dummy_hash(memory_kib: u32) -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("magpie-timing-equaliser", memory_kib).unwrap_or_default())
}

/// A fresh device token: 256 random bits, hex-encoded.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the store keeps for a token (the `tokens` column family's key). Tokens carry 256 bits of
/// entropy, so a plain SHA-256 is enough: a slow hash protects low-entropy secrets such as
/// passwords, not random keys.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_with_the_parameters_they_carry() {
        let h = hash_password("correct horse", 1024).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=1024,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert_ne!(h, hash_password("correct horse", 1024).unwrap(), "a fresh salt each time");
        assert!(!verify_password("x", "not a phc string"));
        assert!(!verify_password("magpie-timing-equaliser", "!seeded-by-magpie-bench"));
        let dummy = dummy_hash(1024);
        assert!(dummy.starts_with("$argon2id$") && !verify_password("", dummy));
        assert!(hash_password("x", 1).is_err(), "argon2 refuses less than 8 KiB per lane");
    }

    #[test]
    fn the_default_cost_is_the_stored_format() {
        let h = hash_password("correct horse", DEFAULT_MEMORY_KIB).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse", &h));
    }

    #[test]
    fn tokens_are_random_and_hash_to_sha256() {
        let t = new_token();
        assert_eq!(t.len(), 64);
        assert!(t.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(t, new_token());
        assert_eq!(token_hash(&t), token_hash(&t));
        // SHA-256("abc"), the FIPS 180-2 test vector: the stored format, not just "some hash".
        assert_eq!(hex::encode(token_hash("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
