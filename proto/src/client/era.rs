//! Which era to speak and the handshake that settles it. `Auto` asks `server/discover` first and
//! falls back to the legacy `initialize` unless the server answers as a 2026-07-28 server: a
//! discover result listing a modern version it shares with us, or an unsupported-version error
//! offering one (then discover is retried once with it). Anything else (another error, an HTTP
//! refusal, a result without `supportedVersions`, as some legacy servers send for unknown
//! methods) means legacy. A fixed era never falls back.

use super::envelope::{initialize_params, offered_versions, with_modern_meta};
use super::{Answer, ClientError, ClientSession, Outgoing, ServerInfo};
use crate::jsonrpc::write_notification;
use crate::revision::ProtocolVersion;
use crate::types::meta::SERVER_INFO_KEY;
use serde_json::{json, Map, Value};

/// The era a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// 2026-07-28 if the server speaks it, else `initialize`.
    Auto,
    /// Exactly this revision (`initialize` for a legacy one, `server/discover` for 2026-07-28).
    Fixed(ProtocolVersion),
}

/// What to do after a handshake answer.
#[derive(Debug, Clone, PartialEq)]
pub enum HandshakeStep {
    /// Send this next (a retried discover, or the fallback `initialize`).
    Send(Outgoing),
    /// The session is ready; send `notifications/initialized` first when given.
    Ready {
        /// The legacy `notifications/initialized`.
        initialized: Option<Outgoing>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Discover(ProtocolVersion),
    Initialize(ProtocolVersion),
}

/// Handshake progress.
#[derive(Debug)]
pub(crate) struct Handshake {
    era: Era,
    stage: Stage,
    discover_retried: bool,
}

impl Handshake {
    pub(crate) fn new(era: Era) -> Self {
        let stage = match era {
            Era::Fixed(v) if !v.is_modern() => Stage::Initialize(v),
            Era::Fixed(v) => Stage::Discover(v),
            Era::Auto => Stage::Discover(ProtocolVersion::LATEST),
        };
        Handshake {
            era,
            stage,
            discover_retried: false,
        }
    }
}

/// The newest modern and legacy versions in `offered` (both ours by construction).
fn newest(offered: &[ProtocolVersion], modern: bool) -> Option<ProtocolVersion> {
    offered
        .iter()
        .copied()
        .filter(|v| v.is_modern() == modern)
        .max()
}

impl ClientSession {
    /// The first handshake message (and the one to resend after [`Self::on_handshake`] moves on).
    pub fn handshake(&mut self) -> Outgoing {
        match self.handshake.stage {
            Stage::Discover(v) => {
                let params = with_modern_meta(&Map::new(), &self.config, v);
                self.request_out("server/discover", &params, v)
            }
            Stage::Initialize(v) => {
                let id = self.ids.next_id();
                let mut body = Vec::new();
                let params = initialize_params(&self.config, v);
                crate::jsonrpc::write_request(&mut body, &id, "initialize", &params);
                // No version header yet: the version is what initialize negotiates.
                Outgoing {
                    id: Some(id),
                    method: Some("initialize".into()),
                    body,
                    headers: Vec::new(),
                }
            }
        }
    }

    /// Feed the answer to the last handshake message.
    pub fn on_handshake(&mut self, answer: Answer) -> Result<HandshakeStep, ClientError> {
        match self.handshake.stage {
            Stage::Discover(v) => self.on_discover(v, answer),
            Stage::Initialize(_) => self.on_initialize(answer),
        }
    }

    fn fall_back(&mut self, to: ProtocolVersion) -> Result<HandshakeStep, ClientError> {
        self.handshake.stage = Stage::Initialize(to);
        Ok(HandshakeStep::Send(self.handshake()))
    }

    fn on_discover(
        &mut self,
        v: ProtocolVersion,
        answer: Answer,
    ) -> Result<HandshakeStep, ClientError> {
        let auto = self.handshake.era == Era::Auto;
        match answer {
            Answer::Result(result) => {
                let speaks = result
                    .get("supportedVersions")
                    .and_then(Value::as_array)
                    .is_some_and(|vs| vs.iter().any(|s| s.as_str() == Some(v.as_str())));
                if !speaks && auto {
                    return self.fall_back(ProtocolVersion::LATEST_LEGACY);
                }
                self.version = Some(v);
                self.server = server_info(&result);
                Ok(HandshakeStep::Ready { initialized: None })
            }
            Answer::Error(e) => match offered_versions(&e) {
                Some(offered) => match newest(&offered, true) {
                    Some(modern) if !self.handshake.discover_retried => {
                        self.handshake.discover_retried = true;
                        self.handshake.stage = Stage::Discover(modern);
                        Ok(HandshakeStep::Send(self.handshake()))
                    }
                    _ if auto => self.fall_back(
                        newest(&offered, false).unwrap_or(ProtocolVersion::LATEST_LEGACY),
                    ),
                    _ => Err(ClientError::Server(e)),
                },
                None if auto => self.fall_back(ProtocolVersion::LATEST_LEGACY),
                // A fixed 2026-07-28 client does not need discover: go on without the server's
                // description.
                None => {
                    self.version = Some(v);
                    Ok(HandshakeStep::Ready { initialized: None })
                }
            },
            Answer::Refused(_) if auto => self.fall_back(ProtocolVersion::LATEST_LEGACY),
            Answer::Refused(_) => {
                self.version = Some(v);
                Ok(HandshakeStep::Ready { initialized: None })
            }
        }
    }

    fn on_initialize(&mut self, answer: Answer) -> Result<HandshakeStep, ClientError> {
        let result = match answer {
            Answer::Result(result) => result,
            Answer::Error(e) => return Err(ClientError::Server(e)),
            Answer::Refused(status) => return Err(ClientError::Refused(status)),
        };
        let chosen = result
            .get("protocolVersion")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ClientError::Malformed("initialize result without protocolVersion".into())
            })?;
        let version = ProtocolVersion::parse(chosen)
            .filter(|v| !v.is_modern())
            .ok_or_else(|| ClientError::UnsupportedVersion(chosen.to_owned()))?;
        self.version = Some(version);
        self.server = server_info(&result);
        let mut body = Vec::new();
        write_notification(&mut body, "notifications/initialized", &json!({}));
        Ok(HandshakeStep::Ready {
            initialized: Some(Outgoing {
                id: None,
                method: Some("notifications/initialized".into()),
                body,
                headers: vec![(
                    crate::streamable_http::VERSION_HEADER.into(),
                    version.as_str().into(),
                )],
            }),
        })
    }
}

fn server_info(result: &Value) -> ServerInfo {
    ServerInfo {
        capabilities: result
            .get("capabilities")
            .cloned()
            .unwrap_or_else(|| json!({})),
        server_info: result
            .get("serverInfo")
            .or_else(|| result.get("_meta").and_then(|m| m.get(SERVER_INFO_KEY)))
            .cloned(),
        instructions: result
            .get("instructions")
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}
