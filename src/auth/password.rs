//! Password hashing (argon2id with OWASP's parameters), generation and the rules
//! a new password must meet.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng as _;

use crate::error::AppError;

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 256;

/// A passphrase this long is accepted whatever words it is made of.
const PASSPHRASE_LENGTH: usize = 64;
/// zxcvbn's score of at least "safely unguessable" (10^8 guesses and more).
const MIN_SCORE: zxcvbn::Score = zxcvbn::Score::Three;
/// Words anyone guessing a password here would try first.
const LOCAL_WORDS: [&str; 8] = [
    "samleng",
    "cpdd",
    "cambodia",
    "battambang",
    "phnompenh",
    "khmer",
    "kampuchea",
    "ngo",
];

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
    } else if length < PASSPHRASE_LENGTH && is_guessable(password, email) {
        Some("password-too-common")
    } else {
        None
    }
}

/// zxcvbn's estimate, knowing the user's e-mail and the words of this place.
fn is_guessable(password: &str, email: &str) -> bool {
    let mut known: Vec<&str> = LOCAL_WORDS.to_vec();
    known.extend(
        email
            .split(['@', '.', '-', '_'])
            .filter(|part| !part.is_empty()),
    );
    known.push(email);
    zxcvbn::zxcvbn(password, &known).score() < MIN_SCORE
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
        // The 45-entry list let these through.
        for guessable in [
            "Cambodia2021!",
            "Battambang2024",
            "P@ssw0rd2021!",
            "Password1234!",
        ] {
            assert_eq!(
                weakness(guessable, "a@b.org"),
                Some("password-too-common"),
                "{guessable}"
            );
        }
        let passphrase = "a".repeat(32) + &"b".repeat(32);
        assert_eq!(
            weakness(&passphrase, "a@b.org"),
            None,
            "64 characters and more"
        );
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
