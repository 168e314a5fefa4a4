//! Unit tests of the API: the route table against docs/openapi.json, and
//! requests answered against services built from a config, without a
//! server.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::json::Value;
use super::*;

const SPEC: &str = include_str!("../../../../docs/openapi.json");

fn spec() -> Value {
    Value::parse(SPEC.as_bytes()).expect("docs/openapi.json is JSON")
}

#[test]
fn every_route_is_in_the_spec_and_the_other_way_round() {
    let spec = spec();
    let paths = spec.get("paths").and_then(Value::as_object).unwrap();
    let mut documented = Vec::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let role = match op.get("x-tandem-role") {
                Some(Value::String(r)) => Some(r.clone()),
                _ => None,
            };
            documented.push((method.to_ascii_uppercase(), path.clone(), role));
        }
    }
    let served: Vec<(String, String, Option<String>)> = ROUTES
        .iter()
        .map(|r| {
            (
                r.method.to_string(),
                r.path.to_string(),
                r.role.map(|x| x.as_str().to_string()),
            )
        })
        .collect();
    for s in &served {
        assert!(documented.contains(s), "{s:?} is not in docs/openapi.json");
    }
    for d in &documented {
        assert!(served.contains(d), "{d:?} is documented but not served");
    }
}

#[test]
fn the_spec_lists_every_audit_action() {
    let spec = spec();
    let actions = spec
        .get("components")
        .and_then(|c| c.get("schemas"))
        .and_then(|s| s.get("AuditEntry"))
        .and_then(|e| e.get("properties"))
        .and_then(|p| p.get("action"))
        .and_then(|a| a.get("enum"))
        .and_then(Value::as_array)
        .unwrap();
    let names: Vec<&str> = actions.iter().filter_map(Value::as_str).collect();
    assert_eq!(names, audit::ACTIONS);
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tandem-api-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const CONFIG: &str = r#"
[cdr]
database = "cdr.sqlite"
[api]
tokens = [
    { name = "ops", token = "admin-token-0123456789", role = "admin" },
    { name = "sup", token = "supervisor-token-0123", role = "supervisor" },
    { name = "board", token = "read-token-0123456789" },
]
[[trunk]]
name = "carrier"
address = "127.0.0.1:5099"
[[agent]]
name = "alice"
contact = "sip:alice@127.0.0.1:5071"
login = false
[[agent]]
name = "bob"
contact = "sip:bob@127.0.0.1:5072"
login = false
[[queue]]
name = "sales"
members = ["alice", "bob"]
[[number]]
number = "4008123456"
blacklist = ["13900"]
[[number.route]]
name = "main"
destinations = ["queue:sales"]
"#;

struct Fixture {
    api: Api,
    services: Option<Services>,
    now: Instant,
    dir: PathBuf,
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        Fixture::with(name, CONFIG)
    }

    fn with(name: &str, toml: &str) -> Fixture {
        let dir = dir(name);
        let config = Config::from_toml(toml, "test.toml", &dir).unwrap();
        let now = Instant::now();
        let services = Services::new(&config, now).unwrap();
        Fixture {
            api: Api::new(&config).unwrap(),
            services,
            now,
            dir,
        }
    }

    fn call(&mut self, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
        let request = Request {
            method: method.into(),
            path: path.split('?').next().unwrap_or_default().into(),
            query: path
                .split_once('?')
                .map(|(_, q)| q)
                .unwrap_or_default()
                .into(),
            headers: token
                .map(|t| vec![("authorization".to_string(), format!("Bearer {t}"))])
                .unwrap_or_default(),
            body: body.as_bytes().to_vec(),
            peer: "127.0.0.1:1".parse().unwrap(),
        };
        let r = self.api.handle(self.services.as_mut(), self.now, &request);
        let v = Value::parse(&r.body).unwrap_or_else(|e| panic!("{e}: {:?}", r.body));
        (r.status, v)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const ADMIN: Option<&str> = Some("admin-token-0123456789");
const SUP: Option<&str> = Some("supervisor-token-0123");
const READ: Option<&str> = Some("read-token-0123456789");

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

#[test]
fn tokens_and_roles_are_enforced() {
    let mut f = Fixture::new("roles");
    assert_eq!(f.call("GET", "/api/health", None, "").0, 200);
    let (status, body) = f.call("GET", "/api/queues", None, "");
    assert_eq!(status, 401);
    assert!(text(&body, "error").contains("Bearer"));
    assert_eq!(
        f.call("GET", "/api/queues", Some("nope-nope-nope-nope"), "")
            .0,
        401
    );
    assert_eq!(f.call("GET", "/api/queues", READ, "").0, 200);
    assert_eq!(f.call("GET", "/api/nothing", READ, "").0, 404);
    assert_eq!(f.call("DELETE", "/api/queues", READ, "").0, 405);
    assert_eq!(f.call("POST", "/api/agents/alice/login", READ, "").0, 403);
    assert_eq!(f.call("GET", "/api/audit", READ, "").0, 403);
    assert_eq!(
        f.call("POST", "/api/numbers/4008123456/blacklist/1380", SUP, "")
            .0,
        403
    );
    assert_eq!(f.call("POST", "/api/agents/alice/login", SUP, "").0, 200);
}

#[test]
fn agents_change_state_and_each_change_is_audited() {
    let mut f = Fixture::new("agents");
    let (s, a) = f.call("GET", "/api/agents/alice", READ, "");
    assert_eq!((s, text(&a, "state")), (200, "logged_out"));
    let (s, a) = f.call("POST", "/api/agents/alice/login", SUP, "");
    assert_eq!((s, text(&a, "state")), (200, "available"));
    let (s, a) = f.call(
        "POST",
        "/api/agents/alice/pause",
        SUP,
        r#"{"reason":"lunch"}"#,
    );
    assert_eq!((s, text(&a, "state")), (200, "paused"));
    assert_eq!(text(&a, "pause_reason"), "lunch");
    assert_eq!(f.call("POST", "/api/agents/alice/pause", SUP, "{}").0, 400);
    assert_eq!(
        f.call("POST", "/api/agents/alice/pause", SUP, "{\"reason\":")
            .0,
        400
    );
    assert_eq!(f.call("POST", "/api/agents/alice/login", SUP, "[1]").0, 400);
    let (s, e) = f.call("POST", "/api/agents/alice/ready", SUP, "");
    assert_eq!(s, 409);
    assert_eq!(
        text(&e, "error"),
        "agent \"alice\" cannot ready while paused"
    );
    assert_eq!(f.call("POST", "/api/agents/alice/unpause", SUP, "").0, 200);
    assert_eq!(f.call("POST", "/api/agents/alice/logout", SUP, "").0, 200);
    assert_eq!(f.call("POST", "/api/agents/zed/login", SUP, "").0, 404);
    let (s, q) = f.call("GET", "/api/queues/sales", READ, "");
    assert_eq!(s, 200);
    assert_eq!(
        q.get("agents").and_then(|a| a.get("logged_out")),
        Some(&Value::from(2u32))
    );
    let (s, log) = f.call("GET", "/api/audit?limit=10", SUP, "");
    assert_eq!(s, 200);
    let entries = log.get("entries").and_then(Value::as_array).unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| text(e, "action")).collect();
    assert_eq!(
        actions,
        [
            "agent.logout",
            "agent.unpause",
            "agent.pause",
            "agent.login"
        ]
    );
    assert!(entries.iter().all(|e| text(e, "who") == "sup"));
    assert_eq!(text(&entries[2], "target"), "agent:alice");
    assert_eq!(
        entries[2].get("detail").map(|d| text(d, "reason")),
        Some("lunch")
    );
    assert_eq!(f.call("GET", "/api/audit?limit=0", SUP, "").0, 400);
    assert_eq!(f.call("GET", "/api/audit?lmit=5", SUP, "").0, 400);
}

#[test]
fn numbers_change_destinations_and_blacklist() {
    let mut f = Fixture::new("numbers");
    let (s, n) = f.call("GET", "/api/numbers/4008123456", READ, "");
    assert_eq!(s, 200);
    let r = n.get("restriction").unwrap();
    assert_eq!(r.get("blacklist"), Some(&Value::from(1u64)));
    let put = "/api/numbers/4008123456/routes/main/destinations";
    let (s, r) = f.call(
        "PUT",
        put,
        ADMIN,
        r#"[{"to":"agent:alice","weight":3},{"to":"trunk:carrier"}]"#,
    );
    assert_eq!(s, 200, "{r:?}");
    let (_, n) = f.call("GET", "/api/numbers", READ, "");
    let mut out = String::new();
    n.write(&mut out);
    assert!(
        out.contains(
            r#""destinations":[{"to":"agent:alice","weight":3},{"to":"trunk:carrier","weight":1}]"#
        ),
        "{out}"
    );
    for bad in [
        "",
        "[]",
        "{}",
        r#"[{"to":"queue:nope"}]"#,
        r#"[{"to":"trunk:agent:alice"}]"#,
        r#"[{"to":"agent:alice","weight":0}]"#,
        r#"[{"to":"agent:alice","weight":1.5}]"#,
        r#"[{"to":"agent:alice","extra":1}]"#,
        r#"[{"to":"ivr:main"}]"#,
        r#"[{"to":"bogus"}]"#,
    ] {
        assert_eq!(f.call("PUT", put, ADMIN, bad).0, 400, "{bad}");
    }
    assert_eq!(
        f.call(
            "PUT",
            "/api/numbers/4008123456/routes/night/destinations",
            ADMIN,
            r#"[{"to":"hangup"}]"#
        )
        .0,
        404
    );
    assert_eq!(f.call("GET", "/api/numbers/4000000000", READ, "").0, 404);
    let bl = "/api/numbers/4008123456/blacklist/1380000";
    let (s, b) = f.call("POST", bl, ADMIN, "");
    assert_eq!((s, b.get("changed")), (200, Some(&Value::Bool(true))));
    let (_, b) = f.call("POST", bl, ADMIN, "");
    assert_eq!(b.get("changed"), Some(&Value::Bool(false)));
    assert_eq!(
        f.call("POST", "/api/numbers/4008123456/blacklist/12x", ADMIN, "")
            .0,
        400
    );
    let (_, list) = f.call("GET", "/api/numbers/4008123456/blacklist", READ, "");
    assert_eq!(
        list.get("prefixes"),
        Some(&Value::from(vec!["1380000", "13900"]))
    );
    assert_eq!(f.call("DELETE", bl, ADMIN, "").0, 200);
    assert_eq!(f.call("DELETE", bl, ADMIN, "").0, 404);
    let (_, log) = f.call("GET", "/api/audit", ADMIN, "");
    let entries = log.get("entries").and_then(Value::as_array).unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| text(e, "action")).collect();
    assert_eq!(
        actions,
        [
            "number.blacklist.remove",
            "number.blacklist.add",
            "number.destinations.set"
        ]
    );
    let detail = entries[2].get("detail").unwrap();
    assert_eq!(
        detail.get("before"),
        Some(&Value::Array(vec![super::json::object([
            ("to", Value::from("queue:sales")),
            ("weight", Value::from(1u32)),
        ])]))
    );
}

