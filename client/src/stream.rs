//! Newline-delimited JSON transports: a spawned server process over its stdin/stdout, and a TCP
//! connection. One JSON-RPC message per line each way; the server's stderr is left to the
//! terminal. This file owns the pipes and sockets only.

use crate::transport::{parse_frame, Transport, TransportError};
use ringmcp_proto::client::Outgoing;
use ringmcp_proto::Message;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Child, Command, Stdio};

/// Longest line read from the server.
const MAX_LINE: u64 = 64 << 20;

/// A newline-JSON connection.
pub struct LineTransport {
    reader: BufReader<Box<dyn Read + Send>>,
    writer: Option<Box<dyn Write + Send>>,
    child: Option<Child>,
    socket: Option<TcpStream>,
    queue: VecDeque<Message>,
}

impl std::fmt::Debug for LineTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineTransport")
            .field("child", &self.child.as_ref().map(Child::id))
            .field("socket", &self.socket)
            .finish_non_exhaustive()
    }
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
            reader: BufReader::new(Box::new(stdout)),
            writer: Some(Box::new(stdin)),
            child: Some(child),
            socket: None,
            queue: VecDeque::new(),
        })
    }

    /// Connect to a TCP server at `addr` (`host:port`; every resolved address is tried).
    pub fn tcp(addr: &str) -> Result<Self, TransportError> {
        let socket = TcpStream::connect(addr)?;
        socket.set_nodelay(true)?;
        Ok(LineTransport {
            reader: BufReader::new(Box::new(socket.try_clone()?)),
            writer: Some(Box::new(socket.try_clone()?)),
            child: None,
            socket: Some(socket),
            queue: VecDeque::new(),
        })
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
        loop {
            if let Some(message) = self.queue.pop_front() {
                return Ok(Some(message));
            }
            let mut line = Vec::new();
            let n = (&mut self.reader)
                .take(MAX_LINE)
                .read_until(b'\n', &mut line)?;
            if n == 0 {
                return Ok(None);
            }
            if line.last() != Some(&b'\n') && n as u64 == MAX_LINE {
                return Err(TransportError::Protocol(
                    "a line from the server is too long".into(),
                ));
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            self.queue.extend(parse_frame(&line));
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
