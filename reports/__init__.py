"""Report renderers: text, JSON, SARIF."""
