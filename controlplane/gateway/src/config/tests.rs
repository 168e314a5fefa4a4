use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(text, "tandem.toml", Path::new("/nonexistent-base"))
}

/// The problems, one string each, as the operator sees them.
fn problems(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(_) => panic!("config accepted:\n{text}"),
        Err(e) => e.problems.iter().map(|p| p.to_string()).collect(),
    }
}

fn one_problem(text: &str) -> String {
    let p = problems(text);
    assert_eq!(p.len(), 1, "{p:#?}");
    p.into_iter().next().unwrap_or_default()
}

const TRUNKS: &str = r#"
[[trunk]]
name = "carrier-a"
address = "sip.carrier-a.example"

[[trunk]]
name = "carrier-b"
address = "[2001:db8::5]:5080"
transport = "tcp"
"#;

#[test]
fn an_empty_file_is_the_default_config() {
    let c = parse("").unwrap();
    let d = Config::default();
    assert_eq!(c.sip.listen, d.sip.listen);
    assert_eq!(c.sip.transports, [Transport::Udp, Transport::Tcp]);
    assert_eq!(c.media.rtp_ports, (30000, 39999));
    assert_eq!(c.media.rtp_address, IpAddr::from([127, 0, 0, 1]));
    // The default stays relative to the current directory, as without a
    // file; only paths written in the file are relative to the file.
    assert_eq!(c.cdr.database, PathBuf::from("tandem-cdr.sqlite"));
    assert!(c.http.listen.is_none() && c.ng.listen.is_none());
    assert!(c.trunks.is_empty() && c.routes.is_empty() && c.route_table.is_empty());
}

#[test]
fn the_example_file_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tandem.example.toml");
    let c = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(!c.trunks.is_empty());
    assert!(!c.routes.is_empty());
}

