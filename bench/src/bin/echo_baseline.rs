//! `ringmcp-echo-baseline`: echo servers to measure the socket path against, pinned to one CPU:
//! `--impl raw` is a bare io_uring loop (multishot accept, multishot recv into a provided buffer
//! ring, send) echoing received bytes unchanged; `--impl raw-http` is the same loop speaking
//! HTTP/1.1 keep-alive: each request's head is parsed (httparse) and its body sent back as a 200
//! with `Content-Length`, so `ringmcp-load --transport http --workload echo-modern` runs against it
//! unchanged; `--impl glommio` is glommio 0.9's `TcpStream` with a 4 KiB read buffer echoing
//! bytes. They stop after `--seconds`.
//!
//! The raw loops take the kernel options of issue 15's goal 9, to measure what each is worth on
//! the bare socket path (the most it could save ringmcp, whose path is this one plus its own
//! work): `--direct` (accepted sockets as registered descriptors: multishot accept into a sparse
//! file table, every operation on the fixed index), `--bundle` (multishot receive bundles: one
//! completion for as many provided buffers as the socket has data for) and `--fixed-send`
//! (answers copied into registered buffers and written with `WRITE_FIXED`).

use clap::{Parser, ValueEnum};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use io_uring::{cqueue, opcode, types, IoUring};
use ringmcp_bench::BufRing;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{IntoRawFd, RawFd};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Impl {
    Raw,
    RawHttp,
    Glommio,
}

#[derive(Parser, Debug)]
struct Args {
    /// Which echo server.
    #[arg(long = "impl", value_enum)]
    implementation: Impl,
    /// Listen address (loopback).
    #[arg(long, default_value = "127.0.0.1:7100")]
    addr: SocketAddr,
    /// CPU to pin to.
    #[arg(long, default_value_t = 0)]
    cpu: usize,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Raw loops: accepted sockets as registered (direct) descriptors.
    #[arg(long)]
    direct: bool,
    /// Raw loops: multishot receive bundles.
    #[arg(long)]
    bundle: bool,
    /// Raw loops: send from registered buffers (`WRITE_FIXED`).
    #[arg(long)]
    fixed_send: bool,
}

/// The kernel options of a raw loop.
#[derive(Clone, Copy, Debug)]
struct Options {
    direct: bool,
    bundle: bool,
    fixed_send: bool,
}

/// Provided buffers in the receive ring, and their size.
const RECV_BUFS: u16 = 1024;
const RECV_BUF_SIZE: usize = 4096;
/// Registered send slots (one per connection key below this), and their size: 2 MiB pinned,
/// well inside this machine's 8 MiB of locked memory.
const SEND_SLOTS: usize = 512;
const SEND_SLOT_SIZE: usize = 4096;
/// Direct descriptor table size.
const FILES: u32 = 4096;

/// Build `$body` with `$t` the operation's target: the fixed index `$fd` with `--direct`, else
/// the descriptor.
macro_rules! on {
    ($direct:expr, $fd:expr, |$t:ident| $body:expr) => {
        if $direct {
            let $t = types::Fixed($fd as u32);
            $body
        } else {
            let $t = types::Fd($fd);
            $body
        }
    };
}

const ACCEPT: u64 = 1 << 32;
const RECV: u64 = 2 << 32;
const SEND: u64 = 3 << 32;
/// Closes and shutdowns of direct descriptors (their completions are not looked at).
const OTHER: u64 = 4 << 32;

struct Rings {
    ring: IoUring,
    bufs: BufRing,
}

/// Answer every complete request at the front of `input` into `out` (a 200 echoing its body) and
/// drop it from `input`; an incomplete one stays. A malformed one ends the connection (`Err`).
fn http_echo(input: &mut Vec<u8>, out: &mut Vec<u8>) -> Result<(), httparse::Error> {
    let mut at = 0;
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut req = httparse::Request::new(&mut headers);
        let httparse::Status::Complete(head) = req.parse(&input[at..])? else {
            break;
        };
        let len = req
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
            .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
            .unwrap_or(0usize);
        let Some(body) = input.get(at + head..at + head + len) else {
            break;
        };
        // Written straight into the send buffer: no allocation per answer.
        let _ = write!(
            out,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
        );
        out.extend_from_slice(body);
        at += head + len;
    }
    input.drain(..at);
    Ok(())
}

/// One connection: fd, bytes being sent, bytes to send next, whether a send is in flight, and
/// (HTTP) received bytes not yet answered.
type Conn = (RawFd, Vec<u8>, Vec<u8>, bool, Vec<u8>);

