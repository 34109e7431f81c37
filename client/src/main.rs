//! The `ringmcp-client` binary: the command line of [`ringmcp_client::cli`].

fn main() {
    std::process::exit(ringmcp_client::cli::run(std::env::args()));
}
