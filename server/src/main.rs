//! The `ringmcp` command: `ringmcp serve` runs the built-in demo set.

use clap::{Args, Parser, Subcommand};

mod check;
mod cluster_args;
mod config;
mod demo;
mod fixtures;
mod live_fixtures;
mod ring_args;
use ringmcp::proto::forwarded::TrustedProxies;
use ringmcp::proto::framing::HttpLimits;
use ringmcp::{serve, serve_live, LiveRegistry, ServeOptions, Transport};
use ringmcp::{DriverConfig, Limits};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Thread-per-core io_uring Model Context Protocol server.
#[derive(Parser)]
#[command(name = "ringmcp", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the built-in demo tools, resources and prompts.
    Serve(Box<ServeArgs>),
    /// Report how ready this host is for a target load (limits, kernel settings, CPUs, IRQs).
    Check(CheckArgs),
    /// Configuration files.
    Config(ConfigArgs),
    /// An MCP client: list and call a server's tools, read its resources, get its prompts, over
    /// HTTP, TCP or a spawned process (`ringmcp client --help`).
    #[command(disable_help_flag = true)]
    Client(ClientArgs),
}

#[derive(Args)]
struct ClientArgs {
    /// The client's own command line (`ringmcp-client` takes the same).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

#[derive(Args)]
struct ConfigArgs {
    /// Print a commented configuration file with every setting at its default.
    #[arg(long)]
    print_default: bool,
}

#[derive(Args)]
struct CheckArgs {
    /// Concurrent connections to plan for.
    #[arg(long, default_value_t = 100_000)]
    target: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// The listener when none is named.
const DEFAULT_HTTP: &str = "127.0.0.1:8080";

#[derive(Args)]
struct ServeArgs {
    /// A TOML file with any of these settings (keys are the long option names); command-line
    /// options and RINGMCP_* environment variables take precedence over it.
    #[arg(long, value_name = "FILE", env = "RINGMCP_CONFIG")]
    config: Option<std::path::PathBuf>,
    /// One session on stdin/stdout (logs go to stderr).
    #[arg(long, conflicts_with_all = ["tcp", "http"], env = "RINGMCP_STDIO")]
    stdio: bool,
    /// Newline-delimited JSON-RPC over TCP on this address.
    #[arg(long, value_name = "ADDR", env = "RINGMCP_TCP")]
    tcp: Option<SocketAddr>,
    /// Streamable HTTP on this address (endpoint /mcp; 2024-11-05 HTTP+SSE at /sse). The default
    /// listener, on 127.0.0.1:8080, when no --stdio, --tcp or --http is given.
    #[arg(long, value_name = "ADDR", env = "RINGMCP_HTTP")]
    http: Option<SocketAddr>,
    /// Origins allowed to call the HTTP endpoint besides loopback ones (repeatable; `*` = any).
    #[arg(
        long = "allow-origin",
        value_name = "ORIGIN",
        env = "RINGMCP_ALLOW_ORIGIN",
        value_delimiter = ','
    )]
    allow_origins: Vec<String>,
    /// Host header values allowed besides loopback and the bound address (repeatable; `*` = any).
    #[arg(
        long = "allow-host",
        value_name = "HOST",
        env = "RINGMCP_ALLOW_HOST",
        value_delimiter = ','
    )]
    allow_hosts: Vec<String>,
    /// Seconds an HTTP session may stay idle before it is closed.
    #[arg(long, default_value_t = 600, env = "RINGMCP_SESSION_IDLE_SECS")]
    session_idle_secs: u64,
    /// HTTP sessions one shard holds at most (503 past it).
    #[arg(long, default_value_t = 100_000, env = "RINGMCP_MAX_SESSIONS")]
    max_sessions: usize,
    /// HTTP header lines per request at most (431 past it).
    #[arg(long, default_value_t = 64, env = "RINGMCP_MAX_HEADERS")]
    max_headers: usize,
    /// Bytes of HTTP request line and headers at most (431 past it).
    #[arg(long, default_value_t = 16 * 1024, env = "RINGMCP_MAX_HEADER_BYTES")]
    max_header_bytes: usize,
    /// Unsolicited SSE events kept per HTTP session for Last-Event-ID resumption (in a cluster:
    /// written at most per resumption from the notice log).
    #[arg(long, default_value_t = 256, env = "RINGMCP_SSE_REPLAY_EVENTS")]
    sse_replay_events: usize,
    /// Pipelined HTTP requests a connection holds decoded at most; a client that pipelines deeper
    /// is not read until earlier ones are answered (back-pressure, every request answered in order).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..), env = "RINGMCP_HTTP_PIPELINE_DEPTH")]
    http_pipeline_depth: u32,
    /// Milliseconds an HTTP request may take to arrive in full (head and body) before 408.
    #[arg(
        long,
        default_value_t = 10_000,
        env = "RINGMCP_HTTP_REQUEST_TIMEOUT_MS"
    )]
    http_request_timeout_ms: u64,
    /// Seconds an HTTP connection with nothing in flight may stay silent before it is closed.
    #[arg(long, default_value_t = 300, env = "RINGMCP_HTTP_IDLE_TIMEOUT_SECS")]
    http_idle_timeout_secs: u64,
    /// Seconds between SSE keep-alive comments.
    #[arg(long, default_value_t = 15, env = "RINGMCP_SSE_KEEPALIVE_SECS")]
    sse_keepalive_secs: u64,
    /// Shards, one pinned core each (default: every core).
    #[arg(long, default_value_t = 0, env = "RINGMCP_CORES")]
    cores: usize,
    /// Largest accepted message in bytes; longer lines get an error and are skipped.
    #[arg(long, default_value_t = 4 << 20, env = "RINGMCP_MAX_MESSAGE_BYTES")]
    max_message_bytes: usize,
    /// Items per page of tools/list, resources/list, resources/templates/list and prompts/list.
    #[arg(long, default_value_t = 100, env = "RINGMCP_PAGE_SIZE")]
    page_size: usize,
    /// Requests one session may have running at once.
    #[arg(long, default_value_t = 256, env = "RINGMCP_MAX_INFLIGHT")]
    max_inflight: usize,
    /// Connections one shard holds at most.
    #[arg(long, default_value_t = 200_000, env = "RINGMCP_MAX_CONNECTIONS")]
    max_connections: usize,
    /// Bytes queued for one connection before it is dropped. Answers never get there (input
    /// pauses first, see --pause-unsent-bytes); notifications to a client that does not read can.
    #[arg(long, default_value_t = 16 << 20, env = "RINGMCP_MAX_QUEUED_BYTES")]
    max_queued_bytes: usize,
    /// Unsent bytes past which a connection's requests stop being read until its output drains
    /// to half (back-pressure: the client is slowed by TCP flow control, not refused).
    #[arg(long, default_value_t = 256 << 10, env = "RINGMCP_PAUSE_UNSENT_BYTES")]
    pause_unsent_bytes: usize,
    /// Seconds a connection may have output waiting without a byte sent before it is dropped.
    #[arg(long, default_value_t = 60, env = "RINGMCP_WRITE_STALL_TIMEOUT_SECS")]
    write_stall_timeout_secs: u64,
    /// Milliseconds a connection closed after an answer (an HTTP 413, say) keeps reading and
    /// discarding what the client still sends, so that the client gets the answer (0: close at
    /// once).
    #[arg(long, default_value_t = 5000, env = "RINGMCP_LINGER_MS")]
    linger_ms: u64,
    /// Bytes a lingering connection discards at most before it closes.
    #[arg(long, default_value_t = 64 << 20, env = "RINGMCP_LINGER_BYTES")]
    linger_bytes: usize,
    /// Milliseconds in-flight requests get to finish on shutdown or end of input.
    #[arg(long, default_value_t = 5000, env = "RINGMCP_SHUTDOWN_GRACE_MS")]
    shutdown_grace_ms: u64,
    /// `ttlMs` on cacheable 2026-07-28 results.
    #[arg(long, default_value_t = 0, env = "RINGMCP_CACHE_TTL_MS")]
    cache_ttl_ms: u64,
    /// Milliseconds a handler waits for the client to answer elicitation, sampling or roots
    /// requests on a legacy session.
    #[arg(
        long,
        default_value_t = 60_000,
        env = "RINGMCP_CLIENT_REQUEST_TIMEOUT_MS"
    )]
    client_request_timeout_ms: u64,
    /// Milliseconds a task is kept after it was created (its `ttlMs`).
    #[arg(long, default_value_t = 300_000, env = "RINGMCP_TASK_TTL_MS")]
    task_ttl_ms: u64,
    /// Seconds a 2026-07-28 `requestState` is accepted back after the answer that carried it
    /// (time for a human to answer an elicitation); later retries get -32602 saying it expired.
    #[arg(long, default_value_t = 600, env = "RINGMCP_REQUEST_STATE_TTL_SECS")]
    request_state_ttl_secs: u64,
    /// Suggested task polling interval in milliseconds (`pollIntervalMs`).
    #[arg(long, default_value_t = 500, env = "RINGMCP_TASK_POLL_MS")]
    task_poll_ms: u64,
    /// Requests per second one client may send (token bucket per connection on stdio/TCP, per
    /// address on HTTP, per shard); 0 turns the limit off.
    #[arg(long, default_value_t = 0.0, env = "RINGMCP_RATE_LIMIT_RPS")]
    rate_limit_rps: f64,
    /// Requests one client may send in a burst above the rate.
    #[arg(long, default_value_t = 100, env = "RINGMCP_RATE_LIMIT_BURST")]
    rate_limit_burst: u32,
    /// A load balancer or proxy whose word about the client is taken: an address or CIDR network,
    /// IPv4 or IPv6 (repeatable or comma-separated). From such a peer, the client of a request is
    /// the rightmost X-Forwarded-For entry that is not itself a trusted proxy, and a PROXY header
    /// is accepted; from any other peer X-Forwarded-For is ignored. Rate limits and logs use the
    /// client.
    #[arg(
        long = "trusted-proxy",
        value_name = "CIDR",
        env = "RINGMCP_TRUSTED_PROXY",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<ringmcp::proto::forwarded::Cidr>,
    /// Every HTTP connection starts with a PROXY protocol header (v2 as HAProxy's send-proxy-v2
    /// sends it, or v1) naming the client; a connection without one, or from a peer that is not a
    /// --trusted-proxy, is closed. Needs --trusted-proxy; not with --tls-cert (end TLS at the
    /// proxy).
    #[arg(long, env = "RINGMCP_PROXY_PROTOCOL")]
    proxy_protocol: bool,
    /// Milliseconds to keep serving after SIGTERM/SIGINT while /ready answers 503, so that a load
    /// balancer moves traffic away before the stop (a second signal stops at once). 0: stop at
    /// once.
    #[arg(long, default_value_t = 0, env = "RINGMCP_DRAIN_MS")]
    drain_ms: u64,
    /// Tasks one shard holds at most.
    #[arg(long, default_value_t = 10_000, env = "RINGMCP_MAX_TASKS")]
    max_tasks: usize,
    /// Microseconds an idle executor spins before parking (lower latency, more CPU).
    #[arg(long, default_value_t = 0, env = "RINGMCP_SPIN_US")]
    spin_us: u64,
    /// listen(2) backlog.
    #[arg(long, default_value_t = 4096, env = "RINGMCP_BACKLOG")]
    backlog: i32,
    /// SO_SNDBUF of accepted sockets in bytes (the kernel doubles it). 0 keeps the kernel's
    /// autotuning, under which one connection may hold up to net.ipv4.tcp_wmem's maximum of
    /// unsent answers in kernel memory; a small value bounds that, and back-pressure
    /// (--pause-unsent-bytes) then takes over sooner.
    #[arg(long, default_value_t = 0, env = "RINGMCP_SOCKET_SEND_BUFFER")]
    socket_send_buffer: usize,
    /// Listen even where another process already listens on the address (the kernel then splits
    /// new connections between the processes, which do not share sessions: for benchmarks and
    /// stateless serving). Without it the server refuses with exit status 2.
    #[arg(long, env = "RINGMCP_SHARE_PORT")]
    share_port: bool,
    #[command(flatten)]
    ring: ring_args::RingArgs,
    /// Which tools, resources and prompts to serve: the demo set, or the fixtures the official
    /// conformance suite expects.
    #[arg(long, value_enum, default_value = "demo", env = "RINGMCP_FIXTURES")]
    fixtures: Fixtures,
    /// Export tracing spans over OTLP/HTTP to this endpoint (e.g. http://127.0.0.1:4318/v1/traces).
    #[arg(long, value_name = "URL", env = "RINGMCP_OTLP_ENDPOINT")]
    otlp_endpoint: Option<String>,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value = "text", env = "RINGMCP_LOG_FORMAT")]
    log_format: LogFormat,
    /// Log filter (error, warn, info, debug, trace or a RUST_LOG directive).
    #[arg(long, env = "RINGMCP_LOG_LEVEL")]
    log_level: Option<String>,
    /// PEM certificate chain (leaf first): every TCP and HTTP listener then speaks TLS.
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        env = "RINGMCP_TLS_CERT"
    )]
    tls_cert: Option<PathBuf>,
    /// PEM private key of `--tls-cert` (PKCS#8, PKCS#1 or SEC1).
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_cert",
        env = "RINGMCP_TLS_KEY"
    )]
    tls_key: Option<PathBuf>,
    /// Milliseconds a TLS handshake may take before the connection is dropped.
    #[arg(
        long,
        default_value_t = 10_000,
        env = "RINGMCP_TLS_HANDSHAKE_TIMEOUT_MS"
    )]
    tls_handshake_timeout_ms: u64,
    #[command(flatten)]
    auth: AuthArgs,
    #[command(flatten)]
    cluster: cluster_args::ClusterArgs,
}

