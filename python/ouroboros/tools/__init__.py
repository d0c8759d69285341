"""Command-line tools of pyOuroboros (console scripts ``o7s-*``)."""
