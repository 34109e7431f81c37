//! Hearing what a server says unasked, blocking: [`Client::listen`] opens a [`Listener`] for the
//! notifications a [`SubscriptionFilter`] names and [`Listener::next`] waits for the next one.
//! On 2026-07-28 that is a `subscriptions/listen` stream (acknowledged by the server, ended by
//! `notifications/cancelled` or by the server's answer); on a legacy session it is
//! `resources/subscribe` per resource plus what the session hears anyway (the standalone GET
//! stream over HTTP, the input of a line transport), filtered here as the server does not.
//! Message rules stay in `ringmcp_proto::client`; the transports own the streams.

use crate::blocking::{Client, ClientError};
use crate::transport::{Polled, TransportError};
use ringmcp_proto::client::{Notice, ACKNOWLEDGED};
use ringmcp_proto::types::SubscriptionFilter;
use ringmcp_proto::{Message, RequestId};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// How long a 2026-07-28 server has to acknowledge a listen stream.
const ACK_WAIT: Duration = Duration::from_secs(10);

/// What waiting on a listener brought.
#[derive(Debug, Clone, PartialEq)]
pub enum Heard {
    /// A notification the listener asked for.
    Notice(Notice),
    /// Nothing within the wait.
    Quiet,
    /// The stream ended: the server tore it down, or the connection closed.
    Ended,
}

/// An open subscription: the notifications of one filter, in order.
#[derive(Debug)]
pub struct Listener<'c> {
    client: &'c mut Client,
    /// The listen request (2026-07-28), while its stream is open.
    id: Option<RequestId>,
    honoured: SubscriptionFilter,
    /// Resources subscribed on a legacy session, to unsubscribe at the end.
    subscribed: Vec<String>,
    ended: bool,
}

impl Client {
    /// `resources/subscribe` (legacy sessions; a 2026-07-28 session listens instead).
    pub fn subscribe(&mut self, uri: &str) -> Result<(), ClientError> {
        self.request("resources/subscribe", json!({ "uri": uri }))
            .map(drop)
    }

    /// `resources/unsubscribe` (legacy sessions).
    pub fn unsubscribe(&mut self, uri: &str) -> Result<(), ClientError> {
        self.request("resources/unsubscribe", json!({ "uri": uri }))
            .map(drop)
    }

    /// Listen for the notifications `filter` names. On 2026-07-28 this opens a
    /// `subscriptions/listen` stream and waits for the server's acknowledgement; on a legacy
    /// session it subscribes to each resource named.
    pub fn listen(&mut self, filter: SubscriptionFilter) -> Result<Listener<'_>, ClientError> {
        if !self.version().is_some_and(|v| v.is_modern()) {
            let mut subscribed = Vec::new();
            for uri in filter.resource_subscriptions.iter().flatten() {
                self.subscribe(uri)?;
                subscribed.push(uri.clone());
            }
            return Ok(Listener {
                client: self,
                id: None,
                honoured: filter,
                subscribed,
                ended: false,
            });
        }
        let out = self.session.listen(&filter)?;
        let Some(id) = out.id.clone() else {
            return Err(ClientError::NoAnswer("subscriptions/listen".into()));
        };
        if let Err(e) = self.transport.send(&out) {
            self.session.forget(&id);
            return Err(match e {
                TransportError::Status { status, .. } => {
                    ringmcp_proto::client::ClientError::Refused(Some(status)).into()
                }
                e => e.into(),
            });
        }
        self.listens.insert(id.clone());
        let honoured = match self.acknowledgement(&id) {
            Ok(honoured) => honoured,
            Err(e) => {
                self.listens.remove(&id);
                self.session.forget(&id);
                return Err(e);
            }
        };
        Ok(Listener {
            client: self,
            id: Some(id),
            honoured,
            subscribed: Vec::new(),
            ended: false,
        })
    }

    /// Wait for the acknowledgement of the listen stream `id`: what the server agreed to send.
    fn acknowledgement(&mut self, id: &RequestId) -> Result<SubscriptionFilter, ClientError> {
        let deadline = Instant::now() + ACK_WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ClientError::TimedOut("subscriptions/listen".into()));
            }
            let message = match self.transport.recv_timeout(left)? {
                Polled::Message(message) => message,
                Polled::Quiet => continue,
                Polled::Closed => return Err(ClientError::NoAnswer("subscriptions/listen".into())),
            };
            if let Message::Notification(n) = &message {
                let notice = Notice::from_notification(n);
                if notice.method == ACKNOWLEDGED && notice.subscription().as_ref() == Some(id) {
                    let honoured = notice.params.get("notifications").cloned();
                    return Ok(honoured
                        .and_then(|v| serde_json::from_value(v).ok())
                        .unwrap_or_default());
                }
            }
            if let Some(r) = self.inbound(message, None)? {
                if r.id.as_ref() == Some(id) {
                    // An answer before any acknowledgement is a refusal (or an immediate end).
                    self.listens.remove(id);
                    self.session.forget(id);
                    return match r.outcome {
                        Err(e) => Err(ringmcp_proto::client::ClientError::Server(e).into()),
                        Ok(_) => Err(ClientError::NoAnswer("subscriptions/listen".into())),
                    };
                }
                self.stray_answer(r);
            }
        }
    }

    /// The next notification of any kind within `wait` (kept ones first).
    pub fn next_notice(&mut self, wait: Duration) -> Result<Heard, ClientError> {
        let deadline = Instant::now() + wait;
        loop {
            match self.next_inbound(deadline)? {
                Heard::Quiet if Instant::now() < deadline => {}
                heard => return Ok(heard),
            }
        }
    }

    /// Like [`Self::next_notice`], but quiet as soon as an answer came instead (it may have
    /// ended a listen stream, which the listener must see at once).
    fn next_inbound(&mut self, deadline: Instant) -> Result<Heard, ClientError> {
        if let Some(notice) = self.inbox.pop_front() {
            return Ok(Heard::Notice(notice));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match self.transport.recv_timeout(left)? {
            Polled::Message(message) => {
                if let Some(r) = self.inbound(message, None)? {
                    self.stray_answer(r);
                }
                Ok(match self.inbox.pop_front() {
                    Some(notice) => Heard::Notice(notice),
                    None => Heard::Quiet,
                })
            }
            Polled::Quiet => Ok(Heard::Quiet),
            Polled::Closed => Ok(Heard::Ended),
        }
    }
}