/// Bearer-token authorization of the HTTP endpoints (on when any credential source is given).
#[derive(Args, Debug)]
struct AuthArgs {
    /// JWKS file (`{"keys": [...]}`) with the public keys that sign access tokens.
    #[arg(long, value_name = "FILE", env = "RINGMCP_AUTH_JWKS")]
    auth_jwks: Option<PathBuf>,
    /// PEM public key (RSA, EC or Ed25519) that signs access tokens (repeatable).
    #[arg(
        long,
        value_name = "FILE",
        env = "RINGMCP_AUTH_PUBLIC_KEY",
        value_delimiter = ','
    )]
    auth_public_key: Vec<PathBuf>,
    /// File holding an HMAC secret (>= 32 bytes) for HS256/384/512 access tokens.
    #[arg(long, value_name = "FILE", env = "RINGMCP_AUTH_HMAC_SECRET_FILE")]
    auth_hmac_secret_file: Option<PathBuf>,
    /// Static opaque tokens, one `<token> <principal>` per line.
    #[arg(long, value_name = "FILE", env = "RINGMCP_AUTH_TOKENS_FILE")]
    auth_tokens_file: Option<PathBuf>,
    /// Accepted token issuer (`iss`; repeatable; any issuer when none is given).
    #[arg(
        long,
        value_name = "URL",
        env = "RINGMCP_AUTH_ISSUER",
        value_delimiter = ','
    )]
    auth_issuer: Vec<String>,
    /// Accepted token audience (`aud`; repeatable; default: the resource URI).
    #[arg(
        long,
        value_name = "URI",
        env = "RINGMCP_AUTH_AUDIENCE",
        value_delimiter = ','
    )]
    auth_audience: Vec<String>,
    /// Canonical URI of this server, as clients dial it (default: scheme://bound-address/mcp).
    #[arg(long, value_name = "URL", env = "RINGMCP_AUTH_RESOURCE")]
    auth_resource: Option<String>,
    /// Authorization server listed in the protected resource metadata (repeatable).
    #[arg(
        long,
        value_name = "URL",
        env = "RINGMCP_AUTH_SERVER",
        value_delimiter = ','
    )]
    auth_server: Vec<String>,
    /// Scope every access token must grant (repeatable; 403 insufficient_scope otherwise).
    #[arg(
        long,
        value_name = "SCOPE",
        env = "RINGMCP_AUTH_SCOPE",
        value_delimiter = ','
    )]
    auth_scope: Vec<String>,
    /// Seconds of clock skew tolerated on `exp` and `nbf`.
    #[arg(long, default_value_t = 60, env = "RINGMCP_AUTH_LEEWAY_SECS")]
    auth_leeway_secs: u64,
}

