"""depmin: the least a container built for these entry points must carry."""

__version__ = "0.1.0"

# Bump when the records depmin.scan produces for the same source could change: every cache key
# includes it. It lives here, not in depmin.scan, so a warm run can name its cache without
# importing the scanner.
SCANNER_VERSION = "11"
