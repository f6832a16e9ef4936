"""uv.lock: its packages as values, markers for the target, what the projects declare, and the pinned closure."""