impl Listener<'_> {
    /// What the server agreed to send (on a legacy session: what was asked).
    pub fn honoured(&self) -> &SubscriptionFilter {
        &self.honoured
    }

    /// The next notification this listener asked for, waiting at most `wait`.
    pub fn next(&mut self, wait: Duration) -> Result<Heard, ClientError> {
        let deadline = Instant::now() + wait;
        loop {
            if self.ended
                || self
                    .id
                    .as_ref()
                    .is_some_and(|id| self.client.ended.remove(id))
            {
                self.ended = true;
                return Ok(Heard::Ended);
            }
            let notice = match self.client.next_inbound(deadline)? {
                Heard::Notice(notice) => notice,
                Heard::Quiet if Instant::now() < deadline => continue,
                Heard::Quiet => return Ok(Heard::Quiet),
                Heard::Ended => {
                    self.ended = true;
                    return Ok(Heard::Ended);
                }
            };
            let wanted = match &self.id {
                Some(id) => {
                    notice.method != ACKNOWLEDGED && notice.subscription().as_ref() == Some(id)
                }
                None => notice.wanted_by(&self.honoured),
            };
            if wanted {
                return Ok(Heard::Notice(notice));
            }
            tracing::debug!(method = %notice.method, "a notification no listener asked for");
        }
    }

    /// End the subscription: `notifications/cancelled` for a listen stream, `resources/unsubscribe`
    /// for each resource a legacy session subscribed to.
    pub fn close(mut self) -> Result<(), ClientError> {
        self.stop()?;
        for uri in std::mem::take(&mut self.subscribed) {
            self.client.unsubscribe(&uri)?;
        }
        Ok(())
    }

    fn stop(&mut self) -> Result<(), ClientError> {
        let Some(id) = self.id.take() else {
            return Ok(());
        };
        self.client.ended.remove(&id);
        if self.client.listens.remove(&id) {
            let note = self.client.session.cancel(&id, Some("listener closed"));
            self.client.transport.send(&note)?;
        }
        Ok(())
    }
}

impl Drop for Listener<'_> {
    fn drop(&mut self) {
        // A listener dropped without `close` still ends its stream; nobody can see an error here.
        if let Err(e) = self.stop() {
            tracing::debug!(error = %e, "ending a listen stream failed");
        }
    }
}

/// A filter from its JSON form (as the CLI and configuration files give it).
pub fn filter_from_json(value: Value) -> Result<SubscriptionFilter, serde_json::Error> {
    serde_json::from_value(value)
}
