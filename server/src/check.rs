//! `ringmcp check`: how ready this host is for a target number of concurrent connections. Reads
//! limits and kernel settings (never changes them) and says, for each, the current value, the
//! recommended one for the target, and the command or file that sets it.

use serde::Serialize;
use std::fs;

/// How a reading compares with the recommendation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Meets the recommendation.
    Ok,
    /// Below it: the target may not be reachable.
    Warn,
    /// Could not be read here.
    Unknown,
    /// Informational only.
    Info,
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// What is checked.
    pub name: &'static str,
    /// The value found.
    pub current: String,
    /// The value recommended for the target.
    pub recommended: String,
    /// Verdict.
    pub verdict: Verdict,
    /// How to change it.
    pub how: String,
}

fn read(path: &str) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}

fn read_num(path: &str) -> Option<u64> {
    read(path)?.split_whitespace().next()?.parse().ok()
}

fn rlimit(resource: libc::__rlimit_resource_t) -> Option<(u64, u64)> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    (unsafe { libc::getrlimit(resource, &mut r) } == 0).then_some((r.rlim_cur, r.rlim_max))
}

fn show_limit(v: u64) -> String {
    if v == libc::RLIM_INFINITY {
        "unlimited".into()
    } else {
        v.to_string()
    }
}

fn at_least(name: &'static str, current: Option<u64>, want: u64, how: String) -> Finding {
    match current {
        Some(v) => Finding {
            name,
            current: show_limit(v),
            recommended: format!(">= {want}"),
            verdict: if v >= want {
                Verdict::Ok
            } else {
                Verdict::Warn
            },
            how,
        },
        None => Finding {
            name,
            current: "unreadable".into(),
            recommended: format!(">= {want}"),
            verdict: Verdict::Unknown,
            how,
        },
    }
}

/// Check the host for `target` concurrent connections served by this process.
pub fn check(target: u64) -> Vec<Finding> {
    let fds_wanted = target + 1024;
    let mut out = Vec::new();
    let nofile = rlimit(libc::RLIMIT_NOFILE);
    out.push(at_least(
        "open files (soft)",
        nofile.map(|l| l.0),
        fds_wanted,
        "ulimit -n, LimitNOFILE= in the systemd unit, or tuning/limits.conf".into(),
    ));
    out.push(at_least(
        "open files (hard)",
        nofile.map(|l| l.1),
        fds_wanted,
        "tuning/limits.conf (needs root); without it run several processes sharing the port".into(),
    ));
    out.push(at_least(
        "fs.nr_open",
        read_num("/proc/sys/fs/nr_open"),
        fds_wanted,
        "sysctl -w fs.nr_open=N (tuning/sysctl.conf)".into(),
    ));
    out.push(at_least(
        "fs.file-max",
        read_num("/proc/sys/fs/file-max"),
        fds_wanted * 2,
        "sysctl -w fs.file-max=N (tuning/sysctl.conf)".into(),
    ));
    let memlock = rlimit(libc::RLIMIT_MEMLOCK);
    out.push(at_least(
        "locked memory (soft)",
        memlock.map(|l| l.0),
        8 << 20,
        "ulimit -l, LimitMEMLOCK= in the systemd unit; io_uring rings and buffer rings are charged here".into(),
    ));
    out.push(match read("/proc/sys/kernel/io_uring_disabled") {
        Some(v) => Finding {
            name: "kernel.io_uring_disabled",
            recommended: "0".into(),
            verdict: if v == "0" { Verdict::Ok } else { Verdict::Warn },
            current: v,
            how: "sysctl -w kernel.io_uring_disabled=0".into(),
        },
        None => Finding {
            name: "kernel.io_uring_disabled",
            current: "absent (kernel older than 6.6: io_uring enabled)".into(),
            recommended: "0".into(),
            verdict: Verdict::Info,
            how: "-".into(),
        },
    });
    out.push(match io_uring::IoUring::new(8) {
        Ok(_) => Finding {
            name: "io_uring setup",
            current: "works".into(),
            recommended: "works".into(),
            verdict: Verdict::Ok,
            how: "-".into(),
        },
        Err(e) => Finding {
            name: "io_uring setup",
            current: format!("fails: {e}"),
            recommended: "works".into(),
            verdict: Verdict::Warn,
            how:
                "a kernel >= 6.1 with io_uring, not blocked by seccomp or kernel.io_uring_disabled"
                    .into(),
        },
    });
    out.push(at_least(
        "net.core.somaxconn",
        read_num("/proc/sys/net/core/somaxconn"),
        4096,
        "sysctl -w net.core.somaxconn=65535".into(),
    ));
    out.push(at_least(
        "net.ipv4.tcp_max_syn_backlog",
        read_num("/proc/sys/net/ipv4/tcp_max_syn_backlog"),
        4096,
        "sysctl -w net.ipv4.tcp_max_syn_backlog=65535".into(),
    ));
    let ports = read("/proc/sys/net/ipv4/ip_local_port_range").and_then(|r| {
        let mut it = r.split_whitespace().filter_map(|v| v.parse::<u64>().ok());
        Some((it.next()?, it.next()?))
    });
    out.push(Finding {
        name: "net.ipv4.ip_local_port_range",
        current: ports.map_or("unreadable".into(), |(a, b)| {
            format!("{a} {b} ({} ports)", b.saturating_sub(a) + 1)
        }),
        recommended: "1024 65535 (for clients on this host; or spread them over 127.0.0.x)".into(),
        verdict: match ports {
            Some((a, b)) if b.saturating_sub(a) + 1 >= 60000 => Verdict::Ok,
            Some(_) => Verdict::Info,
            None => Verdict::Unknown,
        },
        how: "sysctl -w net.ipv4.ip_local_port_range='1024 65535'".into(),
    });
    let tcp_mem_pages = read("/proc/sys/net/ipv4/tcp_mem")
        .and_then(|v| v.split_whitespace().nth(2)?.parse::<u64>().ok());
    // About 10 KiB of kernel memory per loopback connection pair, in 4 KiB pages.
    let pages_wanted = target * 10 / 4;
    out.push(at_least(
        "net.ipv4.tcp_mem (max pages)",
        tcp_mem_pages,
        pages_wanted,
        "sysctl -w net.ipv4.tcp_mem='L P H' (tuning/sysctl.conf)".into(),
    ));
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    out.push(Finding {
        name: "CPUs",
        current: cpus.to_string(),
        recommended: "one shard per core".into(),
        verdict: Verdict::Info,
        how: "--cores N".into(),
    });
    let isolated = read("/sys/devices/system/cpu/isolated").unwrap_or_default();
    out.push(Finding {
        name: "isolated CPUs",
        current: if isolated.is_empty() {
            "none".into()
        } else {
            isolated
        },
        recommended: "the shards' cores isolated on dedicated hosts".into(),
        verdict: Verdict::Info,
        how: "isolcpus= / nohz_full= on the kernel command line, or systemd CPUAffinity=".into(),
    });
    out.push(
        match read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor") {
            Some(g) => Finding {
                name: "CPU frequency governor",
                recommended: "performance".into(),
                verdict: if g == "performance" {
                    Verdict::Ok
                } else {
                    Verdict::Warn
                },
                current: g,
                how: "cpupower frequency-set -g performance".into(),
            },
            None => Finding {
                name: "CPU frequency governor",
                current: "not exposed (virtual machine?)".into(),
                recommended: "performance".into(),
                verdict: Verdict::Info,
                how: "-".into(),
            },
        },
    );
    let thp = read("/sys/kernel/mm/transparent_hugepage/enabled").and_then(|v| {
        v.split_whitespace()
            .find(|w| w.starts_with('['))
            .map(|w| w.trim_matches(['[', ']']).to_owned())
    });
    out.push(Finding {
        name: "transparent huge pages",
        current: thp.clone().unwrap_or_else(|| "unreadable".into()),
        recommended: "madvise".into(),
        verdict: match thp.as_deref() {
            Some("madvise") | Some("never") => Verdict::Ok,
            Some(_) => Verdict::Warn,
            None => Verdict::Unknown,
        },
        how: "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled".into(),
    });
    out.push(nic_irqs());
    out
}

