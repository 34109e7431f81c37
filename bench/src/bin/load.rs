//! `ringmcp-load`: a load generator on io_uring. Each worker thread is pinned to a CPU and drives
//! its share of the connections on its own ring. Closed loop (default): send a request, wait for
//! its answer, record the latency, send the next. Open loop (`--rate`, or `--interval` for "every
//! connection sends one request every S seconds"): requests are due at fixed times whatever the
//! server does, spread round-robin over the connections, and latency is measured from when each
//! was due, so a stalled server cannot hide its stall (no coordinated omission). Every answer is
//! checked for a JSON-RPC error or an HTTP error status.
//!
//! Past one process' file limit, `--processes P` spreads the connections over P copies of itself,
//! each binding its own source address (127.0.0.2, .3, ...), and merges their histograms. All of
//! it stops by itself after warm-up plus duration, and targets loopback only.
//!
//! ```text
//! ringmcp-load --addr 127.0.0.1:7000 --workload echo --connections 64 --cpus 1 --server-pid PID
//! ringmcp-load --addr 127.0.0.1:8080 --transport http --workload echo-modern --connections 256
//! ringmcp-load --addr 127.0.0.1:7000 --connections 100000 --processes 6 --interval 1 --duration 60
//! ringmcp-load --addr 127.0.0.1:7000 --workload listen --connections 10000 --updates-per-sec 10
//! ringmcp-load --addr 127.0.0.1:8081 --bump-addr 127.0.0.1:8082 --transport http --workload listen
//! ```

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clap::Parser;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use hdrhistogram::Histogram;
use io_uring::{cqueue, opcode, types, IoUring};
use ringmcp_bench::wire::{self, Answer, ResponseReader, Transport, Workload};
use ringmcp_bench::{monotonic_ns, process_cpu_us, process_rss_bytes, BufRing};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::{IntoRawFd, RawFd};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Load over newline-delimited TCP or Streamable HTTP.
#[derive(Parser, Debug, Clone)]
#[command(name = "ringmcp-load", args_override_self = true)]
struct Args {
    /// Server address (loopback only).
    #[arg(long, default_value = "127.0.0.1:7000")]
    addr: SocketAddr,
    /// How requests travel.
    #[arg(long, value_enum, default_value = "tcp")]
    transport: Transport,
    /// HTTP endpoint path.
    #[arg(long, default_value = "/mcp")]
    path: String,
    /// What each connection does.
    #[arg(long, value_enum, default_value = "echo")]
    workload: Workload,
    /// Concurrent connections (over all processes).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Requests in flight per connection (closed loop; pipelined on TCP).
    #[arg(long, default_value_t = 1)]
    depth: usize,
    /// CPUs to pin worker threads to, one thread each.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    cpus: Vec<usize>,
    /// Seconds before measuring.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Seconds measured.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Server process ids, for CPU per request and memory (every process of a multi-process server).
    #[arg(long, value_delimiter = ',')]
    server_pid: Vec<u32>,
    /// Print one JSON object instead of a line of text.
    #[arg(long)]
    json: bool,
    /// Open loop: requests per second over all connections (0 = closed loop).
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Open loop: each connection sends one request every this many seconds (sets `--rate`).
    #[arg(long, default_value_t = 0.0)]
    interval: f64,
    /// Sample the server's RSS every this many seconds (0 = only at the end).
    #[arg(long, default_value_t = 0.0)]
    sample_secs: f64,
    /// Worker processes sharing the connections (each stays under the per-process file limit).
    #[arg(long, default_value_t = 1)]
    processes: usize,
    /// First source address; process i binds the next i-th address (127.0.0.x spreads ports).
    #[arg(long, default_value = "127.0.0.2")]
    source_ip: Ipv4Addr,
    /// listen: resource updates per second (a `bump` call each), measured to every listener.
    #[arg(long, default_value_t = 10.0)]
    updates_per_sec: f64,
    /// listen: where the updater sends its `bump` calls (default `--addr`); another cluster
    /// node's address measures delivery between nodes.
    #[arg(long)]
    bump_addr: Option<SocketAddr>,
    /// Internal: run as a worker process of a `--processes` run.
    #[arg(long, hide = true)]
    child: bool,
    /// Internal: the shared clock page of a listen run.
    #[arg(long, hide = true)]
    clock_file: Option<String>,
}

