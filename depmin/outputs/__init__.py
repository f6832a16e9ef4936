"""Renderers: each turns one result type into text (a file users keep, JSON, human lines,
Markdown, CI annotations). They never print and never import the commands."""