#[test]
fn a_full_config_parses_into_plain_values() {
    let c = parse(&format!(
        r#"
[sip]
listen = "192.0.2.1:5070"
transports = ["udp"]
user_agent = "Tandem/test"
t1_ms = 250
t2_ms = 2000
session_expires = 0
max_calls = 5
[media]
rtp_address = "192.0.2.1"
rtp_ports = "20000-20099"
workers = 2
rt_priority = 10
packet_io = "socket"
codecs = ["PCMA", "g722", "L16/16000"]
dtmf = "info"
[http]
listen = "127.0.0.1:8080"
[cdr]
database = "/var/lib/tandem/cdr.sqlite"
synchronous = "full"
[drain]
timeout = 5
{TRUNKS}
[[trunk]]
name = "pbx"
address = "198.51.100.7"
inbound = "acl"
allow = ["198.51.100.0/24", "2001:db8::/32"]
username = "u"
password = "p"
options_interval = 0
max_calls = 10
codecs = ["PCMU"]

[[trunk]]
name = "office"
address = "office.example."
inbound = "digest"
inbound_username = "office"
inbound_password = "s3cret"

[[route]]
prefix = "4008"
trunks = ["carrier-a", "carrier-b"]
[[route]]
prefix = ""
trunks = ["carrier-b"]
"#
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.sip.listen, "192.0.2.1:5070".parse().unwrap());
    assert_eq!(c.sip.transports, [Transport::Udp]);
    assert_eq!(c.sip.t1, Duration::from_millis(250));
    assert_eq!(c.sip.session_expires, None);
    assert_eq!(c.media.workers, 2);
    assert_eq!(c.media.rt_priority, 10);
    assert_eq!(c.media.packet_io, PacketIo::Socket);
    assert_eq!(
        c.media
            .codecs
            .iter()
            .map(|&c| codec_name(c))
            .collect::<Vec<_>>(),
        ["PCMA", "G722", "L16/16000"]
    );
    assert_eq!(c.media.dtmf, DtmfMode::Info);
    assert_eq!(c.cdr.synchronous, Synchronous::Full);
    assert_eq!(c.drain.timeout, Duration::from_secs(5));
    let a = &c.trunks[0];
    assert_eq!(a.address.to_string(), "sip.carrier-a.example:5060");
    assert_eq!(a.inbound, Inbound::None);
    assert_eq!(
        a.codecs, c.media.codecs,
        "trunk codecs default to media.codecs"
    );
    assert_eq!(c.trunks[1].address.to_string(), "[2001:db8::5]:5080");
    let pbx = &c.trunks[2];
    let Inbound::Acl(acl) = &pbx.inbound else {
        panic!("{:?}", pbx.inbound)
    };
    assert!(
        acl.iter()
            .any(|b| b.contains("198.51.100.99".parse().unwrap()))
    );
    assert_eq!(pbx.options_interval, None);
    assert_eq!(pbx.max_calls, Some(10));
    assert_eq!(
        pbx.outbound_auth.as_ref().map(|c| c.username.as_str()),
        Some("u")
    );
    assert!(
        !format!("{pbx:?}").contains("\"p\""),
        "passwords stay out of Debug"
    );
    assert_eq!(
        c.trunks[3].address.host,
        Host::Name("office.example".into())
    );
    assert!(matches!(c.trunks[3].inbound, Inbound::Digest(_)));
    assert_eq!(
        c.route_table.lookup("4008123"),
        Some(&[TrunkId(0), TrunkId(1)][..])
    );
    assert_eq!(c.route_table.lookup("+861012345"), Some(&[TrunkId(1)][..]));
    assert_eq!(
        c.trunk(TrunkId(1)).map(|t| t.name.as_str()),
        Some("carrier-b")
    );
    assert!(
        c.summary()
            .starts_with("4 trunks (carrier-a, carrier-b, pbx, office), 2 routes incl. default"),
        "{}",
        c.summary()
    );
}

#[test]
fn a_bad_enum_names_the_trunk_the_key_and_the_line() {
    let text = format!(
        "{TRUNKS}\n[[trunk]]\nname = \"carrier-c\"\naddress = \"192.0.2.9\"\ntransport = \"sctp\"\n"
    );
    let line = text.lines().position(|l| l.contains("sctp")).unwrap() + 1;
    assert_eq!(
        one_problem(&text),
        format!(
            "tandem.toml:{line}: trunk \"carrier-c\".transport: expected one of udp, tcp, tls, got \"sctp\""
        )
    );
}

#[test]
fn tls_ca_file_must_hold_pem_certificates() {
    let p = one_problem("[sip]\ntls_ca_file = \"ca.pem\"\n");
    assert!(
        p.starts_with("tandem.toml:2: sip.tls_ca_file: cannot read /nonexistent-base/ca.pem"),
        "{p}"
    );
    let p = one_problem("[sip]\nuser_agent = \"x\"\ntls_ca_file = \"/dev/null\"\n");
    assert!(
        p.starts_with("tandem.toml:3: sip.tls_ca_file: /dev/null holds no PEM certificate"),
        "{p}"
    );
    let dir = std::env::temp_dir().join(format!("tandem-config-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Any base64 body will do: the check is for PEM framing, not X.509.
    std::fs::write(
        dir.join("ca.pem"),
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let c = Config::from_toml("[sip]\ntls_ca_file = \"ca.pem\"\n", "t.toml", &dir)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.sip.tls_ca_file, Some(dir.join("ca.pem")));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unknown_keys_are_errors_with_their_line_and_section() {
    let p = one_problem("[sip]\nlisten = \"0.0.0.0:5060\"\nt3_ms = 5\n");
    assert!(
        p.starts_with("tandem.toml:3: [sip]: unknown field `t3_ms`"),
        "{p}"
    );
    let p = one_problem(&format!("{TRUNKS}\npasword = \"x\"\n"));
    assert!(p.contains("[[trunk]] #2: unknown field `pasword`"), "{p}");
    let p = one_problem("[sipp]\n");
    assert!(p.starts_with("tandem.toml:1: unknown field `sipp`"), "{p}");
}

#[test]
fn syntax_and_type_errors_have_lines() {
    let p = one_problem("[sip]\nlisten = 0.0.0.0:5060\n");
    assert!(p.starts_with("tandem.toml:2: "), "{p}");
    let p = one_problem("[media]\nworkers = \"two\"\n");
    assert!(p.starts_with("tandem.toml:2: [media]: "), "{p}");
}

#[test]
fn a_realtime_priority_is_off_by_default_and_within_fifo_range() {
    assert_eq!(Config::default().media.rt_priority, 0);
    let p = one_problem("[media]\nrt_priority = 100\n");
    assert!(
        p.contains("media.rt_priority: expected a whole number from 0 to 99, got 100"),
        "{p}"
    );
}

#[test]
fn every_problem_is_reported_at_once_in_line_order() {
    let p = problems(
        "[sip]\nlisten = \"nowhere\"\nt1_ms = 0\nmin_se = 60\n[media]\nrtp_address = \"0.0.0.0\"\nrtp_ports = \"40000-30000\"\ncodecs = [\"PCMU\", \"G729\", \"PCMU\"]\ndtmf = \"sip-info\"\n[cdr]\nsynchronous = \"extra\"\n",
    );
    let want = [
        "tandem.toml:2: sip.listen: expected IP:PORT",
        "tandem.toml:3: sip.t1_ms: expected a whole number from 1 to 600000, got 0",
        "tandem.toml:4: sip.min_se: expected a whole number from 90 to 86400, got 60 (RFC 4028",
        "tandem.toml:6: media.rtp_address: 0.0.0.0 cannot be advertised",
        "tandem.toml:7: media.rtp_ports: 40000-30000 must hold at least one even/odd port pair",
        "tandem.toml:8: media.codecs: expected one of PCMU, PCMA, G722, L16, L16/16000, L16/48000, opus, got \"G729\"",
        "tandem.toml:8: media.codecs: \"PCMU\" is listed twice",
        "tandem.toml:9: media.dtmf: expected one of rfc4733, inband, info, got \"sip-info\"",
        "tandem.toml:11: cdr.synchronous: expected one of normal, full, got \"extra\"",
    ];
    assert_eq!(p.len(), want.len(), "{p:#?}");
    for (got, want) in p.iter().zip(want) {
        assert!(got.starts_with(want), "{got}\n  want {want}");
    }
}

#[test]
fn timer_relations_are_checked() {
    let p = one_problem("[sip]\nt1_ms = 500\nt2_ms = 400\n");
    assert!(
        p.starts_with("tandem.toml:3: sip.t2_ms: T2 (400 ms) must not be below T1 (500 ms)"),
        "{p}"
    );
    let p = one_problem("[sip]\nsession_expires = 60\n");
    assert!(
        p.contains("sip.session_expires: 60 s is below sip.min_se (90 s)"),
        "{p}"
    );
    let p = one_problem("[sip]\nmax_calls = 0\n");
    assert!(
        p.contains("sip.max_calls: expected a whole number from 1"),
        "{p}"
    );
}

#[test]
fn tls_needs_readable_certificate_and_key() {
    let p = one_problem("[sip]\ntls_listen = \"0.0.0.0:5061\"\n");
    assert!(
        p.contains("sip.tls_listen: TLS needs sip.tls_certificate and sip.tls_private_key"),
        "{p}"
    );
    let p = problems(
        "[sip]\ntls_listen = \"0.0.0.0:5061\"\ntls_certificate = \"cert.pem\"\ntls_private_key = \"key.pem\"\n",
    );
    assert!(
        p[0].starts_with(
            "tandem.toml:3: sip.tls_certificate: cannot read /nonexistent-base/cert.pem"
        ),
        "{p:?}"
    );
    assert!(
        p[1].starts_with("tandem.toml:4: sip.tls_private_key: cannot read"),
        "{p:?}"
    );

    let dir = std::env::temp_dir().join(format!("tandem-config-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cert.pem"), "x").unwrap();
    std::fs::write(dir.join("key.pem"), "x").unwrap();
    let c = Config::from_toml(
        "[sip]\ntransports = []\ntls_listen = \"0.0.0.0:5061\"\ntls_certificate = \"cert.pem\"\ntls_private_key = \"key.pem\"\n",
        "t.toml",
        &dir,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let tls = c.sip.tls.unwrap();
    assert_eq!(
        tls.certificate,
        dir.join("cert.pem"),
        "relative to the config file"
    );
    assert!(c.sip.transports.is_empty());
    let p = one_problem("[sip]\ntls_certificate = \"/dev/null\"\n");
    assert!(
        p.starts_with("tandem.toml:2: sip.tls_certificate: set, but sip.tls_listen is not"),
        "{p}"
    );
    let p = one_problem(&format!("{TRUNKS}realm = \"r\"\n"));
    assert!(
        p.contains("trunk \"carrier-b\".realm: only used with username and password"),
        "{p}"
    );
    let p = one_problem("[sip]\ntransports = [\"tls\"]\n");
    assert!(p.contains("set sip.tls_listen"), "{p}");
    let p = one_problem("[sip]\ntransports = []\n");
    assert!(p.contains("sip.transports: no SIP transport left"), "{p}");
}

#[test]
fn trunk_problems_are_named_and_located() {
    let cases: &[(&str, &str)] = &[
        (
            "name = \"a b\"\naddress = \"x.example\"",
            "trunk.name: \"a b\": a trunk name is",
        ),
        (
            "name = \"t\"\naddress = \"sip:x.example\"",
            "trunk \"t\".address: expected HOST or HOST:PORT",
        ),
        (
            "name = \"t\"\naddress = \"2001:db8::1\"",
            "trunk \"t\".address: write an IPv6 address in brackets",
        ),
        (
            "name = \"t\"\naddress = \"x.example:0\"",
            "trunk \"t\".address: bad port \"0\"",
        ),
        (
            "name = \"t\"\naddress = \"192.0.2\"",
            "trunk \"t\".address: expected HOST",
        ),
        (
            "name = \"t\"\naddress = \"bad_host.example\"",
            "trunk \"t\".address: expected HOST",
        ),
        (
            "name = \"t\"\naddress = \"x.example\"\ninbound = \"acl\"",
            "trunk \"t\".inbound: \"acl\" needs an allow list",
        ),
        (
            "name = \"t\"\naddress = \"x.example\"\ninbound = \"acl\"\nallow = []",
            "trunk \"t\".allow: expected at least one address block",
        ),
        (
            "name = \"t\"\naddress = \"x.example\"\ninbound = \"acl\"\nallow = [\"192.0.2.1/24\"]",
            "trunk \"t\".allow: \"192.0.2.1/24\" has host bits set",
        ),
        (
            "name = \"t\"\naddress = \"x.example\"\nallow = [\"192.0.2.0/24\"]",
            "trunk \"t\".allow: only used with inbound = \"acl\"",
        ),
        (
            "name = \"t\"\naddress = \"x.example\"\ninbound = \"digest\"",
            "trunk \"t\".inbound: \"digest\" needs inbound_username and inbound_password",
        ),
        (
            "name = \"t\"\naddress = \"x.example\"\ninbound = \"digest\"\ninbound_username = \"u\"",
            "trunk \"t\".inbound_username: set inbound_password too",
        ),
        (
            "name = \"t\"\naddress = \"x.example\"\nusername = \"u\"",
            "trunk \"t\".username: set password too",
        ),
        (
            "name = \"t\"\naddress = \"x.example\"\nmax_calls = -1",
            "trunk \"t\".max_calls: expected a whole number from 0",
        ),
        (
            "name = \"t\"\naddress = \"x.example\"\ncodecs = []",
            "trunk \"t\".codecs: expected at least one codec",
        ),
        (
            "name = \"t\"\naddress = \"x.example\"\ninbound = \"open\"",
            "trunk \"t\".inbound: expected one of none, acl, digest, got \"open\"",
        ),
    ];
    for (body, want) in cases {
        let p = one_problem(&format!("# comment\n[[trunk]]\n{body}\n"));
        assert!(
            p.starts_with("tandem.toml:") && p.contains(want),
            "{body}\n  got  {p}\n  want {want}"
        );
    }
    let p = one_problem("[[trunk]]\naddress = \"x.example\"\n");
    assert!(p.contains("missing field `name`"), "{p}");
}

#[test]
fn duplicate_trunks_and_routes_point_at_both_lines() {
    let p = one_problem(&format!(
        "{TRUNKS}\n[[trunk]]\nname = \"carrier-a\"\naddress = \"x.example\"\n"
    ));
    assert!(
        p.contains("trunk.name: trunk name \"carrier-a\" is already used at line 3"),
        "{p}"
    );
    let p = one_problem(&format!(
        "{TRUNKS}\n[[route]]\nprefix = \"4008\"\ntrunks = [\"carrier-a\"]\n[[route]]\nprefix = \"4008\"\ntrunks = [\"carrier-b\"]\n"
    ));
    assert!(
        p.contains("route \"4008\".prefix: a route with this prefix is already defined at line 12"),
        "{p}"
    );
}

#[test]
fn routes_must_name_existing_trunks_and_digit_prefixes() {
    let p = one_problem(&format!(
        "{TRUNKS}\n[[route]]\nprefix = \"86\"\ntrunks = [\"carrier-a\", \"carier-b\"]\n"
    ));
    assert!(
        p.contains("tandem.toml:13: route \"86\".trunks: no trunk named \"carier-b\" (defined trunks: carrier-a, carrier-b)"),
        "{p}"
    );
    let p = one_problem(&format!(
        "{TRUNKS}\n[[route]]\nprefix = \"+86\"\ntrunks = [\"carrier-a\"]\n"
    ));
    assert!(
        p.contains("route \"+86\".prefix: expected digits 0-9 only")
            && p.contains("without the '+'"),
        "{p}"
    );
    let p = one_problem(&format!(
        "{TRUNKS}\n[[route]]\nprefix = \"1\"\ntrunks = []\n"
    ));
    assert!(
        p.contains("route \"1\".trunks: expected at least one trunk name"),
        "{p}"
    );
    // A route to a trunk that is declared but invalid is not reported
    // twice.
    let p = one_problem(&format!(
        "{}[[route]]\nprefix = \"1\"\ntrunks = [\"carrier-b\"]\n",
        TRUNKS.replace("\"tcp\"", "\"sctp\"")
    ));
    assert!(p.contains("carrier-b\".transport"), "{p}");
    let p = one_problem("[[route]]\nprefix = \"1\"\ntrunks = [\"x\"]\n");
    assert!(
        p.contains("no trunk named \"x\" (no trunks are defined)"),
        "{p}"
    );
}

#[test]
fn colliding_listeners_are_caught_before_bind() {
    let p = one_problem("[ng]\nlisten = \"127.0.0.1:5060\"\n");
    assert!(
        p.contains(
            "sip.listen (0.0.0.0:5060) and ng.listen (127.0.0.1:5060) both want UDP port 5060"
        ),
        "{p}"
    );
    let p = one_problem("[sip]\nlisten = \"127.0.0.1:30000\"\n");
    assert!(
        p.contains("media.rtp_ports (30000-39999) includes UDP port 30000 of sip.listen"),
        "{p}"
    );
    // TCP and UDP on one port do not collide.
    parse("[http]\nlisten = \"127.0.0.1:2223\"\n[ng]\nlisten = \"127.0.0.1:2223\"\n").unwrap();
}

#[test]
fn overrides_replace_settings_and_add_implicit_trunks() {
    let mut c = parse(&format!(
        "{TRUNKS}\n[[route]]\nprefix = \"4008\"\ntrunks = [\"carrier-a\"]\n"
    ))
    .unwrap();
    c.apply_overrides(Overrides {
        sip_listen: Some("127.0.0.1:5080".parse().unwrap()),
        rtp_ports: Some((40000, 40100)),
        http_listen: Some("127.0.0.1:9090".parse().unwrap()),
        cdr_db: Some(PathBuf::from("x.sqlite")),
        routes: vec![
            "4008=sip:192.0.2.10:5070;transport=tcp".into(),
            "+44=sip:[2001:db8::1]".into(),
            "=sip:gw.example".into(),
        ],
        ..Overrides::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.sip.listen.port(), 5080);
    assert_eq!(c.media.rtp_ports, (40000, 40100));
    assert_eq!(c.http.listen.map(|a| a.port()), Some(9090));
    assert_eq!(c.cdr.database, PathBuf::from("x.sqlite"));
    let names: Vec<&str> = c.trunks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "carrier-a",
            "carrier-b",
            "192.0.2.10:5070",
            "[2001:db8::1]:5060",
            "gw.example:5060"
        ]
    );
    assert_eq!(c.trunks[2].transport, Transport::Tcp);
    assert!(
        matches!(&c.trunks[2].inbound, Inbound::Acl(a) if a[0].contains("192.0.2.10".parse().unwrap()))
    );
    assert_eq!(c.trunks[4].inbound, Inbound::None);
    assert_eq!(
        c.routes.len(),
        3,
        "--route 4008 replaced the file's 4008 route"
    );
    assert_eq!(c.route_table.lookup("40081"), Some(&[TrunkId(2)][..]));
    assert_eq!(c.route_table.lookup("4412"), Some(&[TrunkId(3)][..]));
    assert_eq!(c.route_table.lookup("999"), Some(&[TrunkId(4)][..]));
}

#[test]
fn bad_overrides_name_the_flag() {
    let mut c = Config::default();
    let e = c
        .apply_overrides(Overrides {
            rtp_ports: Some((5, 5)),
            rtp_address: Some("::".parse().unwrap()),
            routes: vec![
                "4008".into(),
                "1=sip:a.example".into(),
                "1=sip:b.example".into(),
                "2=sip:h:x".into(),
                "3=sip:h.example;lr".into(),
            ],
            ..Overrides::default()
        })
        .unwrap_err()
        .to_string();
    for want in [
        "--rtp-ports: 5-5 must hold",
        "--rtp-address: :: cannot be advertised",
        "--route 4008: expected PREFIX=sip:HOST",
        "--route 1=sip:b.example: prefix \"1\" is given by two --route flags",
        "--route 2=sip:h:x: bad port \"x\"",
        "--route 3=sip:h.example;lr: unknown URI parameter \"lr\"",
    ] {
        assert!(e.contains(want), "{e}\n  want {want}");
    }
    let mut c = Config::default();
    let e = c
        .apply_overrides(Overrides {
            routes: vec![
                "1=sip:192.0.2.1".into(),
                "2=sip:192.0.2.1;transport=tcp".into(),
            ],
            ..Overrides::default()
        })
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("a trunk of that name is already 192.0.2.1:5060 over udp"),
        "{e}"
    );
}

#[test]
fn errors_never_panic_on_odd_input() {
    for text in [
        "\u{feff}",
        "[",
        "[[trunk]]",
        "[[route]]\nprefix = 4",
        "sip = 5",
        "[sip]\nlisten = \"[::1]:99999\"",
        "[media]\nrtp_ports = \"-\"",
        "[media]\nrtp_ports = \"65535-65535\"",
        "[media]\ncodecs = [\"L16/44100\", \"opus/x\"]",
        "[[trunk]]\nname = \"\"\naddress = \"\"",
        "[drain]\ntimeout = 9223372036854775807",
        "[[agent]]\nname = \"\"\ncontact = \"sip:@\"",
        "[[agent]]\nname = \"a\"\ncontact = \"sip:a@[::1\"\nskills = { \"\" = 1 }",
        "[[queue]]\nname = \"q\"\nmembers = [5, {}, { agent = 1 }, { weight = -1 }]",
        "[[queue]]\nname = \"q\"\nstrategy = \"skills\"\nrequired_skills = {}",
        "[[queue]]\nname = \"q\"\noverflow = \"queue:\"\nexit_to = \"number:x\"",
        "[[number]]\nnumber = \"1\"\n[number.schedule]\nsegments = [{ days = 5, start = \"\", end = \"\", route = \"\" }]",
        "[[number]]\nnumber = \"\"\ndestinations = []\n[[number.route]]\nname = \"\"\ndestinations = [\"\"]",
        "[callcenter]\nutc_offset = \"+\"",
        "[callcenter]\nutc_offset = \"-99:99\"",
        "[[ivr]]\nname = \"\"\nprompt = \"\"\ndigits = { \"\" = \"\", \"€\" = \"x:\" }\ncollect = { max = -1, then = \"\" }",
        "[[ivr]]\nname = \"main\"\nprompt = \"/dev/null\"\ncollect = { min = 9, max = 1, terminator = \"\", then = \"menu:main\" }\ntimeout_action = \"repeat\"",
        "[[http_lookup]]\nname = \"x\"\nurl = \"http€://\"\ndefault = \"http:x\"\non = [{ field = \"\", equals = {}, then = \"\" }]",
        "[[http_lookup]]\nname = \"x\"\nurl = \"http://a\"\ndefault = \"back\"\ntimeout = 0",
        "[[number]]\nnumber = \"1\"\ndestinations = [\"ivr:\", \"ivr:x\"]",
    ] {
        let _ = parse(text);
    }
}

/// A call center with every section: two agents, two queues (one spilling
/// to the other), a number with routes, a schedule and forwarding.
const CALLCENTER: &str = r#"
[callcenter]
utc_offset = "+08:00"
max_spill_hops = 2

[[agent]]
name = "alice"
contact = "sip:1001@192.0.2.21:5071;transport=tcp"
skills = { billing = 50, mandarin = 80 }
wrap_up = 10
password = "phone-secret"

[[agent]]
name = "bob"
contact = "sip:bob@phone-bob.example"
login = false

[[queue]]
name = "sales"
strategy = "round-robin"
members = ["alice", { agent = "bob", weight = 2 }]
ring_timeout = 20
wrap_up = 45
auto_pause_after = 0
max_wait = 120
overflow = "queue:support"
service_level_threshold = 30
short_abandon = 8
exit_digit = "9"
exit_to = "voicemail:sales"

[[queue]]
name = "support"
strategy = "skills"
required_skills = { billing = 30 }
max_length = 10
spill_when_no_agents = true
overflow = "number:+8613800000000"

[[number]]
number = "4008123456"
destinations = ["queue:sales", { to = "agent:bob", weight = 3 }]
after_hours = "voicemail:sales"
pass_caller_id = false
strip_prefixes = ["+86"]
blacklist = ["1350000"]
list_mode = "deny"
deny = ["0755"]
pin = "4321"
pin_attempts = 2
pin_prompt = "/dev/null"
forward_busy = ["trunk:carrier-a"]
forward_no_answer = ["number:13800000000"]
no_answer_timeout = 25
hop_limit = 1
regions = [{ prefix = "010", region = "beijing" }]

[[number.route]]
name = "night"
destinations = ["voicemail:night"]
by_region = [{ region = "beijing", destinations = ["queue:support"] }]

[number.schedule]
utc_offset = "+07:00"
segments = [
  { days = "mon-fri", start = "09:00", end = "18:00", route = "default" },
  { days = ["sat", "sun"], start = "00:00", end = "24:00", route = "night" },
]
holidays = [{ date = "2026-10-01", segments = [] }]
workdays = [{ date = "2026-09-27", as = "mon" }]

[[number]]
number = "4008000000"
destinations = ["hangup"]

[[voicemail]]
name = "sales"
greeting = "/dev/null"

[[voicemail]]
name = "night"
"#;

#[test]
fn a_call_center_parses_into_acd_and_plan_configs() {
    use tandem_callcenter::acd::{Overflow, Strategy};
    use tandem_callcenter::plan::{ListMode, NumberPlan};
    use tandem_callcenter::{AgentId, QueueId};

    let c = parse(&format!("{TRUNKS}{CALLCENTER}")).unwrap_or_else(|e| panic!("{e}"));
    let cc = &c.callcenter;
    assert_eq!(cc.utc_offset_minutes, 480);
    assert_eq!(cc.acd.max_spill_hops, 2);

    // Agents: their phones are trunks after the file's.
    let names: Vec<&str> = c.trunks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["carrier-a", "carrier-b", "agent:alice", "agent:bob"]
    );
    let alice = &cc.agents[0];
    assert_eq!(
        (alice.name.as_str(), alice.trunk, alice.user.as_str()),
        ("alice", TrunkId(2), "1001")
    );
    assert!(alice.login_at_start && !cc.agents[1].login_at_start);
    assert!(alice.password.is_some() && !format!("{alice:?}").contains("phone-secret"));
    let t = c.trunk(alice.trunk).unwrap();
    assert_eq!(t.address.to_string(), "192.0.2.21:5071");
    assert_eq!(t.transport, Transport::Tcp);
    // Agents' phones admit no calls as trunks (an address block would
    // also claim callers on the same host).
    assert_eq!(t.inbound, Inbound::None);
    assert_eq!(t.options_interval, None);
    assert_eq!(t.codecs, c.media.codecs);
    let bob = c.trunk(cc.agents[1].trunk).unwrap();
    assert_eq!(bob.address.to_string(), "phone-bob.example:5060");
    assert_eq!(bob.inbound, Inbound::None);
    assert!(c.is_agent_trunk(TrunkId(3)) && !c.is_agent_trunk(TrunkId(0)));
    let a = &cc.acd.agents[0];
    assert_eq!(a.skills.len(), 2);
    assert_eq!(a.wrap_up, Some(Duration::from_secs(10)));

    // Queues.
    let sales = &cc.acd.queues[0];
    assert_eq!(sales.strategy, Strategy::RoundRobin);
    let members: Vec<(AgentId, u32)> = sales.members.iter().map(|m| (m.agent, m.weight)).collect();
    assert_eq!(members, [(AgentId(0), 1), (AgentId(1), 2)]);
    assert_eq!(sales.ring_timeout, Duration::from_secs(20));
    assert_eq!(sales.auto_pause_after, None);
    assert_eq!(sales.spillover.max_wait, Some(Duration::from_secs(120)));
    assert_eq!(sales.spillover.to, Some(Overflow::Queue(QueueId(1))));
    assert_eq!(sales.exit, Some(('9', Overflow::Voicemail("sales".into()))));
    assert_eq!(
        cc.queues[0].kpi.service_level_threshold,
        Duration::from_secs(30)
    );
    assert_eq!(
        cc.queues[0].kpi.short_abandon_threshold,
        Duration::from_secs(8)
    );
    let support = &cc.acd.queues[1];
    assert_eq!(support.strategy, Strategy::Skills);
    assert!(support.members.is_empty() && support.required_skills[0].level == 30);
    assert_eq!(
        support.spillover.to,
        Some(Overflow::Number("+8613800000000".into()))
    );
    assert!(support.spillover.when_no_agents);
    tandem_callcenter::acd::Acd::new(cc.acd.clone()).unwrap();

    // Numbers.
    assert_eq!(cc.numbers.len(), 2);
    assert_eq!(cc.number("4008123456"), Some(0));
    let p = &cc.numbers[0];
    assert_eq!(p.routes.len(), 2);
    assert_eq!(p.routes[0].name, "default");
    assert_eq!(p.routes[0].destinations[1].to, "agent:bob");
    assert_eq!(p.routes[0].destinations[1].weight, 3);
    assert_eq!(p.routes[1].by_region[0].region, "beijing");
    assert!(!p.pass_caller_id);
    assert_eq!(p.restriction.mode, ListMode::Deny);
    assert_eq!(p.pin.as_ref().map(|p| p.max_attempts), Some(2));
    assert_eq!(p.forwarding.hop_limit, 1);
    assert_eq!(p.forwarding.no_answer_timeout_secs, 25);
    let s = p.schedule.as_ref().unwrap();
    assert_eq!(s.utc_offset_minutes, 420);
    assert_eq!(s.segments[1].days, ["sat", "sun"]);
    assert_eq!(s.workdays[0].as_weekday, "mon");
    NumberPlan::new(p).unwrap();
    assert_eq!(cc.numbers[1].after_hours, "hangup");

    // Agent trunks are not routes' trunks, and the summary counts them apart.
    assert_eq!(c.route_table.lookup("4008"), None);
    assert!(
        c.summary().starts_with(
            "2 trunks (carrier-a, carrier-b), 0 routes; 2 agents, 2 queues, 2 numbers; SIP"
        ),
        "{}",
        c.summary()
    );
}

#[test]
fn overrides_append_implicit_trunks_after_the_agents() {
    let mut c = parse(&format!(
        "{TRUNKS}[[route]]\nprefix = \"1\"\ntrunks = [\"carrier-b\"]\n{CALLCENTER}"
    ))
    .unwrap();
    c.apply_overrides(Overrides {
        routes: vec!["4008=sip:192.0.2.10".into()],
        ..Overrides::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.trunks[4].name, "192.0.2.10:5060");
    assert_eq!(c.route_table.lookup("40081"), Some(&[TrunkId(4)][..]));
    assert_eq!(c.route_table.lookup("1"), Some(&[TrunkId(1)][..]));
    assert_eq!(c.callcenter.agents[1].trunk, TrunkId(3));
}

/// `CALLCENTER` with one line replaced, and the 1-based line of the
/// replacement in `TRUNKS` + `CALLCENTER`.
fn callcenter_with(old: &str, new: &str) -> (String, usize) {
    let text = format!("{TRUNKS}{CALLCENTER}");
    assert!(text.contains(old), "{old}");
    let line = text.lines().position(|l| l.contains(old)).unwrap() + 1;
    (text.replacen(old, new, 1), line)
}

#[test]
fn call_center_problems_name_the_key_and_the_line() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "members = [\"alice\", { agent = \"bob\", weight = 2 }]",
            "members = [\"alice\", \"carol\"]",
            "queue \"sales\".members: no agent named \"carol\" (defined agents: alice, bob)",
        ),
        (
            "members = [\"alice\", { agent = \"bob\", weight = 2 }]",
            "members = [\"alice\", { agent = \"bob\", weigth = 2 }]",
            "queue \"sales\".members: unknown key \"weigth\"; expected a name or { agent = \"...\", weight = N }",
        ),
        (
            "destinations = [\"queue:sales\", { to = \"agent:bob\", weight = 3 }]",
            "destinations = [\"queue:sale\"]",
            "number \"4008123456\".destinations: no queue named \"sale\" (defined queues: sales, support)",
        ),
        (
            "forward_busy = [\"trunk:carrier-a\"]",
            "forward_busy = [\"trunk:carrier-z\"]",
            "number \"4008123456\".forward_busy: no trunk named \"carrier-z\" (defined trunks: carrier-a, carrier-b)",
        ),
        (
            "strategy = \"round-robin\"",
            "strategy = \"roundrobin\"",
            "queue \"sales\".strategy: expected one of ring-all, linear, round-robin, longest-idle, fewest-calls, least-talk-time, random, weighted-random, skills, got \"roundrobin\"",
        ),
        (
            "utc_offset = \"+08:00\"",
            "utc_offset = \"GMT+8\"",
            "callcenter.utc_offset: expected +HH:MM or -HH:MM such as \"+08:00\", got \"GMT+8\"",
        ),
        (
            "utc_offset = \"+07:00\"",
            "utc_offset = \"+15:00\"",
            "number \"4008123456\".schedule.utc_offset: \"+15:00\" is beyond",
        ),
        (
            "exit_digit = \"9\"",
            "exit_digit = \"99\"",
            "queue \"sales\".exit_digit: expected one DTMF digit 0-9, * or #, got \"99\"",
        ),
        (
            "exit_to = \"voicemail:sales\"",
            "",
            "", // checked below: the line is exit_digit's
        ),
        (
            "overflow = \"queue:support\"",
            "overflow = \"queue:sales\"",
            "queue \"sales\".overflow: a queue cannot overflow to itself",
        ),
        (
            "short_abandon = 8",
            "service_level_target = 0",
            "queue \"sales\".service_level_target: expected a whole number from 1 to 100, got 0",
        ),
        (
            "short_abandon = 8",
            "callback_attempts = 2",
            "queue \"sales\".callback_attempts: set, but neither overflow nor exit_to is callback",
        ),
        (
            "exit_to = \"voicemail:sales\"",
            "callback_attempts = 11\nexit_to = \"callback\"",
            "queue \"sales\".callback_attempts: expected a whole number from 1 to 10, got 11",
        ),
        (
            "max_spill_hops = 2",
            "max_spill_hops = 11",
            "callcenter.max_spill_hops: expected a whole number from 1 to 10, got 11",
        ),
        (
            "contact = \"sip:bob@phone-bob.example\"",
            "contact = \"sip:phone-bob.example\"",
            "agent \"bob\".contact: \"sip:phone-bob.example\" has no user part",
        ),
        (
            "skills = { billing = 50, mandarin = 80 }",
            "skills = { billing = 500 }",
            "agent \"alice\".skills.billing: expected a whole number from 1 to 100, got 500",
        ),
        (
            "number = \"4008000000\"",
            "number = \"4008123456\"",
            "number \"4008123456\".number: \"4008123456\" is already defined at line",
        ),
        (
            "number = \"4008000000\"",
            "number = \"400-800\"",
            "number \"400-800\".number: expected the number as dialled",
        ),
        (
            "blacklist = [\"1350000\"]",
            "blacklist = [\"135x\"]",
            "number \"4008123456\".blacklist: \"135x\"",
        ),
        (
            "pin = \"4321\"",
            "pin = \"43\"",
            "number \"4008123456\".pin: must be 4 to 6 digits",
        ),
        (
            "workdays = [{ date = \"2026-09-27\", as = \"mon\" }]",
            "workdays = [{ date = \"2026-09-27\", as = \"monday\" }]",
            "number \"4008123456\".schedule.workdays[0].as: \"monday\" is not a weekday",
        ),
        (
            "by_region = [{ region = \"beijing\", destinations = [\"queue:support\"] }]",
            "by_region = [{ region = \"shanghai\", destinations = [\"queue:support\"] }]",
            "number \"4008123456\".route \"night\".by_region[0].region: \"shanghai\" is not a region",
        ),
    ];
    for (old, new, want) in cases {
        if want.is_empty() {
            continue;
        }
        let (text, line) = callcenter_with(old, new);
        let p = one_problem(&text);
        assert!(
            p.starts_with(&format!("tandem.toml:{line}: {want}")),
            "{new}\n  got  {p}\n  want tandem.toml:{line}: {want}"
        );
    }

    // exit_digit without exit_to: reported at exit_digit.
    let (text, _) = callcenter_with("exit_to = \"voicemail:sales\"", "");
    let (_, line) = callcenter_with("exit_digit = \"9\"", "");
    assert_eq!(
        one_problem(&text),
        format!(
            "tandem.toml:{line}: queue \"sales\".exit_digit: set exit_to too (where the caller goes)"
        )
    );

    // A schedule time the plan refuses lands on the line of its segment.
    let (text, line) = callcenter_with(
        "{ days = \"mon-fri\", start = \"09:00\", end = \"18:00\", route = \"default\" },",
        "{ days = \"mon-fri\", start = \"09:00\", end = \"25:00\", route = \"default\" },",
    );
    assert_eq!(
        one_problem(&text),
        format!(
            "tandem.toml:{line}: number \"4008123456\".schedule.segments[0].end: \"25:00\" is not a time HH:MM (hour 25 is above 24)"
        )
    );

    let (text, line) = callcenter_with(
        "login = false",
        "login = false\n[[agent]]\nname = \"alice\"\ncontact = \"sip:a@192.0.2.9\"",
    );
    let (_, first) = callcenter_with("name = \"alice\"", "");
    assert_eq!(
        one_problem(&text),
        format!(
            "tandem.toml:{}: agent.name: agent name \"alice\" is already used at line {first}; names must be unique",
            line + 2
        )
    );

    // A file trunk may not take an agent trunk's name.
    let p = one_problem("[[trunk]]\nname = \"agent:alice\"\naddress = \"x.example\"\n");
    assert!(
        p.starts_with("tandem.toml:2: trunk.name: \"agent:alice\": names starting with \"agent:\""),
        "{p}"
    );
}

