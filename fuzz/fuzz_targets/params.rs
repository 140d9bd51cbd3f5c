//! Zulip's parameter decoding: query string + form body, JSON-typed values and narrows. Never
//! panics; the body always wins over the query string for the same name.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tessera_core::wire;

fuzz_target!(|data: &[u8]| {
    // Split the input: query | content-type selector | body.
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let (query, rest) = data.split_at(split);
    let query = String::from_utf8_lossy(query);
    let (ct, body) = match rest.get(1) {
        Some(b) if b % 2 == 0 => ("application/x-www-form-urlencoded", rest.get(2..).unwrap_or(&[])),
        Some(_) => ("", rest.get(2..).unwrap_or(&[])),
        None => ("", &[][..]),
    };
    let (values, body_len) = wire::decode_params(&query, ct, body);
    assert!(body_len <= values.len());
    // Every body value comes before every query value.
    let from_query = wire::decode_params(&query, "", &[]).0;
    assert_eq!(&values[body_len..], &from_query[..]);
    for (_, v) in &values {
        let _ = wire::json_int(v);
        let _ = wire::json_bool(v);
        let _ = wire::json_string(v);
        if let Ok(value) = wire::json_value(v) {
            let _ = wire::parse_narrow(value);
        }
    }
});
