"""Lambda handlers: thin entry points that call the application services in the layer."""
