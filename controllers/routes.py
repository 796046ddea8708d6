# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""HTTP routes of the scanner: the page, its files and the JSON API (v1).

The API's operations are declared and registered in controllers/
operations.py (through controllers/api.py); this file adds the page, the
OpenAPI document generated from those declarations, and the JSON answer to
a path that is no operation.
"""
import mimetypes
import os

from trytond.i18n import gettext
from trytond.protocols.wrappers import (
    HTTPStatus, Response, with_pool, with_transaction)
from trytond.wsgi import app

from . import operations  # noqa: F401 (registers the operations' routes)
from . import operations_count  # noqa: F401
from . import operations_pick  # noqa: F401
from .api import API_PREFIX, OPERATIONS, PREFIX, json_error, json_response
from .schema import openapi

STATIC_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    'static', 'scanner')
STATIC_FILES = {'index.html', 'scanner.js', 'scanner.css'}
DESCRIPTION = (
    "The JSON API of the perpetual_inventory scanner. Every mutating "
    "operation takes an idempotency_key: sending it again answers the "
    "first answer and changes nothing. Errors answer "
    "{\"error\": {\"code\", \"message\"}} with a 4xx status. See "
    "docs/scanner.md.")


@app.route(PREFIX + '/scanner', methods=['GET'])
def scanner_page(request, database_name):
    return _static(request, 'index.html')


@app.route(PREFIX + '/static/<string:name>', methods=['GET'])
def scanner_static(request, database_name, name):
    return _static(request, name)


def _static(request, name):
    # Only the files of the scanner page are served, never a path built
    # from the request.
    if name not in STATIC_FILES:
        return Response('Not Found', status=HTTPStatus.NOT_FOUND)
    with open(os.path.join(STATIC_DIR, name), 'rb') as fp:
        data = fp.read()
    content_type, _ = mimetypes.guess_type(name)
    response = Response(data, content_type=content_type)
    response.headers['Cache-Control'] = 'no-cache'
    response.headers['X-Content-Type-Options'] = 'nosniff'
    return response


@app.route(API_PREFIX + 'openapi.json', methods=['GET'])
def api_openapi(request, database_name):
    # Public like the page: it describes the API, it holds no data.
    server = '%s%s/perpetual_inventory/api/v1' % (
        request.host_url, database_name)
    return json_response(openapi(
            [operation for operation, _ in OPERATIONS.values()], server,
            description=DESCRIPTION))


@app.route(API_PREFIX + '<path:name>',
    methods=['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])
@with_pool
@with_transaction(readonly=True)
def api_unknown(request, pool, name):
    for operation, _ in OPERATIONS.values():
        if operation.route == name:
            return json_error(HTTPStatus.METHOD_NOT_ALLOWED,
                'method_not_allowed', gettext(
                    'perpetual_inventory.msg_scanner_method_not_allowed',
                    operation=name, method=operation.method))
    return json_error(HTTPStatus.NOT_FOUND, 'operation_unknown', gettext(
            'perpetual_inventory.msg_scanner_operation_unknown',
            operation=name[:100]))