impl AuthArgs {
    fn config(self) -> ringmcp::AuthConfig {
        ringmcp::AuthConfig {
            jwks_file: self.auth_jwks,
            public_key_files: self.auth_public_key,
            hmac_secret_file: self.auth_hmac_secret_file,
            tokens_file: self.auth_tokens_file,
            issuers: self.auth_issuer,
            audiences: self.auth_audience,
            resource: self.auth_resource,
            authorization_servers: self.auth_server,
            required_scopes: self.auth_scope,
            leeway_secs: self.auth_leeway_secs,
        }
    }
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Fixtures {
    /// echo, add, sleep, progress, ... (see README).
    Demo,
    /// The tools, resources and prompts of the MCP conformance suite's everything-server.
    Conformance,
}

fn init_logging(
    level: Option<&str>,
    format: LogFormat,
    otlp: Option<&str>,
) -> Option<ringmcp::telemetry::Telemetry> {
    let filter = match level {
        Some(l) => tracing_subscriber::EnvFilter::new(l),
        None => tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
    };
    let telemetry = match ringmcp::telemetry::init(filter, matches!(format, LogFormat::Json), otlp)
    {
        Ok(t) => Some(t),
        Err(e) => {
            eprintln!("ringmcp: {e}");
            None
        }
    };
    // Handler panics are caught and answered with -32603; log them as one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(%location, "panic: {}", info);
    }));
    telemetry
}

