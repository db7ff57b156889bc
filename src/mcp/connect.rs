//! Opening one MCP server (Streamable HTTP or stdio) and keeping its tool list current.

use super::{full_name, McpTool};
use crate::config::{McpConfig, Secrets};
use rmcp::handler::client::ClientHandler;
use rmcp::service::{NotificationContext, Peer, RoleClient, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::ServiceExt;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// An open session with a server.
pub(super) type Running = RunningService<RoleClient, ToolWatcher>;

/// Our side of a session: re-lists the tools when the server says they changed.
pub(super) struct ToolWatcher {
    config: McpConfig,
    tools: Arc<RwLock<Vec<McpTool>>>,
}

impl ClientHandler for ToolWatcher {
    async fn on_tool_list_changed(&self, context: NotificationContext<RoleClient>) {
        match list(&self.config, &context.peer).await {
            Ok(tools) => {
                tracing::info!(server = %self.config.name, tools = tools.len(), "MCP tool list changed");
                *self.tools.write().unwrap_or_else(|e| e.into_inner()) = tools;
            }
            Err(why) => {
                tracing::warn!(server = %self.config.name, error = %why, "MCP tools could not be listed again")
            }
        }
    }
}

/// Connects to the server and lists its tools into `tools`.
pub(super) async fn open(
    config: &McpConfig,
    secrets: &Secrets,
    tools: Arc<RwLock<Vec<McpTool>>>,
) -> Result<Running, String> {
    let watcher = ToolWatcher {
        config: config.clone(),
        tools: tools.clone(),
    };
    let running = match (&config.url, &config.command) {
        (Some(url), _) => {
            let headers = headers(config, secrets)?;
            let transport = StreamableHttpClientTransport::from_config(
                StreamableHttpClientTransportConfig::with_uri(url.as_str()).custom_headers(headers),
            );
            watcher.serve(transport).await.map_err(|e| e.to_string())?
        }
        (None, Some(command)) => {
            let (program, args) = command.split_first().ok_or("`command` is empty")?;
            let mut child = tokio::process::Command::new(program);
            child.args(args);
            let transport = TokioChildProcess::new(child)
                .map_err(|e| format!("cannot start `{program}`: {e}"))?;
            watcher.serve(transport).await.map_err(|e| e.to_string())?
        }
        (None, None) => return Err("neither url nor command is set".into()),
    };
    let listed = list(config, running.peer()).await?;
    *tools.write().unwrap_or_else(|e| e.into_inner()) = listed;
    Ok(running)
}

/// The server's tools, filtered by the allow-list.
async fn list(config: &McpConfig, peer: &Peer<RoleClient>) -> Result<Vec<McpTool>, String> {
    let tools = peer.list_all_tools().await.map_err(|e| e.to_string())?;
    Ok(tools
        .into_iter()
        .filter(|t| {
            config
                .tools
                .as_ref()
                .is_none_or(|allowed| allowed.iter().any(|a| a == t.name.as_ref()))
        })
        .map(|t| {
            // Only an explicit `readOnlyHint: true` makes a read; no hint is a write.
            let read_only = t
                .annotations
                .as_ref()
                .and_then(|a| a.read_only_hint)
                .unwrap_or(false);
            McpTool {
                name: full_name(&config.name, &t.name),
                server: config.name.clone(),
                tool: t.name.to_string(),
                description: t.description.as_deref().unwrap_or_default().to_string(),
                effect: if read_only { "read" } else { "write" },
                input_schema: serde_json::Value::Object((*t.input_schema).clone()),
            }
        })
        .collect())
}

/// The configured headers, each value read from its environment variable.
fn headers(
    config: &McpConfig,
    secrets: &Secrets,
) -> Result<HashMap<http::HeaderName, http::HeaderValue>, String> {
    let mut out = HashMap::new();
    for (header, var) in &config.headers_env {
        let value = secrets
            .integration_keys
            .get(var)
            .and_then(|s| s.expose())
            .ok_or_else(|| format!("{var} (for the {header} header) is not set"))?;
        let name = http::HeaderName::from_bytes(header.as_bytes())
            .map_err(|_| format!("`{header}` is not a valid header name"))?;
        let value = http::HeaderValue::from_str(value)
            .map_err(|_| format!("the value of {var} is not a valid header value"))?;
        out.insert(name, value);
    }
    Ok(out)
}
