//! Integrations over the Model Context Protocol (`[[mcp]]`), with the official Rust SDK:
//! each server is reached over Streamable HTTP (`url`) or as a child process speaking
//! stdio (`command`). Its tools are listed at start and again whenever the server says
//! they changed; a server that is down is retried in the background, reported in
//! `/readyz`, and its tools are skipped while nothing else is affected.
//!
//! A tool is a read only when its server marks it `readOnlyHint: true`; every other tool
//! is a write and goes through the confirmation gate like any change.

mod connect;

use crate::config::{McpConfig, Secrets};
use crate::health::Health;
use rmcp::model::CallToolRequestParams;
use rmcp::service::{Peer, RoleClient};
use serde::Serialize;
use serde_json::Value;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often a server that is down is tried again.
const RETRY_EVERY: Duration = Duration::from_secs(30);

/// How long connecting to a server (and listing its tools) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one tool call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// One tool of a connected server, as the model sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct McpTool {
    /// `mcp__<server>__<tool>`.
    pub name: String,
    #[serde(skip)]
    pub server: String,
    /// The tool's own name on its server.
    #[serde(skip)]
    pub tool: String,
    pub description: String,
    /// `read` only when the server marks the tool `readOnlyHint: true`.
    pub effect: &'static str,
    pub input_schema: Value,
}

impl McpTool {
    pub fn is_read(&self) -> bool {
        self.effect == "read"
    }
}

/// The full name the model uses for a server's tool.
pub fn full_name(server: &str, tool: &str) -> String {
    format!("mcp__{server}__{tool}")
}

#[derive(Debug, thiserror::Error)]
pub enum McpError {
    #[error("there is no connected app tool `{0}`; use find_tools to see what exists")]
    UnknownTool(String),
    #[error("the app `{server}` is not connected right now ({why}); its tools cannot be used until it is back")]
    Down { server: String, why: String },
    #[error("the app `{server}` failed to run `{tool}`: {why}")]
    Call {
        server: String,
        tool: String,
        why: String,
    },
}

/// What a server is doing now.
enum State {
    Down(String),
    Up {
        peer: Peer<RoleClient>,
        /// Keeps the connection open; dropping it closes the session.
        _running: Arc<connect::Running>,
    },
}

struct Server {
    config: McpConfig,
    state: RwLock<State>,
    /// Shared with the connection's handler, which refreshes it when the list changes.
    tools: Arc<RwLock<Vec<McpTool>>>,
}

/// How a configured server is doing, for "what apps do I have connected?".
#[derive(Debug, Clone, Serialize)]
pub struct ServerStatus {
    pub name: String,
    pub transport: &'static str,
    pub connected: bool,
    pub detail: String,
    pub tools: usize,
}

/// Every configured MCP server.
pub struct Mcp {
    servers: Vec<Arc<Server>>,
    secrets: Secrets,
    health: Health,
}

