//! The gateway's configuration: `tandem run --config FILE`, `tandem
//! check-config FILE`.
//!
//! The file is TOML; docs/config.md documents every key with its default,
//! and `tandem.example.toml` at the repository root is a complete example.
//! Loading happens in two layers:
//!
//! 1. [`raw`]: serde structs that mirror the file, every value wrapped in
//!    [`toml::Spanned`] and every table `deny_unknown_fields`. Syntax errors,
//!    unknown keys and wrong types stop here, with the line serde reports.
//! 2. This module: validation into the plain types below ([`Config`],
//!    [`Trunk`], ...), which the rest of the gateway uses. It checks every
//!    value and the relations between them (route → trunk names, duplicate
//!    names and prefixes, TLS files that must exist, listeners that would
//!    collide) and collects *all* problems rather than stopping at the
//!    first, each as `FILE:LINE: KEY: what is wrong`, e.g.
//!    `tandem.toml:14: trunk "carrier-a".transport: expected one of udp,
//!    tcp, tls, got "sctp"`.
//!
//! The plain types hold only valid values (addresses parsed, ranges checked,
//! codecs resolved to the engine's [`Codec`]), so code downstream never
//! re-validates. A running gateway reloads by loading a new [`Config`] and
//! swapping it in whole, with its [`RouteTable`].
//!
//! Relative paths in the file (`cdr.database`, the TLS files, prompts) are relative
//! to the directory of the config file, so the same file works whatever the
//! current directory of the service manager. Paths given on the command
//! line ([`Overrides`]) are relative to the current directory, as usual for
//! command-line arguments.

mod callcenter;
mod cidr;
mod raw;
mod routes;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tandem_dataplane::codec::{Codec, CodecError, Decoder};

use crate::cdr::Synchronous;
#[allow(unused_imports)] // used by the call-center service as it grows
pub(crate) use callcenter::{
    Agent, CallCenter, CallbackConfig, QueueExtras, VoicemailBox, check_box_name,
};
pub(crate) use cidr::Cidr;
use raw::{List, RawConfig, RawTrunk, S};
#[allow(unused_imports)] // for callers matching on RouteTable::insert errors
pub(crate) use routes::RouteError;
pub(crate) use routes::{RouteTable, TrunkId};

/// The default SIP port (RFC 3261 §19.1.2), and the one for SIP over TLS.
pub(crate) const SIP_PORT: u16 = 5060;
/// See [`SIP_PORT`].
pub(crate) const SIPS_PORT: u16 = 5061;

/// The whole, validated configuration.
///
/// `trunks`, `routes` and `route_table` agree with each other after
/// [`Config::load`] and [`Config::apply_overrides`]; code that edits
/// `trunks` or `routes` by hand rebuilds the table with
/// [`Config::rebuild_route_table`].
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// `[sip]`.
    pub(crate) sip: SipConfig,
    /// `[media]`.
    pub(crate) media: MediaConfig,
    /// `[http]`: `/metrics`, `/health` (and later the REST API).
    pub(crate) http: ListenConfig,
    /// `[cdr]`: the call-record store.
    pub(crate) cdr: CdrConfig,
    /// `[ng]`: the rtpengine-compatible control port.
    pub(crate) ng: ListenConfig,
    /// `[drain]`: graceful shutdown.
    pub(crate) drain: DrainConfig,
    /// `[api]`: who may use the REST API.
    pub(crate) api: ApiConfig,
    /// `[[trunk]]`, in file order, then one internal trunk `agent:NAME`
    /// per `[[agent]]` (see [`Agent::trunk`]), then the implicit trunks of
    /// `--route`.
    pub(crate) trunks: Vec<Trunk>,
    /// `[[route]]`, in file order.
    pub(crate) routes: Vec<Route>,
    /// `routes` compiled for lookup; trunk ids index `trunks`.
    pub(crate) route_table: RouteTable,
    /// `[callcenter]`, `[[agent]]`, `[[queue]]`, `[[number]]`.
    pub(crate) callcenter: CallCenter,
}

/// `[sip]`: the signalling side.
#[derive(Debug, Clone)]
pub(crate) struct SipConfig {
    /// Address for UDP and TCP (`listen`, default `0.0.0.0:5060`).
    pub(crate) listen: SocketAddr,
    /// Which of UDP and TCP to serve on `listen` (`transports`, default
    /// both). Never empty unless `tls` is set.
    pub(crate) transports: Vec<Transport>,
    /// SIP over TLS, when `tls_listen` is set.
    pub(crate) tls: Option<TlsListen>,
    /// PEM file of the CA certificates that TLS trunks' certificates must
    /// chain to, instead of the system's (`tls_ca_file`, default
    /// `/etc/ssl/certs/ca-certificates.crt`); checked at load to hold at
    /// least one certificate.
    pub(crate) tls_ca_file: Option<PathBuf>,
    /// `User-Agent` and `Server` header value (`user_agent`, default
    /// `Tandem`).
    pub(crate) user_agent: String,
    /// RFC 3261 §17.1.1.1 T1, the RTT estimate (`t1_ms`, default 500 ms).
    pub(crate) t1: Duration,
    /// T2, the longest retransmit interval for non-INVITE requests and
    /// INVITE responses (`t2_ms`, default 4 s).
    pub(crate) t2: Duration,
    /// T4, how long a message may stay in the network (`t4_ms`, default
    /// 5 s).
    pub(crate) t4: Duration,
    /// RFC 4028 session interval we ask for, in seconds; `None` = session
    /// timers off (`session_expires`, default 1800, 0 = off).
    pub(crate) session_expires: Option<u32>,
    /// RFC 4028 Min-SE, in seconds, at least 90 (`min_se`, default 90).
    pub(crate) min_se: u32,
    /// Gateway-wide limit of concurrent calls; beyond it new calls get
    /// 503 (`max_calls`, default 20000).
    pub(crate) max_calls: u32,
}

/// `[sip] tls_listen` with its certificate and key.
#[derive(Debug, Clone)]
pub(crate) struct TlsListen {
    /// Address for SIP over TLS.
    pub(crate) listen: SocketAddr,
    /// PEM certificate chain; checked to be readable at load.
    pub(crate) certificate: PathBuf,
    /// PEM private key; checked to be readable at load.
    pub(crate) private_key: PathBuf,
}

/// `[media]`: the RTP side (the engine behind `tandem run`).
#[derive(Debug, Clone)]
pub(crate) struct MediaConfig {
    /// Address RTP binds and SDP advertises; never a wildcard (`rtp_address`,
    /// default `127.0.0.1`).
    pub(crate) rtp_address: IpAddr,
    /// Inclusive port range, at least one even/odd pair (`rtp_ports`,
    /// default `30000-39999`).
    pub(crate) rtp_ports: (u16, u16),
    /// Media worker threads (`workers`, default 1).
    pub(crate) workers: usize,
    /// `SCHED_FIFO` priority of the media workers, 0 = ordinary scheduling
    /// (`rt_priority`, default 0).
    pub(crate) rt_priority: u8,
    /// Packet backend (`packet_io`, default `auto`).
    pub(crate) packet_io: PacketIo,
    /// Seconds without RTP before a call is torn down; 0 = never
    /// (`rtp_timeout`, default 60).
    pub(crate) rtp_timeout: u32,
    /// Codecs we offer, in preference order (`codecs`, default PCMU, PCMA,
    /// G722, L16).
    pub(crate) codecs: Vec<Codec>,
    /// How DTMF is carried towards peers (`dtmf`, default `rfc4733`).
    pub(crate) dtmf: DtmfMode,
    /// The DPDK port, for `packet_io = "dpdk"` (`dpdk_*` keys).
    pub(crate) dpdk: DpdkSettings,
}

