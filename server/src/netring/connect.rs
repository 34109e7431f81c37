//! The driver's side of outbound connections: starting the connects the shard's tasks asked for
//! (through a [`Dialer`](super::dial::Dialer)), following each to its completion, and turning a
//! connected socket into a connection of the slab, opened by [`Protocols::dialed`]. From there it
//! is a connection like an accepted one: multishot recv into the buffer ring, sends from its
//! outbox, generations, draining and closing. A dial that asks for TLS gets the client side of
//! the record layer as its connection opens (handshake deadline as for accepted ones). The
//! shard's connection limit (which guards against clients) never refuses a dial.
//!
//! A socket still connecting lives in its own slab ([`Connecting`]), with the peer's address the
//! kernel reads. Its fd is closed, and its address freed, only once the connect's completion is
//! reaped. A connect nobody waits for anymore (given up, or the shard stopping) is cancelled, so
//! that shutdown never waits for the kernel's SYN retries.

use super::conn::Kind;
use super::dial::{DialRequest, Dialed, Reply};
use super::driver::NetDriver;
use super::op::{self, InFlight};
use super::protocol::Protocols;
use super::sys;
use super::tls::{ClientTls, TlsLayer};
use socket2::SockAddr;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Instant;

/// A socket whose connect is in flight.
pub(super) struct Connecting<D> {
    fd: OwnedFd,
    /// The peer's address, which the connect's SQE points at: boxed, so that it stays put when the
    /// slab holding this value grows, and dropped only with this value, once the completion is
    /// reaped.
    addr: Box<SockAddr>,
    tls: Option<ClientTls>,
    dial: D,
    reply: Reply,
    /// The connect (one operation at most).
    ops: InFlight,
    /// A cancel for the connect has been queued.
    cancelling: bool,
}

impl<P: Protocols> NetDriver<P> {
    /// Start the connects the shard's tasks asked for, cancel those given up and close the
    /// connections nobody took. Returns how many dials were taken.
    pub(super) fn serve_dials(&mut self) -> usize {
        if !self.dials.has_work() {
            return 0;
        }
        let mut requests = std::mem::take(&mut self.dial_requests);
        self.dials.take(&mut requests);
        let n = requests.len();
        for request in requests.drain(..) {
            self.start_connect(request);
        }
        self.dial_requests = requests;
        if self.dials.take_abandoned() {
            self.cancel_connects(false);
        }
        for conn in self.dials.take_unwanted() {
            let key = conn.key as usize;
            if self.conns.get(key).is_some_and(|c| c.gen == conn.gen) {
                self.close_conn(key, "dial given up");
            }
        }
        n
    }

