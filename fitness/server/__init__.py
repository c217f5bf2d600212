"""What every route and page of the HTTP server shares, whatever interface it belongs to:
who may call it (auth), how large and how slow a body may be (limits), the access log."""
