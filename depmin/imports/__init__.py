"""Import names: resolution (first-party, stdlib, distribution), the import graph, and the COPY plan."""
