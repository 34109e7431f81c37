//! [`MeshMsg`]: everything shards say to each other, and who hears it. Each layer sends its own
//! kind through a [`crate::mesh::MeshPort`] (shard state: [`ShardMsg`]; HTTP: [`HttpMesh`]); only
//! the runtime, which owns both, names the whole set and routes what arrives.

use crate::http::{HttpMesh, HttpService};
use crate::metrics::ShardMetrics;
use crate::service::{ShardCtx, ShardMsg};
use glommio::channels::channel_mesh::Receivers;
use std::rc::Rc;

/// A message between shards.
#[derive(Debug)]
pub(crate) enum MeshMsg {
    /// Shard state: broadcasts, metrics scrapes.
    Shard(ShardMsg),
    /// HTTP traffic for a session owned by the receiving shard, or its answer.
    Http(HttpMesh),
}

impl From<ShardMsg> for MeshMsg {
    fn from(msg: ShardMsg) -> Self {
        MeshMsg::Shard(msg)
    }
}

impl From<HttpMesh> for MeshMsg {
    fn from(msg: HttpMesh) -> Self {
        MeshMsg::Http(msg)
    }
}

/// Route what the other shards send to whoever it is for, one task per peer.
pub(super) fn route(
    mut receivers: Receivers<MeshMsg>,
    ctx: &Rc<ShardCtx>,
    http: Option<&Rc<HttpService>>,
) {
    for (_, receiver) in receivers.streams() {
        let ctx = ctx.clone();
        let http = http.cloned();
        glommio::spawn_local(async move {
            while let Some(msg) = receiver.recv().await {
                ShardMetrics::add(&ctx.metrics.mesh_received, 1);
                match msg {
                    MeshMsg::Shard(m) => ctx.on_mesh(m),
                    MeshMsg::Http(m) => match &http {
                        Some(h) => h.on_mesh(m),
                        None => tracing::debug!("HTTP mesh message on a shard without HTTP"),
                    },
                }
            }
        })
        .detach();
    }
}
