"""One module per `pgcheck` verb; each exposes a click `command`."""
