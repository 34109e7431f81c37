//! A user-defined MCP server in a few lines: one typed tool with structured output, one resource.
//! Run it with `cargo run --example weather -p ringmcp` (stdio), or pass `--tcp 127.0.0.1:7001`.

use ringmcp::proto::types::ResourceContents;
use ringmcp::{serve, HandlerError, ResourceDef, ServeOptions, ServerBuilder, Transport};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Forecast {
    /// City name.
    city: String,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
struct Weather {
    city: String,
    celsius: f64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = ServerBuilder::new("weather", "1.0.0")
        .structured_tool(
            "forecast",
            "Tomorrow's temperature",
            |_ctx, f: Forecast| async move {
                let celsius = 12.0 + (f.city.len() % 10) as f64;
                Ok::<_, HandlerError>(Weather {
                    city: f.city,
                    celsius,
                })
            },
        )
        .resource(
            ResourceDef::new("weather://stations", "stations").mime_type("text/plain"),
            |_ctx, uri| async move {
                Ok(vec![ResourceContents::text(
                    uri,
                    "text/plain",
                    "Oslo, Lima, Perth",
                )])
            },
        )
        .build()?;
    let transport = match std::env::args().nth(1).as_deref() {
        Some("--tcp") => Transport::Tcp(
            std::env::args()
                .nth(2)
                .unwrap_or("127.0.0.1:7001".into())
                .parse()?,
        ),
        _ => Transport::Stdio,
    };
    serve(registry, ServeOptions::new(transport))?;
    Ok(())
}
