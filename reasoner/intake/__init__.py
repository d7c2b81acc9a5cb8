"""Session input: which files and records hold sessions, reading them (JSON, JSON-LD, Turtle),
the plain JSON checks, and resolving the names coders write."""
