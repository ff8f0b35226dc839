"""The service: one request-handling core, served over HTTP in a container or as a Lambda handler."""
