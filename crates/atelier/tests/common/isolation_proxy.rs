//! The isolation suite's attacks on the proxy: path tricks and near-misses
//! as raw HTTP, forged identity headers and credentials, WebSocket upgrades
//! and cross-site requests. Each attack on alice's session is sent again
//! with a session id that does not exist, and both answers must match.

use serde_json::Value;

use crate::isolation_world::{headers, Headers, Ledger, World};

/// The path tricks and near-misses, `ID` standing for the session id.
fn path_tricks() -> Vec<Vec<u8>> {
    let long_path = format!("/s/ID/{}", "a/".repeat(30_000));
    let long_id = format!("/s/ID{}/", "0".repeat(70_000));
    let text = [
        "/s/ID/",
        "/s/ID/api/status",
        "/s/ID",
        "/s/x/../ID/",
        "/s/x/../ID/api",
        "/s/./ID/",
        "/./s/ID/",
        "/s/ID/../ID/",
        "/s/%2e%2e/ID/",
        "/s/x/%2e%2e/ID/",
        "/s/x/%2E%2E/ID/",
        "/s/x%2F..%2FID/",
        "/s/x%2f%2e%2e%2fID/",
        "/s%2FID/",
        "/s%2fID/",
        "/%73/ID/",
        "/s/%2FID/",
        "/s/%30ID/",
        "/s/x%252F..%252FID/",
        "/s%252FID/",
        "/s/%252e%252e/ID/",
        "//s/ID/",
        "/s//ID/",
        "/s/ID//",
        "///s///ID///",
        "/s/UPPER/",
        "/S/ID/",
        "/S/UPPER/",
        "/s/IDx/",
        "/s/ID0/",
        "/s/0ID/",
        "/s/ID;x/",
        "/s/ID;/",
        "/s/ID%20/",
        "/s/ID%00/",
        "/s/ID%2F/",
        "/s/ID%2e%2e/",
        "/s/ID/%00",
        "/s/ID/..%2F..%2F",
        "/s/ID..",
        "/s/ID?x",
        "/s/ID/?x=/s/ID/",
        "/s/ID#x",
        "/s/ID%E2%80%8B/",
        "/s/+ID/",
        "/s/ID%0A/",
        "/s/ID\\",
        "/s\\ID/",
        "http://127.0.0.1/s/ID/",
        "http://evil.example/s/ID/",
        long_path.as_str(),
        long_id.as_str(),
    ];
    let mut tricks: Vec<Vec<u8>> = text.iter().map(|t| t.as_bytes().to_vec()).collect();
    tricks.push(b"/s/ID\0/".to_vec());
    tricks.push(b"/s/\0ID/".to_vec());
    tricks.push(b"/s/ID/\0".to_vec());
    tricks.push(b"/s/ID\t/".to_vec());
    tricks.push(b"/s/ID\xff/".to_vec());
    tricks
}

fn fill(template: &[u8], id: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(template)
        .replace("UPPER", &id.to_ascii_uppercase())
        .replace("ID", id);
    // Templates with bytes that are not UTF-8 are filled byte-wise.
    if template.contains(&0xff) {
        let mut out = Vec::new();
        for (i, part) in template.split(|b| *b == 0xff).enumerate() {
            if i > 0 {
                out.push(0xff);
            }
            out.extend_from_slice(&fill(part, id));
        }
        return out;
    }
    text.into_bytes()
}

