//! Which way the layers point (docs/architecture.md keeps the same list):
//! the race rules live in `domain` and `races`, so the read side, the HTTP layer and
//! storage never reach into the sync pipeline, and the pure domain reaches into nothing.

use std::path::Path;

/// Every `crate::…` path named in the Rust files under `src/<dir>`, with where.
fn uses(dir: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir)];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for (n, line) in text.lines().enumerate() {
                let mut rest = line;
                while let Some(at) = rest.find("crate::") {
                    let name: String = rest[at + 7..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    found.push((name, format!("{}:{}", path.display(), n + 1)));
                    rest = &rest[at + 7..];
                }
            }
        }
    }
    found
}

#[test]
fn no_layer_reaches_into_the_sync_pipeline_and_the_domain_reaches_into_nothing() {
    let forbidden: &[(&str, &[&str])] = &[
        ("read", &["sync", "http", "app"]),
        ("http", &["sync", "app"]),
        ("races", &["sync", "http", "app"]),
        ("notify", &["http", "sync", "app"]),
        ("accounts", &["http", "sync", "app", "read"]),
        ("db", &["sync", "http", "races", "read", "analytics"]),
        ("analytics", &["http", "sync", "app", "read"]),
        (
            "domain",
            &["db", "http", "sync", "read", "races", "app", "config"],
        ),
    ];
    let mut wrong = Vec::new();
    for (dir, targets) in forbidden {
        for (name, at) in uses(dir) {
            if targets.contains(&name.as_str()) {
                wrong.push(format!("{dir} → {name} at {at}"));
            }
        }
    }
    assert!(wrong.is_empty(), "forbidden arrows:\n{}", wrong.join("\n"));
    assert!(
        !uses("races").is_empty() && uses("races").iter().any(|(n, _)| n == "domain"),
        "the scan reads the files"
    );
}
