"""Files: reading the repository, writing outputs atomically, and what may be written into them."""
