"""PDF documents (disclosure reports, later certificates): A4 portrait, with an embedded Japanese font."""