fn main() -> ExitCode {
    let cli = match config::parse_with_config_file() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match cli.command {
        Command::Client(client) => {
            let program = std::iter::once("ringmcp client".to_owned());
            let code = ringmcp_client::cli::run(program.chain(client.args));
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
        Command::Config(args) => {
            if args.print_default {
                print!("{}", config::default_file());
            } else {
                eprintln!("ringmcp config: nothing to do (try --print-default)");
            }
            ExitCode::SUCCESS
        }
        Command::Check(args) => {
            let findings = check::check(args.target);
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({ "target": args.target, "findings": findings })
                );
            } else {
                print!("{}", check::render(args.target, &findings));
            }
            ExitCode::SUCCESS
        }
        Command::Serve(args) => {
            let _telemetry = init_logging(
                args.log_level.as_deref(),
                args.log_format,
                args.otlp_endpoint.as_deref(),
            );
            let mut transports = Vec::new();
            if args.stdio {
                transports.push(Transport::Stdio);
            }
            if let Some(addr) = args.tcp {
                transports.push(Transport::Tcp(addr));
            }
            if let Some(addr) = args.http {
                transports.push(Transport::Http(addr));
            }
            if transports.is_empty() {
                let addr = DEFAULT_HTTP
                    .parse()
                    .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8080)));
                transports.push(Transport::Http(addr));
            }
            let mut options = ServeOptions::new(Transport::Stdio);
            options.transports = transports;
            options.cluster = match args.cluster.config() {
                Ok(cluster) => cluster,
                Err(e) => {
                    tracing::error!(error = %e, "cluster settings refused");
                    eprintln!("ringmcp: {e}");
                    return ExitCode::from(2);
                }
            };
            options.http.allowed_origins = args.allow_origins;
            options.http.allowed_hosts = args.allow_hosts;
            options.http.session_idle = Duration::from_secs(args.session_idle_secs);
            options.http.max_sessions = args.max_sessions;
            options.http.keepalive = Duration::from_secs(args.sse_keepalive_secs.max(1));
            options.http.replay_events = args.sse_replay_events;
            options.http.pipeline_depth = args.http_pipeline_depth as usize;
            options.http.limits = HttpLimits {
                max_headers: args.max_headers,
                max_head_bytes: args.max_header_bytes,
                max_body_bytes: args.max_message_bytes,
            };
            options.cores = args.cores;
            options.limits = Limits {
                max_message_bytes: args.max_message_bytes,
                page_size: args.page_size,
                max_inflight_per_session: args.max_inflight,
                cache_ttl_ms: args.cache_ttl_ms,
                client_request_timeout: Duration::from_millis(args.client_request_timeout_ms),
                task_ttl: Duration::from_millis(args.task_ttl_ms),
                task_poll: Duration::from_millis(args.task_poll_ms.max(1)),
                max_tasks: args.max_tasks,
                rate_limit_rps: args.rate_limit_rps,
                rate_limit_burst: args.rate_limit_burst,
                request_state_ttl: Duration::from_secs(args.request_state_ttl_secs),
            };
            options.http.auth = args.auth.config();
            options.http.rate_limit_rps = args.rate_limit_rps;
            options.http.rate_limit_burst = args.rate_limit_burst;
            options.http.trusted_proxies = TrustedProxies::new(args.trusted_proxies);
            options.http.proxy_protocol = args.proxy_protocol;
            options.drain = Duration::from_millis(args.drain_ms);
            let tls = match (&args.tls_cert, &args.tls_key) {
                (Some(cert), Some(key)) => match ringmcp::load_tls_config(cert, key) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        tracing::error!(error = %e, "TLS setup failed");
                        eprintln!("ringmcp: {e}");
                        return ExitCode::from(2);
                    }
                },
                _ => None,
            };
            options.driver = args.ring.apply(DriverConfig {
                tls,
                tls_handshake_timeout: Duration::from_millis(args.tls_handshake_timeout_ms),
                max_connections: args.max_connections,
                max_queued_bytes: args.max_queued_bytes,
                pause_unsent_bytes: args.pause_unsent_bytes,
                write_stall_timeout: Duration::from_secs(args.write_stall_timeout_secs),
                linger: Duration::from_millis(args.linger_ms),
                linger_bytes: args.linger_bytes,
                shutdown_grace: Duration::from_millis(args.shutdown_grace_ms),
                http_request_timeout: Duration::from_millis(args.http_request_timeout_ms),
                http_idle_timeout: Duration::from_secs(args.http_idle_timeout_secs),
                ..DriverConfig::default()
            });
            options.keys = match args.cluster.keys() {
                Ok(keys) => keys,
                Err(e) => {
                    tracing::error!(error = %e, "cluster key refused");
                    eprintln!("ringmcp: {e}");
                    return ExitCode::from(2);
                }
            };
            options.backlog = args.backlog;
            options.socket_send_buffer = args.socket_send_buffer;
            options.share_port = args.share_port;
            options.spin_before_park = Duration::from_micros(args.spin_us);
            let builder = match args.fixtures {
                Fixtures::Demo => demo::demo_builder(),
                Fixtures::Conformance => {
                    live_fixtures::with_triggers(fixtures::conformance_builder())
                }
            };
            let registry = match builder.build() {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "demo registry is invalid");
                    return ExitCode::from(2);
                }
            };
            // The conformance set changes while it runs (the suite's list-change hooks).
            let served = match args.fixtures {
                Fixtures::Demo => serve(registry, options),
                Fixtures::Conformance => serve_live(LiveRegistry::new(registry), options),
            };
            match served {
                Ok(()) => ExitCode::SUCCESS,
                Err(
                    e @ (ringmcp::ServeError::AddressInUse(_)
                    | ringmcp::ServeError::Cluster(_)
                    | ringmcp::ServeError::Config(_)),
                ) => {
                    tracing::error!(error = %e, "not serving");
                    eprintln!("ringmcp: {e}");
                    ExitCode::from(2)
                }
                Err(e) => {
                    tracing::error!(error = %e, "server failed");
                    eprintln!("ringmcp: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
