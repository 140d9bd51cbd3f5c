//! The email-address parser: never panics; what it accepts is lower-case in the domain,
//! has exactly one `@`, and parses again to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tessera_core::Email;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(e) = Email::parse(s) {
        let text = e.as_str().to_owned();
        assert_eq!(text.matches('@').count(), 1, "{text:?}");
        let again = Email::parse(&text).map(|x| x.as_str().to_owned());
        assert_eq!(again.as_deref(), Ok(text.as_str()));
    }
});
