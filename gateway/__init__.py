"""gateway: the HTTP API of akkoord; reaches every service over RPC only."""
