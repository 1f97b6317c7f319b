"""Server-rendered pages shared by the services: the person's agent and the vendor's console.

Modules: ``sessions`` (in-memory sessions), ``forms`` (form reading, CSRF),
``security`` (CSP and other headers), ``pages`` (Jinja2 rendering), ``site``
(the signed-in check, sign-in and sign-out, redirects, installing on an app),
``sign_in`` (attempts one at a time, a pause after each wrong one, a lockout).
Shared assets (the stylesheets, the small scripts) are in ``static``.
"""
