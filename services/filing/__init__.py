"""filing: approved annual accounts filed with the KvK through a pluggable channel, with status tracking."""
