//! Requests between shards: a legacy session (or a 2026-07-28 task) lives on the shard that minted
//! its id, so a request for it arriving on another shard's connection is forwarded there over the
//! mesh ([`HttpMesh`]) and its response bytes come back the same way. [`RemoteExchange`] stands in
//! for the answer on the connection's shard; [`MeshSink`] carries it from the owner. This file
//! decides nothing about the requests themselves: the owner answers them through its router.

use super::exchange::{Exchange, Pending, ResponseSink};
use super::router::HttpService;
use crate::mesh::MeshPort;
use crate::netring::Outbox;
use crate::service::ids;
use ringmcp_proto::framing::http::{HttpRequest, Method};
use ringmcp_proto::streamable_http::{
    decode_header, is_stateless, METHOD_HEADER, NAME_HEADER, SESSION_HEADER, VERSION_HEADER,
};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::IpAddr;
use std::rc::{Rc, Weak};

/// HTTP traffic between shards.
#[derive(Debug)]
pub(crate) enum HttpMesh {
    /// A request for a session the receiving shard owns.
    Request {
        /// The shard holding the connection.
        from: usize,
        /// Names the exchange on that shard.
        ticket: u64,
        /// The request.
        request: Box<HttpRequest>,
        /// Its client (rate limited already, named in the owner's logs).
        client: Option<IpAddr>,
    },
    /// The client went away: stop answering.
    Cancel {
        /// The shard holding the connection.
        from: usize,
        /// The exchange.
        ticket: u64,
    },
    /// Response bytes for the connection.
    Bytes {
        /// The exchange.
        ticket: u64,
        /// Raw HTTP bytes.
        bytes: Vec<u8>,
    },
    /// The response is complete.
    Done {
        /// The exchange.
        ticket: u64,
        /// Whether the connection may be reused.
        keep_alive: bool,
    },
}

/// The connection-side stand-in for an exchange answered by another shard.
struct RemoteExchange {
    outbox: Rc<Outbox>,
    done: Cell<bool>,
    keep_alive: Cell<bool>,
    owner: usize,
    ticket: u64,
    mesh: HttpPort,
    me: usize,
}

impl Pending for RemoteExchange {
    fn is_done(&self) -> bool {
        self.done.get()
    }

    /// Unknown here; treated as a stream so that a peer closing its side cancels it.
    fn is_stream(&self) -> bool {
        true
    }

    fn keep_alive(&self) -> bool {
        self.keep_alive.get()
    }

    fn close(&self) {
        if !self.done.replace(true) {
            self.mesh.send(
                self.owner,
                HttpMesh::Cancel {
                    from: self.me,
                    ticket: self.ticket,
                },
            );
        }
    }
}

/// The owner-side sink of a forwarded exchange: bytes go back over the mesh.
struct MeshSink {
    to: usize,
    ticket: u64,
    mesh: HttpPort,
    owner: Weak<HttpService>,
}

impl ResponseSink for MeshSink {
    fn write_raw(&self, write: &mut dyn FnMut(&mut Vec<u8>)) {
        let mut bytes = Vec::new();
        write(&mut bytes);
        self.mesh.send(
            self.to,
            HttpMesh::Bytes {
                ticket: self.ticket,
                bytes,
            },
        );
    }

    fn finished(&self, keep_alive: bool) {
        self.mesh.send(
            self.to,
            HttpMesh::Done {
                ticket: self.ticket,
                keep_alive,
            },
        );
        if let Some(owner) = self.owner.upgrade() {
            owner
                .forwarding
                .forwarded
                .borrow_mut()
                .remove(&(self.to, self.ticket));
        }
    }
}

/// This shard's port on the mesh for HTTP traffic.
pub(crate) type HttpPort = Rc<dyn MeshPort<HttpMesh>>;

/// A shard's forwarding state.
#[derive(Default)]
pub(super) struct Forwarding {
    mesh: Option<HttpPort>,
    /// Requests this shard forwarded, by ticket, waiting for their answers.
    remote: RefCell<HashMap<u64, Weak<RemoteExchange>>>,
    next_ticket: Cell<u64>,
    /// Requests other shards forwarded here that are still being answered.
    forwarded: RefCell<HashMap<(usize, u64), Rc<Exchange>>>,
}

