"""The incidents API: routers by concern, their shapes in ``schemas``; mounted by ``config.api``."""
