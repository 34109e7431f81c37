"""A legacy-session MCP client on Python's own http.client, shared by the cluster benches
(cluster_survive.py, cluster_chaos.py): one keep-alive connection, redialed after any failure,
which reports a failed request as status None rather than raising."""
import http.client
import json

HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


class Conn:
    """A keep-alive connection to 127.0.0.1:port speaking legacy revision `version`."""

    def __init__(self, port, version):
        self.port, self.version = port, version
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def post(self, body, sid=None):
        """POST one JSON-RPC message: (status or None, Mcp-Session-Id, body bytes)."""
        headers = dict(HEADERS)
        if sid:
            headers["Mcp-Session-Id"] = sid
            headers["MCP-Protocol-Version"] = self.version
        try:
            self.c.request("POST", "/mcp", body=json.dumps(body), headers=headers)
            r = self.c.getresponse()
            data = r.read()
            return r.status, r.getheader("Mcp-Session-Id"), data
        except (OSError, http.client.HTTPException):
            self.c.close()
            self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            return None, None, b""