/// Where the interrupts of the network queues go (IRQ affinity for RSS/XPS tuning).
fn nic_irqs() -> Finding {
    let interrupts = read("/proc/interrupts").unwrap_or_default();
    let queues: Vec<String> = interrupts
        .lines()
        .filter(|l| {
            ["-input.", "-output.", "-TxRx-", "-rx-", "-tx-", "eth"]
                .iter()
                .any(|p| l.contains(p))
        })
        .filter_map(|l| {
            let irq = l.split(':').next()?.trim().to_owned();
            let name = l.split_whitespace().last()?.to_owned();
            let cpus =
                read(&format!("/proc/irq/{irq}/smp_affinity_list")).unwrap_or_else(|| "?".into());
            Some(format!("{name}->{cpus}"))
        })
        .collect();
    Finding {
        name: "NIC queue IRQ affinity",
        current: if queues.is_empty() {
            "no NIC queue interrupts found".into()
        } else {
            queues.join(", ")
        },
        recommended: "each queue's IRQ on the core of the shard that serves it".into(),
        verdict: Verdict::Info,
        how: "echo CPU > /proc/irq/N/smp_affinity_list; see tuning/README.md (RSS/XPS)".into(),
    }
}

/// The report as text.
pub fn render(target: u64, findings: &[Finding]) -> String {
    let mut s = format!("ringmcp check: host readiness for {target} concurrent connections\n\n");
    s.push_str(&format!(
        "{:<32} {:<8} {:<36} {}\n",
        "setting", "verdict", "current", "recommended / how"
    ));
    for f in findings {
        let verdict = match f.verdict {
            Verdict::Ok => "ok",
            Verdict::Warn => "WARN",
            Verdict::Unknown => "unknown",
            Verdict::Info => "info",
        };
        s.push_str(&format!(
            "{:<32} {:<8} {:<36} {} ({})\n",
            f.name, verdict, f.current, f.recommended, f.how
        ));
    }
    let warns = findings
        .iter()
        .filter(|f| f.verdict == Verdict::Warn)
        .count();
    s.push_str(&format!("\n{warns} setting(s) below the recommendation\n"));
    s
}