#[test]
fn hostile_paths_and_bodies_get_errors() {
    let mut f = Fixture::new("hostile");
    for path in [
        "/api/agents/%zz",
        "/api/agents/%ff%fe",
        "/api/agents/%",
        "/api//",
        "/api/agents/alice/login/extra",
        "/api/numbers/4008123456/routes//destinations",
    ] {
        let (s, _) = f.call("GET", path, READ, "");
        assert!((400..500).contains(&s), "{path}: {s}");
    }
    let (s, a) = f.call("GET", "/api/agents/al%69ce", READ, "");
    assert_eq!((s, text(&a, "name")), (200, "alice"));
    let deep = "[".repeat(10_000);
    assert_eq!(
        f.call(
            "PUT",
            "/api/numbers/4008123456/routes/main/destinations",
            ADMIN,
            &deep
        )
        .0,
        400
    );
}

#[test]
fn without_a_call_center_lists_are_empty() {
    let d = dir("empty");
    let config = Config::from_toml(
        "[api]\ntokens = [{ name = \"ops\", token = \"admin-token-0123456789\", role = \"admin\" }]\n[cdr]\ndatabase = \"cdr.sqlite\"\n",
        "t.toml",
        &d,
    )
    .unwrap();
    let mut api = Api::new(&config).unwrap();
    let request = |path: &str| Request {
        method: "GET".into(),
        path: path.into(),
        query: String::new(),
        headers: vec![(
            "authorization".into(),
            "Bearer admin-token-0123456789".into(),
        )],
        body: Vec::new(),
        peer: "127.0.0.1:1".parse().unwrap(),
    };
    for path in [
        "/api/numbers",
        "/api/queues",
        "/api/agents",
        "/api/calls",
        "/api/audit",
    ] {
        let r = api.handle(None, Instant::now(), &request(path));
        assert_eq!(r.status, 200, "{path}");
    }
    let r = api.handle(None, Instant::now(), &request("/api/agents/alice"));
    assert_eq!(r.status, 404);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_closed_api_answers_only_health() {
    let mut api = Api::closed();
    let request = |path: &str| Request {
        method: "GET".into(),
        path: path.into(),
        query: String::new(),
        headers: vec![(
            "authorization".into(),
            "Bearer admin-token-0123456789".into(),
        )],
        body: Vec::new(),
        peer: "127.0.0.1:1".parse().unwrap(),
    };
    assert_eq!(
        api.handle(None, Instant::now(), &request("/api/health"))
            .status,
        200
    );
    let r = api.handle(None, Instant::now(), &request("/api/queues"));
    assert_eq!(r.status, 401);
    assert!(String::from_utf8_lossy(&r.body).contains("no [api] tokens"));
}

fn config_error(toml: &str) -> String {
    match Config::from_toml(toml, "t.toml", Path::new(".")) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn api_tokens_are_checked_with_their_lines() {
    let e = config_error(
        "[api]\ntokens = [\n { name = \"ops\", token = \"short\" },\n { name = \"ops\", token = \"0123456789abcdef\", role = \"root\" },\n { name = \"x\", token = \"has space 0123456789\" },\n]\n",
    );
    assert!(
        e.contains("t.toml:3: api.tokens[0].token: is 5 characters"),
        "{e}"
    );
    assert!(
        e.contains("t.toml:4: api.tokens[1].role: expected one of read, supervisor, admin"),
        "{e}"
    );
    assert!(
        e.contains("t.toml:5: api.tokens[2].token: expected letters"),
        "{e}"
    );
    let e = config_error(
        "[api]\ntokens = [\n { name = \"a\", token = \"0123456789abcdef\" },\n { name = \"a\", token = \"0123456789abcdef\" },\n]\n",
    );
    assert!(
        e.contains("t.toml:4: api.tokens[1].name: \"a\" names two tokens"),
        "{e}"
    );
    assert!(
        e.contains("t.toml:4: api.tokens[1].token: is the same as another token's"),
        "{e}"
    );
    let e = config_error(
        "[api]\ntokens = [{ name = \"a\", token = \"0123456789abcdef\", rol = \"admin\" }]\n",
    );
    assert!(e.contains("unknown field `rol`"), "{e}");
    assert_eq!(
        config_error("[api]\ntokens = [{ name = \"a\", token = \"0123456789abcdef==\" }]\n"),
        ""
    );
}

#[test]
fn wallboard_totals_count_a_call_spilled_between_queues_once() {
    let toml = CONFIG.replace(
        "[[queue]]\nname = \"sales\"\nmembers = [\"alice\", \"bob\"]\n",
        "[[queue]]\nname = \"sales\"\nmembers = [\"alice\"]\nspill_when_no_agents = true\n\
         overflow = \"queue:support\"\nservice_level_target = 90\n[[queue]]\nname = \"support\"\nmembers = [\"bob\"]\n",
    );
    assert_ne!(toml, CONFIG);
    let mut f = Fixture::with("wallboard-spill", &toml);
    let now = f.now;
    let s = f.services.as_mut().unwrap();
    s.input(
        now,
        tandem_callcenter::acd::Input::Enqueue {
            call: tandem_call::CallId(7),
            queue: tandem_callcenter::QueueId(0),
            caller: "13800000000",
            priority: 0,
            number: Some(tandem_callcenter::NumberId(0)),
        },
    )
    .unwrap();
    while s.poll_output().is_some() {}
    let (status, board) = f.call("GET", "/api/wallboard", READ, "");
    assert_eq!(status, 200);
    let offered = |v: &Value| {
        v.get("today")
            .and_then(|t| t.get("offered"))
            .and_then(Value::as_f64)
    };
    let queues = board.get("queues").and_then(Value::as_array).unwrap();
    let per_queue: Vec<f64> = queues.iter().filter_map(offered).collect();
    assert_eq!(per_queue, [1.0, 1.0], "offered to sales, then to support");
    let targets: Vec<f64> = queues
        .iter()
        .filter_map(|q| q.get("service_level_target").and_then(Value::as_f64))
        .collect();
    assert_eq!(targets, [0.9, 0.8], "sales' own target, support's default");
    let totals = board.get("totals").unwrap();
    assert_eq!(offered(totals), Some(1.0), "one caller: {totals:?}");
}
