"""Data access: the chain collector (the only bittensor import), the DuckDB store (the only SQL), the demo
network, and stored rows turned into engine inputs (`snapshot`). Imports the model, never views or app."""