/// Path tricks with bob's token, bob's cookie and no credentials.
pub(crate) async fn proxy_path_tricks(w: &World, ledger: &mut Ledger) {
    let credentials = [
        ("bob's token", w.bob_bearer()),
        ("bob's cookie", World::browser(&w.b_browser)),
        ("no credentials", Vec::new()),
    ];
    for template in path_tricks() {
        for (who, h) in &credentials {
            let what = format!(
                "{who} {}",
                String::from_utf8_lossy(&template[..template.len().min(60)])
            );
            let make = |id: &str| fill(&template, id);
            for id in [&w.a_web, &w.a_lab] {
                w.like_missing(ledger, &what, "GET", &make, id, h).await;
            }
        }
    }
    // Every method on the stolen id.
    for method in [
        "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "PROPFIND",
    ] {
        let make = |id: &str| format!("/s/{id}/api/contents").into_bytes();
        w.like_missing(ledger, method, method, &make, &w.a_web, &w.bob_bearer())
            .await;
    }
    // Through bob's own session towards alice's: it stays in bob's app.
    for template in [
        "/s/BOB/../ID/",
        "/s/BOB/%2e%2e/ID/",
        "/s/BOB/..%2FID/",
        "/s/BOB//s/ID/",
    ] {
        let target = template.replace("BOB", &w.b_web).replace("ID", &w.a_web);
        let reply = w.raw("GET", target.as_bytes(), &w.bob_bearer(), b"").await;
        ledger.attack(&reply.body);
        if reply.status == 200 {
            let seen: Value = serde_json::from_slice(&reply.body).unwrap();
            assert_eq!(
                seen["uid"], w.bob.uid,
                "{target} reached another user's app"
            );
        }
    }
}

/// Headers that claim another identity, host or origin, with bob's token
/// and with none.
pub(crate) async fn header_claims(w: &World, ledger: &mut Ledger) {
    let alice = w.alice.name.as_str();
    let here = format!("127.0.0.1:{}", w.port);
    let original = format!("/s/{}/", w.a_web);
    let claims: Vec<Vec<(&str, &str)>> = vec![
        vec![("Host", "evil.example")],
        vec![("Host", "localhost")],
        vec![("Host", "")],
        vec![("X-Forwarded-For", "127.0.0.1")],
        vec![("X-Forwarded-Host", &here)],
        vec![("X-Forwarded-Proto", "https")],
        vec![("Forwarded", "for=127.0.0.1;proto=https;host=localhost")],
        vec![("X-Forwarded-User", alice), ("X-Remote-User", alice)],
        vec![
            ("Remote-User", alice),
            ("X-Atelier-User", alice),
            ("X-User", alice),
        ],
        vec![("X-Real-IP", "127.0.0.1"), ("X-Client-IP", "127.0.0.1")],
        vec![("X-Original-URL", &original), ("X-Rewrite-URL", &original)],
    ];
    let make = |id: &str| format!("/s/{id}/api/status").into_bytes();
    for claim in &claims {
        for mut h in [w.bob_bearer(), Vec::new()] {
            h.extend(headers(claim));
            w.like_missing(ledger, &format!("{claim:?}"), "GET", &make, &w.a_web, &h)
                .await;
        }
    }
    // Forged credentials are no credentials: 401, like for a missing session.
    let tampered = {
        let mut token = w.a_token.clone();
        let last = token.pop().unwrap();
        token.push(if last == 'a' { 'b' } else { 'a' });
        token
    };
    let b_cookie = w.b_browser.cookie.clone().unwrap();
    let forged = [
        ("Authorization", "Bearer junk".to_owned()),
        ("Authorization", format!("Bearer atl_{}", "0".repeat(43))),
        ("Authorization", format!("Bearer {tampered}")),
        ("Authorization", "Bearer ".to_owned()),
        ("Authorization", "token junk".to_owned()),
        ("Authorization", "Basic YWxpY2U6eA==".to_owned()),
        ("Cookie", format!("atelier_session={alice}")),
        (
            "Cookie",
            format!("atelier_session={alice}.{}", "A".repeat(43)),
        ),
        ("Cookie", format!("{b_cookie}x")),
        ("Cookie", "atelier_session=".to_owned()),
        (
            "Cookie",
            format!("Atelier_Session={}", &b_cookie["atelier_session=".len()..]),
        ),
    ];
    for (name, value) in &forged {
        let h = headers(&[(name, value)]);
        let reply = w
            .like_missing(ledger, name, "GET", &make, &w.a_web, &h)
            .await;
        assert_eq!(reply.status, 401, "forged {name}: {}", reply.text());
    }
}

