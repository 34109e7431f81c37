//! Newline-delimited JSON transports: a spawned server process over its stdin/stdout, and a TCP
//! connection. One JSON-RPC message per line each way; the server's stderr is left to the
//! terminal; the server's output is read on a thread into a channel, so reads can time out. This
//! file owns the pipes and sockets only.

use crate::transport::{parse_frame, Polled, Transport, TransportError};
use ringmcp_proto::client::Outgoing;
use ringmcp_proto::Message;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::Duration;

/// Longest line read from the server.
const MAX_LINE: u64 = 64 << 20;

/// What the reader thread reports.
enum Line {
    Message(Message),
    /// The input ended (with the error that ended it, if any).
    End(Option<std::io::Error>),
}

/// A newline-JSON connection. The server's output is read on a thread of its own, so that a
/// listener can wait for it with a timeout.
pub struct LineTransport {
    rx: Receiver<Line>,
    ended: bool,
    writer: Option<Box<dyn Write + Send>>,
    child: Option<Child>,
    socket: Option<TcpStream>,
}

impl std::fmt::Debug for LineTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineTransport")
            .field("child", &self.child.as_ref().map(Child::id))
            .field("socket", &self.socket)
            .finish_non_exhaustive()
    }
}

/// Read lines from `input` until it ends, sending each message down `tx`.
fn spawn_reader(input: Box<dyn Read + Send>) -> Receiver<Line> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(input);
        let end = loop {
            let mut line = Vec::new();
            match (&mut reader).take(MAX_LINE).read_until(b'\n', &mut line) {
                Ok(0) => break None,
                Ok(n) if line.last() != Some(&b'\n') && n as u64 == MAX_LINE => {
                    break Some(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "a line from the server is too long",
                    ));
                }
                Ok(_) => {}
                Err(e) => break Some(e),
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            for message in parse_frame(&line) {
                if tx.send(Line::Message(message)).is_err() {
                    return;
                }
            }
        };
        let _ = tx.send(Line::End(end));
    });
    rx
}

impl LineTransport {
    /// Spawn `program` with `args` and talk to it over its stdin and stdout.
    pub fn spawn(program: &str, args: &[String]) -> Result<Self, TransportError> {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(TransportError::Protocol(
                "the child's pipes are missing".into(),
            ));
        };
        Ok(LineTransport {
            rx: spawn_reader(Box::new(stdout)),
            ended: false,
            writer: Some(Box::new(stdin)),
            child: Some(child),
            socket: None,
        })
    }

    /// Connect to a TCP server at `addr` (`host:port`; every resolved address is tried).
    pub fn tcp(addr: &str) -> Result<Self, TransportError> {
        let socket = TcpStream::connect(addr)?;
        socket.set_nodelay(true)?;
        Ok(LineTransport {
            rx: spawn_reader(Box::new(socket.try_clone()?)),
            ended: false,
            writer: Some(Box::new(socket.try_clone()?)),
            child: None,
            socket: Some(socket),
        })
    }

    fn received(&mut self, line: Line) -> Result<Polled, TransportError> {
        match line {
            Line::Message(message) => Ok(Polled::Message(message)),
            Line::End(error) => {
                self.ended = true;
                match error {
                    Some(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                        Err(TransportError::Protocol(e.to_string()))
                    }
                    Some(e) => Err(e.into()),
                    None => Ok(Polled::Closed),
                }
            }
        }
    }
}

impl Transport for LineTransport {
    fn send(&mut self, message: &Outgoing) -> Result<(), TransportError> {
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| TransportError::Protocol("the connection is closed".into()))?;
        let mut line = Vec::with_capacity(message.body.len() + 1);
        line.extend_from_slice(&message.body);
        line.push(b'\n');
        writer.write_all(&line)?;
        writer.flush()?;
        Ok(())
    }

    fn recv(&mut self) -> Result<Option<Message>, TransportError> {
        if self.ended {
            return Ok(None);
        }
        let line = self.rx.recv().unwrap_or(Line::End(None));
        Ok(match self.received(line)? {
            Polled::Message(message) => Some(message),
            Polled::Quiet | Polled::Closed => None,
        })
    }

    fn recv_timeout(&mut self, wait: Duration) -> Result<Polled, TransportError> {
        if self.ended {
            return Ok(Polled::Closed);
        }
        match self.rx.recv_timeout(wait) {
            Ok(line) => self.received(line),
            Err(RecvTimeoutError::Timeout) => Ok(Polled::Quiet),
            Err(RecvTimeoutError::Disconnected) => self.received(Line::End(None)),
        }
    }

    fn close(&mut self) -> Result<(), TransportError> {
        // Closing the server's input is how stdio asks it to exit.
        self.writer = None;
        if let Some(socket) = self.socket.take() {
            let _ = socket.shutdown(Shutdown::Both);
        }
        if let Some(mut child) = self.child.take() {
            child.wait()?;
        }
        Ok(())
    }
}

impl Drop for LineTransport {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            self.writer = None;
            // A server that does not exit when its input closes is not left behind.
            if matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(std::time::Duration::from_millis(200));
                if matches!(child.try_wait(), Ok(None)) {
                    let _ = child.kill();
                }
            }
            let _ = child.wait();
        }
    }
}
