//! `ringmcp-client listen`: the filter its flags name, and one compact JSON line on stdout per
//! notification the listener hears, flushed at once so that a pipe sees each as it comes. Stops
//! at `--count`, `--seconds`, the end of the stream, or an interrupt; the listening itself is
//! the blocking client's.

use super::{CliError, ListenArgs};
use crate::blocking::Client;
use crate::listen::Heard;
use ringmcp_proto::types::{SubscriptionFilter, TaskStatusFilter};
use std::io::Write;
use std::time::{Duration, Instant};

/// How long one wait lasts when neither `--seconds` nor anything else bounds it.
const STEP: Duration = Duration::from_secs(1);

fn filter(args: &ListenArgs) -> SubscriptionFilter {
    let none_named = !args.tools
        && !args.prompts
        && !args.resources
        && args.resource.is_empty()
        && args.task.is_empty();
    let flag = |on: bool| (on || none_named).then_some(true);
    SubscriptionFilter {
        tools_list_changed: flag(args.tools),
        prompts_list_changed: flag(args.prompts),
        resources_list_changed: flag(args.resources),
        resource_subscriptions: (!args.resource.is_empty()).then(|| args.resource.clone()),
        tasks: (!args.task.is_empty()).then(|| TaskStatusFilter {
            task_ids: args.task.clone(),
        }),
    }
}

pub(super) fn run(client: &mut Client, args: &ListenArgs) -> Result<(), CliError> {
    let until = match args.seconds {
        Some(s) if s.is_finite() && s >= 0.0 => Some(Instant::now() + Duration::from_secs_f64(s)),
        Some(s) => return Err(CliError::Seconds(s.to_string())),
        None => None,
    };
    let mut listener = client.listen(filter(args))?;
    tracing::debug!(honoured = ?listener.honoured(), "listening");
    let mut heard = 0u64;
    let mut out = std::io::stdout().lock();
    while args.count.is_none_or(|n| heard < n) {
        let wait = match until {
            Some(t) if Instant::now() >= t => break,
            Some(t) => t.saturating_duration_since(Instant::now()).min(STEP),
            None => STEP,
        };
        match listener.next(wait)? {
            Heard::Notice(notice) => {
                heard += 1;
                writeln!(out, "{}", notice.to_json())
                    .and_then(|()| out.flush())
                    .map_err(CliError::Output)?;
            }
            Heard::Quiet => {}
            Heard::Ended => break,
        }
    }
    listener.close()?;
    Ok(())
}