#[derive(Debug, thiserror::Error)]
enum LoadError {
    #[error("{0}: {1}")]
    Io(&'static str, std::io::Error),
    #[error("refusing a non-loopback target {0}")]
    NotLoopback(SocketAddr),
    #[error("connection set-up failed: {0}")]
    Setup(String),
    #[error("unreadable answer: {0}")]
    Read(#[from] wire::ReadError),
    #[error("worker failed: {0}")]
    Worker(String),
    #[error("histogram: {0}")]
    Histogram(String),
}

/// A clock page shared by every process of a listen run: the CLOCK_MONOTONIC time of the last
/// update sent, so a listener in any process measures delivery from it.
struct ClockPage {
    ptr: *mut AtomicU64,
}

// SAFETY: the page is a shared mapping of one u64 accessed only atomically.
unsafe impl Send for ClockPage {}
// SAFETY: as above.
unsafe impl Sync for ClockPage {}

impl ClockPage {
    fn open(path: &str, create: bool) -> Result<Self, LoadError> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(path)
            .map_err(|e| LoadError::Io("clock page", e))?;
        file.set_len(8)
            .map_err(|e| LoadError::Io("clock page", e))?;
        use std::os::fd::AsRawFd;
        // SAFETY: mapping 8 bytes of a file we opened read-write; the mapping outlives the fd.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                8,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(LoadError::Io("clock page", std::io::Error::last_os_error()));
        }
        Ok(ClockPage {
            ptr: ptr.cast::<AtomicU64>(),
        })
    }

    fn get(&self) -> &AtomicU64 {
        // SAFETY: `ptr` maps 8 bytes, page-aligned, valid for the life of the process.
        unsafe { &*self.ptr }
    }
}

struct Conn {
    fd: RawFd,
    /// When each request not yet answered was sent (closed loop) or due (open loop).
    sent_at: VecDeque<Instant>,
    out: Vec<u8>,
    sending: bool,
    queued: usize,
    reader: ResponseReader,
    request: Arc<Vec<u8>>,
    closed: bool,
}

struct WorkerResult {
    hist: Histogram<u64>,
    requests: u64,
    /// Socket errors, closes and unframeable answers.
    errors: u64,
    /// Answers that are JSON-RPC errors or HTTP error statuses.
    rpc_errors: u64,
    /// Notifications received (listen).
    notifications: u64,
}

impl WorkerResult {
    fn empty() -> Result<Self, LoadError> {
        Ok(WorkerResult {
            hist: new_hist()?,
            requests: 0,
            errors: 0,
            rpc_errors: 0,
            notifications: 0,
        })
    }

    /// Wait for every worker thread and add their results up.
    fn join_all(
        handles: Vec<std::thread::JoinHandle<Result<WorkerResult, LoadError>>>,
    ) -> Result<Self, LoadError> {
        let mut total = Self::empty()?;
        for h in handles {
            let r = h
                .join()
                .map_err(|e| LoadError::Worker(format!("{e:?}")))??;
            total
                .hist
                .add(&r.hist)
                .map_err(|e| LoadError::Histogram(e.to_string()))?;
            total.requests += r.requests;
            total.errors += r.errors;
            total.rpc_errors += r.rpc_errors;
            total.notifications += r.notifications;
        }
        Ok(total)
    }
}

/// Field order is drop order: the ring goes before the buffers it writes into.
struct Rings {
    ring: IoUring,
    bufs: BufRing,
}

const RECV: u64 = 1 << 32;
const SEND: u64 = 2 << 32;

fn new_hist() -> Result<Histogram<u64>, LoadError> {
    Histogram::<u64>::new_with_bounds(1, 120_000_000_000, 3)
        .map_err(|e| LoadError::Histogram(e.to_string()))
}

/// A connected, set-up socket, the request it repeats and the reader of its answers (which goes
/// on from the set-up: on a listen stream it is inside the stream's body).
struct Opened {
    fd: RawFd,
    request: Arc<Vec<u8>>,
    reader: ResponseReader,
}

