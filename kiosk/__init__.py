"""See README.md: this part is built by its own issue."""
