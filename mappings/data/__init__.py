"""Static data files read once when mappings is imported (shipped as package data)."""
