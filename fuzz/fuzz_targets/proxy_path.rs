//! Fuzzes how the proxy finds a session id in `/s/{id}/…`: the strict
//! `SessionId::parse`, applied to the raw text, to the first segment of the
//! path that `http::Uri` parses out of `/s/<input>/x` (what the proxy door
//! reads), and to that segment percent-decoded (what the router's `{id}`
//! extractor hands over). Nothing panics, and whatever is accepted is
//! exactly 32 lowercase hex digits.

#![no_main]

use atelier_core::SessionId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    accepts_only_ids(text);
    let Ok(uri) = format!("/s/{text}/x").parse::<http::Uri>() else {
        return;
    };
    let segment = uri
        .path()
        .trim_start_matches("/s/")
        .split('/')
        .next()
        .unwrap_or("");
    if let Some(id) = accepts_only_ids(segment) {
        // The redirect `/s/{id}` → `/s/{id}/` must itself be a valid URI
        // that leads back to the same id.
        let target: http::Uri = format!("/s/{id}/").parse().expect("redirect target");
        assert_eq!(target.path(), format!("/s/{id}/"));
    }
    if let Ok(decoded) = percent_encoding::percent_decode_str(segment).decode_utf8() {
        accepts_only_ids(&decoded);
    }
});

/// Parses `text` and checks the rule on anything accepted.
fn accepts_only_ids(text: &str) -> Option<SessionId> {
    let id = SessionId::parse(text).ok()?;
    let digits = id.as_str();
    assert_eq!(digits, text, "the id is the text, unchanged");
    assert_eq!(digits.len(), 32, "{digits:?}");
    assert!(
        digits
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        "{digits:?}"
    );
    Some(id)
}