/// `[media] dpdk_*`: the kernel-bypass media port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DpdkSettings {
    /// EAL arguments, whitespace-separated (`dpdk_eal`; required with
    /// `packet_io = "dpdk"`).
    pub(crate) eal: Option<String>,
    /// The device by DPDK name (`dpdk_device`); default: the EAL must
    /// find exactly one.
    pub(crate) device: Option<String>,
    /// The kernel's exception port by DPDK name (`dpdk_exception`, a
    /// `net_tap` vdev in the EAL arguments); none: such frames are dropped.
    pub(crate) exception: Option<String>,
    /// Prefix length of `rtp_address`'s subnet (`dpdk_prefix_len`,
    /// default 24): peers inside are reached directly.
    pub(crate) prefix_len: u8,
    /// Next hop for peers outside it (`dpdk_gateway`).
    pub(crate) gateway: Option<Ipv4Addr>,
    /// 802.1Q VLAN of the media traffic (`dpdk_vlan`, 1–4094).
    pub(crate) vlan: Option<u16>,
}

impl Default for DpdkSettings {
    fn default() -> Self {
        Self {
            eal: None,
            device: None,
            exception: None,
            prefix_len: 24,
            gateway: None,
            vlan: None,
        }
    }
}

/// `[http]` or `[ng]`: a listener that is off unless configured.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListenConfig {
    /// Where to listen, if at all.
    pub(crate) listen: Option<SocketAddr>,
}

/// `[cdr]`.
#[derive(Debug, Clone)]
pub(crate) struct CdrConfig {
    /// SQLite file (`database`, default `tandem-cdr.sqlite`).
    pub(crate) database: PathBuf,
    /// SQLite `synchronous` (`synchronous`, default `normal`).
    pub(crate) synchronous: Synchronous,
}

/// `[drain]`.
#[derive(Debug, Clone)]
pub(crate) struct DrainConfig {
    /// How long SIGTERM waits for calls to end before hanging them up
    /// (`timeout`, seconds, default 30).
    pub(crate) timeout: Duration,
}

/// `[api]`: the REST API's bearer tokens (see `crate::api`). Without
/// tokens the API is closed: everything but `GET /api/health` is 401.
#[derive(Debug, Clone, Default)]
pub(crate) struct ApiConfig {
    /// `tokens`, in file order; names and tokens are unique.
    pub(crate) tokens: Vec<ApiToken>,
}

/// One `[api] tokens` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiToken {
    /// Who uses it: the `who` of the audit log (1–64 characters, no
    /// control characters).
    pub(crate) name: String,
    /// The bearer token: at least [`MIN_API_TOKEN_LEN`] characters of the
    /// RFC 6750 `b64token` alphabet (`A-Z a-z 0-9 - . _ ~ + /`, then `=`s).
    pub(crate) token: Secret,
    /// What it may do (`role`, default `read`).
    pub(crate) role: ApiRole,
}

/// The shortest API token accepted.
pub(crate) const MIN_API_TOKEN_LEN: usize = 16;

/// What an API token may do; each role may do what the ones before it
/// may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ApiRole {
    /// `read`: every `GET` but the audit log.
    Read,
    /// `supervisor`: also the audit log and agents' login, logout, pause,
    /// unpause and ready.
    Supervisor,
    /// `admin`: also changes to number plans (destinations, blacklist).
    Admin,
}

impl ApiRole {
    /// The name used in the config file.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ApiRole::Read => "read",
            ApiRole::Supervisor => "supervisor",
            ApiRole::Admin => "admin",
        }
    }
}

/// A SIP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Transport {
    /// RFC 768 datagrams.
    Udp,
    /// A TCP connection.
    Tcp,
    /// TLS over TCP (RFC 3261 §26.2).
    Tls,
}

impl Transport {
    /// The lower-case name used in the config and in `Via`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }

    /// The port used when an address gives none.
    pub(crate) fn default_port(self) -> u16 {
        match self {
            Transport::Tls => SIPS_PORT,
            _ => SIP_PORT,
        }
    }
}

/// `[media] packet_io`: mirrors `tandem_udp::Backend`, which `run` builds
/// from it (kept separate so the config has no I/O types in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PacketIo {
    /// io_uring where it works, else sockets.
    Auto,
    /// io_uring or fail at start.
    IoUring,
    /// Plain sockets.
    Socket,
    /// DPDK (builds with the `dpdk` feature), on the `dpdk_*` keys.
    Dpdk,
}

/// `[media] dtmf`: how we send DTMF to peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DtmfMode {
    /// RFC 4733 telephone-events in RTP.
    Rfc4733,
    /// Tones in the audio.
    Inband,
    /// SIP INFO (application/dtmf-relay).
    Info,
}

/// A password or other secret: never printed by `Debug`, so a config dump
/// in a log does not leak it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A host as written: an IP literal or a DNS name (resolved at call time,
/// RFC 3263 A/AAAA; no SRV lookups yet, so the port is always known).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Host {
    /// An address literal.
    Ip(IpAddr),
    /// A DNS name, lower-cased, without a trailing dot.
    Name(String),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(IpAddr::V6(v6)) => write!(f, "[{v6}]"),
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Name(n) => f.write_str(n),
        }
    }
}

/// A trunk's peer address: host and port (the default port filled in).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct HostPort {
    /// The host.
    pub(crate) host: Host,
    /// The port.
    pub(crate) port: u16,
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Digest credentials (RFC 3261 §22, RFC 8760).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    /// The user name.
    pub(crate) username: String,
    /// The password.
    pub(crate) password: Secret,
    /// Answer only challenges for this realm; `None` = any realm the trunk
    /// sends.
    pub(crate) realm: Option<String>,
}

/// How a trunk's inbound calls are admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Inbound {
    /// The trunk takes no inbound calls (outbound only).
    None,
    /// Calls from a source address in one of these blocks.
    Acl(Vec<Cidr>),
    /// Calls that answer our digest challenge with these credentials.
    Digest(Credentials),
}

/// `[[trunk]]`: a SIP peer we send calls to and/or take calls from.
#[derive(Debug, Clone)]
pub(crate) struct Trunk {
    /// Unique name, used in routes, CDRs and metric labels.
    pub(crate) name: String,
    /// Where we send requests.
    pub(crate) address: HostPort,
    /// How (`transport`, default `udp`).
    pub(crate) transport: Transport,
    /// Credentials for the carrier's challenges to our requests.
    pub(crate) outbound_auth: Option<Credentials>,
    /// Admission of the trunk's inbound calls (`inbound`, default `none`).
    pub(crate) inbound: Inbound,
    /// OPTIONS keepalive interval; `None` = no keepalive
    /// (`options_interval`, seconds, default 30, 0 = off).
    pub(crate) options_interval: Option<Duration>,
    /// Concurrent call limit for this trunk; `None` = only the gateway's
    /// (`max_calls`, default 0 = unlimited).
    pub(crate) max_calls: Option<u32>,
    /// Codec preference for this trunk (`codecs`, default `media.codecs`).
    pub(crate) codecs: Vec<Codec>,
}

/// `[[route]]`: called-number prefix → trunks in failover order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    /// Digits; `""` is the default route.
    pub(crate) prefix: String,
    /// Trunk names, each one in [`Config::trunks`].
    pub(crate) trunks: Vec<String>,
}

/// Command-line settings that replace the file's (`tandem run` flags).
#[derive(Debug, Clone, Default)]
pub(crate) struct Overrides {
    /// `sip.listen`.
    pub(crate) sip_listen: Option<SocketAddr>,
    /// `media.rtp_ports`, as `(lo, hi)`.
    pub(crate) rtp_ports: Option<(u16, u16)>,
    /// `media.rtp_address`.
    pub(crate) rtp_address: Option<IpAddr>,
    /// `http.listen`.
    pub(crate) http_listen: Option<SocketAddr>,
    /// `ng.listen`.
    pub(crate) ng_listen: Option<SocketAddr>,
    /// `cdr.database` (relative to the current directory).
    pub(crate) cdr_db: Option<PathBuf>,
    /// Extra routes, each `PREFIX=sip:HOST[:PORT][;transport=udp|tcp|tls]`.
    /// Each creates (or reuses) an implicit trunk named `HOST:PORT` with
    /// default settings, and replaces a file route with the same prefix.
    pub(crate) routes: Vec<String>,
}

/// One thing wrong with the configuration, located as precisely as we can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// The file (as given) or the command-line flag at fault.
    pub(crate) origin: String,
    /// 1-based line in the file, when known.
    pub(crate) line: Option<usize>,
    /// `KEY: what is wrong`.
    pub(crate) message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.origin, self.message),
            None => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