#[test]
fn call_center_prompts_must_exist_relative_to_the_file() {
    let (text, line) = callcenter_with(
        "max_spill_hops = 2",
        "max_spill_hops = 2\nmusic_on_hold = \"prompts/moh.wav\"",
    );
    assert_eq!(
        one_problem(&text)
            .split(" (os error")
            .next()
            .unwrap_or_default(),
        format!(
            "tandem.toml:{}: callcenter.music_on_hold: cannot read /nonexistent-base/prompts/moh.wav: No such file or directory",
            line + 1
        )
    );
    let (text, line) = callcenter_with("short_abandon = 8", "periodic_announcement_every = 60");
    assert_eq!(
        one_problem(&text),
        format!(
            "tandem.toml:{line}: queue \"sales\".periodic_announcement_every: set, but periodic_announcement (the prompt to play) is not"
        )
    );

    let dir = std::env::temp_dir().join(format!("tandem-config-cc-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("prompts")).unwrap();
    for f in ["moh.wav", "sales.wav", "ring.wav"] {
        std::fs::write(dir.join("prompts").join(f), "RIFF").unwrap();
    }
    let text = format!("{TRUNKS}{CALLCENTER}")
        .replacen(
            "max_spill_hops = 2",
            "max_spill_hops = 2\nmusic_on_hold = \"prompts/moh.wav\"",
            1,
        )
        .replacen(
            "short_abandon = 8",
            "periodic_announcement_every = 60\nperiodic_announcement = \"prompts/sales.wav\"",
            1,
        )
        .replacen(
            "pass_caller_id = false",
            "ringback = \"prompts/ring.wav\"",
            1,
        );
    let c = Config::from_toml(&text, "t.toml", &dir).unwrap_or_else(|e| panic!("{e}"));
    let cc = &c.callcenter;
    assert_eq!(cc.music_on_hold, Some(dir.join("prompts/moh.wav")));
    assert_eq!(
        cc.queues[0].music_on_hold, cc.music_on_hold,
        "queues default to callcenter.music_on_hold"
    );
    assert_eq!(
        cc.queues[0].periodic_prompt,
        Some(dir.join("prompts/sales.wav"))
    );
    assert_eq!(
        cc.acd.queues[0].announcements.periodic_every,
        Some(Duration::from_secs(60))
    );
    assert_eq!(
        cc.numbers[0].ringback.as_deref(),
        dir.join("prompts/ring.wav").to_str()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two IVR menus and a CRM lookup, referring to `CALLCENTER`'s queues and
/// agents; `4008123456`'s night route goes to `ivr:main`.
const IVR: &str = r##"
[[ivr]]
name = "main"
prompt = "prompts/main.wav"
digits = { "1" = "menu:sales", "2" = "queue:support", "0" = "transfer:number:13800000000", "9" = "voicemail:general", "*" = "repeat", "#" = "back" }
collect = { min = 4, max = 6, terminator = "#", then = "http:crm" }
first_digit_timeout = 7
inter_digit_timeout = 2
retries = 2
invalid_prompt = "prompts/invalid.wav"
timeout_prompt = "prompts/timeout.wav"
timeout_action = "queue:sales"

[[ivr]]
name = "sales"
prompt = "prompts/sales.wav"
digits = { "1" = "queue:sales;priority=2", "2" = "transfer:agent:bob", "0" = "menu:main", "#" = "back" }
barge_in = false

[[http_lookup]]
name = "crm"
url = "http://127.0.0.1:8080/lookup"
timeout = 2
on = [
  { field = "vip", equals = true, then = "queue:support;priority=9" },
  { field = "tier", equals = "gold", then = "menu:sales" },
]
set_priority_from = "priority"
default = "menu:main"
on_error = "queue:sales"

[[voicemail]]
name = "general"
"##;

/// A directory holding the IVR's prompts, unique per test.
fn prompt_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tandem-config-ivr-{test}-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("prompts")).unwrap();
    for f in ["main.wav", "sales.wav", "invalid.wav", "timeout.wav"] {
        std::fs::write(dir.join("prompts").join(f), "RIFF").unwrap();
    }
    dir
}

/// `TRUNKS` + `CALLCENTER` + `IVR`, the night route sent to the IVR.
fn with_ivr() -> String {
    format!("{TRUNKS}{CALLCENTER}{IVR}").replacen(
        "destinations = [\"voicemail:night\"]",
        "destinations = [\"ivr:main\"]",
        1,
    )
}

/// `with_ivr()` with one line replaced, and the 1-based line of the
/// replacement.
fn ivr_with(old: &str, new: &str) -> (String, usize) {
    let text = with_ivr();
    let at = text.find(old).unwrap_or_else(|| panic!("{old}"));
    let line = text[..at].matches('\n').count() + 1;
    (text.replacen(old, new, 1), line)
}

fn ivr_problems(text: &str, dir: &Path) -> Vec<String> {
    match Config::from_toml(text, "tandem.toml", dir) {
        Ok(_) => panic!("config accepted:\n{text}"),
        Err(e) => e.problems.iter().map(|p| p.to_string()).collect(),
    }
}

#[test]
fn ivr_menus_and_lookups_parse_into_the_engine_config() {
    use tandem_callcenter::ivr::{Action, MenuTree};
    use tandem_callcenter::plan::Destination;

    let dir = prompt_dir("parse");
    let c = Config::from_toml(&with_ivr(), "t.toml", &dir).unwrap_or_else(|e| panic!("{e}"));
    let ivr = &c.callcenter.ivr;
    assert_eq!(ivr.menus.len(), 2);
    let main = &ivr.menus[0];
    assert_eq!(main.name, "main");
    assert_eq!(main.prompt, dir.join("prompts/main.wav").to_str().unwrap());
    assert_eq!(main.action_for('1'), Some(&Action::Menu("sales".into())));
    assert_eq!(
        main.action_for('0'),
        Some(&Action::Transfer(Destination::Number("13800000000".into())))
    );
    assert_eq!(main.action_for('*'), Some(&Action::Repeat));
    assert_eq!(main.action_for('#'), Some(&Action::Back));
    assert_eq!(main.digits.len(), 6);
    let collect = main.collect.as_ref().unwrap();
    assert_eq!(
        (collect.min, collect.max, collect.terminator),
        (4, 6, Some('#'))
    );
    assert_eq!(collect.then, Action::Http("crm".into()));
    assert_eq!(main.first_digit_timeout, Duration::from_secs(7));
    assert_eq!(main.inter_digit_timeout, Duration::from_secs(2));
    assert_eq!(main.retries, 2);
    assert_eq!(
        main.invalid_prompt.as_deref(),
        dir.join("prompts/invalid.wav").to_str()
    );
    assert_eq!(
        main.timeout_action,
        Action::Queue {
            name: "sales".into(),
            priority: None
        }
    );
    assert!(main.barge_in && !main.entry);
    let sales = &ivr.menus[1];
    assert!(!sales.barge_in);
    assert_eq!(sales.timeout_action, Action::Hangup, "the default");
    assert_eq!(
        sales.action_for('1'),
        Some(&Action::Queue {
            name: "sales".into(),
            priority: Some(2)
        })
    );
    assert_eq!(
        sales.action_for('2'),
        Some(&Action::Transfer(Destination::Agent("bob".into())))
    );
    let crm = &ivr.lookups[0];
    assert_eq!(crm.url, "http://127.0.0.1:8080/lookup");
    assert_eq!(crm.timeout, Duration::from_secs(2));
    assert_eq!(crm.on[0].equals, "true", "a TOML boolean compares as text");
    assert_eq!(crm.on[1].then, Action::Menu("sales".into()));
    assert_eq!(crm.set_priority_from.as_deref(), Some("priority"));
    assert_eq!(crm.default, Action::Menu("main".into()));
    let tree = MenuTree::new(ivr.clone()).unwrap();
    assert_eq!(tree.menu_id("main"), Some(tree.entry()));
    assert_eq!(
        c.callcenter.numbers[0].routes[1].destinations[0].to,
        "ivr:main"
    );

    // on_error defaults to default; timeouts and retries to 3 s, 5 s, 3 s, 3.
    let text = with_ivr()
        .replacen("on_error = \"queue:sales\"\n", "", 1)
        .replacen(
            "first_digit_timeout = 7\ninter_digit_timeout = 2\nretries = 2\n",
            "",
            1,
        )
        .replacen("timeout = 2\n", "", 1);
    let c = Config::from_toml(&text, "t.toml", &dir).unwrap_or_else(|e| panic!("{e}"));
    let ivr = &c.callcenter.ivr;
    assert_eq!(ivr.lookups[0].on_error, Action::Menu("main".into()));
    assert_eq!(ivr.lookups[0].timeout, Duration::from_secs(3));
    assert_eq!(ivr.menus[0].first_digit_timeout, Duration::from_secs(5));
    assert_eq!(ivr.menus[0].inter_digit_timeout, Duration::from_secs(3));
    assert_eq!(ivr.menus[0].retries, 3);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ivr_problems_name_the_key_and_the_line() {
    let dir = prompt_dir("problems");
    let digits_main = "digits = { \"1\" = \"menu:sales\", \"2\" = \"queue:support\", \"0\" = \"transfer:number:13800000000\", \"9\" = \"voicemail:general\", \"*\" = \"repeat\", \"#\" = \"back\" }";
    let cases: &[(&str, &str, &str)] = &[
        (
            digits_main,
            "digits = { \"1\" = \"menu:salez\" }",
            "ivr \"main\".digits[\"1\"]: no IVR menu named \"salez\" (defined IVR menus: main, sales)",
        ),
        (
            digits_main,
            "digits = { \"2\" = \"queue:suport\" }",
            "ivr \"main\".digits[\"2\"]: no queue named \"suport\" (defined queues: sales, support)",
        ),
        (
            digits_main,
            "digits = { \"3\" = \"transfer:trunk:carrier-z\" }",
            "ivr \"main\".digits[\"3\"]: no trunk named \"carrier-z\"",
        ),
        (
            digits_main,
            "digits = { \"3\" = \"http:erp\" }",
            "ivr \"main\".digits[\"3\"]: no http_lookup named \"erp\" (defined http_lookups: crm)",
        ),
        (
            digits_main,
            "digits = { \"12\" = \"hangup\" }",
            "ivr \"main\".digits: \"12\" is not one DTMF key 0-9, * or #",
        ),
        (
            digits_main,
            "digits = { \"1\" = \"goto:sales\" }",
            "ivr \"main\".digits[\"1\"]: \"goto:sales\" expected menu:NAME, queue:NAME[;priority=N]",
        ),
        (
            "collect = { min = 4, max = 6, terminator = \"#\", then = \"http:crm\" }",
            "collect = { min = 7, max = 6, terminator = \"#\", then = \"http:crm\" }",
            "ivr \"main\".collect.min: 7 is above max (6)",
        ),
        (
            "collect = { min = 4, max = 6, terminator = \"#\", then = \"http:crm\" }",
            "collect = { max = 33, terminator = \"#\", then = \"http:crm\" }",
            "ivr \"main\".collect.max: expected a whole number from 1 to 32, got 33",
        ),
        (
            "collect = { min = 4, max = 6, terminator = \"#\", then = \"http:crm\" }",
            "collect = { min = 4, max = 6, terminator = \"##\", then = \"http:crm\" }",
            "ivr \"main\".collect.terminator: expected one DTMF key 0-9, * or #, got \"##\"",
        ),
        (
            "first_digit_timeout = 7",
            "first_digit_timeout = 0",
            "ivr \"main\".first_digit_timeout: expected a whole number from 1 to 120, got 0",
        ),
        (
            "retries = 2",
            "retries = 11",
            "ivr \"main\".retries: expected a whole number from 0 to 10, got 11",
        ),
        (
            "invalid_prompt = \"prompts/invalid.wav\"",
            "invalid_prompt = \"prompts/missing.wav\"",
            "ivr \"main\".invalid_prompt: cannot read",
        ),
        (
            // Only the whole tree sees this one: the backstop puts it on
            // the line of the key.
            "timeout_action = \"queue:sales\"",
            "timeout_action = \"repeat\"",
            "ivr \"main\".timeout_action: repeat would replay the menu for ever",
        ),
        (
            "barge_in = false",
            "barge_in = false\nentry = true\n[[ivr]]\nname = \"third\"\nprompt = \"prompts/main.wav\"\nentry = true",
            "", // checked below
        ),
        (
            "url = \"http://127.0.0.1:8080/lookup\"",
            "url = \"ftp://127.0.0.1/lookup\"",
            "http_lookup \"crm\".url: expected an http:// or https:// URL, got \"ftp://127.0.0.1/lookup\"",
        ),
        (
            "  { field = \"vip\", equals = true, then = \"queue:support;priority=9\" },",
            "  { field = \"vip\", equals = [1], then = \"queue:support;priority=9\" },",
            "http_lookup \"crm\".on[0].equals: expected a string, number or boolean, got an array",
        ),
        (
            "  { field = \"tier\", equals = \"gold\", then = \"menu:sales\" },",
            "  { field = \"tier\", equals = \"gold\", then = \"back\" },",
            "http_lookup \"crm\".on[1].then: an HTTP answer leads to a menu or a final action",
        ),
        (
            "default = \"menu:main\"",
            "default = \"menu:nowhere\"",
            "http_lookup \"crm\".default: no IVR menu named \"nowhere\"",
        ),
        (
            "destinations = [\"ivr:main\"]",
            "destinations = [\"ivr:night\"]",
            "number \"4008123456\".route \"night\".destinations: no IVR menu named \"night\" (defined IVR menus: main, sales)",
        ),
    ];
    for (old, new, want) in cases {
        if want.is_empty() {
            continue;
        }
        let (text, line) = ivr_with(old, new);
        let p = ivr_problems(&text, &dir);
        assert_eq!(p.len(), 1, "{new}: {p:#?}");
        assert!(
            p[0].starts_with(&format!("tandem.toml:{line}: {want}")),
            "{new}\n  got  {}\n  want tandem.toml:{line}: {want}",
            p[0]
        );
    }

    // A menu name used twice: the second is at fault.
    let (text, line) = ivr_with(
        "barge_in = false",
        "barge_in = false\n[[ivr]]\nname = \"sales\"\nprompt = \"prompts/main.wav\"",
    );
    let (_, first) = ivr_with("name = \"sales\"\nprompt", "");
    assert_eq!(
        ivr_problems(&text, &dir),
        [format!(
            "tandem.toml:{}: ivr.name: ivr name \"sales\" is already used at line {first}; names must be unique",
            line + 2
        )]
    );

    // Two entry menus: the second is at fault.
    let (text, line) = ivr_with(
        "barge_in = false",
        "barge_in = false\nentry = true\n[[ivr]]\nname = \"third\"\nprompt = \"prompts/main.wav\"\nentry = true",
    );
    assert_eq!(
        ivr_problems(&text, &dir),
        [format!(
            "tandem.toml:{}: ivr \"third\".entry: \"sales\" is already the entry menu; only one may be",
            line + 5
        )]
    );

    // No entry menu: neither entry = true nor a menu named main.
    let text = "[[ivr]]\nname = \"start\"\nprompt = \"prompts/main.wav\"\ndigits = { \"1\" = \"hangup\" }\n";
    assert_eq!(
        ivr_problems(text, &dir),
        [
            "tandem.toml:2: ivr: no entry menu: mark one [[ivr]] with entry = true, or name one \"main\""
        ]
    );
    let ok = text.replacen("digits", "entry = true\ndigits", 1);
    Config::from_toml(&ok, "tandem.toml", &dir).unwrap_or_else(|e| panic!("{e}"));

    // A missing prompt is an error at load.
    let (text, line) = ivr_with(
        "prompt = \"prompts/sales.wav\"",
        "prompt = \"prompts/gone.wav\"",
    );
    let p = ivr_problems(&text, &dir);
    assert!(
        p[0].starts_with(&format!(
            "tandem.toml:{line}: ivr \"sales\".prompt: cannot read {}",
            dir.join("prompts/gone.wav").display()
        )),
        "{p:#?}"
    );

    // Unknown keys are refused with their section.
    let (text, line) = ivr_with("barge_in = false", "bargein = false");
    let p = ivr_problems(&text, &dir);
    assert!(
        p[0].starts_with(&format!(
            "tandem.toml:{line}: [[ivr]] #2: unknown field `bargein`"
        )),
        "{p:#?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn voicemail_boxes_parse_with_their_defaults() {
    let dir = prompt_dir("voicemail");
    let text = r#"
[callcenter]
voicemail_dir = "vm"

[[voicemail]]
name = "sales"
greeting = "prompts/main.wav"
max_seconds = 60
min_seconds = 3
webhook = "http://127.0.0.1:8080/vm"

[[voicemail]]
name = "night.box_2-x"
"#;
    let c = Config::from_toml(text, "t.toml", &dir).unwrap_or_else(|e| panic!("{e}"));
    let cc = &c.callcenter;
    assert_eq!(cc.voicemail_dir, dir.join("vm"));
    assert!(!cc.voicemail_dir.exists(), "loading creates nothing");
    let sales = cc.voicemail_box("sales").unwrap();
    assert_eq!(sales.greeting, Some(dir.join("prompts/main.wav")));
    assert_eq!(sales.max_duration, Duration::from_secs(60));
    assert_eq!(sales.min_duration, Duration::from_secs(3));
    assert_eq!(sales.webhook.as_deref(), Some("http://127.0.0.1:8080/vm"));
    assert_eq!(cc.voicemail[1], VoicemailBox::new("night.box_2-x"));
    assert_eq!(cc.voicemail[1].max_duration, Duration::from_secs(120));
    assert_eq!(cc.voicemail[1].min_duration, Duration::from_secs(1));

    let c = Config::from_toml("", "t.toml", &dir).unwrap();
    assert!(c.callcenter.voicemail.is_empty());
    assert_eq!(c.callcenter.voicemail_dir, dir.join("voicemail"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn voicemail_problems_name_the_key_and_the_line() {
    let cases: &[(&str, &str)] = &[
        (
            "[[voicemail]]\nname = \"a/b\"",
            "tandem.toml:2: voicemail.name: \"a/b\": a voicemail box name is 1 to 64 of",
        ),
        (
            "[[voicemail]]\nname = \"..\"",
            "tandem.toml:2: voicemail.name: \"..\": a voicemail box name",
        ),
        (
            "[[voicemail]]\nname = \"x\"\n[[voicemail]]\nname = \"x\"",
            "tandem.toml:4: voicemail.name: voicemail name \"x\" is already used at line 2",
        ),
        (
            "[[voicemail]]\nname = \"x\"\ngreeting = \"prompts/none.wav\"",
            "tandem.toml:3: voicemail \"x\".greeting: cannot read /nonexistent-base/prompts/none.wav",
        ),
        (
            "[[voicemail]]\nname = \"x\"\nmax_seconds = 4",
            "tandem.toml:3: voicemail \"x\".max_seconds: expected a whole number from 5 to 600, got 4",
        ),
        (
            "[[voicemail]]\nname = \"x\"\nmax_seconds = 601",
            "tandem.toml:3: voicemail \"x\".max_seconds: expected a whole number from 5 to 600, got 601",
        ),
        (
            "[[voicemail]]\nname = \"x\"\nmin_seconds = -1",
            "tandem.toml:3: voicemail \"x\".min_seconds: expected a whole number from 0 to 60, got -1",
        ),
        (
            "[[voicemail]]\nname = \"x\"\nmax_seconds = 10\nmin_seconds = 10",
            "tandem.toml:4: voicemail \"x\".min_seconds: 10 s is not below max_seconds (10 s)",
        ),
        (
            "[[voicemail]]\nname = \"x\"\nwebhook = \"https://crm.example/vm\"",
            "tandem.toml:3: voicemail \"x\".webhook: expected an http:// URL",
        ),
        (
            "[[voicemail]]\nname = \"x\"\nwebhook = \"http://crm.example:0/vm\"",
            "tandem.toml:3: voicemail \"x\".webhook: \"http://crm.example:0/vm\": the port must be 1-65535",
        ),
        (
            "[[voicemail]]\nname = \"x\"\nmax_secs = 10",
            "tandem.toml:3: [[voicemail]] #1: unknown field `max_secs`",
        ),
        (
            "[callcenter]\nvoicemail_dir = \"\"",
            "tandem.toml:2: callcenter.voicemail_dir: expected a file path",
        ),
        (
            "[callcenter]\nvoicemail_dir = \"/dev/null\"",
            "tandem.toml:2: callcenter.voicemail_dir: /dev/null exists and is not a directory",
        ),
    ];
    for (text, want) in cases {
        let p = one_problem(text);
        assert!(p.starts_with(want), "{text}\n  got  {p}\n  want {want}");
    }
}

#[test]
fn voicemail_references_must_name_a_box() {
    let dir = prompt_dir("voicemail-refs");
    for (old, new, want) in [
        (
            "exit_to = \"voicemail:sales\"",
            "exit_to = \"voicemail:sale\"",
            "queue \"sales\".exit_to: no voicemail box named \"sale\" (defined voicemail boxes: general, night, sales)",
        ),
        (
            "overflow = \"number:+8613800000000\"",
            "overflow = \"voicemail:nobody\"",
            "queue \"support\".overflow: no voicemail box named \"nobody\"",
        ),
        (
            "after_hours = \"voicemail:sales\"",
            "after_hours = \"voicemail:closed\"",
            "number \"4008123456\".after_hours: no voicemail box named \"closed\"",
        ),
        (
            "destinations = [\"queue:sales\", { to = \"agent:bob\", weight = 3 }]",
            "destinations = [\"queue:sales\", { to = \"voicemail:x\", weight = 3 }]",
            "number \"4008123456\".destinations: no voicemail box named \"x\"",
        ),
        (
            "forward_busy = [\"trunk:carrier-a\"]",
            "forward_busy = [\"voicemail:x\"]",
            "number \"4008123456\".forward_busy: no voicemail box named \"x\"",
        ),
        (
            "\"9\" = \"voicemail:general\"",
            "\"9\" = \"voicemail:generic\"",
            "ivr \"main\".digits[\"9\"]: no voicemail box named \"generic\"",
        ),
        (
            "default = \"menu:main\"",
            "default = \"voicemail:generic\"",
            "http_lookup \"crm\".default: no voicemail box named \"generic\"",
        ),
        (
            "\"0\" = \"transfer:number:13800000000\"",
            "\"0\" = \"transfer:voicemail:generic\"",
            "ivr \"main\".digits[\"0\"]: no voicemail box named \"generic\"",
        ),
    ] {
        let (text, line) = ivr_with(old, new);
        let p = ivr_problems(&text, &dir);
        assert_eq!(p.len(), 1, "{new}: {p:#?}");
        assert!(
            p[0].starts_with(&format!("tandem.toml:{line}: {want}")),
            "{new}\n  got  {}\n  want tandem.toml:{line}: {want}",
            p[0]
        );
    }
    // Boxes are checked even where the IVR is not used.
    let text = format!("{TRUNKS}{CALLCENTER}").replacen("[[voicemail]]\nname = \"night\"\n", "", 1);
    let p = problems(&text);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(
        p[0].contains("route \"night\".destinations: no voicemail box named \"night\" (defined voicemail boxes: sales)"),
        "{}",
        p[0]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn announcements_need_every_spoken_piece() {
    let dir = std::env::temp_dir().join(format!("tandem-config-announce-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("announce")).unwrap();
    for f in ["position.wav", "wait.wav", "minutes.wav", "0.wav"] {
        std::fs::write(dir.join("announce").join(f), b"x").unwrap();
    }
    let text = "[callcenter]\nannouncements = \"announce\"\n";
    let e = Config::from_toml(text, "t.toml", &dir)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("t.toml:2: callcenter.announcements: ")
            && e.contains("lacks under-a-minute.wav, 1.wav, 2.wav"),
        "{e}"
    );
    for f in super::callcenter::ANNOUNCEMENT_FILES {
        std::fs::write(dir.join("announce").join(f), b"x").unwrap();
    }
    let c = Config::from_toml(text, "t.toml", &dir).unwrap();
    assert_eq!(c.callcenter.announcements, Some(dir.join("announce")));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn vip_callers_are_prefixes_with_a_priority() {
    let c = parse(
        "[callcenter]\nvip = [{ prefix = \"1380013\", priority = 5 }, { prefix = \"010\", priority = 2 }]\n",
    )
    .unwrap();
    assert_eq!(
        c.callcenter.vip,
        [("1380013".to_string(), 5), ("010".to_string(), 2)]
    );
    assert_eq!(
        problems(
            "[callcenter]\nvip = [\n { prefix = \"13a\", priority = 5 },\n { prefix = \"010\", priority = 0 },\n { prefix = \"010\", priority = 3 },\n { prefix = \"010\", priority = 4 }\n]\n"
        ),
        [
            "tandem.toml:3: callcenter.vip.prefix: \"13a\": has 'a' at position 2; only 0-9, '*' and '#' are allowed",
            "tandem.toml:4: callcenter.vip.priority: expected a whole number from 1 to 255, got 0",
            "tandem.toml:6: callcenter.vip.prefix: \"010\" is listed twice",
        ]
    );
}

#[test]
fn the_dpdk_media_port_is_configured_under_media() {
    let c = parse(
        r#"
[media]
rtp_address = "192.0.2.10"
packet_io = "dpdk"
dpdk_eal = "-l 2-3 -a 0000:03:00.0"
dpdk_device = "0000:03:00.0"
dpdk_exception = "net_tap0"
dpdk_prefix_len = 26
dpdk_gateway = "192.0.2.1"
dpdk_vlan = 100
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.media.packet_io, PacketIo::Dpdk);
    assert_eq!(
        c.media.dpdk,
        DpdkSettings {
            eal: Some("-l 2-3 -a 0000:03:00.0".into()),
            device: Some("0000:03:00.0".into()),
            exception: Some("net_tap0".into()),
            prefix_len: 26,
            gateway: Some("192.0.2.1".parse().unwrap()),
            vlan: Some(100),
        }
    );
    // Defaults: no EAL arguments (tandem run asks for them), a /24.
    let d = parse("").unwrap();
    assert_eq!(d.media.dpdk, DpdkSettings::default());
    assert_eq!(d.media.dpdk.prefix_len, 24);

    let bad = problems(
        r#"
[media]
dpdk_eal = " "
dpdk_device = "two words"
dpdk_prefix_len = 33
dpdk_gateway = "2001:db8::1"
dpdk_vlan = 4095
"#,
    );
    assert_eq!(
        bad,
        [
            "tandem.toml:3: media.dpdk_eal: expected the EAL arguments, e.g. \"-l 2-3 -a 0000:03:00.0\"",
            "tandem.toml:4: media.dpdk_device: expected a DPDK device name, got \"two words\"",
            "tandem.toml:5: media.dpdk_prefix_len: expected a whole number from 0 to 32, got 33",
            "tandem.toml:6: media.dpdk_gateway: expected an IPv4 address, got \"2001:db8::1\"",
            "tandem.toml:7: media.dpdk_vlan: expected a whole number from 1 to 4094, got 4095",
        ]
    );
}
