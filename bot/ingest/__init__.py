"""The poll: the scheduler's tick (scheduler), the orchestrator (pipeline) and its stages."""
