//! Password hashing (argon2id with OWASP's parameters), generation and the rules
//! a new password must meet.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng as _;

use crate::error::AppError;

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 256;

/// Passwords people choose most often, of at least `MIN_LENGTH` characters.
const COMMON: &str = include_str!("common-passwords.txt");

fn argon2() -> Argon2<'static> {
    // OWASP: argon2id, 19 MiB of memory, 2 iterations, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password off the async threads: it takes tens of milliseconds on purpose.
pub async fn hash(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|error| AppError::Internal(error.into()))?
}

fn hash_now(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| AppError::Internal(anyhow::anyhow!("hashing a password: {error}")))
}

/// Checks a password against a stored hash, or against a dummy hash when there is
/// no account, so that an unknown e-mail takes as long as a wrong password.
pub async fn verify(password: String, stored_hash: Option<String>) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        let stored = match stored_hash {
            Some(hash) => hash,
            None => dummy_hash()?.to_owned(),
        };
        let parsed = PasswordHash::new(&stored)
            .map_err(|error| AppError::Internal(anyhow::anyhow!("stored hash: {error}")))?;
        Ok(argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|error| AppError::Internal(error.into()))?
}

fn dummy_hash() -> Result<&'static str, AppError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash);
    }
    let hash = hash_now("no account has this password")?;
    Ok(DUMMY.get_or_init(|| hash))
}

/// A short fingerprint of a password hash kept in the session: when the password
/// changes, every session holding the old fingerprint ends.
pub fn fingerprint(password_hash: &str) -> String {
    let tail = password_hash.len().saturating_sub(16);
    password_hash.get(tail..).unwrap_or_default().to_owned()
}

/// A random password for new accounts and resets: 20 characters from an alphabet
/// without look-alikes, so it can be read out over the phone.
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// Why a chosen password is refused, as a message key.
pub fn weakness(password: &str, email: &str) -> Option<&'static str> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        Some("password-too-short")
    } else if length > MAX_LENGTH {
        Some("password-too-long")
    } else if is_common(password) || password.eq_ignore_ascii_case(email) {
        Some("password-too-common")
    } else {
        None
    }
}

fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    COMMON.lines().any(|common| common == lower) || lower.chars().all(|c| lower.starts_with(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_common_and_repeated_passwords_are_refused() {
        assert_eq!(weakness("short", "a@b.org"), Some("password-too-short"));
        assert_eq!(
            weakness("Password1234", "a@b.org"),
            Some("password-too-common")
        );
        assert_eq!(
            weakness("zzzzzzzzzzzzzz", "a@b.org"),
            Some("password-too-common")
        );
        assert_eq!(
            weakness("someone@ngo.org", "someone@ngo.org"),
            Some("password-too-common")
        );
        assert_eq!(weakness("river-lotus-kampot-42", "a@b.org"), None);
    }

    #[test]
    fn generated_passwords_are_accepted_and_differ() {
        let first = generate();
        assert_eq!(weakness(&first, "a@b.org"), None);
        assert_ne!(first, generate());
    }

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters() {
        let hash = hash_now("river-lotus-kampot-42").expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
    }
}