/// Everything wrong with a configuration: never empty. `Display` prints one
/// problem per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigError {
    /// The problems, in file order.
    pub(crate) problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    fn one(origin: impl Into<String>, line: Option<usize>, message: impl Into<String>) -> Self {
        ConfigError {
            problems: vec![Problem {
                origin: origin.into(),
                line,
                message: message.into(),
            }],
        }
    }
}

/// The codecs offered when `media.codecs` is not set.
pub(crate) const DEFAULT_CODECS: [Codec; 4] = [
    Codec::Pcmu,
    Codec::Pcma,
    Codec::G722,
    Codec::L16 {
        rate: tandem_dsp::resample::Rate::Hz8000,
    },
];

impl Default for Config {
    /// The configuration of `tandem run` without `--config`: SIP on
    /// `0.0.0.0:5060` (UDP and TCP), media on `127.0.0.1` ports
    /// 30000–39999, records in `tandem-cdr.sqlite`, no HTTP, no ng port,
    /// no trunks, no routes.
    fn default() -> Self {
        Config {
            sip: SipConfig {
                listen: SocketAddr::from(([0, 0, 0, 0], SIP_PORT)),
                transports: vec![Transport::Udp, Transport::Tcp],
                tls: None,
                tls_ca_file: None,
                user_agent: "Tandem".to_string(),
                t1: Duration::from_millis(500),
                t2: Duration::from_millis(4000),
                t4: Duration::from_millis(5000),
                session_expires: Some(1800),
                min_se: 90,
                max_calls: 20_000,
            },
            media: MediaConfig {
                rtp_address: IpAddr::from([127, 0, 0, 1]),
                rtp_ports: (30_000, 39_999),
                workers: 1,
                rt_priority: 0,
                packet_io: PacketIo::Auto,
                rtp_timeout: 60,
                codecs: DEFAULT_CODECS.to_vec(),
                dtmf: DtmfMode::Rfc4733,
                dpdk: DpdkSettings::default(),
            },
            http: ListenConfig::default(),
            cdr: CdrConfig {
                database: PathBuf::from("tandem-cdr.sqlite"),
                synchronous: Synchronous::Normal,
            },
            ng: ListenConfig::default(),
            drain: DrainConfig {
                timeout: Duration::from_secs(30),
            },
            api: ApiConfig::default(),
            trunks: Vec::new(),
            routes: Vec::new(),
            route_table: RouteTable::new(),
            callcenter: CallCenter {
                utc_offset_minutes: 480,
                ..CallCenter::default()
            },
        }
    }
}

impl Config {
    /// Reads and validates a config file. Relative paths inside it are
    /// taken from the file's directory.
    pub(crate) fn load(path: &Path) -> Result<Config, ConfigError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::one(&origin, None, format!("cannot read the config file: {e}"))
        })?;
        let base = path.parent().unwrap_or(Path::new(""));
        Config::from_toml(&text, &origin, base)
    }

    /// Validates config text. `origin` names it in errors (the file name);
    /// relative paths are taken from `base_dir`.
    pub(crate) fn from_toml(
        text: &str,
        origin: &str,
        base_dir: &Path,
    ) -> Result<Config, ConfigError> {
        let raw: RawConfig = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                let line = e.span().map(|s| line_of(text, s.start));
                let mut message = e.message().trim().replace('\n', "; ");
                if let Some(section) = line.and_then(|l| section_at(text, l)) {
                    message = format!("{section}: {message}");
                }
                return Err(ConfigError::one(origin, line, message));
            }
        };
        let mut v = Validator {
            text,
            origin,
            base_dir,
            problems: Vec::new(),
        };
        let config = v.config(raw);
        let mut problems = v.problems;
        problems.extend(
            config
                .listener_conflicts()
                .into_iter()
                .map(|message| Problem {
                    origin: origin.to_string(),
                    line: None,
                    message,
                }),
        );
        if problems.is_empty() {
            Ok(config)
        } else {
            problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
            Err(ConfigError { problems })
        }
    }

    /// Applies command-line settings on top of the file's, then re-checks
    /// what they could break (listener collisions, route table).
    pub(crate) fn apply_overrides(&mut self, o: Overrides) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        let mut flag_problem = |flag: &str, message: String| {
            problems.push(Problem {
                origin: flag.to_string(),
                line: None,
                message,
            })
        };
        if let Some(a) = o.sip_listen {
            self.sip.listen = a;
        }
        if let Some((lo, hi)) = o.rtp_ports {
            match check_port_range(lo, hi) {
                Ok(r) => self.media.rtp_ports = r,
                Err(e) => flag_problem("--rtp-ports", e),
            }
        }
        if let Some(ip) = o.rtp_address {
            match check_rtp_address(ip) {
                Ok(ip) => self.media.rtp_address = ip,
                Err(e) => flag_problem("--rtp-address", e),
            }
        }
        if let Some(a) = o.http_listen {
            self.http.listen = Some(a);
        }
        if let Some(a) = o.ng_listen {
            self.ng.listen = Some(a);
        }
        if let Some(db) = o.cdr_db {
            self.cdr.database = db;
        }
        let mut seen_prefixes = HashSet::new();
        for spec in &o.routes {
            let flag = format!("--route {spec}");
            match parse_route_flag(spec, &self.media.codecs) {
                Err(e) => flag_problem(&flag, e),
                Ok((prefix, trunk)) => {
                    if !seen_prefixes.insert(prefix.clone()) {
                        flag_problem(
                            &flag,
                            format!("prefix {prefix:?} is given by two --route flags"),
                        );
                        continue;
                    }
                    let same_name = self.trunks.iter().position(|t| t.name == trunk.name);
                    if let Some(i) = same_name
                        && self.is_agent_trunk(TrunkId(i))
                    {
                        flag_problem(
                            &flag,
                            format!(
                                "the implicit trunk {:?} would take the name of an agent's phone; route to the host by address",
                                trunk.name
                            ),
                        );
                        continue;
                    }
                    match same_name.map(|i| &self.trunks[i]) {
                        Some(t) if t.address != trunk.address || t.transport != trunk.transport => {
                            flag_problem(
                                &flag,
                                format!(
                                    "the implicit trunk {:?} would be {} over {}, but a trunk of that name is already {} over {}; define the trunk in the config file and route to it there",
                                    trunk.name,
                                    trunk.address,
                                    trunk.transport.as_str(),
                                    t.address,
                                    t.transport.as_str()
                                ),
                            );
                            continue;
                        }
                        Some(_) => {}
                        None => self.trunks.push(trunk.clone()),
                    }
                    let route = Route {
                        prefix,
                        trunks: vec![trunk.name],
                    };
                    match self.routes.iter_mut().find(|r| r.prefix == route.prefix) {
                        Some(r) => *r = route,
                        None => self.routes.push(route),
                    }
                }
            }
        }
        for message in self.listener_conflicts() {
            flag_problem("command line", message);
        }
        if let Err(e) = self.rebuild_route_table() {
            flag_problem("command line", e);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { problems })
        }
    }

    /// Recompiles [`Config::route_table`] from `routes` and `trunks`.
    pub(crate) fn rebuild_route_table(&mut self) -> Result<(), String> {
        let ids: HashMap<&str, TrunkId> = self
            .trunks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.as_str(), TrunkId(i)))
            .collect();
        let mut table = RouteTable::new();
        for r in &self.routes {
            let trunks = r
                .trunks
                .iter()
                .map(|n| {
                    ids.get(n.as_str())
                        .copied()
                        .ok_or_else(|| format!("route {:?}: no trunk named {n:?}", r.prefix))
                })
                .collect::<Result<Vec<_>, _>>()?;
            table
                .insert(&r.prefix, trunks)
                .map_err(|e| format!("route {:?}: {e}", r.prefix))?;
        }
        self.route_table = table;
        Ok(())
    }

    /// The trunk a route table entry names.
    pub(crate) fn trunk(&self, id: TrunkId) -> Option<&Trunk> {
        self.trunks.get(id.0)
    }

    /// Whether `id` is the internal trunk of an `[[agent]]`'s phone.
    pub(crate) fn is_agent_trunk(&self, id: TrunkId) -> bool {
        self.callcenter.agents.iter().any(|a| a.trunk == id)
    }

    /// One line for `check-config` and the start-up log.
    pub(crate) fn summary(&self) -> String {
        let mut sip = self
            .sip
            .transports
            .iter()
            .map(|t| format!("{}:{}", t.as_str(), self.sip.listen))
            .collect::<Vec<_>>();
        if let Some(tls) = &self.sip.tls {
            sip.push(format!("tls:{}", tls.listen));
        }
        // Agents' phones are listed as agents, not as trunks.
        let names = self
            .trunks
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.is_agent_trunk(TrunkId(*i)))
            .map(|(_, t)| t.name.as_str())
            .collect::<Vec<_>>();
        let cc = &self.callcenter;
        let callcenter = if cc.is_empty() {
            String::new()
        } else {
            let n = |count: usize, what: &str| format!("{count} {what}{}", plural(count));
            format!(
                "; {}, {}, {}",
                n(cc.agents.len(), "agent"),
                n(cc.acd.queues.len(), "queue"),
                n(cc.numbers.len(), "number")
            )
        };
        let mut s = format!(
            "{} trunk{}{}, {} route{}{}{callcenter}; SIP on {}; media {} ports {}-{}; records in {}",
            names.len(),
            plural(names.len()),
            if names.is_empty() {
                String::new()
            } else {
                format!(" ({})", names.join(", "))
            },
            self.routes.len(),
            plural(self.routes.len()),
            if self.routes.iter().any(|r| r.prefix.is_empty()) {
                " incl. default"
            } else {
                ""
            },
            sip.join(", "),
            self.media.rtp_address,
            self.media.rtp_ports.0,
            self.media.rtp_ports.1,
            self.cdr.database.display(),
        );
        if let Some(a) = self.http.listen {
            s.push_str(&format!("; HTTP on {a}"));
        }
        if let Some(a) = self.ng.listen {
            s.push_str(&format!("; ng on udp:{a}"));
        }
        s
    }

    /// Listeners that would fail to bind because another of ours has the
    /// same address and protocol, and media ranges that swallow a
    /// signalling port. Caught here so the operator gets the key names
    /// rather than a bare "address in use" at start.
    fn listener_conflicts(&self) -> Vec<String> {
        let mut udp: Vec<(&str, SocketAddr)> = Vec::new();
        let mut tcp: Vec<(&str, SocketAddr)> = Vec::new();
        if self.sip.transports.contains(&Transport::Udp) {
            udp.push(("sip.listen", self.sip.listen));
        }
        if self.sip.transports.contains(&Transport::Tcp) {
            tcp.push(("sip.listen", self.sip.listen));
        }
        if let Some(tls) = &self.sip.tls {
            tcp.push(("sip.tls_listen", tls.listen));
        }
        if let Some(a) = self.http.listen {
            tcp.push(("http.listen", a));
        }
        if let Some(a) = self.ng.listen {
            udp.push(("ng.listen", a));
        }
        let mut out = Vec::new();
        for (proto, list) in [("UDP", &udp), ("TCP", &tcp)] {
            for (i, (ka, a)) in list.iter().enumerate() {
                for (kb, b) in &list[i + 1..] {
                    if a.port() == b.port() && ips_overlap(a.ip(), b.ip()) {
                        out.push(format!(
                            "{ka} ({a}) and {kb} ({b}) both want {proto} port {}",
                            a.port()
                        ));
                    }
                }
            }
        }
        let (lo, hi) = self.media.rtp_ports;
        for (key, a) in &udp {
            if (lo..=hi).contains(&a.port()) && ips_overlap(a.ip(), self.media.rtp_address) {
                out.push(format!(
                    "media.rtp_ports ({lo}-{hi}) includes UDP port {} of {key}; move one of them",
                    a.port()
                ));
            }
        }
        out
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn ips_overlap(a: IpAddr, b: IpAddr) -> bool {
    a == b || a.is_unspecified() || b.is_unspecified()
}

/// 1-based line of byte offset `at`.
fn line_of(text: &str, at: usize) -> usize {
    let at = at.min(text.len());
    text.as_bytes()[..at]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The table header (`[sip]`, `[[trunk]] #2`) governing `line`, found by
/// scanning back for a header line. Only used to give serde's errors
/// ("unknown field `t3_ms`") a place; a wrong guess (a header-like line
/// inside a multi-line string) costs a slightly odd prefix, nothing more.
fn section_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    // Strictly above: an error on a header line is about the header itself.
    let upto = line.saturating_sub(1).min(lines.len());
    let header = |l: &str| -> Option<String> {
        let l = l.split('#').next().unwrap_or("").trim();
        let ok = |inner: &str| {
            !inner.is_empty()
                && inner
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-. \"".contains(c))
        };
        if let Some(inner) = l.strip_prefix("[[").and_then(|r| r.strip_suffix("]]")) {
            ok(inner).then(|| format!("[[{}]]", inner.trim()))
        } else if let Some(inner) = l.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            ok(inner).then(|| format!("[{}]", inner.trim()))
        } else {
            None
        }
    };
    let (at, h) = lines[..upto]
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, l)| header(l).map(|h| (i, h)))?;
    if h.starts_with("[[") {
        let n = lines[..=at]
            .iter()
            .filter(|l| header(l).as_deref() == Some(&h))
            .count();
        Some(format!("{h} #{n}"))
    } else {
        Some(h)
    }
}

