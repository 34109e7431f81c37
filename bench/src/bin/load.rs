//! `ringmcp-load`: a load generator on io_uring. Each worker thread is pinned to a CPU and drives
//! its share of the connections. Closed loop (default): send a request, wait for its response
//! line, record the latency, send the next. Open loop (`--rate`): requests are due at fixed
//! intervals whatever the server does, spread round-robin over the connections, and latency is
//! measured from when each was due (no coordinated omission). Every response line is checked for
//! a JSON-RPC error. Stops by itself after warm-up plus duration; targets loopback only.
//!
//! ```text
//! ringmcp-load --addr 127.0.0.1:7000 --workload echo --connections 64 --cpus 1 --server-pid PID
//! ringmcp-load --addr 127.0.0.1:7000 --rate 50000 --duration 600 --sample-secs 10 --server-pid PID
//! ```

use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use io_uring::{cqueue, opcode, types, IoUring};
use ringmcp_bench::{process_cpu_us, process_rss_bytes, BufRing};
use serde_json::json;
use std::collections::VecDeque;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{IntoRawFd, RawFd};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Workload {
    /// A 100-byte line echoed back (for raw echo servers).
    Line,
    /// tools/call echo with 64 bytes of text on a legacy session (initialize first).
    Echo,
    /// tools/call echo as a stateless 2026-07-28 request.
    EchoModern,
}

/// Closed-loop load over newline-delimited TCP.
#[derive(Parser, Debug)]
#[command(name = "ringmcp-load")]
struct Args {
    /// Server address (loopback only).
    #[arg(long, default_value = "127.0.0.1:7000")]
    addr: SocketAddr,
    /// What each request is.
    #[arg(long, value_enum, default_value = "echo")]
    workload: Workload,
    /// Connections in total.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Requests outstanding per connection.
    #[arg(long, default_value_t = 1)]
    depth: usize,
    /// CPUs to pin one worker thread each to (comma separated).
    #[arg(long, value_delimiter = ',', default_value = "1")]
    cpus: Vec<usize>,
    /// Seconds of warm-up (not recorded).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Seconds recorded.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Server process ids whose CPU time and RSS to report (comma separated).
    #[arg(long, value_delimiter = ',')]
    server_pid: Vec<u32>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Open loop: requests per second over all connections (0 = closed loop).
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Sample the server's RSS every this many seconds (0 = only at the end).
    #[arg(long, default_value_t = 0.0)]
    sample_secs: f64,
}

#[derive(Debug, thiserror::Error)]
enum LoadError {
    #[error("{0}: {1}")]
    Io(&'static str, std::io::Error),
    #[error("refusing a non-loopback target {0}")]
    NotLoopback(SocketAddr),
    #[error("worker thread failed: {0}")]
    Worker(String),
    #[error("histogram: {0}")]
    Histogram(String),
}

fn request_bytes(workload: Workload) -> Vec<u8> {
    let text = "x".repeat(64);
    let mut line = match workload {
        Workload::Line => "y".repeat(99).into_bytes(),
        Workload::Echo => serde_json::to_vec(&json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":text}}})).unwrap_or_default(),
        Workload::EchoModern => serde_json::to_vec(&json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":text},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}})).unwrap_or_default(),
    };
    line.push(b'\n');
    line
}

struct Conn {
    fd: RawFd,
    /// When each request not yet answered was sent (closed loop) or due (open loop).
    sent_at: VecDeque<Instant>,
    out: Vec<u8>,
    sending: bool,
    queued: usize,
    /// The start of a response line cut by a receive buffer boundary.
    partial: Vec<u8>,
}

struct WorkerResult {
    hist: Histogram<u64>,
    requests: u64,
    /// Socket errors and closes.
    errors: u64,
    /// Responses that carry a JSON-RPC error.
    rpc_errors: u64,
}

/// Whether a response line is a JSON-RPC error (`"error":` at the top level of an answer written
/// by the server; tool results carry their own text under `result`).
fn is_error_line(line: &[u8]) -> bool {
    line.windows(8).any(|w| w == b"\"error\":")
}

/// Field order is drop order: the ring goes before the buffers it writes into.
struct Rings {
    ring: IoUring,
    bufs: BufRing,
}

const RECV: u64 = 1 << 32;
const SEND: u64 = 2 << 32;

fn connect(addr: SocketAddr, workload: Workload) -> Result<RawFd, LoadError> {
    let mut s = TcpStream::connect(addr).map_err(|e| LoadError::Io("connect", e))?;
    s.set_nodelay(true)
        .map_err(|e| LoadError::Io("nodelay", e))?;
    if let Workload::Echo = workload {
        let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"ringmcp-load","version":"1"}}});
        let mut hello = serde_json::to_vec(&init).unwrap_or_default();
        hello.extend_from_slice(
            b"\n{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n",
        );
        s.write_all(&hello)
            .map_err(|e| LoadError::Io("initialize", e))?;
        let mut byte = [0u8; 1];
        loop {
            let n = std::io::Read::read(&mut s, &mut byte)
                .map_err(|e| LoadError::Io("initialize reply", e))?;
            if n == 0 || byte[0] == b'\n' {
                break;
            }
        }
    }
    Ok(s.into_raw_fd())
}

