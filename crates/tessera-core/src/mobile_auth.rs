//! Handing a credential to a Zulip app through the browser (Zulip's
//! `zerver/lib/mobile_auth_otp.py` and the desktop flow): the app's one-time pad is 32 random
//! bytes as 64 hex characters.
//!
//! - Mobile: the API key is XORed with the pad and hex-encoded (`otp_encrypted_api_key`).
//! - Desktop: a one-time login token is sealed with AES-256-GCM under the pad as key, a random
//!   12-byte IV and no AAD; the app gets `hex(iv ‖ ciphertext ‖ tag)`.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};

/// Zulip's `is_valid_otp`: exactly 64 hex digits, either case.
pub fn is_valid_otp(otp: &str) -> bool {
    otp.len() == 64 && otp.bytes().all(|b| b.is_ascii_hexdigit())
}

fn pad(otp: &str) -> Option<Vec<u8>> {
    if !is_valid_otp(otp) {
        return None;
    }
    hex::decode(otp.to_ascii_lowercase()).ok()
}

/// Zulip's `otp_encrypt_api_key`: the 32 key bytes XOR the pad, lower-case hex.
pub fn otp_encrypt_api_key(key: &str, otp: &str) -> Option<String> {
    let pad = pad(otp)?;
    if key.len() != 32 {
        return None;
    }
    Some(hex::encode(
        key.bytes()
            .zip(pad)
            .map(|(k, p)| k ^ p)
            .collect::<Vec<u8>>(),
    ))
}

/// What the app does with the redirect: the key back from `otp_encrypted_api_key`.
pub fn otp_decrypt_api_key(encrypted: &str, otp: &str) -> Option<String> {
    let pad = pad(otp)?;
    let enc = hex::decode(encrypted).ok()?;
    if enc.len() != 32 {
        return None;
    }
    String::from_utf8(enc.into_iter().zip(pad).map(|(e, p)| e ^ p).collect()).ok()
}

/// Seal the desktop login token: `hex(iv ‖ ciphertext ‖ tag)`.
pub fn desktop_encrypt(token: &str, otp: &str) -> Option<String> {
    let pad = pad(otp)?;
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&pad));
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let sealed = cipher.encrypt(&nonce, token.as_bytes()).ok()?;
    let mut out = nonce.to_vec();
    out.extend(sealed);
    Some(hex::encode(out))
}

/// What the desktop app does: the token back from `desktop_data`.
pub fn desktop_decrypt(data: &str, otp: &str) -> Option<String> {
    let pad = pad(otp)?;
    let raw = hex::decode(data).ok()?;
    if raw.len() < 12 + 16 {
        return None;
    }
    let (iv, sealed) = raw.split_at(12);
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&pad));
    let plain = cipher.decrypt(Nonce::from_slice(iv), sealed).ok()?;
    String::from_utf8(plain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OTP: &str = "1f2e3d4c5b6a79880716253443526170000102030405060708090a0b0c0d0e0f";

    #[test]
    fn otp_shape() {
        assert!(is_valid_otp(OTP));
        assert!(is_valid_otp(&OTP.to_uppercase()));
        assert!(!is_valid_otp(&OTP[..63]));
        assert!(!is_valid_otp(&format!("{}g", &OTP[..63])));
    }

    #[test]
    fn mobile_round_trip_matches_zulips_nibble_xor() {
        let key = "abcdefghijklmnopqrstuvwxyzABCDEF";
        let enc = otp_encrypt_api_key(key, OTP).unwrap_or_default();
        assert_eq!(enc.len(), 64);
        // Zulip XORs hex(key) with the OTP one hex digit at a time.
        let nibbles: String = hex::encode(key)
            .chars()
            .zip(OTP.chars())
            .map(|(a, b)| {
                let v = a.to_digit(16).unwrap_or(0) ^ b.to_digit(16).unwrap_or(0);
                char::from_digit(v, 16).unwrap_or('0')
            })
            .collect();
        assert_eq!(enc, nibbles);
        assert_eq!(otp_decrypt_api_key(&enc, OTP).as_deref(), Some(key));
    }

    #[test]
    fn desktop_round_trip() {
        let data = desktop_encrypt("tokentokentokentokentokentoken12", OTP).unwrap_or_default();
        assert_eq!(
            desktop_decrypt(&data, OTP).as_deref(),
            Some("tokentokentokentokentokentoken12")
        );
        let other = OTP.replace('1', "2");
        assert_eq!(desktop_decrypt(&data, &other), None);
    }
}