    fn start_connect(&mut self, request: DialRequest<P::Dial>) {
        let DialRequest {
            addr,
            tls,
            dial,
            reply,
        } = request;
        if self.stdio {
            // A stdio shard ends with its one session, not with a stop that would drain dialed
            // connections too.
            reply.send(Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a stdio shard does not dial",
            )));
            return;
        }
        if self.stopping_since.is_some() {
            // The reply answers that the ring is stopping as it drops.
            return;
        }
        let fd = match sys::client_socket(&addr) {
            Ok(fd) => fd,
            Err(e) => {
                tracing::warn!(%addr, error = %e, "socket for a dial could not be made");
                reply.send(Err(e));
                return;
            }
        };
        let target = Box::new(SockAddr::from(addr));
        let entry = self.connecting.vacant_entry();
        let key = entry.key();
        let sqe = op::connect::connect(fd.as_raw_fd(), &target, key);
        let mut ops = InFlight::default();
        // SAFETY: the SQE points at `target`'s heap memory, which moves into the `Connecting`
        // inserted below (the box, not its contents, moves) and is dropped only when that entry
        // leaves the slab, in `on_connect`, once this connect's completion is reaped. The socket
        // stays open in the same entry until then.
        if !unsafe { ops.start(&mut self.ring, &sqe) } {
            drop(fd);
            reply.send(Err(io::Error::other("connect could not be queued")));
            return;
        }
        tracing::debug!(key, %addr, "dialing");
        entry.insert(Connecting {
            fd,
            addr: target,
            tls,
            dial,
            reply,
            ops,
            cancelling: false,
        });
    }

    /// A connect finished: a new connection, or the error its dial ends with. Either way the
    /// pending entry goes, closing the socket unless it became a connection.
    pub(super) fn on_connect(&mut self, key: usize, res: i32) {
        let Some(pending) = self.connecting.get_mut(key) else {
            return;
        };
        pending.ops.finish();
        debug_assert!(pending.ops.is_idle(), "one connect per pending dial");
        let Connecting {
            fd,
            addr,
            tls,
            dial,
            reply,
            ..
        } = self.connecting.remove(key);
        // The kernel is done with the address.
        drop(addr);
        if reply.abandoned() {
            tracing::debug!(key, "dial given up; closing its socket");
            return;
        }
        if res < 0 {
            let err = io::Error::from_raw_os_error(-res);
            drop(fd);
            if self.stopping_since.is_some() && -res == libc::ECANCELED {
                // The reply answers that the ring is stopping as it drops.
                return;
            }
            tracing::debug!(key, error = %err, "dial failed");
            reply.send(Err(err));
            return;
        }
        if self.stopping_since.is_some() {
            return;
        }
        let key = self.insert_conn(Kind::Socket(fd), |protocols, outbox, peer| {
            protocols.dialed(dial, outbox, peer)
        });
        if let Some(tls) = tls {
            if !self.start_client_tls(key, tls) {
                reply.send(Err(io::Error::other("TLS session could not start")));
                return;
            }
        }
        self.arm_recv(key);
        // A recv that could not be queued closed the connection already.
        match self.conns.get(key) {
            Some(c) if !c.closing => reply.send(Ok(Dialed {
                conn: c.conn_ref(key),
                outbox: c.outbox.clone(),
            })),
            _ => reply.send(Err(io::Error::other("recv could not be queued"))),
        }
    }

    /// Put a client TLS layer on the new connection `key` and queue its first flight. False (the
    /// connection closed) when rustls refuses the settings.
    fn start_client_tls(&mut self, key: usize, tls: ClientTls) -> bool {
        let Some(c) = self.conns.get_mut(key) else {
            return false;
        };
        match TlsLayer::client(tls) {
            Ok(layer) => {
                c.tls = Some(Box::new(layer));
                let deadline = Instant::now() + self.cfg.tls_handshake_timeout;
                self.handshakes.push((key, c.gen, deadline));
                // The client speaks first: the hello leaves with the next flush.
                self.dirty.push(c.conn_ref(key));
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "client TLS session could not start");
                self.close_conn(key, "TLS setup failed");
                false
            }
        }
    }

    /// Cancel the connects whose dial was given up, or all of them (`all`: the shard is stopping).
    /// A cancel that could not be queued is tried again next time; meanwhile the connect ends on
    /// its own, later.
    pub(super) fn cancel_connects(&mut self, all: bool) {
        for (key, pending) in self.connecting.iter_mut() {
            if pending.cancelling || !(all || pending.reply.abandoned()) {
                continue;
            }
            // The cancel names the connect by its `user_data`. It is queued before the connect's
            // completion is reaped (the entry is still here), so it reaches the kernel before any
            // later connect that reuses the key, and cannot cancel that one.
            let sqe = op::cancel::connect(key);
            // SAFETY: a cancel names no memory of ours.
            pending.cancelling = unsafe { op::push(&mut self.ring, &sqe) };
            if !pending.cancelling {
                // Not yet cancelled: come back next turn.
                self.dials.rearm_abandoned();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::dial::Dialer;
    use super::super::driver::{DriverConfig, NetDriver, ShardIo, Source};
    use super::super::outbox::{Outbox, ShardSignal};
    use super::super::protocol::{Peer, Protocol, Protocols, Wire};
    use super::super::sys::EventFd;
    use crate::metrics::ShardMetrics;
    use std::cell::RefCell;
    use std::future::Future;
    use std::io::{self, Read, Write};
    use std::net::{SocketAddr, TcpListener};
    use std::rc::Rc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// Keeps whatever its connections receive.
    struct Recorder {
        received: Rc<RefCell<Vec<u8>>>,
    }

    struct Recorded {
        received: Rc<RefCell<Vec<u8>>>,
    }

    impl Protocol for Recorded {
        type Shared = Recorder;

        fn on_bytes(&mut self, _shared: &Recorder, data: &[u8], _outbox: &Rc<Outbox>) {
            self.received.borrow_mut().extend_from_slice(data);
        }

        fn busy(&self, _eof: bool) -> bool {
            false
        }

        fn close(&mut self) {}
    }

    impl Protocols for Recorder {
        type Conn = Recorded;
        type Dial = ();

        fn open(&self, _wire: Wire, _outbox: &Rc<Outbox>, _peer: Peer<'_>) -> Recorded {
            Recorded {
                received: self.received.clone(),
            }
        }

        fn dialed(&self, (): (), _outbox: &Rc<Outbox>, _peer: Peer<'_>) -> Recorded {
            Recorded {
                received: self.received.clone(),
            }
        }
    }

    /// What a test body gets: a dialer on a running driver with no listeners, what its
    /// connections received, and its counters.
    struct Shard {
        dialer: Dialer<()>,
        received: Rc<RefCell<Vec<u8>>>,
        metrics: Rc<ShardMetrics>,
        stop: Arc<AtomicBool>,
        signal: Rc<ShardSignal>,
    }

    impl Shard {
        /// Ask the driver to stop, as the main thread does.
        fn stop(&self) {
            self.stop.store(true, Ordering::Relaxed);
            self.signal.ring();
        }
    }

    /// Run `body` beside a net driver on a glommio executor of this thread (small I/O memory: the
    /// locked-memory limit is 8 MiB per process), then stop the driver and require it to finish
    /// within a few seconds, so a connect left in flight fails the test rather than hanging it.
    /// Returns the driver's counters.
    fn with_driver<F, Fut>(body: F) -> Rc<ShardMetrics>
    where
        F: FnOnce(Shard) -> Fut,
        Fut: Future<Output = ()>,
    {
        let executor = glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
            .name("netring-dial-test")
            .io_memory(64 << 10)
            .make()
            .expect("executor");
        executor.run(async move {
            let signal = Rc::new(ShardSignal::new(Arc::new(EventFd::new().expect("eventfd"))));
            let metrics = Rc::new(ShardMetrics::default());
            let stop = Arc::new(AtomicBool::new(false));
            let received = Rc::new(RefCell::new(Vec::new()));
            let io = ShardIo {
                id: 0,
                signal: signal.clone(),
                metrics: metrics.clone(),
                stop: stop.clone(),
            };
            let cfg = DriverConfig {
                ring_entries: 32,
                cq_entries: 64,
                recv_buffers: 8,
                shutdown_grace: Duration::from_secs(1),
                ..DriverConfig::default()
            };
            let protocols = Recorder {
                received: received.clone(),
            };
            let driver =
                NetDriver::new(protocols, Source::Listeners(Vec::new()), io, cfg).expect("driver");
            let dialer = driver.dialer();
            let running = glommio::spawn_local(driver.run());
            let shard = Shard {
                dialer,
                received,
                metrics: metrics.clone(),
                stop,
                signal,
            };
            let stopper = (shard.stop.clone(), shard.signal.clone());
            body(shard).await;
            stopper.0.store(true, Ordering::Relaxed);
            stopper.1.ring();
            let ran = within(Duration::from_secs(5), running)
                .await
                .expect("the driver did not stop (an operation left in flight?)");
            ran.expect("the driver failed");
            metrics
        })
    }

    async fn within<T>(limit: Duration, fut: impl Future<Output = T>) -> Option<T> {
        futures_lite::future::or(async { Some(fut.await) }, async {
            glommio::timer::sleep(limit).await;
            None
        })
        .await
    }

    /// A port on 127.0.0.1 that nothing listens on (it was bound a moment ago, then let go).
    fn closed_port() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address")
    }

    /// A dialed connection is a connection like an accepted one: bytes queued in its outbox leave
    /// through the ring, and what the peer answers reaches the protocol state the factory opened
    /// for the dial. Closed by the shard's stop, it ends the peer's read.
    #[test]
    fn a_dialed_connection_sends_and_receives() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        let echo = std::thread::spawn(move || -> io::Result<usize> {
            let (mut stream, _) = listener.accept()?;
            let mut buf = [0u8; 1024];
            let mut echoed = 0;
            loop {
                let n = stream.read(&mut buf)?;
                if n == 0 {
                    return Ok(echoed);
                }
                stream.write_all(&buf[..n])?;
                echoed += n;
            }
        });
        let message = b"ping over the net ring\n";
        let metrics = with_driver(|shard| async move {
            let dialed = shard.dialer.dial(addr, ()).await.expect("dial");
            assert_eq!(shard.metrics.open.get(), 1, "the dialed connection is open");
            dialed.outbox.send_raw(|buf| buf.extend_from_slice(message));
            let deadline = Instant::now() + Duration::from_secs(5);
            while shard.received.borrow().len() < message.len() && Instant::now() < deadline {
                glommio::timer::sleep(Duration::from_millis(2)).await;
            }
            assert_eq!(
                &shard.received.borrow()[..],
                &message[..],
                "the echo came back"
            );
        });
        assert_eq!(
            metrics.open.get(),
            0,
            "the stop closed the dialed connection"
        );
        let echoed = echo.join().expect("echo thread").expect("echo");
        assert_eq!(
            echoed,
            message.len(),
            "the peer saw the bytes, then the close"
        );
    }

    /// A refused connect answers its dial with the kernel's error, and leaves nothing behind: no
    /// connection opened, and no operation in flight (the driver stops at once, which it does
    /// only once its connects are all reaped and their sockets closed).
    #[test]
    fn a_refused_dial_reports_the_error_and_leaks_nothing() {
        let addr = closed_port();
        let metrics = with_driver(|shard| async move {
            let result = shard.dialer.dial(addr, ()).await;
            let err = result.err().expect("nothing listens there");
            assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED), "{err}");
            assert_eq!(shard.metrics.open.get(), 0);
            // The driver keeps dialing after a failure.
            let again = shard.dialer.dial(addr, ()).await;
            assert!(again.is_err());
        });
        assert_eq!(metrics.open.get(), 0);
    }

    /// A listener on 127.0.0.1 whose accept queue is full: SYNs to it are dropped, so a connect
    /// to it waits (the kernel would retry for minutes). Returns the listener, the connection
    /// filling its queue, and its address.
    fn unanswering_peer() -> (socket2::Socket, std::net::TcpStream, SocketAddr) {
        let listener = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::STREAM,
            Some(socket2::Protocol::TCP),
        )
        .expect("socket");
        let any: SocketAddr = "127.0.0.1:0".parse().expect("address");
        listener.bind(&any.into()).expect("bind");
        // A backlog of 0 holds one connection.
        listener.listen(0).expect("listen");
        let addr = listener
            .local_addr()
            .expect("address")
            .as_socket()
            .expect("an inet address");
        let queued = std::net::TcpStream::connect(addr).expect("first connection");
        (listener, queued, addr)
    }

    /// How many sockets of this network namespace are in SYN_SENT towards `port` (from
    /// /proc/net/tcp): a dial's socket while its connect waits, until it is closed.
    fn connecting_to(port: u16) -> usize {
        let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
        let remote = format!(":{port:04X}");
        table
            .lines()
            .skip(1)
            .filter(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.get(2).is_some_and(|r| r.ends_with(&remote)) && fields.get(3) == Some(&"02")
            })
            .count()
    }

    /// Wait (up to 2 s) until `connecting_to(port)` is `n`.
    async fn until_connecting(port: u16, n: usize) -> bool {
        let deadline = Instant::now() + Duration::from_secs(2);
        while connecting_to(port) != n {
            if Instant::now() >= deadline {
                return false;
            }
            glommio::timer::sleep(Duration::from_millis(2)).await;
        }
        true
    }

    /// A dial given up (its future dropped, as a caller's timeout does) has its connect cancelled
    /// and its socket closed at once, not when the kernel would have given up.
    #[test]
    fn a_dial_given_up_is_cancelled_and_its_socket_closed() {
        let (listener, queued, addr) = unanswering_peer();
        with_driver(|shard| async move {
            let dialing = shard.dialer.dial(addr, ());
            assert!(
                until_connecting(addr.port(), 1).await,
                "the connect should wait in SYN_SENT"
            );
            drop(dialing);
            assert!(
                until_connecting(addr.port(), 0).await,
                "the given-up dial's socket is still connecting"
            );
        });
        drop((queued, listener));
    }

    /// A connect in flight does not hold up the shard's stop: it is cancelled, its socket closed,
    /// and its dial ends with `ConnectionAborted`.
    #[test]
    fn stopping_cancels_a_connect_in_flight() {
        let (listener, queued, addr) = unanswering_peer();
        let started = Instant::now();
        let metrics = with_driver(|shard| async move {
            let pending = glommio::spawn_local(shard.dialer.dial(addr, ()));
            assert!(
                until_connecting(addr.port(), 1).await,
                "the connect should wait in SYN_SENT"
            );
            shard.stop();
            let err = within(Duration::from_secs(5), pending)
                .await
                .expect("the stop ends the dial")
                .err()
                .expect("no connection is made");
            assert_eq!(err.kind(), io::ErrorKind::ConnectionAborted, "{err}");
            // A dial after the stop fails at once.
            let late = shard.dialer.dial(addr, ()).await;
            assert_eq!(
                late.err().map(|e| e.kind()),
                Some(io::ErrorKind::ConnectionAborted)
            );
        });
        assert_eq!(metrics.open.get(), 0);
        assert_eq!(connecting_to(addr.port()), 0, "the socket was closed");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "stopped in {:?}",
            started.elapsed()
        );
        drop((queued, listener));
    }
}
