"""`reelvault worker`: a separate process that claims generations over HTTP and makes them
with an engine (see reelvault.worker.engine for the protocol). It talks to the API only, never
to the database, so it runs anywhere that can reach the app."""
