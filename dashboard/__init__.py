"""The worker dashboard: figures of the tickets in a scope, one level down, over 30 days."""