/// Walks the raw structs, converting each value and recording each problem
/// with its line.
struct Validator<'a> {
    text: &'a str,
    origin: &'a str,
    base_dir: &'a Path,
    problems: Vec<Problem>,
}

impl Validator<'_> {
    fn report(&mut self, span: Range<usize>, key: &str, message: impl fmt::Display) {
        self.problems.push(Problem {
            origin: self.origin.to_string(),
            line: Some(line_of(self.text, span.start)),
            message: format!("{key}: {message}"),
        });
    }

    /// Converts an optional value; on a problem records it and carries on
    /// with the default so the remaining keys are still checked.
    fn value<T, U>(
        &mut self,
        raw: Option<S<T>>,
        key: &str,
        default: U,
        convert: impl FnOnce(T) -> Result<U, String>,
    ) -> U {
        let Some(raw) = raw else { return default };
        let span = raw.span();
        match convert(raw.into_inner()) {
            Ok(v) => v,
            Err(e) => {
                self.report(span, key, e);
                default
            }
        }
    }

    /// Like [`Validator::value`] for an optional setting with no default.
    fn optional<T, U>(
        &mut self,
        raw: Option<S<T>>,
        key: &str,
        convert: impl FnOnce(T) -> Result<U, String>,
    ) -> Option<U> {
        let raw = raw?;
        let span = raw.span();
        match convert(raw.into_inner()) {
            Ok(v) => Some(v),
            Err(e) => {
                self.report(span, key, e);
                None
            }
        }
    }

    /// A list whose elements are converted one by one; each bad element is
    /// reported on its own line, and so is a duplicate.
    fn list<U: PartialEq + fmt::Debug>(
        &mut self,
        raw: List,
        key: &str,
        convert: impl Fn(&str) -> Result<U, String>,
    ) -> Vec<U> {
        let mut out = Vec::new();
        for item in raw.into_inner() {
            let span = item.span();
            match convert(item.get_ref()) {
                Ok(v) if out.contains(&v) => {
                    self.report(span, key, format!("{:?} is listed twice", item.get_ref()))
                }
                Ok(v) => out.push(v),
                Err(e) => self.report(span, key, e),
            }
        }
        out
    }

    fn path(&mut self, raw: Option<S<String>>, key: &str, must_exist: bool) -> Option<PathBuf> {
        let base = self.base_dir.to_path_buf();
        self.optional(raw, key, |s| {
            if s.is_empty() {
                return Err("expected a file path, got \"\"".into());
            }
            let p = base.join(&s);
            if must_exist && let Err(e) = std::fs::File::open(&p) {
                return Err(format!("cannot read {}: {e}", p.display()));
            }
            Ok(p)
        })
    }

    fn config(&mut self, raw: RawConfig) -> Config {
        let d = Config::default();
        let sip = self.sip(raw.sip.unwrap_or_default(), d.sip);
        let media = self.media(raw.media.unwrap_or_default(), d.media);
        let http = ListenConfig {
            listen: self.optional(raw.http.unwrap_or_default().listen, "http.listen", |s| {
                socket_addr(&s)
            }),
        };
        let ng = ListenConfig {
            listen: self.optional(raw.ng.unwrap_or_default().listen, "ng.listen", |s| {
                socket_addr(&s)
            }),
        };
        let rc = raw.cdr.unwrap_or_default();
        let cdr = CdrConfig {
            database: self
                .path(rc.database, "cdr.database", false)
                .unwrap_or(d.cdr.database),
            synchronous: self.value(rc.synchronous, "cdr.synchronous", d.cdr.synchronous, |s| {
                one_of(
                    &s,
                    &[("normal", Synchronous::Normal), ("full", Synchronous::Full)],
                )
            }),
        };
        let drain = DrainConfig {
            timeout: self.value(
                raw.drain.unwrap_or_default().timeout,
                "drain.timeout",
                d.drain.timeout,
                |n| int_in(n, 0, 86_400).map(|s| Duration::from_secs(s as u64)),
            ),
        };

        let api = self.api(raw.api.unwrap_or_default());

        let mut trunks: Vec<Trunk> = Vec::new();
        // Every declared name, valid trunk or not: a route to a trunk with
        // a bad transport should be reported once (at the transport), not
        // again as "no trunk named".
        let mut trunk_lines: HashMap<String, usize> = HashMap::new();
        for rt in raw.trunk {
            let name_span = rt.name.span();
            let name = rt.name.get_ref().clone();
            let line = line_of(self.text, name_span.start);
            if let Some(first) = trunk_lines.get(&name) {
                let msg = format!(
                    "trunk name {name:?} is already used at line {first}; names must be unique"
                );
                self.report(name_span, "trunk.name", msg);
                continue;
            }
            trunk_lines.insert(name, line);
            if let Some(t) = self.trunk(rt, &media.codecs) {
                trunks.push(t);
            }
        }

        let mut routes: Vec<Route> = Vec::new();
        let mut route_lines: HashMap<String, usize> = HashMap::new();
        for rr in raw.route {
            let span = rr.prefix.span();
            let prefix = rr.prefix.into_inner();
            let key = format!("route {prefix:?}");
            if !prefix.bytes().all(|b| b.is_ascii_digit()) {
                let hint = if prefix.starts_with('+') {
                    " (write it without the '+': lookups ignore a leading '+')"
                } else {
                    ""
                };
                self.report(
                    span,
                    &format!("{key}.prefix"),
                    format!("expected digits 0-9 only, or \"\" for the default route{hint}"),
                );
                continue;
            }
            let mut names = Vec::new();
            let list_span = rr.trunks.span();
            for n in rr.trunks.into_inner() {
                let nspan = n.span();
                let n = n.into_inner();
                if !trunk_lines.contains_key(&n) {
                    let known = if trunk_lines.is_empty() {
                        "no trunks are defined".to_string()
                    } else {
                        let mut k: Vec<&str> = trunk_lines.keys().map(String::as_str).collect();
                        k.sort_unstable();
                        format!("defined trunks: {}", k.join(", "))
                    };
                    self.report(
                        nspan,
                        &format!("{key}.trunks"),
                        format!("no trunk named {n:?} ({known})"),
                    );
                } else if names.contains(&n) {
                    self.report(
                        nspan,
                        &format!("{key}.trunks"),
                        format!("{n:?} is listed twice"),
                    );
                } else {
                    names.push(n);
                }
            }
            if names.is_empty() {
                if !self
                    .problems
                    .iter()
                    .any(|p| p.message.starts_with(&format!("{key}.trunks")))
                {
                    self.report(
                        list_span,
                        &format!("{key}.trunks"),
                        "expected at least one trunk name",
                    );
                }
                continue;
            }
            let line = line_of(self.text, span.start);
            if let Some(first) = route_lines.get(&prefix) {
                let msg = format!("a route with this prefix is already defined at line {first}");
                self.report(span, &format!("{key}.prefix"), msg);
                continue;
            }
            route_lines.insert(prefix.clone(), line);
            routes.push(Route {
                prefix,
                trunks: names,
            });
        }

        // Agents' trunks go after the file's, so the file's trunk ids
        // (and the route table) do not depend on the call center.
        let callcenter = self.callcenter(
            callcenter::Sections {
                callcenter: raw.callcenter,
                agents: raw.agent,
                queues: raw.queue,
                numbers: raw.number,
                menus: raw.ivr,
                lookups: raw.http_lookup,
                voicemail: raw.voicemail,
            },
            &trunk_lines,
            &mut trunks,
            &media.codecs,
        );

        let mut config = Config {
            sip,
            media,
            http,
            cdr,
            ng,
            drain,
            api,
            trunks,
            routes,
            route_table: RouteTable::new(),
            callcenter,
        };
        // Only a clean config gets a table: with problems it is refused
        // anyway, and a route to an invalid trunk is already reported.
        if self.problems.is_empty()
            && let Err(e) = config.rebuild_route_table()
        {
            // Unreachable after the checks above; kept as an error, not a
            // panic, in case the two ever disagree.
            self.problems.push(Problem {
                origin: self.origin.to_string(),
                line: None,
                message: e,
            });
        }
        config
    }

    /// `[api]`: each token checked (name, length, alphabet, role), names
    /// and tokens unique.
    fn api(&mut self, r: raw::RawApi) -> ApiConfig {
        let mut tokens: Vec<ApiToken> = Vec::new();
        for (i, t) in r
            .tokens
            .map(S::into_inner)
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let t = t.into_inner();
            let key = format!("api.tokens[{i}]");
            let name_span = t.name.span();
            let name = t.name.into_inner();
            let mut ok = true;
            if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
                self.report(
                    name_span.clone(),
                    &format!("{key}.name"),
                    "expected 1 to 64 characters without control characters",
                );
                ok = false;
            } else if tokens.iter().any(|x| x.name == name) {
                self.report(
                    name_span.clone(),
                    &format!("{key}.name"),
                    format!("{name:?} names two tokens; the name is the audit log's who, so it must be unique"),
                );
                ok = false;
            }
            let token_span = t.token.span();
            let token = t.token.into_inner();
            if let Err(e) = check_api_token(&token) {
                self.report(token_span.clone(), &format!("{key}.token"), e);
                ok = false;
            } else if tokens.iter().any(|x| x.token.0 == token) {
                self.report(
                    token_span,
                    &format!("{key}.token"),
                    "is the same as another token's",
                );
                ok = false;
            }
            let role = match t.role {
                None => Some(ApiRole::Read),
                raw => self.optional(raw, &format!("{key}.role"), |s| {
                    one_of(
                        &s,
                        &[
                            ("read", ApiRole::Read),
                            ("supervisor", ApiRole::Supervisor),
                            ("admin", ApiRole::Admin),
                        ],
                    )
                }),
            };
            if let (true, Some(role)) = (ok, role) {
                tokens.push(ApiToken {
                    name,
                    token: Secret(token),
                    role,
                });
            }
        }
        ApiConfig { tokens }
    }

    fn sip(&mut self, r: raw::RawSip, d: SipConfig) -> SipConfig {
        let listen = self.value(r.listen, "sip.listen", d.listen, |s| socket_addr(&s));
        let transports_span = r.transports.as_ref().map(|t| t.span());
        let transports = match r.transports {
            None => d.transports,
            Some(list) => self.list(list, "sip.transports", |s| match s {
                "tls" => Err("TLS has its own address: set sip.tls_listen (with tls_certificate and tls_private_key) instead".into()),
                _ => one_of(s, &[("udp", Transport::Udp), ("tcp", Transport::Tcp)]),
            }),
        };
        let tls_listen_span = r.tls_listen.as_ref().map(|t| t.span());
        let tls_listen = self.optional(r.tls_listen, "sip.tls_listen", |s| socket_addr(&s));
        let cert_given = r.tls_certificate.is_some();
        let key_given = r.tls_private_key.is_some();
        let certificate_span = r.tls_certificate.as_ref().map(|s| s.span());
        let private_key_span = r.tls_private_key.as_ref().map(|s| s.span());
        let certificate = self.path(r.tls_certificate, "sip.tls_certificate", true);
        let private_key = self.path(r.tls_private_key, "sip.tls_private_key", true);
        let tls = match (tls_listen, tls_listen_span.clone()) {
            (Some(listen), _) => match (certificate, private_key) {
                (Some(certificate), Some(private_key)) => Some(TlsListen {
                    listen,
                    certificate,
                    private_key,
                }),
                _ => {
                    let missing: Vec<&str> = [
                        (cert_given, "tls_certificate"),
                        (key_given, "tls_private_key"),
                    ]
                    .iter()
                    .filter(|(given, _)| !given)
                    .map(|(_, k)| *k)
                    .collect();
                    if !missing.is_empty() {
                        let span = tls_listen_span.unwrap_or(0..0);
                        self.report(
                            span,
                            "sip.tls_listen",
                            format!(
                                "TLS needs sip.{} (PEM file paths)",
                                missing.join(" and sip.")
                            ),
                        );
                    }
                    None
                }
            },
            (None, None) if cert_given || key_given => {
                // A certificate without a listener usually means the
                // operator forgot tls_listen: say so rather than ignore it.
                let (key, span) = match (&certificate_span, &private_key_span) {
                    (Some(s), _) => ("sip.tls_certificate", s.clone()),
                    (None, s) => ("sip.tls_private_key", s.clone().unwrap_or(0..0)),
                };
                self.report(
                    span,
                    key,
                    "set, but sip.tls_listen is not; set tls_listen to serve SIP over TLS",
                );
                None
            }
            _ => None,
        };
        let ca_span = r.tls_ca_file.as_ref().map(|s| s.span());
        let tls_ca_file = self.path(r.tls_ca_file, "sip.tls_ca_file", true);
        if let (Some(path), Some(span)) = (&tls_ca_file, ca_span)
            && let Err(e) = pem_certificates(path)
        {
            self.report(span, "sip.tls_ca_file", e);
        }
        if transports.is_empty()
            && tls.is_none()
            && transports_span.is_some()
            && !self
                .problems
                .iter()
                .any(|p| p.message.starts_with("sip.transports"))
        {
            self.report(
                transports_span.unwrap_or(0..0),
                "sip.transports",
                "no SIP transport left: list udp and/or tcp, or set sip.tls_listen",
            );
        }
        let user_agent = self.value(r.user_agent, "sip.user_agent", d.user_agent, |s| {
            if s.trim().is_empty() || s.chars().any(|c| c.is_control()) || s.len() > 200 {
                Err("expected 1 to 200 printable characters (it goes into the User-Agent and Server headers)".into())
            } else {
                Ok(s)
            }
        });
        let ms = |n: i64| int_in(n, 1, 600_000).map(|n| Duration::from_millis(n as u64));
        let t1 = self.value(r.t1_ms.clone(), "sip.t1_ms", d.t1, ms);
        let t2_span = r.t2_ms.as_ref().map(|s| s.span());
        let t2 = self.value(r.t2_ms, "sip.t2_ms", d.t2, ms);
        if t2 < t1 {
            self.report(
                t2_span.or(r.t1_ms.map(|s| s.span())).unwrap_or(0..0),
                "sip.t2_ms",
                format!(
                    "T2 ({} ms) must not be below T1 ({} ms) (RFC 3261 §17.1.2.2)",
                    t2.as_millis(),
                    t1.as_millis()
                ),
            );
        }
        let t4 = self.value(r.t4_ms, "sip.t4_ms", d.t4, ms);
        let min_se = self.value(r.min_se, "sip.min_se", d.min_se, |n| {
            int_in(n, 90, 86_400)
                .map(|n| n as u32)
                .map_err(|e| format!("{e} (RFC 4028 §4: Min-SE is never below 90)"))
        });
        let se_span = r.session_expires.as_ref().map(|s| s.span());
        let session_expires = self.value(
            r.session_expires,
            "sip.session_expires",
            d.session_expires,
            |n| int_in(n, 0, 86_400).map(|n| (n > 0).then_some(n as u32)),
        );
        if let Some(se) = session_expires
            && se < min_se
        {
            self.report(
                se_span.unwrap_or(0..0),
                "sip.session_expires",
                format!(
                    "{se} s is below sip.min_se ({min_se} s); use 0 to turn session timers off"
                ),
            );
        }
        let max_calls = self.value(r.max_calls, "sip.max_calls", d.max_calls, |n| {
            int_in(n, 1, 10_000_000).map(|n| n as u32).map_err(|e| format!("{e} (the gateway-wide limit is overload protection: set it high rather than off)"))
        });
        SipConfig {
            listen,
            transports,
            tls,
            tls_ca_file,
            user_agent,
            t1,
            t2,
            t4,
            session_expires,
            min_se,
            max_calls,
        }
    }

    fn media(&mut self, r: raw::RawMedia, d: MediaConfig) -> MediaConfig {
        MediaConfig {
            rtp_address: self.value(r.rtp_address, "media.rtp_address", d.rtp_address, |s| {
                s.parse::<IpAddr>()
                    .map_err(|_| format!("expected an IP address, got {s:?}"))
                    .and_then(check_rtp_address)
            }),
            rtp_ports: self.value(r.rtp_ports, "media.rtp_ports", d.rtp_ports, |s| {
                port_range(&s)
            }),
            workers: self.value(r.workers, "media.workers", d.workers, |n| {
                int_in(n, 1, 1024).map(|n| n as usize)
            }),
            rt_priority: self.value(r.rt_priority, "media.rt_priority", d.rt_priority, |n| {
                int_in(n, 0, i64::from(tandem_udp::MAX_RT_PRIORITY)).map(|n| n as u8)
            }),
            packet_io: self.value(r.packet_io, "media.packet_io", d.packet_io, |s| {
                one_of(
                    &s,
                    &[
                        ("auto", PacketIo::Auto),
                        ("io_uring", PacketIo::IoUring),
                        ("socket", PacketIo::Socket),
                        ("dpdk", PacketIo::Dpdk),
                    ],
                )
            }),
            rtp_timeout: self.value(r.rtp_timeout, "media.rtp_timeout", d.rtp_timeout, |n| {
                int_in(n, 0, 86_400).map(|n| n as u32)
            }),
            codecs: match r.codecs {
                None => d.codecs,
                Some(list) => {
                    let span = list.span();
                    let codecs = self.list(list, "media.codecs", parse_codec);
                    if codecs.is_empty()
                        && !self
                            .problems
                            .iter()
                            .any(|p| p.message.starts_with("media.codecs"))
                    {
                        self.report(span, "media.codecs", "expected at least one codec");
                    }
                    if codecs.is_empty() { d.codecs } else { codecs }
                }
            },
            dtmf: self.value(r.dtmf, "media.dtmf", d.dtmf, |s| {
                one_of(
                    &s,
                    &[
                        ("rfc4733", DtmfMode::Rfc4733),
                        ("inband", DtmfMode::Inband),
                        ("info", DtmfMode::Info),
                    ],
                )
            }),
            dpdk: DpdkSettings {
                eal: self.optional(r.dpdk_eal, "media.dpdk_eal", |s| {
                    if s.trim().is_empty() || s.contains('\0') {
                        Err("expected the EAL arguments, e.g. \"-l 2-3 -a 0000:03:00.0\"".into())
                    } else {
                        Ok(s)
                    }
                }),
                device: self.optional(r.dpdk_device, "media.dpdk_device", |s| {
                    if s.is_empty() || s.chars().any(char::is_whitespace) {
                        Err(format!("expected a DPDK device name, got {s:?}"))
                    } else {
                        Ok(s)
                    }
                }),
                exception: self.optional(r.dpdk_exception, "media.dpdk_exception", |s| {
                    if s.is_empty() || s.chars().any(char::is_whitespace) {
                        Err(format!("expected a DPDK device name, got {s:?}"))
                    } else {
                        Ok(s)
                    }
                }),
                prefix_len: self.value(
                    r.dpdk_prefix_len,
                    "media.dpdk_prefix_len",
                    d.dpdk.prefix_len,
                    |n| int_in(n, 0, 32).map(|n| n as u8),
                ),
                gateway: self.optional(r.dpdk_gateway, "media.dpdk_gateway", |s| {
                    s.parse::<Ipv4Addr>()
                        .map_err(|_| format!("expected an IPv4 address, got {s:?}"))
                }),
                vlan: self.optional(r.dpdk_vlan, "media.dpdk_vlan", |n| {
                    int_in(n, 1, 4094).map(|n| n as u16)
                }),
            },
        }
    }

    fn trunk(&mut self, r: RawTrunk, media_codecs: &[Codec]) -> Option<Trunk> {
        let errors_before = self.problems.len();
        let name_span = r.name.span();
        let name = r.name.into_inner();
        let key = match check_trunk_name(&name) {
            Ok(()) => format!("trunk {name:?}"),
            Err(e) => {
                self.report(name_span.clone(), "trunk.name", e);
                format!("trunk {name:?}")
            }
        };
        let k = |field: &str| format!("{key}.{field}");
        let transport = self.value(r.transport, &k("transport"), Transport::Udp, |s| {
            one_of(
                &s,
                &[
                    ("udp", Transport::Udp),
                    ("tcp", Transport::Tcp),
                    ("tls", Transport::Tls),
                ],
            )
        });
        let address = self.optional(Some(r.address), &k("address"), |s| {
            host_port(&s, transport.default_port())
        });

        let outbound_auth = self.credentials(
            r.username, r.password, r.realm, &key, "username", "password",
        );

        let inbound_span = r
            .inbound
            .as_ref()
            .map(|s| s.span())
            .unwrap_or(name_span.clone());
        let mode = self.value(r.inbound, &k("inbound"), "none", |s| {
            one_of(
                &s,
                &[("none", "none"), ("acl", "acl"), ("digest", "digest")],
            )
        });
        let allow_span = r.allow.as_ref().map(|a| a.span());
        let allow = r
            .allow
            .map(|l| self.list(l, &k("allow"), |s| s.parse::<Cidr>()));
        let digest_given = r.inbound_username.is_some() || r.inbound_password.is_some();
        let digest_span = r
            .inbound_username
            .as_ref()
            .or(r.inbound_password.as_ref())
            .map(|s| s.span());
        let digest = self.credentials(
            r.inbound_username,
            r.inbound_password,
            None,
            &key,
            "inbound_username",
            "inbound_password",
        );
        let inbound = match mode {
            "acl" => match allow {
                Some(list) if !list.is_empty() => Inbound::Acl(list),
                Some(_) => {
                    if self.problems.len() == errors_before {
                        self.report(
                            allow_span.unwrap_or(inbound_span),
                            &k("allow"),
                            "expected at least one address block for inbound = \"acl\"",
                        );
                    }
                    Inbound::None
                }
                None => {
                    self.report(inbound_span, &k("inbound"), "\"acl\" needs an allow list of address blocks, e.g. allow = [\"192.0.2.0/24\"]");
                    Inbound::None
                }
            },
            "digest" => {
                if allow_span.is_some() {
                    self.report(
                        allow_span.clone().unwrap_or(0..0),
                        &k("allow"),
                        "only used with inbound = \"acl\"",
                    );
                }
                match digest {
                    Some(c) => Inbound::Digest(c),
                    None => {
                        if !digest_given {
                            self.report(
                                inbound_span,
                                &k("inbound"),
                                "\"digest\" needs inbound_username and inbound_password",
                            );
                        }
                        Inbound::None
                    }
                }
            }
            _ => {
                if let Some(span) = allow_span {
                    self.report(span, &k("allow"), "only used with inbound = \"acl\"; set inbound = \"acl\" to admit calls from these addresses");
                }
                if let Some(span) = digest_span {
                    self.report(
                        span,
                        &k("inbound_username"),
                        "only used with inbound = \"digest\"",
                    );
                }
                Inbound::None
            }
        };
        let options_interval = self.value(
            r.options_interval,
            &k("options_interval"),
            Some(Duration::from_secs(30)),
            |n| int_in(n, 0, 86_400).map(|n| (n > 0).then(|| Duration::from_secs(n as u64))),
        );
        let max_calls = self.value(r.max_calls, &k("max_calls"), None, |n| {
            int_in(n, 0, 10_000_000).map(|n| (n > 0).then_some(n as u32))
        });
        let codecs = match r.codecs {
            None => media_codecs.to_vec(),
            Some(list) => {
                let span = list.span();
                let c = self.list(list, &k("codecs"), parse_codec);
                if c.is_empty() && self.problems.len() == errors_before {
                    self.report(
                        span,
                        &k("codecs"),
                        "expected at least one codec (leave the key out to use media.codecs)",
                    );
                }
                c
            }
        };
        if self.problems.len() > errors_before {
            return None;
        }
        Some(Trunk {
            name,
            address: address?,
            transport,
            outbound_auth,
            inbound,
            options_interval,
            max_calls,
            codecs,
        })
    }

    /// A user name and password that must come together, and an optional
    /// realm.
    fn credentials(
        &mut self,
        user: Option<S<String>>,
        pass: Option<S<String>>,
        realm: Option<S<String>>,
        key: &str,
        user_key: &str,
        pass_key: &str,
    ) -> Option<Credentials> {
        let k = |f: &str| format!("{key}.{f}");
        let realm_span = realm.as_ref().map(|r| r.span());
        let realm = self.optional(realm, &k("realm"), non_empty);
        match (user, pass) {
            (None, None) => {
                if let (Some(_), Some(span)) = (&realm, realm_span) {
                    let msg = format!("only used with {user_key} and {pass_key}");
                    self.report(span, &k("realm"), msg);
                }
                None
            }
            (Some(u), None) => {
                self.report(u.span(), &k(user_key), format!("set {pass_key} too"));
                None
            }
            (None, Some(p)) => {
                self.report(p.span(), &k(pass_key), format!("set {user_key} too"));
                None
            }
            (Some(u), Some(p)) => {
                let username = self.optional(Some(u), &k(user_key), non_empty)?;
                let password = self.optional(Some(p), &k(pass_key), non_empty)?;
                Some(Credentials {
                    username,
                    password: Secret(password),
                    realm,
                })
            }
        }
    }
}