fn raw(listen_fd: RawFd, stop_at: Instant, http: bool, opt: Options) -> std::io::Result<()> {
    let ring = IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .setup_cqsize(8192)
        .build(4096)?;
    // SAFETY: `Rings` drops the ring before the buffers.
    let bufs = unsafe { BufRing::new(&ring, RECV_BUFS, RECV_BUF_SIZE, 0, false)? };
    let mut r = Rings { ring, bufs };
    // The ring hands buffers out in the order they were pushed: a bundle's buffers are the
    // first bid of its completion and those pushed after it.
    let mut ring_order: std::collections::VecDeque<u16> = (0..RECV_BUFS).collect();
    if opt.direct {
        r.ring.submitter().register_files_sparse(FILES)?;
    }
    let mut send_slots: Vec<u8> = Vec::new();
    if opt.fixed_send {
        send_slots = vec![0u8; SEND_SLOTS * SEND_SLOT_SIZE];
        let iov = libc::iovec {
            iov_base: send_slots.as_mut_ptr().cast(),
            iov_len: send_slots.len(),
        };
        // SAFETY: `send_slots` outlives the ring (dropped after it at the end of this function)
        // and is never reallocated.
        unsafe { r.ring.submitter().register_buffers(&[iov])? };
    }
    let slots = send_slots.as_mut_ptr();
    // Move the bytes of `c.1` into the connection's send slot when it has one; the answer.
    let send = |key: usize, fd: RawFd, buf: &[u8]| -> io_uring::squeue::Entry {
        if opt.fixed_send && key < SEND_SLOTS && buf.len() <= SEND_SLOT_SIZE {
            // SAFETY: slot `key` lies inside `send_slots`; one send per connection is in flight,
            // so nothing reads this slot until this write's completion.
            let at = unsafe {
                let at = slots.add(key * SEND_SLOT_SIZE);
                std::ptr::copy_nonoverlapping(buf.as_ptr(), at, buf.len());
                at
            };
            on!(opt.direct, fd, |t| opcode::WriteFixed::new(
                t,
                at,
                buf.len() as u32,
                0
            )
            .build())
        } else {
            on!(opt.direct, fd, |t| opcode::Send::new(
                t,
                buf.as_ptr(),
                buf.len() as u32
            )
            .build())
        }
    };
    let recv = |fd: RawFd| -> io_uring::squeue::Entry {
        if opt.bundle {
            on!(opt.direct, fd, |t| opcode::RecvMultiBundle::new(t, 0)
                .build())
        } else {
            on!(opt.direct, fd, |t| opcode::RecvMulti::new(t, 0).build())
        }
    };
    let accept = || -> io_uring::squeue::Entry {
        opcode::AcceptMulti::new(types::Fd(listen_fd))
            .allocate_file_index(opt.direct)
            .build()
            .user_data(ACCEPT)
    };
    let mut conns: slab::Slab<Conn> = slab::Slab::new();
    let push = |ring: &mut IoUring, e: io_uring::squeue::Entry| {
        // SAFETY: send buffers live in `conns` until their completion.
        unsafe {
            while ring.submission().push(&e).is_err() {
                let _ = ring.submit();
            }
        }
    };
    push(&mut r.ring, accept());
    while Instant::now() < stop_at {
        let ts = types::Timespec::new().nsec(100_000_000);
        let wait = types::SubmitArgs::new().timespec(&ts);
        if let Err(e) = r.ring.submitter().submit_with_args(1, &wait) {
            if !matches!(
                e.raw_os_error(),
                Some(libc::ETIME) | Some(libc::EINTR) | Some(libc::EBUSY)
            ) {
                return Err(e);
            }
        }
        let cqes: Vec<(u64, i32, u32)> = r
            .ring
            .completion()
            .map(|c| (c.user_data(), c.result(), c.flags()))
            .collect();
        let mut returned = false;
        for (ud, res, flags) in cqes {
            let key = (ud & 0xffff_ffff) as usize;
            match ud & !0xffff_ffff {
                ACCEPT => {
                    if res >= 0 {
                        let k = conns.insert((res, Vec::new(), Vec::new(), false, Vec::new()));
                        push(&mut r.ring, recv(res).user_data(RECV | k as u64));
                    }
                    if !cqueue::more(flags) {
                        push(&mut r.ring, accept());
                    }
                }
                RECV => {
                    if let Some(bid) = cqueue::buffer_select(flags) {
                        // The buffers this completion filled: one, or a bundle's run.
                        let mut left = res.max(0) as usize;
                        let mut used = Vec::with_capacity(1);
                        while let Some(next) = ring_order.pop_front() {
                            debug_assert!(!used.is_empty() || next == bid, "ring order");
                            used.push(next);
                            left = left.saturating_sub(RECV_BUF_SIZE);
                            if left == 0 || !opt.bundle {
                                break;
                            }
                        }
                        let mut left = res.max(0) as usize;
                        for &b in &used {
                            let n = left.min(RECV_BUF_SIZE);
                            left -= n;
                            if n == 0 {
                                continue;
                            }
                            if let Some(c) = conns.get_mut(key) {
                                let data = r.bufs.get(b, n);
                                if !http {
                                    c.2.extend_from_slice(data);
                                } else {
                                    c.4.extend_from_slice(data);
                                }
                            }
                        }
                        if let Some(c) = conns.get_mut(key).filter(|_| res > 0) {
                            if http && http_echo(&mut c.4, &mut c.2).is_err() {
                                // The recv ends with an error, then the connection closes.
                                let e = on!(opt.direct, c.0, |t| opcode::Shutdown::new(
                                    t,
                                    libc::SHUT_RDWR
                                )
                                .build());
                                push(&mut r.ring, e.user_data(OTHER));
                            }
                            if !c.3 && !c.2.is_empty() {
                                std::mem::swap(&mut c.1, &mut c.2);
                                c.3 = true;
                                let e = send(key, c.0, &c.1);
                                push(&mut r.ring, e.user_data(SEND | key as u64));
                            }
                        }
                        for b in used {
                            r.bufs.push(b);
                            ring_order.push_back(b);
                        }
                        returned = true;
                    }
                    if res <= 0 && res != -libc::ENOBUFS {
                        if conns.contains(key) && !conns[key].3 {
                            let c = conns.remove(key);
                            if opt.direct {
                                let e = opcode::Close::new(types::Fixed(c.0 as u32)).build();
                                push(&mut r.ring, e.user_data(OTHER));
                            } else {
                                // SAFETY: closing our socket with nothing in flight.
                                unsafe { libc::close(c.0) };
                            }
                        }
                    } else if !cqueue::more(flags) {
                        if let Some(c) = conns.get(key) {
                            push(&mut r.ring, recv(c.0).user_data(RECV | key as u64));
                        }
                    }
                }
                SEND => {
                    if let Some(c) = conns.get_mut(key) {
                        c.1.clear();
                        c.3 = false;
                        if !c.2.is_empty() {
                            std::mem::swap(&mut c.1, &mut c.2);
                            c.3 = true;
                            let e = send(key, c.0, &c.1);
                            push(&mut r.ring, e.user_data(SEND | key as u64));
                        }
                    }
                }
                _ => {}
            }
        }
        if returned {
            r.bufs.publish();
        }
    }
    // The ring goes before the registered send slots it points at.
    drop(r);
    drop(send_slots);
    Ok(())
}

