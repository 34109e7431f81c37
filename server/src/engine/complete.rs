//! `completion/complete`: argument suggestions from the completion provider a prompt or resource
//! template registered. It reads the registry only.

use super::McpService;
use ringmcp_proto::jsonrpc::ErrorObject;
use ringmcp_proto::types::{CompleteParams, Completion, CompletionRef};
use std::collections::BTreeMap;

impl McpService {
    pub(super) fn complete(&self, p: &CompleteParams) -> Result<Completion, ErrorObject> {
        let provider = match &p.reference {
            CompletionRef::Prompt { name } => {
                let registry = self.registry();
                let prompt = registry.prompt(name).ok_or_else(|| {
                    ErrorObject::invalid_params(format!("Unknown prompt: {name}"))
                })?;
                prompt.completions.get(&p.argument.name).cloned()
            }
            CompletionRef::Resource { uri } => {
                let registry = self.registry();
                let template = registry.template_by_uri(uri).ok_or_else(|| {
                    ErrorObject::invalid_params(format!("Unknown resource template: {uri}"))
                })?;
                template.completions.get(&p.argument.name).cloned()
            }
        };
        let empty = BTreeMap::new();
        let context = p.context.as_ref().map_or(&empty, |c| &c.arguments);
        let mut values = provider
            .map(|f| f(&p.argument.value, context))
            .unwrap_or_default();
        let total = values.len();
        values.truncate(100);
        Ok(Completion {
            has_more: total > values.len(),
            total: Some(total),
            values,
        })
    }
}