fn open(args: &Args, source: Option<IpAddr>, index: usize) -> Result<Opened, LoadError> {
    let socket = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )
    .map_err(|e| LoadError::Io("socket", e))?;
    if let Some(src) = source {
        socket
            .bind(&SocketAddr::new(src, 0).into())
            .map_err(|e| LoadError::Io("bind source address", e))?;
    }
    socket
        .connect(&args.addr.into())
        .map_err(|e| LoadError::Io("connect", e))?;
    socket
        .set_tcp_nodelay(true)
        .map_err(|e| LoadError::Io("nodelay", e))?;
    let mut stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| LoadError::Io("timeout", e))?;
    let host = args.addr.to_string();
    let reader = wire::handshake(
        &mut stream,
        args.transport,
        args.workload,
        &args.path,
        &host,
    )
    .map_err(LoadError::Setup)?;
    let request = wire::request(
        args.transport,
        args.workload,
        index,
        &args.path,
        &host,
        reader.session.as_deref(),
    );
    Ok(Opened {
        fd: stream.into_raw_fd(),
        request: Arc::new(request),
        reader,
    })
}

struct Plan {
    depth: usize,
    warmup: Duration,
    duration: Duration,
    /// Open-loop rate of this worker (requests per second); 0 = closed loop.
    rate: f64,
    /// Listeners only receive; deliveries are timed from the shared clock page.
    listen: Option<Arc<ClockPage>>,
    /// Wall-clock instant all workers of all processes start from.
    start: Instant,
}

fn worker(cpu: usize, conns: Vec<Opened>, plan: Plan) -> Result<WorkerResult, LoadError> {
    core_affinity::set_for_current(core_affinity::CoreId { id: cpu });
    let open_loop = plan.rate > 0.0;
    let sends = plan.listen.is_none();
    let ring = IoUring::builder()
        .setup_single_issuer()
        .setup_cqsize(16384)
        .build(4096)
        .map_err(|e| LoadError::Io("io_uring", e))?;
    // SAFETY: `Rings` drops the ring before the buffers.
    let bufs = unsafe {
        BufRing::new(&ring, 2048, 4096, 0, false).map_err(|e| LoadError::Io("buffer ring", e))?
    };
    let mut r = Rings { ring, bufs };
    let mut conns: Vec<Conn> = conns
        .into_iter()
        .map(|opened| Conn {
            fd: opened.fd,
            sent_at: VecDeque::new(),
            out: Vec::new(),
            sending: false,
            queued: 0,
            reader: opened.reader,
            request: opened.request,
            closed: false,
        })
        .collect();
    let mut hist = new_hist()?;
    let record_from = plan.start + plan.warmup;
    let stop_at = record_from + plan.duration;
    let (mut requests, mut errors, mut rpc_errors, mut notifications) = (0u64, 0u64, 0u64, 0u64);
    let interval = if open_loop {
        Duration::from_secs_f64(1.0 / plan.rate)
    } else {
        Duration::ZERO
    };
    let mut next_due = plan.start;
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
        c.queued = if open_loop || !sends { 0 } else { plan.depth };
    }
    let mut carry: Vec<usize> = (0..conns.len()).collect();
    // Completions copied out of the ring (so that handling them may push to it), reused.
    let mut cqes: Vec<(u64, i32, u32)> = Vec::new();
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
            if c.sending || c.queued == 0 || c.closed {
                continue;
            }
            let now = Instant::now();
            if !open_loop {
                c.sent_at.extend(std::iter::repeat_n(now, c.queued));
            }
            // One request goes out from the connection's own copy; only a pipelined batch is
            // assembled in `out`.
            let (ptr, len) = if c.queued == 1 {
                (c.request.as_ptr(), c.request.len())
            } else {
                c.out.clear();
                for _ in 0..c.queued {
                    c.out.extend_from_slice(&c.request);
                }
                (c.out.as_ptr(), c.out.len())
            };
            c.reader.sent(c.queued);
            c.queued = 0;
            c.sending = true;
            let e = opcode::Send::new(types::Fd(c.fd), ptr, len as u32)
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
        cqes.clear();
        cqes.extend(
            r.ring
                .completion()
                .map(|c| (c.user_data(), c.result(), c.flags())),
        );
        for &(ud, res, flags) in &cqes {
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
                if res != -libc::ENOBUFS && !conns[i].closed {
                    // EOF or error: this connection is done.
                    errors += 1;
                    conns[i].closed = true;
                    continue;
                }
            } else if let Some(bid) = bid {
                let data = r.bufs.get(bid, res as usize);
                let now = Instant::now();
                let c = &mut conns[i];
                let delivered_ns = if plan.listen.is_some() {
                    monotonic_ns()
                } else {
                    0
                };
                let fed = c.reader.feed(data, |answer| match answer {
                    Answer::Notification => {
                        if let Some(clock) = &plan.listen {
                            let sent = clock.get().load(Ordering::Acquire);
                            if now >= record_from && sent > 0 && delivered_ns > sent {
                                let _ = hist.record(delivered_ns - sent);
                                notifications += 1;
                            }
                        }
                    }
                    Answer::Response(failed) => {
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
                });
                if fed.is_err() {
                    errors += 1;
                    c.closed = true;
                }
                carry.push(i);
            }
            if let Some(bid) = bid {
                r.bufs.push(bid);
                returned = true;
            }
            if !cqueue::more(flags) && !conns[i].closed {
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
        notifications,
    })
}

