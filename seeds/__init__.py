"""The claims taken from the press articles (claims.toml), shipped as package data."""
