//! `ringmcp-echo-baseline`: line echo servers to measure the socket path against, pinned to one
//! CPU: `--impl raw` is a bare io_uring loop (multishot accept, multishot recv into a provided
//! buffer ring, send), `--impl glommio` is glommio 0.9's `TcpStream` with a 4 KiB read buffer.
//! Both echo received bytes back unchanged; they stop after `--seconds`.

use clap::{Parser, ValueEnum};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use io_uring::{cqueue, opcode, types, IoUring};
use ringmcp_bench::BufRing;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{IntoRawFd, RawFd};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Impl {
    Raw,
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
}

const ACCEPT: u64 = 1 << 32;
const RECV: u64 = 2 << 32;
const SEND: u64 = 3 << 32;

struct Rings {
    ring: IoUring,
    bufs: BufRing,
}

fn raw(listen_fd: RawFd, stop_at: Instant) -> std::io::Result<()> {
    let ring = IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .setup_cqsize(8192)
        .build(4096)?;
    // SAFETY: `Rings` drops the ring before the buffers.
    let bufs = unsafe { BufRing::new(&ring, 1024, 4096, 0)? };
    let mut r = Rings { ring, bufs };
    let mut conns: slab::Slab<(RawFd, Vec<u8>, Vec<u8>, bool)> = slab::Slab::new();
    let push = |ring: &mut IoUring, e: io_uring::squeue::Entry| {
        // SAFETY: send buffers live in `conns` until their completion.
        unsafe {
            while ring.submission().push(&e).is_err() {
                let _ = ring.submit();
            }
        }
    };
    push(
        &mut r.ring,
        opcode::AcceptMulti::new(types::Fd(listen_fd))
            .build()
            .user_data(ACCEPT),
    );
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
                        let k = conns.insert((res, Vec::new(), Vec::new(), false));
                        push(
                            &mut r.ring,
                            opcode::RecvMulti::new(types::Fd(res), 0)
                                .build()
                                .user_data(RECV | k as u64),
                        );
                    }
                    if !cqueue::more(flags) {
                        push(
                            &mut r.ring,
                            opcode::AcceptMulti::new(types::Fd(listen_fd))
                                .build()
                                .user_data(ACCEPT),
                        );
                    }
                }
                RECV => {
                    if let Some(bid) = cqueue::buffer_select(flags) {
                        if res > 0 {
                            if let Some(c) = conns.get_mut(key) {
                                c.2.extend_from_slice(r.bufs.get(bid, res as usize));
                                if !c.3 {
                                    std::mem::swap(&mut c.1, &mut c.2);
                                    c.3 = true;
                                    let e = opcode::Send::new(
                                        types::Fd(c.0),
                                        c.1.as_ptr(),
                                        c.1.len() as u32,
                                    )
                                    .build();
                                    push(&mut r.ring, e.user_data(SEND | key as u64));
                                }
                            }
                        }
                        r.bufs.push(bid);
                        returned = true;
                    }
                    if res <= 0 && res != -libc::ENOBUFS {
                        if conns.contains(key) && !conns[key].3 {
                            let c = conns.remove(key);
                            // SAFETY: closing our socket with nothing in flight.
                            unsafe { libc::close(c.0) };
                        }
                    } else if !cqueue::more(flags) {
                        if let Some(c) = conns.get(key) {
                            push(
                                &mut r.ring,
                                opcode::RecvMulti::new(types::Fd(c.0), 0)
                                    .build()
                                    .user_data(RECV | key as u64),
                            );
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
                            let e =
                                opcode::Send::new(types::Fd(c.0), c.1.as_ptr(), c.1.len() as u32)
                                    .build();
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if !args.addr.ip().is_loopback() {
        return Err("loopback addresses only".into());
    }
    let stop_at = Instant::now() + Duration::from_secs(args.seconds);
    match args.implementation {
        Impl::Raw => {
            core_affinity::set_for_current(core_affinity::CoreId { id: args.cpu });
            let listener = TcpListener::bind(args.addr)?;
            eprintln!("raw io_uring echo on {}", listener.local_addr()?);
            let fd = listener.into_raw_fd();
            let one: libc::c_int = 1;
            // SAFETY: setsockopt on our listening socket; accepted sockets inherit TCP_NODELAY.
            unsafe {
                libc::setsockopt(
                    fd,
                    libc::IPPROTO_TCP,
                    libc::TCP_NODELAY,
                    (&one as *const libc::c_int).cast(),
                    4,
                )
            };
            raw(fd, stop_at)?;
        }
        Impl::Glommio => {
            eprintln!("glommio TcpStream echo on {}", args.addr);
            glommio_echo(args.addr, args.cpu, args.seconds)?;
        }
    }
    Ok(())
}