/// An `[api]` token: long enough, and only characters of the RFC 6750
/// §2.1 `b64token` (so it travels in `Authorization: Bearer` as is).
fn check_api_token(t: &str) -> Result<(), String> {
    let body = t.trim_end_matches('=');
    let alphabet = |c: char| c.is_ascii_alphanumeric() || "-._~+/".contains(c);
    if body.is_empty() || !body.chars().all(alphabet) {
        return Err("expected letters, digits and - . _ ~ + / (then optional =), as in an HTTP bearer token".into());
    }
    if t.len() < MIN_API_TOKEN_LEN {
        return Err(format!(
            "is {} characters; tokens are at least {MIN_API_TOKEN_LEN} (use e.g. `openssl rand -hex 24`)",
            t.len()
        ));
    }
    Ok(())
}

fn non_empty(s: String) -> Result<String, String> {
    if s.is_empty() || s.chars().any(|c| c.is_control()) {
        Err("expected a non-empty value without control characters".into())
    } else {
        Ok(s)
    }
}

fn one_of<T: Copy>(s: &str, choices: &[(&str, T)]) -> Result<T, String> {
    choices
        .iter()
        .find(|(n, _)| *n == s)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
            format!("expected one of {}, got {s:?}", names.join(", "))
        })
}

fn int_in(n: i64, lo: i64, hi: i64) -> Result<i64, String> {
    if (lo..=hi).contains(&n) {
        Ok(n)
    } else {
        Err(format!(
            "expected a whole number from {lo} to {hi}, got {n}"
        ))
    }
}