fn glommio_echo(
    addr: SocketAddr,
    cpu: usize,
    seconds: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let handle = glommio::LocalExecutorBuilder::new(glommio::Placement::Fixed(cpu))
        .io_memory(256 << 10)
        .spawn(move || async move {
            let listener = match glommio::net::TcpListener::bind(addr) {
                Ok(l) => l,
                Err(e) => return eprintln!("bind: {e}"),
            };
            let server = async {
                loop {
                    let Ok(mut stream) = listener.accept().await else {
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    glommio::spawn_local(async move {
                        let mut buf = vec![0u8; 4096];
                        loop {
                            match stream.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => {
                                    if stream.write_all(&buf[..n]).await.is_err() {
                                        break;
                                    }
                                }
                            }
                        }
                    })
                    .detach();
                }
            };
            let timeout = async {
                glommio::timer::sleep(Duration::from_secs(seconds)).await;
            };
            futures_lite::future::or(server, timeout).await;
        })?;
    handle.join().map_err(|e| format!("{e:?}"))?;
    Ok(())
}

/// TCP_NODELAY on the listening socket: accepted sockets inherit it.
fn set_nodelay(fd: RawFd) {
    let one: libc::c_int = 1;
    // SAFETY: setsockopt on our listening socket with a pointer to a live c_int of its size.
    unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&one as *const libc::c_int).cast(),
            4,
        )
    };
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if !args.addr.ip().is_loopback() {
        return Err("loopback addresses only".into());
    }
    let stop_at = Instant::now() + Duration::from_secs(args.seconds);
    let options = Options {
        direct: args.direct,
        bundle: args.bundle,
        fixed_send: args.fixed_send,
    };
    eprintln!("kernel options: {options:?}");
    match args.implementation {
        Impl::Raw => {
            core_affinity::set_for_current(core_affinity::CoreId { id: args.cpu });
            let listener = TcpListener::bind(args.addr)?;
            eprintln!("raw io_uring echo on {}", listener.local_addr()?);
            let fd = listener.into_raw_fd();
            set_nodelay(fd);
            raw(fd, stop_at, false, options)?;
        }
        Impl::RawHttp => {
            core_affinity::set_for_current(core_affinity::CoreId { id: args.cpu });
            let listener = TcpListener::bind(args.addr)?;
            eprintln!("raw io_uring HTTP/1.1 echo on {}", listener.local_addr()?);
            let fd = listener.into_raw_fd();
            set_nodelay(fd);
            raw(fd, stop_at, true, options)?;
        }
        Impl::Glommio => {
            eprintln!("glommio TcpStream echo on {}", args.addr);
            glommio_echo(args.addr, args.cpu, args.seconds)?;
        }
    }
    Ok(())
}
