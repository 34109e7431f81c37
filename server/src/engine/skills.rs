//! The skills extension's methods (SEP-2640): `skills/list` (paged like the other lists),
//! `skills/get` and `resources/directory/read`, answered inline from the registry. An unknown
//! skill, and a directory read of anything that is not a directory, is -32602 with `data.uri`.
//! Skill files themselves are ordinary resources, read by `resources/read`. It must not change
//! session state.

use super::reply::Sink;
use super::{Call, McpService};
use ringmcp_proto::jsonrpc::ErrorObject;
use ringmcp_proto::pagination::ListKind;
use ringmcp_proto::types::{DirectoryReadResult, GetSkillResult, ListSkillsResult};
use serde_json::json;

fn invalid_uri(message: &str, uri: &str) -> ErrorObject {
    ErrorObject::invalid_params(message).with_data(json!({ "uri": uri }))
}

impl McpService {
    pub(super) fn list_skills(&self, sink: &Sink, call: &Call, cursor: Option<&str>) {
        let registry = self.registry();
        self.page(
            sink,
            call,
            ListKind::Skills,
            &registry.skills,
            cursor,
            |skills, next_cursor, envelope| {
                sink.result(
                    &call.id,
                    &ListSkillsResult {
                        skills,
                        next_cursor,
                        envelope,
                    },
                )
            },
        )
    }

    pub(super) fn get_skill(&self, sink: &Sink, call: &Call, uri: &str) {
        match self.registry().skill(uri) {
            Some(skill) => sink.result(
                &call.id,
                &GetSkillResult {
                    skill,
                    envelope: self.shape.envelope(&call.era, true),
                },
            ),
            None => sink.error(
                Some(&call.id),
                &invalid_uri(
                    "Unknown skill: not the SKILL.md of a skill this server serves",
                    uri,
                ),
            ),
        }
    }

    pub(super) fn read_directory(&self, sink: &Sink, call: &Call, uri: &str, cursor: Option<&str>) {
        let registry = self.registry();
        let Some(children) = registry.skill_dirs.get(uri) else {
            return sink.error(
                Some(&call.id),
                &invalid_uri("Not a directory resource of this server", uri),
            );
        };
        self.page(
            sink,
            call,
            ListKind::DirChildren,
            children,
            cursor,
            |resources, next_cursor, envelope| {
                sink.result(
                    &call.id,
                    &DirectoryReadResult {
                        resources,
                        next_cursor,
                        envelope,
                    },
                )
            },
        )
    }
}