/// WebSocket upgrades: bob's credentials, none, and alice's cookie from a
/// foreign page; cross-site state changes through the proxy.
pub(crate) async fn websockets_and_cross_site(w: &World, ledger: &mut Ledger) {
    let upgrade = |extra: &[(&str, &str)], mut h: Headers| {
        h.extend(headers(&[
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ]));
        h.extend(headers(extra));
        h
    };
    let make = |id: &str| format!("/s/{id}/api/kernels/k/channels").into_bytes();
    let here = format!("http://127.0.0.1:{}", w.port);
    for (who, h) in [
        ("bob's token", upgrade(&[], w.bob_bearer())),
        (
            "bob's cookie",
            upgrade(&[("Origin", &here)], World::browser(&w.b_browser)),
        ),
        ("no credentials", upgrade(&[("Origin", &here)], Vec::new())),
    ] {
        w.like_missing(ledger, who, "GET", &make, &w.a_web, &h)
            .await;
    }
    // Cross-site WebSocket hijacking: alice's cookie, a page elsewhere.
    let a_cookie = World::browser(&w.a_browser);
    let target = make(&w.a_web);
    let evil_port = format!("http://127.0.0.1:{}", w.port + 1);
    let suffixed = format!("{here}.evil.example");
    let foreign: Vec<Vec<(&str, &str)>> = vec![
        vec![("Origin", "http://evil.example")],
        vec![
            ("Origin", "https://evil.example"),
            ("Sec-Fetch-Site", "cross-site"),
        ],
        vec![("Origin", "null")],
        vec![("Origin", &evil_port)],
        vec![("Origin", &suffixed)],
        vec![
            ("Origin", "http://evil.example"),
            ("X-Forwarded-Host", "evil.example"),
        ],
        vec![("Origin", "http://evil.example"), ("Upgrade", "WebSocket")],
    ];
    for extra in &foreign {
        let reply = w
            .raw("GET", &target, &upgrade(extra, a_cookie.clone()), b"")
            .await;
        ledger.attack(&reply.body);
        assert_eq!(
            reply.status,
            403,
            "websocket from {extra:?}: {}",
            reply.text()
        );
    }
    let mut odd = upgrade(&[], a_cookie.clone());
    odd.push(("Origin".to_owned(), b"http://evil.example\xff".to_vec()));
    let reply = w.raw("GET", &target, &odd, b"").await;
    ledger.attack(&reply.body);
    assert_eq!(
        reply.status,
        403,
        "websocket from an unreadable Origin: {}",
        reply.text()
    );
    // Cross-site changes through the proxy with alice's cookie.
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let mut h = a_cookie.clone();
        h.extend(headers(&[
            ("Origin", "http://evil.example"),
            ("Content-Type", "text/plain"),
        ]));
        let reply = w
            .raw(
                method,
                format!("/s/{}/api/contents", w.a_web).as_bytes(),
                &h,
                b"{}",
            )
            .await;
        ledger.attack(&reply.body);
        assert_eq!(reply.status, 403, "cross-site {method}: {}", reply.text());
    }
    // Control: the same upgrade from alice's own page gets through the door.
    let own = w
        .raw(
            "GET",
            &target,
            &upgrade(&[("Origin", &here)], a_cookie),
            b"",
        )
        .await;
    ledger.keep(&own.body);
    assert!(
        ![401, 403, 404].contains(&own.status),
        "control refused: {} {}",
        own.status,
        own.text()
    );
}

/// Alice's session id with no credentials: 401 for scripts, the login page
/// for browsers, exactly as for a missing session.
pub(crate) async fn missing_credentials(w: &World, ledger: &mut Ledger) {
    let make = |id: &str| format!("/s/{id}/lab?x=1").into_bytes();
    for id in [&w.a_web, &w.a_lab] {
        let script = w
            .like_missing(ledger, "script", "GET", &make, id, &Vec::new())
            .await;
        assert_eq!(script.status, 401, "{}", script.text());
        let html = headers(&[("Accept", "text/html,application/xhtml+xml")]);
        let browser = w
            .like_missing(ledger, "browser", "GET", &make, id, &html)
            .await;
        assert!(
            browser.status / 100 == 3
                && browser
                    .header("location")
                    .is_some_and(|l| l.starts_with("/login?next=")),
            "a browser is sent to the login page: {:?}",
            browser
        );
        let post = w
            .like_missing(ledger, "browser POST", "POST", &make, id, &html)
            .await;
        assert_eq!(post.status, 401);
    }
}