fn socket_addr(s: &str) -> Result<SocketAddr, String> {
    s.parse().map_err(|_| {
        format!("expected IP:PORT such as \"0.0.0.0:5060\" or \"[::]:5060\", got {s:?}")
    })
}

fn check_rtp_address(ip: IpAddr) -> Result<IpAddr, String> {
    if ip.is_unspecified() {
        Err(format!(
            "{ip} cannot be advertised in SDP; give the address peers should send media to"
        ))
    } else {
        Ok(ip)
    }
}

fn check_port_range(lo: u16, hi: u16) -> Result<(u16, u16), String> {
    // RTP takes an even port and RTCP the odd one above (RFC 3550 §11).
    let odd = lo.checked_add(lo & 1).and_then(|even| even.checked_add(1));
    if lo == 0 || odd.is_none_or(|odd| odd > hi) {
        Err(format!(
            "{lo}-{hi} must hold at least one even/odd port pair, above 0"
        ))
    } else {
        Ok((lo, hi))
    }
}

fn port_range(s: &str) -> Result<(u16, u16), String> {
    let bad = || format!("expected \"LO-HI\" such as \"30000-39999\", got {s:?}");
    let (lo, hi) = s.split_once('-').ok_or_else(bad)?;
    let lo: u16 = lo.trim().parse().map_err(|_| bad())?;
    let hi: u16 = hi.trim().parse().map_err(|_| bad())?;
    check_port_range(lo, hi)
}

