"""Decision records: what the service saw, which model answered, what it answered and why."""
