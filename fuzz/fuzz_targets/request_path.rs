//! The request-path parser: never panics, and what it forwards reads back as the same path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::RequestPath;

fuzz_target!(|data: &[u8]| {
    let Ok(target) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(path) = RequestPath::parse(target) {
        let forwarded = path.to_uri_path();
        assert_eq!(RequestPath::parse(&forwarded).as_ref(), Ok(&path), "{forwarded}");
        // A path is always within itself and within the root, in its own spelling.
        assert_eq!(path.within(&path), Ok(true));
        let root = RequestPath::parse("/").expect("the root");
        assert_eq!(path.within(&root), Ok(true));
    }
});
