//! The README's client example: connect to an MCP server over Streamable HTTP, list its tools and
//! call `echo` (`cargo run -p ringmcp-client --example hello -- http://127.0.0.1:8080/mcp`).

use ringmcp_client::{Client, ConnectOptions};
use serde_json::json;

fn main() -> Result<(), ringmcp_client::ClientError> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or("http://127.0.0.1:8080/mcp".into());
    // 2026-07-28 if the server speaks it, else `initialize` (Era::Fixed picks a revision).
    let mut client = Client::connect_http(&url, ConnectOptions::default())?;
    println!(
        "{:?} with {:?}",
        client.version(),
        client.server().server_info
    );
    for tool in client.list_tools()? {
        println!("tool {}: {}", tool["name"], tool["description"]);
    }
    let result = client.call_tool("echo", json!({ "text": "hello" }))?;
    println!("{}", result["content"][0]["text"]);
    client.close()
}
