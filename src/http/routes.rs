//! One registry of the site's routes, read from the OpenAPI document the API itself
//! generates (plus the few routes outside it): the route templates metrics and usage
//! analytics count under, and the methods a `405` names in its `Allow` header. Nothing
//! here is written by hand, so a new endpoint is counted under its own name the moment
//! it exists, with its path parameters spelled as the API documents them
//! (`/api/wager-races/{race_id}`).

// foldhash: looked up on every request, and std's SipHash was most of that lookup.
use foldhash::{HashMap, HashMapExt};
use std::sync::OnceLock;

/// Routes served outside the OpenAPI document, with their methods.
const OUTSIDE_THE_API: &[(&str, &str)] = &[
    ("/openapi.json", "GET, HEAD"),
    ("/ws", "GET"),
    ("/metrics", "GET"),
];

/// Label for the API docs (`/docs` and everything under it).
pub const DOCS: &str = "/docs";
/// Label for the site's files (pages, scripts, styles).
pub const STATIC: &str = "static";
/// Label for a path under `/api` that is no route.
pub const UNMATCHED: &str = "unmatched";

/// The order methods are listed in, as RFC 9110 lists them.
const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

struct Template {
    name: &'static str,
    /// `None` for a `{parameter}` segment, which matches any non-empty segment.
    segments: Vec<Option<&'static str>>,
}

pub struct RouteTable {
    /// Templates without parameters, by path: one hash lookup for most requests.
    exact: HashMap<&'static str, &'static str>,
    /// Templates with parameters; of several that match, the most literal wins.
    with_params: Vec<Template>,
    methods: HashMap<&'static str, &'static str>,
}

impl RouteTable {
    /// From an OpenAPI document (its `paths` object and the methods under each path).
    pub fn from_spec(spec: &serde_json::Value) -> RouteTable {
        let mut table = RouteTable {
            exact: HashMap::new(),
            with_params: Vec::new(),
            methods: HashMap::new(),
        };
        let paths = spec["paths"].as_object().into_iter().flatten();
        for (path, item) in paths {
            let methods: Vec<&str> = METHODS
                .iter()
                .copied()
                .filter(|m| item.get(m.to_ascii_lowercase()).is_some())
                .collect();
            table.add(path, &methods.join(", "));
        }
        for (path, methods) in OUTSIDE_THE_API {
            table.add(path, methods);
        }
        table.methods.insert(DOCS, "GET, HEAD");
        table.methods.insert(STATIC, "GET, HEAD");
        table
    }

    /// Leaked once per route at start: labels must be `'static`, and routes are few.
    fn add(&mut self, path: &str, methods: &str) {
        let name: &'static str = Box::leak(path.to_owned().into_boxed_str());
        let methods: &'static str = Box::leak(methods.to_owned().into_boxed_str());
        self.methods.insert(name, methods);
        if !name.contains('{') {
            self.exact.insert(name, name);
            return;
        }
        let segments = name
            .split('/')
            .map(|s| (!s.starts_with('{')).then_some(s))
            .collect();
        self.with_params.push(Template { name, segments });
    }

    /// The template a request path is counted under; never the raw path, so labels
    /// stay bounded.
    pub fn template(&self, path: &str) -> &'static str {
        if let Some(name) = self.exact.get(path) {
            return name;
        }
        let best = self
            .with_params
            .iter()
            .filter(|t| matches(&t.segments, path))
            .max_by_key(|t| t.segments.iter().filter(|s| s.is_some()).count());
        match best {
            Some(t) => t.name,
            None if path == "/api" || path.starts_with("/api/") => UNMATCHED,
            None if path == DOCS || path.starts_with("/docs/") => DOCS,
            None => STATIC,
        }
    }

    /// The name of a template's `index`-th path parameter, as the API documents it:
    /// poem-openapi reports a path parameter that fails to parse by its position
    /// (`param0`, `param1`, …), not by its name.
    pub fn path_param(template: &str, index: usize) -> Option<&str> {
        template
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .nth(index)
    }

    /// The methods a template answers, for the `Allow` header of a `405`.
    pub fn methods(&self, template: &str) -> &'static str {
        self.methods.get(template).copied().unwrap_or("GET")
    }
}

