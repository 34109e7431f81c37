//! Authorization as the MCP authorization specification asks of a client: discovery of the
//! authorization server through protected resource metadata (RFC 9728) and authorization server
//! metadata (RFC 8414 / OpenID Connect Discovery), client identity (pre-registered, client ID
//! metadata documents, dynamic registration), the authorization code grant with PKCE, `state`,
//! `resource` and `iss` checks, token endpoint authentication, scope selection and step-up,
//! refresh, and the extension grants (client credentials, workload identity, enterprise-managed)
//! and DPoP.
//!
//! Everything here is blocking HTTP on the calling thread. That is deliberate: these exchanges
//! happen at first use, at expiry and at step-up, a handful of times per session, so they do not
//! earn an async state machine. The price is that an `Authorize` must never be called from a
//! shard (glommio executor) thread: a shard hands challenges to a dedicated thread and only
//! reads the resulting header values. This module owns no transport: it sees MCP requests only
//! through the [`Authorize`] seam.

mod client;
mod conformance;
mod discovery;
mod dpop;
mod error;
mod flow;
mod grants;
mod http;
mod jwt;
mod registration;
mod token;
mod www_authenticate;

pub use crate::authorize::{Authorize, Challenge};
pub use client::{Grant, OAuthClient, OAuthOptions};
pub use conformance::for_conformance;
pub use error::AuthError;
pub use flow::{Headless, UserAgent};
pub use grants::EnterpriseIdp;
pub use registration::{ClientSecretKind, PreRegistered};
