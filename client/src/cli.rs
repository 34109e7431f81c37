//! The `ringmcp-client` command line (also reached as `ringmcp client ...`): list and call tools,
//! read resources, get prompts and list skills on a server named by URL (`http://`, `https://`,
//! `tcp://host:port`) or started with `--stdio COMMAND`, printing JSON on stdout; and
//! `conformance <url>` for the official suite. Argument parsing and output only: the work is the blocking client's.

mod listen;

use crate::blocking::{Client, ConnectOptions};
use crate::calls::{CallOptions, OnProgress};
use crate::stream::LineTransport;
use clap::{Parser, Subcommand};
use ringmcp_proto::client::task_of;
use ringmcp_proto::client::Era;
use ringmcp_proto::ProtocolVersion;
use serde_json::{json, Value};
use std::time::Duration;

/// How long `tools call --task` waits for its task without `--timeout`.
const TASK_WAIT: Duration = Duration::from_secs(600);

#[derive(Parser, Debug)]
#[command(
    name = "ringmcp-client",
    about = "Call a Model Context Protocol server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the conformance scenario named by MCP_CONFORMANCE_SCENARIO against URL.
    Conformance {
        /// The server URL (the suite appends it as the last argument).
        url: String,
    },
    /// Tools.
    Tools {
        #[command(subcommand)]
        action: ToolsAction,
    },
    /// Resources.
    Resources {
        #[command(subcommand)]
        action: ResourcesAction,
    },
    /// Prompts.
    Prompts {
        #[command(subcommand)]
        action: PromptsAction,
    },
    /// Skills (the io.modelcontextprotocol/skills extension).
    Skills {
        #[command(subcommand)]
        action: SkillsAction,
    },
    /// Print the server's notifications, one JSON line each, until interrupted, `--count` or
    /// `--seconds` (list changes of every list unless some are named).
    Listen(ListenArgs),
}

#[derive(clap::Args, Debug)]
struct ListenArgs {
    /// `notifications/tools/list_changed`.
    #[arg(long)]
    tools: bool,
    /// `notifications/prompts/list_changed`.
    #[arg(long)]
    prompts: bool,
    /// `notifications/resources/list_changed`.
    #[arg(long)]
    resources: bool,
    /// `notifications/resources/updated` for this resource (repeatable).
    #[arg(long, value_name = "URI")]
    resource: Vec<String>,
    /// `notifications/tasks/status` for this task (repeatable; 2026-07-28 tasks extension).
    #[arg(long, value_name = "TASK_ID")]
    task: Vec<String>,
    /// Stop after this many notifications.
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "S")]
    seconds: Option<f64>,
    #[command(flatten)]
    target: Target,
}

/// Where the server is and which era to speak.
#[derive(clap::Args, Debug)]
struct Target {
    /// The server: `http(s)://HOST/PATH` (Streamable HTTP) or `tcp://HOST:PORT` (newline JSON).
    #[arg(required_unless_present = "stdio")]
    server: Option<String>,
    /// Start the server as this command (split on spaces) and speak over its stdin and stdout.
    #[arg(long, value_name = "COMMAND", conflicts_with = "server")]
    stdio: Option<String>,
    /// `auto` (2026-07-28 if the server has it, else `initialize`), or a protocol revision such
    /// as 2025-11-25 or 2026-07-28.
    #[arg(long, default_value = "auto")]
    era: String,
}

#[derive(Subcommand, Debug)]
enum ToolsAction {
    /// List the tools.
    List(Target),
    /// Call a tool.
    Call {
        /// The tool.
        name: String,
        /// Arguments as a JSON object.
        #[arg(long, value_name = "JSON", default_value = "{}")]
        args: String,
        /// Give up after this many seconds, cancelling the call at the server.
        #[arg(long, value_name = "S")]
        timeout: Option<f64>,
        /// Ask for progress and print each notification as a JSON line on stderr.
        #[arg(long)]
        progress: bool,
        /// Run the call as a task (both eras), wait for it (up to --timeout) and print its result.
        #[arg(long, conflicts_with = "progress")]
        task: bool,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Subcommand, Debug)]
enum ResourcesAction {
    /// List the resources.
    List(Target),
    /// Read a resource.
    Read {
        /// The resource URI.
        uri: String,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Subcommand, Debug)]
enum PromptsAction {
    /// List the prompts.
    List(Target),
    /// Get a prompt.
    Get {
        /// The prompt.
        name: String,
        /// Arguments as a JSON object.
        #[arg(long, value_name = "JSON")]
        args: Option<String>,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Subcommand, Debug)]
