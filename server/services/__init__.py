"""Domain operations. They flush, never commit: the request boundary commits (``server.db``)."""
