"""A request body shorter than its Content-Length is refused (400), never handed to a view as if it were whole.

gunicorn tells WSGI applications that it ends the input stream itself (`wsgi.input_terminated`), so werkzeug reads
`wsgi.input` to its end without checking the length; and gunicorn's reader, at a client's half-close, simply
ends the body early. A submission whose declared body was longer than what arrived — with the missing bytes in
whitespace, the JSON still parses — was stored with 201. Here every body with a Content-Length is read through
werkzeug's LimitedStream, which raises ClientDisconnected (a 400 Bad Request) when the stream ends before it.
"""
from werkzeug.wsgi import LimitedStream


def refuse_cut_bodies(wsgi_app):
    def app(environ, start_response):
        length = environ.get("CONTENT_LENGTH", "")
        if length.isdigit() and int(length) > 0 and "wsgi.input" in environ:
            environ["wsgi.input"] = LimitedStream(environ["wsgi.input"], int(length))
        return wsgi_app(environ, start_response)

    return app