fn matches(template: &[Option<&str>], path: &str) -> bool {
    let mut parts = path.split('/');
    for segment in template {
        match (segment, parts.next()) {
            (Some(literal), Some(part)) if *literal == part => {}
            (None, Some(part)) if !part.is_empty() => {}
            _ => return false,
        }
    }
    parts.next().is_none()
}

static TABLE: OnceLock<RouteTable> = OnceLock::new();

/// Installs the table built from the API's document; the first call wins (every
/// application in one process serves the same API).
pub fn install(spec: &str) {
    TABLE.get_or_init(|| {
        let spec = serde_json::from_str(spec).expect("the generated OpenAPI document is JSON");
        RouteTable::from_spec(&spec)
    });
}

/// The installed table; before [`install`] every path is unmatched or static.
pub fn table() -> &'static RouteTable {
    TABLE.get_or_init(|| RouteTable::from_spec(&serde_json::Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table() -> RouteTable {
        RouteTable::from_spec(&json!({"paths": {
            "/api/wager-races/current": {"get": {}},
            "/api/wager-races/{race_id}": {"get": {}},
            "/api/wager-races/{race_id}/proof": {"get": {}},
            "/api/users/{user_id}": {"get": {}, "patch": {}},
            "/api/admin/races/{race_id}/payouts/{uid}": {"patch": {}},
            "/api/admin/races": {"post": {}, "get": {}},
        }}))
    }

    #[test]
    fn raw_paths_become_the_documented_templates() {
        let t = table();
        let cases = [
            ("/api/wager-races/current", "/api/wager-races/current"),
            ("/api/wager-races/202611", "/api/wager-races/{race_id}"),
            (
                "/api/wager-races/202611/proof",
                "/api/wager-races/{race_id}/proof",
            ),
            ("/api/wager-races/202611/other", UNMATCHED),
            ("/api/wager-races/", UNMATCHED),
            ("/api/users/abc", "/api/users/{user_id}"),
            ("/api/users/abc/", UNMATCHED),
            (
                "/api/admin/races/202610/payouts/goat01",
                "/api/admin/races/{race_id}/payouts/{uid}",
            ),
            ("/api/admin/races/202610/payouts/", UNMATCHED),
            ("/api", UNMATCHED),
            ("/openapi.json", "/openapi.json"),
            ("/docs/swagger.css", DOCS),
            ("/js/race.js", STATIC),
            ("/", STATIC),
        ];
        for (path, template) in cases {
            assert_eq!(t.template(path), template, "{path}");
        }
    }

    #[test]
    fn a_path_parameter_is_found_by_its_position_in_the_template() {
        let param = RouteTable::path_param;
        assert_eq!(param("/api/users/{user_id}/stats", 0), Some("user_id"));
        assert_eq!(
            param("/api/admin/races/{race_id}/payouts/{uid}", 1),
            Some("uid")
        );
        assert_eq!(param("/api/admin/races/{race_id}/payouts/{uid}", 2), None);
        assert_eq!(param("/api/health", 0), None);
    }

    #[test]
    fn the_allow_header_lists_the_documented_methods_in_order() {
        let t = table();
        assert_eq!(t.methods("/api/users/{user_id}"), "GET, PATCH");
        assert_eq!(t.methods("/api/admin/races"), "GET, POST");
        assert_eq!(
            t.methods("/api/admin/races/{race_id}/payouts/{uid}"),
            "PATCH"
        );
        assert_eq!(t.methods(STATIC), "GET, HEAD");
        assert_eq!(t.methods("/openapi.json"), "GET, HEAD");
    }
}
