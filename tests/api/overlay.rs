//! The stream overlay (SPEC §11) in Chromium: the top places of the live race, moved by a
//! sync without a reload, and the one page that other sites may frame.

use serde_json::Value;

use crate::fake_upstream::{FakeUpstream, player};
use crate::helpers::spawn_live_app;
use crate::webdriver::Browser;

fn players(dave: f64) -> Vec<Value> {
    vec![
        player("ovl00000000000000001", "Alice", 5000.0),
        player("ovl00000000000000002", "bob", 3000.0),
        player("ovl00000000000000003", "Carol", 1000.0),
        player("ovl00000000000000004", "Dave", dave),
        player("ovl00000000000000005", "Eve", 100.0),
    ]
}

#[test]
fn only_the_overlay_and_the_widget_may_be_framed() {
    let upstream = FakeUpstream::start(players(500.0));
    let app = spawn_live_app(&upstream, |_| {});
    for page in ["/overlay.html", "/widget.html"] {
        let resp = app.get(page);
        assert_eq!(resp.status, 200);
        let csp = resp.header("content-security-policy").unwrap();
        assert!(csp.contains("frame-ancestors *"), "{page}: {csp}");
        assert_eq!(resp.header("x-frame-options"), None, "{page}");
    }
    for page in [
        "/",
        "/admin.html",
        "/races.html",
        "/api/wager-races/current",
    ] {
        let resp = app.get(page);
        let csp = resp.header("content-security-policy").unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{page}: {csp}");
        assert_eq!(resp.header("x-frame-options"), Some("DENY"), "{page}");
    }
}

#[test]
fn the_overlay_shows_the_top_places_and_moves_them_when_a_sync_lands() {
    let upstream = FakeUpstream::start(players(500.0));
    let app = spawn_live_app(&upstream, |_| {});
    assert!(app.sync().succeeded());
    let browser = Browser::start(640, 420);
    browser.goto(&app.url("/overlay.html?top=3&size=m"));
    browser.wait_for(
        "three rows and the live feed",
        "document.querySelectorAll('#rows .row').length === 3 && document.body.dataset.live === 'open'",
    );
    let rows = |b: &Browser| -> Vec<String> {
        b.script("return [...document.querySelectorAll('#rows .row')].map(r => r.innerText.replace(/\\s+/g, ' ').trim())")
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let first = rows(&browser);
    assert!(first[0].starts_with("#1 Alice $5,000.00"), "{first:?}");
    assert!(
        first[0].contains("leading") && first[0].contains("wins $250.00"),
        "{first:?}"
    );
    assert!(first[1].contains("−$2,000.00 to #1"), "{first:?}");
    assert!(
        browser.text("#board-countdown").contains('d'),
        "a countdown to the end"
    );
    // OBS composes the page over the scene: the page itself is transparent.
    let background = browser.script("return getComputedStyle(document.body).backgroundColor");
    assert_eq!(background, "rgba(0, 0, 0, 0)");
    browser.script("document.documentElement.style.background = '#1b2233'; return true;");
    browser.screenshot("overlay-dark");

    // Dave wagers past everyone: the overlay moves him to the top on its own.
    browser.script("window.stayed = true; return true;");
    upstream.set_players(players(9000.0));
    assert!(app.sync().succeeded());
    browser.wait_for(
        "Dave at the top",
        "(document.querySelector('#rows .row .name') || {}).textContent === 'Dave'",
    );
    assert_eq!(
        browser.script("return window.stayed === true"),
        true,
        "no reload"
    );
    let after = rows(&browser);
    assert!(
        after[1].starts_with("#2 Alice") && after[1].contains("−$4,000.00 to #1"),
        "{after:?}"
    );

    browser.goto(&app.url("/overlay.html?top=3&theme=light"));
    browser.wait_for(
        "the light overlay",
        "document.querySelectorAll('#rows .row').length === 3",
    );
    browser.script("document.documentElement.style.background = '#e9edf3'; return true;");
    browser.screenshot("overlay-light");
}