/// The connect storm: `connections` threads connect, initialize and close in a loop.
fn connect_storm(
    args: &Args,
    source: Option<IpAddr>,
    start: Instant,
) -> Result<WorkerResult, LoadError> {
    let record_from = start + Duration::from_secs_f64(args.warmup);
    let stop_at = record_from + Duration::from_secs_f64(args.duration);
    let threads = args.connections.clamp(1, 512);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let args = args.clone();
            std::thread::spawn(move || -> Result<WorkerResult, LoadError> {
                if let Some(&cpu) = args.cpus.get(t % args.cpus.len().max(1)) {
                    core_affinity::set_for_current(core_affinity::CoreId { id: cpu });
                }
                let mut res = WorkerResult::empty()?;
                while Instant::now() < stop_at {
                    let began = Instant::now();
                    match open(&args, source, t) {
                        Ok(opened) => {
                            // SAFETY: closing the socket `open` gave us.
                            unsafe { libc::close(opened.fd) };
                            if began >= record_from {
                                let _ = res.hist.record(began.elapsed().as_nanos() as u64);
                                res.requests += 1;
                            }
                        }
                        Err(_) => res.errors += 1,
                    }
                }
                Ok(res)
            })
        })
        .collect();
    WorkerResult::join_all(handles)
}

/// One process' share of the run: connect its connections, wait for the go, run the workers.
/// How a share learns that every connection of the run is set up and timing may begin.
enum Go {
    /// A worker process: print `ready`, then wait for `go` on stdin.
    Stdin,
    /// The in-process share: tell the main thread and go on (a failed set-up drops the sender,
    /// which the main thread sees too).
    Tell(std::sync::mpsc::Sender<()>),
}

fn run_share(args: &Args, source: Option<IpAddr>, go: Go) -> Result<WorkerResult, LoadError> {
    let clock = match (&args.clock_file, args.workload) {
        (Some(path), Workload::Listen) => Some(Arc::new(ClockPage::open(path, false)?)),
        _ => None,
    };
    let mut per_worker: Vec<Vec<Opened>> =
        (0..args.cpus.len().max(1)).map(|_| Vec::new()).collect();
    let workers = per_worker.len();
    if args.workload != Workload::Connect {
        for i in 0..args.connections {
            per_worker[i % workers].push(open(args, source, i)?);
        }
    }
    match go {
        Go::Stdin => {
            println!("ready");
            let _ = std::io::stdout().flush();
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        }
        Go::Tell(ready) => {
            let _ = ready.send(());
        }
    }
    let start = Instant::now();
    if args.workload == Workload::Connect {
        return connect_storm(args, source, start);
    }
    // This process' share: its own connections at the interval, or its part of the total rate.
    let rate = if args.interval > 0.0 {
        args.connections as f64 / args.interval
    } else {
        args.rate / args.processes.max(1) as f64
    };
    let handles: Vec<_> = per_worker
        .into_iter()
        .zip(args.cpus.iter().copied())
        .map(|(conns, cpu)| {
            let plan = Plan {
                depth: args.depth,
                warmup: Duration::from_secs_f64(args.warmup),
                duration: Duration::from_secs_f64(args.duration),
                rate: rate / workers as f64,
                listen: clock.clone(),
                start,
            };
            std::thread::spawn(move || worker(cpu, conns, plan))
        })
        .collect();
    WorkerResult::join_all(handles)
}

