//! Password hashing (Argon2id, OWASP parameters) and Zulip's strength policy.
//!
//! These functions are CPU-bound (tens of milliseconds); callers run them off the async runtime
//! with bounded concurrency. Nothing here logs or keeps a password.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;

/// Zulip's `PASSWORD_MIN_LENGTH`.
pub const PASSWORD_MIN_LENGTH: usize = 6;
/// Zulip's `PASSWORD_MAX_LENGTH`.
pub const PASSWORD_MAX_LENGTH: usize = 100;
/// Zulip's `PASSWORD_MIN_GUESSES` (zxcvbn estimate).
pub const PASSWORD_MIN_GUESSES: u64 = 10_000;

/// Why a new password was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordPolicyError {
    #[error("Password is too long.")]
    TooLong,
    #[error("The password is too weak.")]
    TooWeak,
}

fn hasher() -> Argon2<'static> {
    // OWASP minimum for Argon2id: m = 19 MiB, t = 2, p = 1. `Params::new` only fails for
    // out-of-range values, which these are not.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hash a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(hasher()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Verify a password against a stored PHC string. An empty password never matches (Zulip).
pub fn verify_password(phc: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let ok = hasher()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && !password.is_empty()
}

/// Zulip's `check_password_strength`: length in [6, 100] and a zxcvbn guess estimate of at
/// least 10 000.
pub fn check_password_strength(password: &str) -> Result<(), PasswordPolicyError> {
    let len = password.chars().count();
    if len > PASSWORD_MAX_LENGTH {
        return Err(PasswordPolicyError::TooLong);
    }
    if len < PASSWORD_MIN_LENGTH {
        return Err(PasswordPolicyError::TooWeak);
    }
    if zxcvbn::zxcvbn(password, &[]).guesses() < PASSWORD_MIN_GUESSES {
        return Err(PasswordPolicyError::TooWeak);
    }
    Ok(())
}

/// How strong a password looks, as Zulip's web pages show it (`password_quality`): the
/// meter's fill (0–1, the zxcvbn guesses on a log scale against the minimum) and whether the
/// server will accept it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PasswordStrength {
    pub fraction: f64,
    pub acceptable: bool,
}

/// The strength of a password, by the same rule as [`check_password_strength`] (zxcvbn runs
/// once).
pub fn password_strength(password: &str) -> PasswordStrength {
    let len = password.chars().count();
    if len == 0 || len > PASSWORD_MAX_LENGTH {
        return PasswordStrength {
            fraction: 0.0,
            acceptable: false,
        };
    }
    let guesses = zxcvbn::zxcvbn(password, &[]).guesses().max(1);
    let acceptable = len >= PASSWORD_MIN_LENGTH && guesses >= PASSWORD_MIN_GUESSES;
    let mut fraction = ((guesses as f64).ln() / (PASSWORD_MIN_GUESSES as f64).ln()).clamp(0.0, 1.0);
    if !acceptable {
        // Short of the rule, the meter never looks full.
        fraction = fraction.min(0.9);
    }
    PasswordStrength {
        fraction,
        acceptable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strength_follows_the_rule() {
        let weak = password_strength("abc");
        assert!(!weak.acceptable);
        assert!(weak.fraction < 0.9);
        let common = password_strength("password");
        assert!(!common.acceptable);
        let strong = password_strength("violet submarine 73 orbit");
        assert!(strong.acceptable);
        assert_eq!(strong.fraction, 1.0);
        assert!(!password_strength("").acceptable);
        assert!(!password_strength(&"x".repeat(101)).acceptable);
    }

    #[test]
    fn hash_and_verify() {
        let phc = hash_password("correct horse battery").unwrap_or_else(|e| panic!("{e}"));
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password(&phc, "correct horse battery"));
        assert!(!verify_password(&phc, "correct horse batterY"));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn empty_password_never_verifies() {
        let phc = hash_password("").unwrap_or_else(|e| panic!("{e}"));
        assert!(!verify_password(&phc, ""));
    }

    #[test]
    fn strength() {
        assert_eq!(
            check_password_strength("abc"),
            Err(PasswordPolicyError::TooWeak)
        );
        assert_eq!(
            check_password_strength("password"),
            Err(PasswordPolicyError::TooWeak)
        );
        assert_eq!(
            check_password_strength(&"Zx9!".repeat(30)),
            Err(PasswordPolicyError::TooLong)
        );
        assert_eq!(check_password_strength("tessera-Mosaic-42"), Ok(()));
    }
}