/// `NAME` or `NAME/RATE`, resolved against the engine's codecs (and
/// refused when the codec is known but not built into this binary).
pub(crate) fn parse_codec(s: &str) -> Result<Codec, String> {
    const KNOWN: &str = "PCMU, PCMA, G722, L16, L16/16000, L16/48000, opus";
    let unknown = || format!("expected one of {KNOWN}, got {s:?}");
    let (name, rate) = match s.split_once('/') {
        Some((n, r)) => (n, r.parse::<u32>().map_err(|_| unknown())?),
        None => (
            s,
            if s.eq_ignore_ascii_case("opus") {
                48_000
            } else {
                8_000
            },
        ),
    };
    let codec = Codec::from_rtpmap(name, rate).ok_or_else(unknown)?;
    match Decoder::new(codec) {
        Err(CodecError::Unsupported(_)) => Err(format!(
            "{s:?} is not built into this tandem (build tandem-dataplane with its \"{}\" feature) ",
            name.to_ascii_lowercase()
        )
        .trim_end()
        .to_string()),
        _ => Ok(codec),
    }
}

/// How a codec is written in the config (`PCMU`, `L16/16000`).
pub(crate) fn codec_name(c: Codec) -> String {
    match c {
        Codec::L16 { .. } if c.clock_rate() != 8000 => format!("L16/{}", c.clock_rate()),
        _ => c.encoding_name().to_string(),
    }
}

