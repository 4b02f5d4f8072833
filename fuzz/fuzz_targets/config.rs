//! Fuzzes `atelier_config::Config::parse` on arbitrary UTF-8: it never
//! panics, an error points inside the text, and a text that parses once
//! parses again to the same configuration (the cross-key check is part of
//! `parse`, so a second parse re-runs it).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match atelier_config::Config::parse("fuzz", text) {
        Ok(config) => {
            let again = atelier_config::Config::parse("fuzz", text)
                .expect("a configuration that parsed once must parse again");
            assert_eq!(format!("{config:?}"), format!("{again:?}"));
        }
        Err(error) => {
            assert_eq!(error.origin, "fuzz");
            assert!(
                !error.message.is_empty(),
                "an error must say what is wrong: {error:?}"
            );
            let lines = text.matches('\n').count() + 1;
            if let Some(line) = error.line {
                assert!((1..=lines).contains(&line), "line {line} of {lines}");
                assert!(error.column.is_some_and(|column| column >= 1));
            }
            assert!(error.to_string().starts_with("fuzz"));
        }
    }
});
