"""Small utilities: logging and helpers shared across videohub."""
