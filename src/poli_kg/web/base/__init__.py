"""What every blueprint of the web layer shares: content negotiation, security headers, the
site's languages and URLs, and the build's files.  Blueprints import from here, never from
each other."""