fn check_trunk_name(name: &str) -> Result<(), String> {
    if name.starts_with("agent:") {
        return Err(format!(
            "{name:?}: names starting with \"agent:\" are the trunks of [[agent]] phones; name this trunk otherwise"
        ));
    }
    let ok = |c: char| c.is_ascii_alphanumeric() || "._-:[]".contains(c);
    if name.is_empty() || name.len() > 64 || !name.chars().all(ok) {
        Err(format!(
            "{name:?}: a trunk name is 1 to 64 of A-Z a-z 0-9 . _ - : [ ] (it appears in routes, call records and metric labels)"
        ))
    } else {
        Ok(())
    }
}

/// `HOST[:PORT]` where HOST is a DNS name, an IPv4 address or a bracketed
/// IPv6 address.
fn host_port(s: &str, default_port: u16) -> Result<HostPort, String> {
    let expected = || {
        format!(
            "expected HOST or HOST:PORT such as \"sip.carrier.example:5060\" or \"[2001:db8::1]:5060\", got {s:?}"
        )
    };
    if s.contains("://") || s.starts_with("sip:") || s.starts_with("sips:") {
        return Err(format!("{} (no URI scheme)", expected()));
    }
    let port = |p: &str| match p.parse::<u16>() {
        Ok(n) if n > 0 && !p.starts_with('+') => Ok(n),
        _ => Err(format!("bad port {p:?} in {s:?}: expected 1 to 65535")),
    };
    if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or_else(expected)?;
        let ip: Ipv6Addr = h.parse().map_err(|_| expected())?;
        let port = match after {
            "" => default_port,
            _ => port(after.strip_prefix(':').ok_or_else(expected)?)?,
        };
        return Ok(HostPort {
            host: Host::Ip(IpAddr::V6(ip)),
            port,
        });
    }
    if s.parse::<Ipv6Addr>().is_ok() {
        return Err(format!(
            "write an IPv6 address in brackets: \"[{s}]\" or \"[{s}]:5060\""
        ));
    }
    let (h, p) = match s.rsplit_once(':') {
        Some((h, p)) => (h, port(p)?),
        None => (s, default_port),
    };
    let host = if let Ok(ip) = h.parse::<IpAddr>() {
        Host::Ip(ip)
    } else {
        let name = h.strip_suffix('.').unwrap_or(h).to_ascii_lowercase();
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        // An all-numeric dotted name is a mistyped IPv4 address, not a host.
        let numeric = name.chars().all(|c| c.is_ascii_digit() || c == '.');
        if name.is_empty() || name.len() > 253 || numeric || !name.split('.').all(label_ok) {
            return Err(expected());
        }
        Host::Name(name)
    };
    Ok(HostPort { host, port: p })
}

/// Checks that `path` holds PEM certificates (a CA bundle) and counts them.
fn pem_certificates(path: &Path) -> Result<usize, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut n = 0;
    for cert in CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
    {
        cert.map_err(|e| format!("{}: not a PEM certificate bundle: {e}", path.display()))?;
        n += 1;
    }
    if n == 0 {
        return Err(format!(
            "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(n)
}

/// `PREFIX=sip:HOST[:PORT][;transport=udp|tcp|tls]` → (prefix, implicit
/// trunk named `HOST:PORT`). The implicit trunk admits inbound calls from
/// HOST when it is an IP literal (an ACL of that one address), and none
/// otherwise; everything else is at its default.
/// The transport of a SIP URI's parameters (`transport=udp|tcp|tls`,
/// default UDP); any other parameter is an error.
fn uri_transport<'a>(params: impl Iterator<Item = &'a str>) -> Result<Transport, String> {
    let mut transport = Transport::Udp;
    for param in params {
        match param.split_once('=') {
            Some((k, v)) if k.eq_ignore_ascii_case("transport") => {
                transport = one_of(
                    &v.to_ascii_lowercase(),
                    &[
                        ("udp", Transport::Udp),
                        ("tcp", Transport::Tcp),
                        ("tls", Transport::Tls),
                    ],
                )
                .map_err(|e| format!("transport: {e}"))?;
            }
            _ => {
                return Err(format!(
                    "unknown URI parameter {param:?}; only transport= is understood"
                ));
            }
        }
    }
    Ok(transport)
}

fn parse_route_flag(spec: &str, codecs: &[Codec]) -> Result<(String, Trunk), String> {
    let form =
        "expected PREFIX=sip:HOST[:PORT][;transport=udp|tcp|tls], e.g. 4008=sip:192.0.2.10:5060";
    let (prefix, uri) = spec.split_once('=').ok_or_else(|| form.to_string())?;
    let prefix = prefix.trim().strip_prefix('+').unwrap_or(prefix.trim());
    if !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "prefix {prefix:?}: digits 0-9 only (empty for the default route)"
        ));
    }
    let rest = uri
        .trim()
        .strip_prefix("sip:")
        .ok_or_else(|| form.to_string())?;
    let mut parts = rest.split(';');
    let hostport = parts.next().unwrap_or("");
    let transport = uri_transport(parts)?;
    let address = host_port(hostport, transport.default_port())?;
    let inbound = match address.host {
        Host::Ip(ip) => Inbound::Acl(vec![ip.to_string().parse::<Cidr>()?]),
        Host::Name(_) => Inbound::None,
    };
    let trunk = Trunk {
        name: address.to_string(),
        address,
        transport,
        outbound_auth: None,
        inbound,
        options_interval: Some(Duration::from_secs(30)),
        max_calls: None,
        codecs: codecs.to_vec(),
    };
    Ok((prefix.to_string(), trunk))
}

#[cfg(test)]
mod tests;
