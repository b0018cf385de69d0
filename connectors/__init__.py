"""Mail sources: one module per protocol, all behind the interface in ``connectors.base``."""
