"""How the service runs: start-up, and the ECS server's worker processes."""
