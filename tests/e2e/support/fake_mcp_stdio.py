"""A fake MCP server on stdio (newline-delimited JSON-RPC), for the stdio transport test.

It answers `initialize` with the version the client asked for, lists one read-only tool
(`count_rows`) and one write (`delete_rows`, no annotations), and appends every tool
call it runs to the file named by its first argument.
"""
import json
import sys

LOG = sys.argv[1]
TOOLS = [
    {
        "name": "count_rows",
        "description": "Count the rows of a report file",
        "inputSchema": {"type": "object", "properties": {"file": {"type": "string"}}},
        "annotations": {"readOnlyHint": True},
    },
    {
        "name": "delete_rows",
        "description": "Delete rows from a report file",
        "inputSchema": {"type": "object", "properties": {"file": {"type": "string"}}},
    },
]


def answer(request):
    method = request.get("method")
    params = request.get("params") or {}
    if method == "initialize":
        return {
            "protocolVersion": params.get("protocolVersion", "2025-11-25"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "fake-files", "version": "1.0.0"},
        }
    if method == "ping":
        return {}
    if method == "tools/list":
        return {"tools": TOOLS}
    if method == "tools/call":
        with open(LOG, "a") as log:
            log.write(json.dumps({"name": params.get("name"), "arguments": params.get("arguments")}) + "\n")
        return {"content": [{"type": "text", "text": "42 rows"}], "isError": False}
    return None


for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    request = json.loads(line)
    if "id" not in request:
        continue  # a notification
    result = answer(request)
    if result is None:
        reply = {"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32601, "message": "method not found"}}
    else:
        reply = {"jsonrpc": "2.0", "id": request["id"], "result": result}
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
