//! Fuzzes the JSON bodies the REST API accepts: `NewSession`, `NewJob` and
//! the login body. Decoding never panics; an accepted `NewSession` always
//! yields a display name (or a clean refusal) within the documented rules,
//! and accepted bodies survive a round trip through JSON unchanged.

#![no_main]

use atelier_core::{NewJob, NewSession, UserName};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

/// The shape of `POST /api/v1/auth/login` (the web crate keeps its own
/// type private; this mirrors its fields and `deny_unknown_fields`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the password is decoded, never read
struct LoginBody {
    username: String,
    password: String,
}

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = serde_json::from_slice::<NewSession>(data) {
        check_session(&request);
    }
    if let Ok(job) = serde_json::from_slice::<NewJob>(data) {
        let text = serde_json::to_vec(&job).expect("an accepted job serialises");
        let again: NewJob = serde_json::from_slice(&text).expect("its JSON decodes again");
        assert_eq!(job, again);
    }
    if let Ok(login) = serde_json::from_slice::<LoginBody>(data) {
        if let Ok(name) = UserName::parse(&login.username) {
            assert_eq!(name.as_str(), login.username);
            assert!((1..=32).contains(&name.as_str().len()));
        }
    }
});

fn check_session(request: &NewSession) {
    let kind = request.kind.as_str();
    assert!((1..=32).contains(&kind.len()), "kind {kind:?}");
    match request.display_name() {
        Ok(name) => {
            assert!(!name.is_empty());
            assert!(name.chars().count() <= 100);
            assert!(!name.chars().any(char::is_control));
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
    let text = serde_json::to_vec(request).expect("an accepted request serialises");
    let again: NewSession = serde_json::from_slice(&text).expect("its JSON decodes again");
    assert_eq!(request, &again);
}
