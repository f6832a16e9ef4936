"""depmin: the least a container built for these entry points must carry."""

__version__ = "0.1.0"
