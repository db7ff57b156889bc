//! A fake MCP server, built with rmcp's server side and served over Streamable HTTP on
//! `127.0.0.1:0/mcp`. It offers `lookup_fan` (marked `readOnlyHint: true`),
//! `append_row` (no annotations, so a write) and optionally many filler read tools, and
//! records every tool call it runs.

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::{Peer, RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, ServerHandler};
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// One call the server ran: tool name and arguments.
pub type McpCall = (String, Value);

#[derive(Clone)]
pub struct FakeMcp {
    base: String,
    calls: Arc<Mutex<Vec<McpCall>>>,
    fillers: Arc<AtomicUsize>,
    /// The client sessions that listed tools, to tell them the list changed.
    peers: Arc<Mutex<Vec<Peer<RoleServer>>>>,
}

#[derive(Clone)]
struct Sheets {
    calls: Arc<Mutex<Vec<McpCall>>>,
    fillers: Arc<AtomicUsize>,
    peers: Arc<Mutex<Vec<Peer<RoleServer>>>>,
}

fn schema(properties: Value) -> Arc<Map<String, Value>> {
    let value = json!({"type": "object", "properties": properties});
    Arc::new(value.as_object().cloned().unwrap_or_default())
}

impl Sheets {
    fn tools(&self) -> Vec<Tool> {
        let mut tools = vec![
            Tool::new(
                "lookup_fan",
                "Look up a fan's row in the VIP sheet",
                schema(json!({"username": {"type": "string"}})),
            )
            .with_annotations(ToolAnnotations::new().read_only(true)),
            Tool::new(
                "append_row",
                "Append a row to a Google Sheet",
                schema(
                    json!({"sheet": {"type": "string"}, "values": {"type": "array", "items": {"type": "string"}}}),
                ),
            ),
        ];
        for i in 0..self.fillers.load(Ordering::SeqCst) {
            tools.push(
                Tool::new(
                    format!("report_{i}"),
                    format!("Read saved report number {i} of the spreadsheet workspace"),
                    schema(json!({"range": {"type": "string"}})),
                )
                .with_annotations(ToolAnnotations::new().read_only(true)),
            );
        }
        tools
    }
}

impl ServerHandler for Sheets {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .build(),
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        self.peers.lock().unwrap().push(context.peer.clone());
        Ok(ListToolsResult::with_all_items(self.tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let args = Value::Object(request.arguments.clone().unwrap_or_default());
        self.calls
            .lock()
            .unwrap()
            .push((request.name.to_string(), args.clone()));
        let text = match request.name.as_ref() {
            "lookup_fan" => format!(
                "{} is a VIP since 2025-03; lifetime $1,240",
                args["username"].as_str().unwrap_or("?")
            ),
            "append_row" => "1 row appended".to_string(),
            other => format!("report {other}: empty"),
        };
        Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into())
    }
}

impl FakeMcp {
    /// The server with `lookup_fan` and `append_row`, plus `fillers` more read tools.
    pub async fn start(fillers: usize) -> FakeMcp {
        let calls: Arc<Mutex<Vec<McpCall>>> = Arc::default();
        let fillers = Arc::new(AtomicUsize::new(fillers));
        let peers: Arc<Mutex<Vec<Peer<RoleServer>>>> = Arc::default();
        let sheets = Sheets {
            calls: calls.clone(),
            fillers: fillers.clone(),
            peers: peers.clone(),
        };
        let service: StreamableHttpService<Sheets, LocalSessionManager> =
            StreamableHttpService::new(
                move || Ok(sheets.clone()),
                Default::default(),
                StreamableHttpServerConfig::default().with_sse_keep_alive(None),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = axum::Router::new().nest_service("/mcp", service);
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeMcp {
            base: format!("http://{addr}/mcp"),
            calls,
            fillers,
            peers,
        }
    }

    /// Offers one more read tool and tells every client session that the list changed.
    pub async fn add_tool(&self) {
        self.fillers.fetch_add(1, Ordering::SeqCst);
        let peers = self.peers.lock().unwrap().clone();
        for peer in peers {
            let _ = peer.notify_tool_list_changed().await;
        }
    }

    pub fn url(&self) -> String {
        self.base.clone()
    }

    pub fn calls(&self) -> Vec<McpCall> {
        self.calls.lock().unwrap().clone()
    }

    /// How many times `tool` ran.
    pub fn count(&self, tool: &str) -> usize {
        self.calls().iter().filter(|(t, _)| t == tool).count()
    }
}