enum SkillsAction {
    /// List the skills (reads none of their files).
    List(Target),
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("bad --era '{0}': use auto or a protocol revision")]
    Era(String),
    #[error("bad JSON argument: {0}")]
    Json(#[from] serde_json::Error),
    #[error("--stdio: no command given")]
    NoCommand,
    #[error("no server: give a URL or --stdio COMMAND")]
    NoServer,
    #[error(transparent)]
    Client(#[from] crate::ClientError),
    #[error(transparent)]
    Transport(#[from] crate::TransportError),
    #[error(transparent)]
    Conformance(#[from] crate::conformance::ConformanceError),
    #[error("bad number of seconds: {0}")]
    Seconds(String),
    #[error("writing the output: {0}")]
    Output(std::io::Error),
}

/// Run the command line on `args` (the program name first); the process exit code.
pub fn run(args: impl IntoIterator<Item = String>) -> i32 {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RINGMCP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // The server binary may have installed a subscriber already; keep that one.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match execute(cli.command) {
        Ok(output) => {
            // Written, not `println!`ed: a reader that goes away (`| head`) is not a panic.
            let written = output.map_or(Ok(()), |value| {
                use std::io::Write;
                let text = serde_json::to_string_pretty(&value).unwrap_or_default();
                writeln!(std::io::stdout().lock(), "{text}")
            });
            i32::from(written.is_err())
        }
        Err(e) => {
            tracing::error!(error = %e, "ringmcp-client failed");
            eprintln!("ringmcp-client: {e}");
            1
        }
    }
}

fn connect(target: &Target) -> Result<Client, CliError> {
    let era = match target.era.as_str() {
        "auto" => Era::Auto,
        v => Era::Fixed(ProtocolVersion::parse(v).ok_or_else(|| CliError::Era(v.to_owned()))?),
    };
    let options = ConnectOptions {
        era,
        ..ConnectOptions::default()
    };
    if let Some(command) = &target.stdio {
        let mut words = command.split_whitespace().map(str::to_owned);
        let program = words.next().ok_or(CliError::NoCommand)?;
        let args: Vec<String> = words.collect();
        return Ok(Client::connect(
            Box::new(LineTransport::spawn(&program, &args)?),
            options,
        )?);
    }
    let server = target.server.as_deref().ok_or(CliError::NoServer)?;
    if let Some(addr) = server.strip_prefix("tcp://") {
        return Ok(Client::connect(
            Box::new(LineTransport::tcp(addr)?),
            options,
        )?);
    }
    Ok(Client::connect_http(server, options)?)
}

fn json_arg(text: Option<&str>) -> Result<Value, CliError> {
    Ok(match text {
        Some(t) => serde_json::from_str(t)?,
        None => Value::Null,
    })
}

/// What to do once connected.
type Action<'a> = Box<dyn FnOnce(&mut Client) -> Result<Value, CliError> + 'a>;

fn execute(command: Command) -> Result<Option<Value>, CliError> {
    let (target, action): (&Target, Action<'_>) = match &command {
        Command::Conformance { url } => {
            crate::conformance::run(url)?;
            return Ok(None);
        }
        Command::Tools {
            action: ToolsAction::List(t),
        } => (t, Box::new(|c| Ok(Value::Array(c.list_tools()?)))),
        Command::Tools {
            action:
                ToolsAction::Call {
                    target,
                    name,
                    args,
                    timeout,
                    progress,
                    task,
                },
        } => {
            let args = json_arg(Some(args))?;
            let timeout = match timeout {
                Some(s) if s.is_finite() && *s >= 0.0 => Some(Duration::from_secs_f64(*s)),
                Some(s) => return Err(CliError::Seconds(s.to_string())),
                None => None,
            };
            let progress = *progress;
            if *task {
                let wait = timeout.unwrap_or(TASK_WAIT);
                return run_on(
                    target,
                    Box::new(move |c| {
                        let created = c.call_tool_as_task(name, args, None)?;
                        let Some(task_id) = task_of(&created)
                            .and_then(|t| t.get("taskId"))
                            .and_then(Value::as_str)
                        else {
                            // The server ran it at once: that is the result.
                            return Ok(created);
                        };
                        let task_id = task_id.to_owned();
                        Ok(c.wait_task(&task_id, wait)?)
                    }),
                );
            }
            (
                target,
                Box::new(move |c| {
                    let on_progress =
                        progress.then(|| Box::new(|p: &Value| eprintln!("{p}")) as OnProgress<'_>);
                    let options = CallOptions {
                        on_progress,
                        timeout,
                        cancel: None,
                    };
                    Ok(c.request_with(
                        "tools/call",
                        json!({ "name": name, "arguments": args }),
                        options,
                    )?)
                }),
            )
        }
        Command::Resources {
            action: ResourcesAction::List(t),
        } => (t, Box::new(|c| Ok(Value::Array(c.list_resources()?)))),
        Command::Resources {
            action: ResourcesAction::Read { target, uri },
        } => (target, Box::new(move |c| Ok(c.read_resource(uri)?))),
        Command::Prompts {
            action: PromptsAction::List(t),
        } => (t, Box::new(|c| Ok(Value::Array(c.list_prompts()?)))),
        Command::Prompts {
            action: PromptsAction::Get { target, name, args },
        } => {
            let args = json_arg(args.as_deref())?;
            (target, Box::new(move |c| Ok(c.get_prompt(name, args)?)))
        }
        Command::Skills {
            action: SkillsAction::List(t),
        } => (t, Box::new(|c| Ok(Value::Array(c.list_skills()?)))),
        Command::Listen(args) => {
            let mut client = connect(&args.target)?;
            listen::run(&mut client, args)?;
            client.close()?;
            return Ok(None);
        }
    };
    run_on(target, action)
}

fn run_on(target: &Target, action: Action<'_>) -> Result<Option<Value>, CliError> {
    let mut client = connect(target)?;
    let output = action(&mut client)?;
    client.close()?;
    Ok(Some(output))
}
