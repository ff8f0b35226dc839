"""The service: its own routes (core.py, the team's file) behind the template's probes and request
handling (routing.py), served over HTTP in a container or as a Lambda handler."""
