//! Configuration files for `ringmcp serve`: a TOML file whose keys are the long option names.
//! Precedence: command line, then `RINGMCP_*` environment variables, then the file, then the
//! defaults. Values are checked by the same parser as the command line, so a bad value is refused
//! with the key named, and the process exits with status 2.

use super::Cli;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use std::process::ExitCode;

/// Parse the command line, merging a `--config` file under it. `Err` carries the exit code after
/// the error was printed.
pub(crate) fn parse_with_config_file() -> Result<Cli, ExitCode> {
    let argv: Vec<String> = std::env::args().collect();
    let first = match Cli::command().try_get_matches_from(&argv) {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return Err(ExitCode::from(if e.use_stderr() { 2 } else { 0 }));
        }
    };
    let Some(("serve", serve)) = first.subcommand() else {
        return Cli::from_arg_matches(&first).map_err(|e| {
            let _ = e.print();
            ExitCode::from(2)
        });
    };
    let Some(path) = serve.get_one::<std::path::PathBuf>("config").cloned() else {
        return Cli::from_arg_matches(&first).map_err(|e| {
            let _ = e.print();
            ExitCode::from(2)
        });
    };
    let bad = |msg: String| {
        eprintln!("ringmcp: bad config {}: {msg}", path.display());
        ExitCode::from(2)
    };
    let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| bad(e.to_string()))?;
    let command = Cli::command();
    let serve_cmd = command
        .find_subcommand("serve")
        .cloned()
        .ok_or_else(|| bad("no serve command".into()))?;
    let mut file_args: Vec<String> = Vec::new();
    for (key, value) in &table {
        let long_name = key.replace('_', "-");
        let Some(arg) = serve_cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(long_name.as_str()))
        else {
            return Err(bad(format!("unknown key `{key}`")));
        };
        let id = arg.get_id().as_str().to_owned();
        if long_name == "config" {
            return Err(bad("`config` cannot be set in a config file".into()));
        }
        // The command line and the environment win over the file.
        if matches!(
            serve.value_source(&id),
            Some(ValueSource::CommandLine) | Some(ValueSource::EnvVariable)
        ) {
            continue;
        }
        let long = format!("--{}", arg.get_long().unwrap_or(key));
        let mut these = Vec::new();
        match value {
            toml::Value::Boolean(true) => these.push(long.clone()),
            toml::Value::Boolean(false) => {}
            toml::Value::Array(items) => {
                for item in items {
                    these.push(long.clone());
                    these.push(scalar(item).ok_or_else(|| {
                        bad(format!(
                            "key `{key}`: list items must be strings or numbers"
                        ))
                    })?);
                }
            }
            other => {
                these.push(long.clone());
                these.push(scalar(other).ok_or_else(|| {
                    bad(format!("key `{key}`: expected a string, number or boolean"))
                })?);
            }
        }
        // Check this key alone so the error names it.
        let mut probe = vec!["ringmcp".to_owned(), "serve".to_owned()];
        probe.extend(these.iter().cloned());
        if let Err(e) = Cli::command().try_get_matches_from(&probe) {
            let msg = e.to_string();
            let first_line = msg
                .lines()
                .next()
                .unwrap_or("invalid value")
                .trim_start_matches("error: ")
                .to_owned();
            return Err(bad(format!("key `{key}`: {first_line}")));
        }
        file_args.extend(these);
    }
    // File values first, the command line after: later occurrences win.
    let mut merged = vec![
        argv.first().cloned().unwrap_or_else(|| "ringmcp".into()),
        "serve".to_owned(),
    ];
    merged.extend(file_args);
    let serve_pos = argv.iter().position(|a| a == "serve").unwrap_or(0);
    merged.extend(argv.into_iter().skip(serve_pos + 1));
    let matches = Cli::command()
        .args_override_self(true)
        .try_get_matches_from(&merged)
        .map_err(|e| bad(e.to_string()))?;
    Cli::from_arg_matches(&matches).map_err(|e| bad(e.to_string()))
}

fn scalar(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A commented TOML file with every `serve` setting at its default.
pub(crate) fn default_file() -> String {
    let command = Cli::command();
    let mut out = String::from(
        "# ringmcp configuration (ringmcp serve --config FILE).\n\
         # Keys are the long option names of `ringmcp serve`; the command line and RINGMCP_*\n\
         # environment variables take precedence. Uncomment and edit what you need.\n",
    );
    let Some(serve) = command.find_subcommand("serve") else {
        return out;
    };
    for arg in serve.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "help" | "version" | "config") {
            continue;
        }
        out.push('\n');
        if let Some(help) = arg.get_long_help().or(arg.get_help()) {
            for line in help.to_string().lines() {
                out.push_str(&format!("# {line}\n"));
            }
        }
        if let Some(env) = arg.get_env() {
            out.push_str(&format!("# (environment: {})\n", env.to_string_lossy()));
        }
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        let value = match defaults.first() {
            Some(d) if d.parse::<f64>().is_ok() => d.clone(),
            Some(d) if d == "true" || d == "false" => d.clone(),
            Some(d) => format!("{d:?}"),
            None if !arg.get_action().takes_values() => "false".into(),
            None if long == "http" => "\"127.0.0.1:8080\"".into(),
            None if long.starts_with("allow") || long == "trusted-proxy" => "[]".into(),
            None => "\"\"".into(),
        };
        out.push_str(&format!("# {long} = {value}\n"));
    }
    out
}
