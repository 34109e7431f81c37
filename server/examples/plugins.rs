//! Tools that come and go while the server runs: a server that starts with one tool, `load`,
//! which registers a new tool `greet_<name>` at run time; and a background thread of the program
//! that adds a `clock` tool two seconds after start. Clients are told `tools.listChanged` and
//! get `notifications/tools/list_changed` on each change.
//!
//! Run it with `cargo run --example plugins -p ringmcp` (stdio), or pass `--tcp 127.0.0.1:7002`.

use ringmcp::proto::types::CallToolResult;
use ringmcp::{
    serve_live, HandlerError, LiveRegistry, RequestContext, ServeOptions, ServerBuilder, Transport,
};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Load {
    /// Who the new tool greets.
    name: String,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Nothing {}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = ServerBuilder::new("plugins", "1.0.0")
        .tool(
            "load",
            "Registers a tool greet_<name> that greets <name>",
            |ctx: RequestContext, a: Load| async move {
                let live = ctx
                    .live_registry()
                    .ok_or_else(|| HandlerError::Failed("served as a fixed set".into()))?;
                let tool = format!("greet_{}", a.name.to_lowercase());
                let who = a.name.clone();
                // The edit runs off the request path; the new set is checked before any shard
                // serves it (a duplicate name, say, leaves the set as it was).
                live.update(|set| {
                    set.tool(&tool, "Greets someone", move |_ctx, _n: Nothing| {
                        let who = who.clone();
                        async move { Ok(CallToolResult::text(format!("Hello, {who}!"))) }
                    })
                })
                .map_err(|e| HandlerError::Failed(e.to_string()))?;
                Ok(CallToolResult::text(format!("loaded {tool}")))
            },
        )
        .build()?;
    let live = LiveRegistry::new(registry);

    // The program changes the set too, from any thread.
    let program = live.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(2));
        let added = program.update(|set| {
            set.tool(
                "clock",
                "Seconds since 1970",
                |_ctx, _n: Nothing| async move {
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs());
                    Ok(CallToolResult::text(now.to_string()))
                },
            )
        });
        if let Err(e) = added {
            eprintln!("clock not added: {e}");
        }
    });

    let transport = match std::env::args().nth(1).as_deref() {
        Some("--tcp") => Transport::Tcp(
            std::env::args()
                .nth(2)
                .unwrap_or("127.0.0.1:7002".into())
                .parse()?,
        ),
        _ => Transport::Stdio,
    };
    serve_live(live, ServeOptions::new(transport))?;
    Ok(())
}