struct Plan {
    request: Vec<u8>,
    depth: usize,
    warmup: Duration,
    duration: Duration,
    /// Open-loop rate of this worker (requests per second); 0 = closed loop.
    rate: f64,
}

fn worker(cpu: usize, fds: Vec<RawFd>, plan: Plan) -> Result<WorkerResult, LoadError> {
    let Plan {
        request,
        depth,
        warmup,
        duration,
        rate,
    } = plan;
    let open_loop = rate > 0.0;
    core_affinity::set_for_current(core_affinity::CoreId { id: cpu });
    let ring = IoUring::builder()
        .setup_single_issuer()
        .setup_cqsize(8192)
        .build(4096)
        .map_err(|e| LoadError::Io("io_uring", e))?;
    // SAFETY: `Rings` drops the ring before the buffers.
    let bufs =
        unsafe { BufRing::new(&ring, 1024, 4096, 0).map_err(|e| LoadError::Io("buffer ring", e))? };
    let mut r = Rings { ring, bufs };
    let mut conns: Vec<Conn> = fds
        .into_iter()
        .map(|fd| Conn {
            fd,
            sent_at: VecDeque::new(),
            out: Vec::new(),
            sending: false,
            queued: 0,
            partial: Vec::new(),
        })
        .collect();
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)
        .map_err(|e| LoadError::Histogram(e.to_string()))?;
    let start = Instant::now();
    let record_from = start + warmup;
    let stop_at = record_from + duration;
    let (mut requests, mut errors, mut rpc_errors) = (0u64, 0u64, 0u64);
    let interval = if open_loop {
        Duration::from_secs_f64(1.0 / rate)
    } else {
        Duration::ZERO
    };
    let mut next_due = start;
    let mut due_count = 0usize;
    let push = |ring: &mut IoUring, e: io_uring::squeue::Entry| {
        // SAFETY: buffers referenced by SQEs live in `conns`/`bufs` until their completion.
        unsafe {
            while ring.submission().push(&e).is_err() {
                let _ = ring.submit();
            }
        }
    };
    for (i, c) in conns.iter_mut().enumerate() {
        push(
            &mut r.ring,
            opcode::RecvMulti::new(types::Fd(c.fd), 0)
                .build()
                .user_data(RECV | i as u64),
        );
        c.queued = if open_loop { 0 } else { depth };
    }
    let mut carry: Vec<usize> = (0..conns.len()).collect();
    while Instant::now() < stop_at {
        if open_loop && !conns.is_empty() {
            let now = Instant::now();
            while next_due <= now && next_due < stop_at {
                let i = due_count % conns.len();
                conns[i].queued += 1;
                conns[i].sent_at.push_back(next_due);
                carry.push(i);
                due_count += 1;
                next_due += interval;
            }
        }
        for i in carry.drain(..) {
            let c = &mut conns[i];
            if c.sending || c.queued == 0 {
                continue;
            }
            c.out.clear();
            let now = Instant::now();
            for _ in 0..c.queued {
                c.out.extend_from_slice(&request);
                if !open_loop {
                    c.sent_at.push_back(now);
                }
            }
            c.queued = 0;
            c.sending = true;
            let e = opcode::Send::new(types::Fd(c.fd), c.out.as_ptr(), c.out.len() as u32)
                .build()
                .user_data(SEND | i as u64);
            push(&mut r.ring, e);
        }
        // Bounded wait, so a silent server cannot hold the run past its end; in open loop, no
        // later than the next due request.
        let mut wait_ns = 100_000_000u32;
        if open_loop {
            let until = next_due.saturating_duration_since(Instant::now());
            wait_ns = wait_ns.min(until.as_nanos().max(1_000) as u32);
        }
        let ts = types::Timespec::new().nsec(wait_ns);
        let wait = types::SubmitArgs::new().timespec(&ts);
        match r.ring.submitter().submit_with_args(1, &wait) {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ETIME) | Some(libc::EINTR) | Some(libc::EBUSY)
                ) => {}
            Err(e) => return Err(LoadError::Io("io_uring_enter", e)),
        }
        let mut returned = false;
        let cqes: Vec<(u64, i32, u32)> = r
            .ring
            .completion()
            .map(|c| (c.user_data(), c.result(), c.flags()))
            .collect();
        for (ud, res, flags) in cqes {
            let i = (ud & 0xffff_ffff) as usize;
            if ud & SEND != 0 {
                conns[i].sending = false;
                if res < 0 {
                    errors += 1;
                }
                carry.push(i);
                continue;
            }
            let bid = cqueue::buffer_select(flags);
            if res <= 0 {
                if res != -libc::ENOBUFS {
                    errors += 1;
                    continue;
                }
            } else if let Some(bid) = bid {
                let data = r.bufs.get(bid, res as usize);
                let now = Instant::now();
                let c = &mut conns[i];
                let mut rest = data;
                while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
                    let failed = if c.partial.is_empty() {
                        is_error_line(&rest[..pos])
                    } else {
                        c.partial.extend_from_slice(&rest[..pos]);
                        let failed = is_error_line(&c.partial);
                        c.partial.clear();
                        failed
                    };
                    rest = &rest[pos + 1..];
                    if let Some(t) = c.sent_at.pop_front() {
                        if now >= record_from && t >= record_from {
                            let _ = hist.record(now.duration_since(t).as_nanos() as u64);
                            requests += 1;
                            rpc_errors += u64::from(failed);
                        }
                        if !open_loop {
                            c.queued += 1;
                        }
                    }
                }
                c.partial.extend_from_slice(rest);
                carry.push(i);
            }
            if let Some(bid) = bid {
                r.bufs.push(bid);
                returned = true;
            }
            if !cqueue::more(flags) {
                push(
                    &mut r.ring,
                    opcode::RecvMulti::new(types::Fd(conns[i].fd), 0)
                        .build()
                        .user_data(RECV | i as u64),
                );
            }
        }
        if returned {
            r.bufs.publish();
        }
    }
    for c in &conns {
        // SAFETY: closing our sockets.
        unsafe { libc::close(c.fd) };
    }
    drop(r);
    Ok(WorkerResult {
        hist,
        requests,
        errors,
        rpc_errors,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if !args.addr.ip().is_loopback() {
        return Err(Box::new(LoadError::NotLoopback(args.addr)));
    }
    let request = request_bytes(args.workload);
    let mut per_worker: Vec<Vec<RawFd>> = vec![Vec::new(); args.cpus.len().max(1)];
    let workers = per_worker.len();
    for i in 0..args.connections {
        per_worker[i % workers].push(connect(args.addr, args.workload)?);
    }
    let warmup = Duration::from_secs_f64(args.warmup);
    let duration = Duration::from_secs_f64(args.duration);
    let cpu_before = |pids: &[u32]| {
        pids.iter()
            .map(|&p| process_cpu_us(p).unwrap_or(0))
            .sum::<u64>()
    };
    let handles: Vec<_> = per_worker
        .into_iter()
        .zip(args.cpus.iter().copied())
        .map(|(fds, cpu)| {
            let plan = Plan {
                request: request.clone(),
                depth: args.depth,
                warmup,
                duration,
                rate: args.rate / workers as f64,
            };
            std::thread::spawn(move || worker(cpu, fds, plan))
        })
        .collect();
    std::thread::sleep(warmup);
    let rss_of = |pids: &[u32]| {
        pids.iter()
            .map(|&p| process_rss_bytes(p).unwrap_or(0))
            .sum::<u64>()
    };
    let mut rss_samples: Vec<(f64, u64)> = Vec::new();
    if args.sample_secs > 0.0 && !args.server_pid.is_empty() {
        let every = Duration::from_secs_f64(args.sample_secs);
        let began = Instant::now();
        while began.elapsed() + every <= duration {
            rss_samples.push((began.elapsed().as_secs_f64(), rss_of(&args.server_pid)));
            std::thread::sleep(every);
            if !args.json {
                if let Some((t, rss)) = rss_samples.last() {
                    eprintln!("t={t:.0}s server RSS {} KiB", rss / 1024);
                }
            }
        }
    }
    let server_cpu_start = cpu_before(&args.server_pid);
    let window_start = Instant::now();
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (mut requests, mut errors, mut rpc_errors) = (0u64, 0u64, 0u64);
    let mut server_cpu_end = None;
    for h in handles {
        let r = h
            .join()
            .map_err(|e| LoadError::Worker(format!("{e:?}")))??;
        if server_cpu_end.is_none() {
            server_cpu_end = Some((cpu_before(&args.server_pid), window_start.elapsed()));
        }
        hist.add(&r.hist)?;
        requests += r.requests;
        errors += r.errors;
        rpc_errors += r.rpc_errors;
    }
    let (cpu_end, elapsed) = server_cpu_end.unwrap_or((server_cpu_start, duration));
    let secs = duration.as_secs_f64().min(elapsed.as_secs_f64().max(1e-9));
    let rate = requests as f64 / duration.as_secs_f64();
    let cpu_per_req = if requests > 0 && !args.server_pid.is_empty() {
        Some((cpu_end.saturating_sub(server_cpu_start)) as f64 / (rate * secs))
    } else {
        None
    };
    let rss: u64 = args
        .server_pid
        .iter()
        .map(|&p| process_rss_bytes(p).unwrap_or(0))
        .sum();
    let us = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    let report = json!({
        "workload": format!("{:?}", args.workload),
        "connections": args.connections,
        "depth": args.depth,
        "duration_s": args.duration,
        "requests": requests,
        "errors": errors,
        "rpc_errors": rpc_errors,
        "rate": args.rate,
        "rss_samples": rss_samples.iter().map(|(t, b)| json!([t, b])).collect::<Vec<_>>(),
        "req_per_s": rate,
        "latency_us": {"p50": us(0.5), "p90": us(0.9), "p99": us(0.99), "p999": us(0.999), "max": hist.max() as f64 / 1000.0},
        "server_cpu_us_per_req": cpu_per_req,
        "server_rss_bytes": rss,
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "{:?} C={} depth={}{}: {:.0} req/s, p50 {:.0} us, p90 {:.0} us, p99 {:.0} us, p99.9 {:.0} us, max {:.0} us, errors {} (JSON-RPC {}), server CPU {} us/req, server RSS {} KiB",
            args.workload,
            args.connections,
            args.depth,
            if args.rate > 0.0 {
                format!(" open loop {:.0}/s", args.rate)
            } else {
                String::new()
            },
            rate,
            us(0.5),
            us(0.9),
            us(0.99),
            us(0.999),
            hist.max() as f64 / 1000.0,
            errors,
            rpc_errors,
            cpu_per_req.map_or("n/a".into(), |c| format!("{c:.2}")),
            rss / 1024
        );
    }
    Ok(())
}
