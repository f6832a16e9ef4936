"""The analysed project: its configuration, source roots, module index and local distributions."""
