"""The reference loyalty server: a real HTTP server speaking the loyalty API contract, with fault switches.

`server` is the Flask app and its state machine, `store` its SQLite persistence, `demo` the in-process start used by
`frontdesk --demo`. Run it with `python -m devtools.loyalty_server --port 0 --db PATH --api-key K`.
"""
