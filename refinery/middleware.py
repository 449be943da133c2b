class HtmxMiddleware:
    """Sets ``request.htmx_partial`` when htmx asks for a fragment (HX-Request header)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.htmx_partial = request.headers.get("HX-Request") == "true" and request.headers.get(
            "HX-History-Restore-Request"
        ) != "true"
        return self.get_response(request)