fn effective_rate(args: &Args) -> f64 {
    if args.interval > 0.0 {
        args.connections as f64 / args.interval
    } else {
        args.rate
    }
}

fn hist_to_base64(h: &Histogram<u64>) -> Result<String, LoadError> {
    let mut bytes = Vec::new();
    V2Serializer::new()
        .serialize(h, &mut bytes)
        .map_err(|e| LoadError::Histogram(format!("{e:?}")))?;
    Ok(STANDARD.encode(bytes))
}

fn hist_from_base64(s: &str) -> Result<Histogram<u64>, LoadError> {
    let bytes = STANDARD
        .decode(s)
        .map_err(|e| LoadError::Histogram(e.to_string()))?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| LoadError::Histogram(format!("{e:?}")))
}

/// Sends `bump` at the update rate until the run ends, stamping the clock page before each.
fn updater(args: &Args, clock: Arc<ClockPage>, stop_at: Instant) -> Result<u64, LoadError> {
    let addr = args.bump_addr.unwrap_or(args.addr);
    let mut stream = TcpStream::connect(addr).map_err(|e| LoadError::Io("connect", e))?;
    stream
        .set_nodelay(true)
        .map_err(|e| LoadError::Io("nodelay", e))?;
    let host = addr.to_string();
    let mut reader = wire::handshake(
        &mut stream,
        args.transport,
        Workload::Echo,
        &args.path,
        &host,
    )
    .map_err(LoadError::Setup)?;
    let bump = wire::bump(args.transport, &args.path, &host, reader.session.as_deref());
    let every = Duration::from_secs_f64(1.0 / args.updates_per_sec.max(0.01));
    let mut buf = [0u8; 4096];
    let mut sent = 0u64;
    let mut next = Instant::now();
    while next < stop_at {
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        clock.get().store(monotonic_ns(), Ordering::Release);
        stream
            .write_all(&bump)
            .map_err(|e| LoadError::Io("bump", e))?;
        reader.sent(1);
        sent += 1;
        let mut answered = false;
        while !answered {
            let n = std::io::Read::read(&mut stream, &mut buf)
                .map_err(|e| LoadError::Io("bump answer", e))?;
            if n == 0 {
                return Err(LoadError::Setup("server closed the updater".into()));
            }
            reader.feed(&buf[..n], |a| answered |= matches!(a, Answer::Response(_)))?;
        }
        next += every;
    }
    Ok(sent)
}

