"""weakties: keep in touch with your weak ties. The core: config, store, engine, rules, CLI."""

__version__ = "0.1.0"
