"""Reading and writing subscriber extracts and other files (no Qt)."""
