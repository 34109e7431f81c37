//! A peer for ringmcp's benchmarks: the `echo` tool served by rmcp, the official Rust MCP SDK.
//!
//! ```text
//! rmcp-server --http 127.0.0.1:7401 --mode stateful   [--workers N]   # Streamable HTTP on /mcp
//! rmcp-server --http 127.0.0.1:7402 --mode stateless  [--workers N]
//! rmcp-server --tcp  127.0.0.1:7403                   [--workers N]   # newline-delimited JSON-RPC
//! ```
//!
//! `echo` takes `{"text": string}` and answers `{"content":[{"type":"text","text": text}]}`, as
//! ringmcp's demo tool does. Every accepted socket gets TCP_NODELAY. The tokio runtime is
//! multi-threaded with `--workers` threads (1 by default), so the process can be pinned to one CPU
//! with `taskset`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use clap::{Parser, ValueEnum};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::session::SessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{tool, tool_handler, tool_router, ServerHandler};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Sessions (`Mcp-Session-Id`); POST answers are SSE streams, rmcp's default.
    Stateful,
    /// rmcp's stateless mode (no sessions) with JSON answers (`json_response`).
    Stateless,
}

#[derive(Parser, Debug)]
#[command(name = "rmcp-server", about = "The echo tool on rmcp, for side-by-side benchmarks")]
struct Args {
    /// Serve Streamable HTTP on this address (path /mcp).
    #[arg(long, conflicts_with = "tcp", required_unless_present = "tcp")]
    http: Option<SocketAddr>,
    /// Serve newline-delimited JSON-RPC over raw TCP on this address.
    #[arg(long)]
    tcp: Option<SocketAddr>,
    /// HTTP session handling.
    #[arg(long, value_enum, default_value = "stateful")]
    mode: Mode,
    /// tokio worker threads.
    #[arg(long, default_value_t = 1)]
    workers: usize,
}

/// Arguments of the echo tool.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct EchoArgs {
    /// The text to send back.
    text: String,
}

#[derive(Clone)]
struct EchoServer {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl EchoServer {
    fn new() -> Self {
        Self {
            tool_router: Self::tool_router(),
        }
    }

    /// Returns its text argument unchanged.
    #[tool(name = "echo")]
    async fn echo(&self, Parameters(args): Parameters<EchoArgs>) -> CallToolResult {
        CallToolResult::success(vec![ContentBlock::text(args.text)])
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for EchoServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

fn nodelay(stream: &TcpStream) {
    if let Err(e) = stream.set_nodelay(true) {
        eprintln!("rmcp-server: TCP_NODELAY: {e}");
    }
}

/// Raw TCP: one rmcp service per connection over the socket's read and write halves.
async fn serve_tcp(addr: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    eprintln!("rmcp-server: ndjson over TCP on {addr}");
    loop {
        let (stream, _) = listener.accept().await?;
        nodelay(&stream);
        tokio::spawn(async move {
            let (rd, wr) = stream.into_split();
            match rmcp::serve_server(EchoServer::new(), (rd, wr)).await {
                Ok(running) => {
                    let _ = running.waiting().await;
                }
                Err(e) => eprintln!("rmcp-server: handshake: {e}"),
            }
        });
    }
}

/// Streamable HTTP on /mcp (any other path: 404), HTTP/1.1 keep-alive, hyper underneath.
async fn serve_http<M: SessionManager>(
    addr: SocketAddr,
    sessions: M,
    config: StreamableHttpServerConfig,
) -> std::io::Result<()> {
    let mcp = StreamableHttpService::new(|| Ok(EchoServer::new()), Arc::new(sessions), config);
    let listener = TcpListener::bind(addr).await?;
    eprintln!("rmcp-server: Streamable HTTP on http://{addr}/mcp");
    loop {
        let (stream, _) = listener.accept().await?;
        nodelay(&stream);
        let mcp = TowerToHyperService::new(mcp.clone());
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let mcp = mcp.clone();
                async move {
                    if req.uri().path() == "/mcp" {
                        use hyper::service::Service;
                        mcp.call(req).await
                    } else {
                        Ok(not_found())
                    }
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), svc);
            let _ = conn.await;
        });
    }
}

type Body = BoxBody<Bytes, Infallible>;

fn not_found() -> hyper::Response<Body> {
    let mut resp = hyper::Response::new(Full::new(Bytes::from_static(b"Not Found")).boxed());
    *resp.status_mut() = hyper::StatusCode::NOT_FOUND;
    resp
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers.max(1))
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let run = async move {
            match (args.tcp, args.http) {
                (Some(addr), _) => serve_tcp(addr).await,
                (None, Some(addr)) => match args.mode {
                    Mode::Stateful => {
                        let config = StreamableHttpServerConfig::default();
                        serve_http(addr, LocalSessionManager::default(), config).await
                    }
                    Mode::Stateless => {
                        let config = StreamableHttpServerConfig::default()
                            .with_legacy_session_mode(false)
                            .with_json_response(true);
                        serve_http(addr, NeverSessionManager::default(), config).await
                    }
                },
                (None, None) => unreachable!("clap requires --tcp or --http"),
            }
        };
        // The accept loop runs as a task on the worker threads, not on the thread in block_on.
        let run = tokio::spawn(run);
        tokio::select! {
            r = run => r.unwrap_or_else(|e| Err(std::io::Error::other(e))),
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    })
}
