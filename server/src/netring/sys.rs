//! The few system calls the net ring makes outside io_uring, each behind a safe function: the
//! [`EventFd`] doorbells, socket options and shutdown on accepted connections, the sockets dialed
//! connections start from, and the peer address of a connection. Every fd here is borrowed or owned
//! ([`BorrowedFd`], [`OwnedFd`]), so nothing in this module can close an fd twice or use one it
//! does not hold. It knows nothing of protocols.

use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// An eventfd: a counter the kernel wakes readers on. A shard's net loop sleeps on one; the main
/// thread waits on another for the shards to finish.
#[derive(Debug)]
pub struct EventFd(OwnedFd);

impl EventFd {
    /// A fresh eventfd (counter 0, close-on-exec).
    pub fn new() -> io::Result<Self> {
        // SAFETY: eventfd takes no pointers; a non-negative result is a new fd that nothing else
        // owns, so `OwnedFd` may take it.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by eventfd and is owned by no one else.
        Ok(EventFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Add one to the counter, waking whoever waits on it.
    pub fn signal(&self) -> io::Result<()> {
        let one: u64 = 1;
        // SAFETY: the source is a live local u64 and exactly its 8 bytes are written; the fd is
        // held open by `self` for the duration of the call.
        let n = unsafe { libc::write(self.0.as_raw_fd(), (&one as *const u64).cast(), 8) };
        if n == 8 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Take the counter (blocks while it is zero unless the fd is non-blocking).
    pub fn read(&self) -> io::Result<u64> {
        let mut count = [0u8; 8];
        // SAFETY: the destination is a live local array of exactly the 8 bytes read; the fd is
        // held open by `self` for the duration of the call.
        let n = unsafe { libc::read(self.0.as_raw_fd(), count.as_mut_ptr().cast(), 8) };
        if n == 8 {
            Ok(u64::from_ne_bytes(count))
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// A second fd on the same eventfd, for an owner that closes its own (glommio's file).
    pub fn duplicate(&self) -> io::Result<OwnedFd> {
        self.0.try_clone()
    }
}

impl AsRawFd for EventFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl AsFd for EventFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// Turn off Nagle's algorithm: responses are written whole and must leave at once.
pub(super) fn set_nodelay(fd: BorrowedFd<'_>) {
    let one: libc::c_int = 1;
    // SAFETY: the option value is a live local c_int and its exact size is passed; the fd is
    // borrowed, so it stays open for the call. A failure only leaves Nagle on, which is harmless.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// A fresh TCP socket for a connection to `addr` (its address family), not yet connected:
/// non-blocking, so that a connect on the ring waits in the kernel rather than in a worker thread;
/// close-on-exec; `TCP_NODELAY`, as accepted connections have.
pub(super) fn client_socket(addr: &SocketAddr) -> io::Result<OwnedFd> {
    let socket = Socket::new(
        Domain::for_address(*addr),
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    )?;
    socket.set_tcp_nodelay(true)?;
    Ok(OwnedFd::from(socket))
}

/// Shut both directions of a socket: ends its multishot recv and any pending send, so that the
/// operations in flight on it complete and the fd can be closed.
pub(super) fn shutdown(fd: BorrowedFd<'_>) {
    shutdown_how(fd, libc::SHUT_RDWR);
}

/// Send FIN after what is queued, and keep reading: a lingering close (see `drain.rs`).
pub(super) fn shutdown_write(fd: BorrowedFd<'_>) {
    shutdown_how(fd, libc::SHUT_WR);
}

fn shutdown_how(fd: BorrowedFd<'_>, how: libc::c_int) {
    // SAFETY: shutdown takes no pointers; the fd is borrowed, so it stays open for the call. An
    // error (the peer already gone) leaves nothing to undo.
    unsafe { libc::shutdown(fd.as_raw_fd(), how) };
}

/// The address of the peer of a connected socket (`None` for anything else, a pipe say).
pub(super) fn peer_ip(fd: BorrowedFd<'_>) -> Option<IpAddr> {
    // SAFETY: an all-zero sockaddr_storage is a valid value of that plain C struct.
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: getpeername writes at most `len` bytes into `addr`, a live local of exactly that
    // size, and updates `len`; the fd is borrowed, so it stays open for the call.
    let rc = unsafe {
        libc::getpeername(
            fd.as_raw_fd(),
            (&mut addr as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return None;
    }
    match i32::from(addr.ss_family) {
        libc::AF_INET => {
            // SAFETY: the kernel wrote an AF_INET address, so the storage holds a sockaddr_in;
            // sockaddr_storage is larger and at least as aligned as any sockaddr type.
            let a =
                unsafe { &*(&addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Some(IpAddr::from(u32::from_be(a.sin_addr.s_addr).to_be_bytes()))
        }
        libc::AF_INET6 => {
            // SAFETY: the kernel wrote an AF_INET6 address, so the storage holds a sockaddr_in6;
            // sockaddr_storage is larger and at least as aligned as any sockaddr type.
            let a =
                unsafe { &*(&addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            Some(IpAddr::from(a.sin6_addr.s6_addr))
        }
        _ => None,
    }
}

/// The process's open-file limit (the soft one, which bounds a ring's descriptor table too).
pub(super) fn open_file_limit() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` into the live local it is given.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    if ok {
        usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX)
    } else {
        1024
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eventfd_counts_signals() {
        let fd = EventFd::new().expect("eventfd");
        fd.signal().expect("signal");
        fd.signal().expect("signal");
        assert_eq!(fd.read().expect("read"), 2);
    }

    #[test]
    fn peer_of_a_loopback_connection() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let client =
            std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        assert_eq!(peer_ip(client.as_fd()), Some(IpAddr::from([127, 0, 0, 1])));
        let (a, _b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        assert_eq!(peer_ip(a.as_fd()), None);
    }
}
