//! Raw TCP, newline-delimited JSON-RPC: one listening socket per shard on the same address
//! (SO_REUSEPORT), so the kernel spreads connections over the cores.

use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;

/// Whether another socket listens on `addr` (port 0 never conflicts). The probe binds without
/// SO_REUSEPORT, which the kernel refuses while anyone listens there, and with SO_REUSEADDR, so a
/// connection of an earlier run waiting in TIME_WAIT does not count.
pub(crate) fn someone_listens(addr: SocketAddr) -> io::Result<bool> {
    if addr.port() == 0 {
        return Ok(false);
    }
    let probe = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    probe.set_reuse_address(true)?;
    probe.set_cloexec(true)?;
    match probe.bind(&addr.into()) {
        Ok(()) => Ok(false),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => Ok(true),
        Err(e) => Err(e),
    }
}

/// Bind `count` listening sockets to `addr`. With port 0 the first socket picks the port and
/// the others join it. `send_buffer` (bytes, 0: the kernel's autotuning) is set on the listeners,
/// whose accepted sockets inherit it. Returns the fds and the bound address.
pub(crate) fn bind_reuseport(
    addr: SocketAddr,
    count: usize,
    backlog: i32,
    send_buffer: usize,
) -> io::Result<(Vec<OwnedFd>, SocketAddr)> {
    let mut fds = Vec::with_capacity(count);
    let mut bound = addr;
    for _ in 0..count.max(1) {
        let socket = Socket::new(
            Domain::for_address(bound),
            Type::STREAM,
            Some(Protocol::TCP),
        )?;
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
        socket.set_tcp_nodelay(true)?;
        socket.set_nonblocking(true)?;
        socket.set_cloexec(true)?;
        if send_buffer > 0 {
            socket.set_send_buffer_size(send_buffer)?;
        }
        socket.bind(&bound.into())?;
        socket.listen(backlog)?;
        if bound.port() == 0 {
            if let Some(local) = socket.local_addr()?.as_socket() {
                bound = local;
            }
        }
        fds.push(OwnedFd::from(socket));
    }
    Ok((fds, bound))
}
