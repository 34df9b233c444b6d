//! The refresh-cookie reader and stripper: never panic, and once the cookie is stripped from a
//! request, nothing of it can be read there any more.
#![no_main]

use axum::http::{header, HeaderMap, HeaderValue};
use cookie::SameSite;
use libfuzzer_sys::fuzz_target;
use portcullis_http::CookieSettings;

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    // Each line of the input is one Cookie header, as a browser or an attacker may send several.
    for line in data.split(|&byte| byte == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append(header::COOKIE, value);
        }
    }
    for host_prefix in [false, true] {
        let settings = CookieSettings::new("__Secure-portcullis-refresh", SameSite::Strict, host_prefix);
        let _ = settings.read(&headers);
        let mut stripped = headers.clone();
        settings.remove_from(&mut stripped);
        assert_eq!(format!("{:?}", settings.read(&stripped)), "Absent");
    }
});