impl Mcp {
    /// The configured servers, not yet connected; each is registered with `/readyz`.
    pub fn new(configs: &[McpConfig], secrets: &Secrets, health: Health) -> Mcp {
        let servers = configs
            .iter()
            .map(|config| {
                health.register_optional(&health_name(&config.name));
                Arc::new(Server {
                    config: config.clone(),
                    state: RwLock::new(State::Down("not connected yet".into())),
                    tools: Arc::default(),
                })
            })
            .collect();
        Mcp {
            servers,
            secrets: secrets.clone(),
            health,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// Connects every server that is down, concurrently; a failure is recorded, not
    /// returned.
    pub async fn connect_all(&self) {
        let down: Vec<&Arc<Server>> = self
            .servers
            .iter()
            .filter(|s| matches!(*read(&s.state), State::Down(_)))
            .collect();
        futures::future::join_all(down.into_iter().map(|s| self.connect_one(s))).await;
    }

    async fn connect_one(&self, server: &Arc<Server>) {
        let name = server.config.name.clone();
        let attempt = tokio::time::timeout(
            CONNECT_TIMEOUT,
            connect::open(&server.config, &self.secrets, server.tools.clone()),
        )
        .await
        .unwrap_or_else(|_| Err("no answer in time".into()));
        match attempt {
            Ok(running) => {
                let count = read(&server.tools).len();
                let peer = running.peer().clone();
                *write(&server.state) = State::Up {
                    peer,
                    _running: Arc::new(running),
                };
                self.health
                    .ok(&health_name(&name), &format!("connected, {count} tools"));
                tracing::info!(server = %name, tools = count, "MCP server connected");
            }
            Err(why) => {
                write(&server.tools).clear();
                self.health.failing(&health_name(&name), &why);
                tracing::warn!(server = %name, error = %why, "MCP server is down");
                *write(&server.state) = State::Down(why);
            }
        }
    }

    /// Keeps retrying the servers that are down (or whose connection closed) until
    /// `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) -> anyhow::Result<()> {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = tokio::time::sleep(RETRY_EVERY) => {}
            }
            for server in &self.servers {
                let closed = matches!(&*read(&server.state), State::Up { peer, .. } if peer.is_transport_closed());
                if closed {
                    *write(&server.state) = State::Down("the connection closed".into());
                }
            }
            self.connect_all().await;
        }
    }

    /// The tools of every connected server.
    pub fn tools(&self) -> Vec<McpTool> {
        self.servers
            .iter()
            .filter(|s| matches!(*read(&s.state), State::Up { .. }))
            .flat_map(|s| read(&s.tools).clone())
            .collect()
    }

    /// The tools whose name or description best match the words of `query`.
    pub fn find(&self, query: &str, limit: usize) -> Vec<McpTool> {
        let words: Vec<String> = query
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 1)
            .map(str::to_lowercase)
            .collect();
        let mut scored: Vec<(usize, McpTool)> = self
            .tools()
            .into_iter()
            .map(|tool| {
                let haystack = format!("{} {}", tool.name, tool.description).to_lowercase();
                let score = words
                    .iter()
                    .filter(|w| haystack.contains(w.as_str()))
                    .count();
                (score, tool)
            })
            .filter(|(score, _)| *score > 0 || words.is_empty())
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
        scored.into_iter().take(limit).map(|(_, t)| t).collect()
    }

    /// The tool named `name`, or why it cannot be used now.
    pub fn tool(&self, name: &str) -> Result<McpTool, McpError> {
        let server = self
            .servers
            .iter()
            .find(|s| name.starts_with(&format!("mcp__{}__", s.config.name)))
            .ok_or_else(|| McpError::UnknownTool(name.to_string()))?;
        if let State::Down(why) = &*read(&server.state) {
            return Err(McpError::Down {
                server: server.config.name.clone(),
                why: why.clone(),
            });
        }
        read(&server.tools)
            .iter()
            .find(|t| t.name == name)
            .cloned()
            .ok_or_else(|| McpError::UnknownTool(name.to_string()))
    }

    /// Calls a tool and returns its result as JSON (text content, structured content,
    /// and whether the server flagged an error).
    pub async fn call(&self, name: &str, arguments: &Value) -> Result<Value, McpError> {
        let tool = self.tool(name)?;
        let server = self
            .servers
            .iter()
            .find(|s| s.config.name == tool.server)
            .ok_or_else(|| McpError::UnknownTool(name.to_string()))?;
        let peer = match &*read(&server.state) {
            State::Up { peer, .. } => peer.clone(),
            State::Down(why) => {
                return Err(McpError::Down {
                    server: tool.server.clone(),
                    why: why.clone(),
                })
            }
        };
        let mut params = CallToolRequestParams::new(tool.tool.clone());
        if let Some(args) = arguments.as_object() {
            params = params.with_arguments(args.clone());
        }
        let failed = |why: String| McpError::Call {
            server: tool.server.clone(),
            tool: tool.tool.clone(),
            why,
        };
        let result = tokio::time::timeout(CALL_TIMEOUT, peer.call_tool(params))
            .await
            .map_err(|_| failed("no answer in time".into()))?
            .map_err(|e| failed(e.to_string()))?;
        let text: Vec<String> = result
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect();
        Ok(serde_json::json!({
            "tool": tool.name,
            "is_error": result.is_error.unwrap_or(false),
            "text": text.join("\n"),
            "structured": result.structured_content,
        }))
    }

    /// Each configured server and how it is doing.
    pub fn status(&self) -> Vec<ServerStatus> {
        self.servers
            .iter()
            .map(|s| {
                let (connected, detail) = match &*read(&s.state) {
                    State::Up { .. } => (true, "connected".to_string()),
                    State::Down(why) => (false, why.clone()),
                };
                ServerStatus {
                    name: s.config.name.clone(),
                    transport: if s.config.url.is_some() {
                        "streamable-http"
                    } else {
                        "stdio"
                    },
                    connected,
                    detail,
                    tools: if connected { read(&s.tools).len() } else { 0 },
                }
            })
            .collect()
    }
}

fn health_name(server: &str) -> String {
    format!("mcp:{server}")
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}