impl Forwarding {
    /// Forwarding over `mesh` (none with a single shard).
    pub(super) fn new(mesh: Option<HttpPort>) -> Self {
        Forwarding {
            mesh,
            ..Default::default()
        }
    }
}

impl HttpService {
    /// The shard named by the request's session id, if it carries one.
    pub(super) fn owner_of(&self, req: &HttpRequest) -> Option<usize> {
        // 2026-07-28 tasks/* name their task in Mcp-Name; the task id names its shard.
        let task_method = matches!(
            req.header(METHOD_HEADER),
            Some("tasks/get" | "tasks/update" | "tasks/cancel")
        );
        if req.method == Method::Post
            && task_method
            && req.header(VERSION_HEADER).is_some_and(is_stateless)
        {
            let name = req.header(NAME_HEADER).and_then(decode_header)?;
            return match ids::origin(&name)? {
                // Another node's task never ran on a shard here: any shard answers it from
                // the store the nodes share.
                (Some(node), _) if Some(node) != self.node.as_deref() => None,
                (_, shard) => Some(shard),
            };
        }
        let id = match (req.method, req.path()) {
            (Method::Post, "/messages") => req.query_param("sessionId")?,
            (_, p) if p == self.config.endpoint => req.header(SESSION_HEADER)?,
            _ => return None,
        };
        ids::origin(id).map(|(_, shard)| shard)
    }

    pub(super) fn mesh(&self) -> Option<HttpPort> {
        self.forwarding.mesh.clone()
    }

    pub(super) fn forward(
        self: &Rc<Self>,
        mesh: &HttpPort,
        owner: usize,
        req: HttpRequest,
        outbox: &Rc<Outbox>,
        client: Option<IpAddr>,
    ) -> Rc<dyn Pending> {
        let ticket = self.forwarding.next_ticket.get() + 1;
        self.forwarding.next_ticket.set(ticket);
        let remote = Rc::new(RemoteExchange {
            outbox: outbox.clone(),
            done: Cell::new(false),
            keep_alive: Cell::new(req.keep_alive),
            owner,
            ticket,
            mesh: mesh.clone(),
            me: self.shard,
        });
        self.forwarding
            .remote
            .borrow_mut()
            .insert(ticket, Rc::downgrade(&remote));
        mesh.send(
            owner,
            HttpMesh::Request {
                from: self.shard,
                ticket,
                request: Box::new(req),
                client,
            },
        );
        remote
    }

    /// HTTP traffic from another shard.
    pub(crate) fn on_mesh(self: &Rc<Self>, msg: HttpMesh) {
        match msg {
            HttpMesh::Request {
                from,
                ticket,
                request,
                client,
            } => {
                let Some(mesh) = self.mesh() else { return };
                let sink: Rc<dyn ResponseSink> = Rc::new(MeshSink {
                    to: from,
                    ticket,
                    mesh,
                    owner: Rc::downgrade(self),
                });
                let ex = self.handle_local(*request, &sink, client);
                if !ex.is_done() {
                    self.forwarding
                        .forwarded
                        .borrow_mut()
                        .insert((from, ticket), ex);
                }
            }
            HttpMesh::Cancel { from, ticket } => {
                let ex = self
                    .forwarding
                    .forwarded
                    .borrow_mut()
                    .remove(&(from, ticket));
                if let Some(ex) = ex {
                    ex.close();
                }
            }
            HttpMesh::Bytes { ticket, bytes } => {
                let remote = self
                    .forwarding
                    .remote
                    .borrow()
                    .get(&ticket)
                    .and_then(Weak::upgrade);
                if let Some(r) = remote {
                    r.outbox.send_raw(|out| out.extend_from_slice(&bytes));
                }
            }
            HttpMesh::Done { ticket, keep_alive } => {
                let remote = self
                    .forwarding
                    .remote
                    .borrow_mut()
                    .remove(&ticket)
                    .and_then(|w| w.upgrade());
                if let Some(r) = remote {
                    r.done.set(true);
                    r.keep_alive.set(r.keep_alive.get() && keep_alive);
                    // Wake the connection so it serves its next request.
                    r.outbox.send_raw(|_| {});
                }
            }
        }
    }
}