fn sum_over(pids: &[u32], f: fn(u32) -> std::io::Result<u64>) -> u64 {
    pids.iter().map(|&p| f(p).unwrap_or(0)).sum()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    for addr in std::iter::once(args.addr).chain(args.bump_addr) {
        if !addr.ip().is_loopback() {
            return Err(Box::new(LoadError::NotLoopback(addr)));
        }
    }
    if args.child {
        let source = Some(IpAddr::V4(args.source_ip));
        let r = run_share(&args, source, Go::Stdin)?;
        println!(
            "{}",
            json!({
                "hist": hist_to_base64(&r.hist)?,
                "requests": r.requests,
                "errors": r.errors,
                "rpc_errors": r.rpc_errors,
                "notifications": r.notifications,
            })
        );
        return Ok(());
    }
    let warmup = Duration::from_secs_f64(args.warmup);
    let duration = Duration::from_secs_f64(args.duration);
    let listen = args.workload == Workload::Listen;
    let clock_path = format!("/dev/shm/ringmcp-load-{}", std::process::id());
    let clock = if listen {
        Some(Arc::new(ClockPage::open(&clock_path, true)?))
    } else {
        None
    };

    // The server's memory before any of our connections, so that per-connection figures do not
    // carry its fixed part.
    let rss_before = sum_over(&args.server_pid, process_rss_bytes);
    // Spawn the worker processes (or one in-process share), connect everything, then go.
    let processes = args.processes.max(1);
    let mut children = Vec::new();
    let setup_began = Instant::now();
    let local = if processes == 1 {
        let mut share = args.clone();
        share.clock_file = listen.then(|| clock_path.clone());
        Some(share)
    } else {
        let exe = std::env::current_exe().map_err(|e| LoadError::Io("current_exe", e))?;
        for p in 0..processes {
            let per = args.connections / processes + usize::from(p < args.connections % processes);
            let octets = args.source_ip.octets();
            let source = Ipv4Addr::new(
                octets[0],
                octets[1],
                octets[2],
                octets[3].wrapping_add(p as u8),
            );
            let mut cmd = Command::new(&exe);
            cmd.args(std::env::args().skip(1))
                .arg("--child")
                .arg("--connections")
                .arg(per.to_string())
                .arg("--source-ip")
                .arg(source.to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped());
            if listen {
                cmd.arg("--clock-file").arg(&clock_path);
            }
            children.push(
                cmd.spawn()
                    .map_err(|e| LoadError::Io("spawn worker process", e))?,
            );
        }
        let mut outs = Vec::new();
        for c in &mut children {
            let Some(out) = c.stdout.take() else {
                return Err(Box::new(LoadError::Worker("no stdout".into())));
            };
            let mut out = BufReader::new(out);
            let mut line = String::new();
            out.read_line(&mut line)
                .map_err(|e| LoadError::Io("worker ready", e))?;
            if line.trim() != "ready" {
                return Err(Box::new(LoadError::Worker(format!(
                    "a worker process failed during set-up ({line:?}); see its stderr"
                ))));
            }
            outs.push(out);
        }
        for c in &mut children {
            if let Some(stdin) = c.stdin.as_mut() {
                let _ = stdin.write_all(b"go\n");
                let _ = stdin.flush();
            }
        }
        // Keep the readers for the results.
        children
            .iter_mut()
            .zip(outs)
            .for_each(|(c, out)| c.stdout = Some(out.into_inner()));
        None
    };
    // The in-process share sets up before the clock starts too, so that neither the window nor
    // the resource updates of a listen run overlap the set-up.
    let local_handle = match local {
        None => None,
        Some(share) => {
            let (ready, set_up) = std::sync::mpsc::channel();
            let handle = std::thread::spawn(move || run_share(&share, None, Go::Tell(ready)));
            if set_up.recv().is_err() {
                return match handle.join() {
                    Ok(Err(e)) => Err(Box::new(e)),
                    _ => Err(Box::new(LoadError::Worker("set-up thread panicked".into()))),
                };
            }
            Some(handle)
        }
    };
    let setup_secs = setup_began.elapsed().as_secs_f64();
    let run_start = Instant::now();
    let updater_handle = clock.clone().map(|c| {
        let args = args.clone();
        let stop_at = run_start + warmup + duration;
        std::thread::spawn(move || updater(&args, c, stop_at))
    });

    // Measure the server over the window, with a progress bar on a terminal.
    let bar = indicatif::ProgressBar::new((warmup + duration).as_secs().max(1));
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed} / {len}s [{bar:40}] {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    if args.json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let tick = |until: Instant, msg: &str| {
        while Instant::now() < until {
            std::thread::sleep(
                Duration::from_millis(200).min(until.saturating_duration_since(Instant::now())),
            );
            bar.set_position(run_start.elapsed().as_secs());
            bar.set_message(msg.to_owned());
        }
    };
    tick(run_start + warmup, "warm-up");
    let cpu_start = sum_over(&args.server_pid, process_cpu_us);
    let window_start = Instant::now();
    let mut rss_samples: Vec<(f64, u64)> =
        vec![(0.0, sum_over(&args.server_pid, process_rss_bytes))];
    let every = Duration::from_secs_f64(if args.sample_secs > 0.0 {
        args.sample_secs
    } else {
        args.duration.max(0.1)
    });
    let mut next_sample = window_start + every;
    let window_end = window_start + duration;
    while Instant::now() < window_end {
        tick(next_sample.min(window_end), "measuring");
        if Instant::now() >= next_sample && Instant::now() < window_end {
            rss_samples.push((
                window_start.elapsed().as_secs_f64(),
                sum_over(&args.server_pid, process_rss_bytes),
            ));
            next_sample += every;
        }
    }
    let cpu_end = sum_over(&args.server_pid, process_cpu_us);
    let window = window_start.elapsed().as_secs_f64();
    bar.finish_and_clear();

    let mut hist = new_hist()?;
    let (mut requests, mut errors, mut rpc_errors, mut notifications) = (0u64, 0u64, 0u64, 0u64);
    if let Some(h) = local_handle {
        let r = h
            .join()
            .map_err(|e| LoadError::Worker(format!("{e:?}")))??;
        hist.add(&r.hist)?;
        requests += r.requests;
        errors += r.errors;
        rpc_errors += r.rpc_errors;
        notifications += r.notifications;
    }
    for c in children {
        let out = c
            .wait_with_output()
            .map_err(|e| LoadError::Io("worker result", e))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let v: Value = text
            .lines()
            .last()
            .and_then(|l| serde_json::from_str(l).ok())
            .ok_or_else(|| {
                LoadError::Worker(format!("a worker process gave no result ({})", out.status))
            })?;
        hist.add(&hist_from_base64(v["hist"].as_str().unwrap_or_default())?)?;
        requests += v["requests"].as_u64().unwrap_or(0);
        errors += v["errors"].as_u64().unwrap_or(0);
        rpc_errors += v["rpc_errors"].as_u64().unwrap_or(0);
        notifications += v["notifications"].as_u64().unwrap_or(0);
    }
    let updates = match updater_handle {
        Some(h) => Some(
            h.join()
                .map_err(|e| LoadError::Worker(format!("{e:?}")))??,
        ),
        None => None,
    };
    if listen {
        let _ = std::fs::remove_file(&clock_path);
    }
    let rate = requests as f64 / duration.as_secs_f64();
    let cpu_per_req = (requests > 0 && !args.server_pid.is_empty())
        .then(|| cpu_end.saturating_sub(cpu_start) as f64 / (rate * window));
    let rss = sum_over(&args.server_pid, process_rss_bytes);
    let us = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    let report = json!({
        "transport": args.transport,
        "workload": args.workload,
        "connections": args.connections,
        "processes": processes,
        "depth": args.depth,
        "open_loop_rate": effective_rate(&args),
        "duration_s": args.duration,
        "setup_s": setup_secs,
        "requests": requests,
        "errors": errors,
        "rpc_errors": rpc_errors,
        "req_per_s": rate,
        "latency_us": {"p50": us(0.5), "p90": us(0.9), "p99": us(0.99), "p999": us(0.999), "max": hist.max() as f64 / 1000.0},
        "updates": updates,
        "deliveries": notifications,
        "server_processes": args.server_pid.len(),
        "server_cpu_us_per_req": cpu_per_req,
        "server_rss_bytes": rss,
        "server_rss_before_bytes": rss_before,
        // Only an answered initialize leaves a session behind (past the server's cap they fail),
        // and only with no warm-up are all of them inside the window.
        "sessions": (args.workload == Workload::Sessions).then(|| requests.saturating_sub(rpc_errors)),
        "server_rss_bytes_per_session": (args.workload == Workload::Sessions && requests > rpc_errors)
            .then(|| rss.saturating_sub(rss_before) as f64 / (requests - rpc_errors) as f64),
        "server_rss_bytes_per_connection": (args.connections > 0)
            .then(|| rss.saturating_sub(rss_before) as f64 / args.connections as f64),
        "rss_samples": rss_samples.iter().map(|(t, b)| json!([t, b])).collect::<Vec<_>>(),
    });
    if args.json {
        println!("{report}");
    } else {
        let what = if listen { "deliveries" } else { "req/s" };
        println!(
            "{:?}/{:?} C={} P={}{}: {:.0} {what}, p50 {:.0} us, p90 {:.0} us, p99 {:.0} us, p99.9 {:.0} us, max {:.0} us, errors {} (JSON-RPC/HTTP {}), server CPU {} us/req, server RSS {} KiB",
            args.transport,
            args.workload,
            args.connections,
            processes,
            if effective_rate(&args) > 0.0 { format!(" open loop {:.0}/s", effective_rate(&args)) } else { String::new() },
            if listen { notifications as f64 } else { rate },
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
