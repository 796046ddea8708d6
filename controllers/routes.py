# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""HTTP routes of the scanner: the page and its JSON API (v1).

A route parses the request, calls a model classmethod and serializes the
answer. Every API route authenticates through Tryton itself: the session of
the web client (cookie or ``Authorization: Session``), HTTP Basic with the
user's password, or a user application key (``Authorization: Bearer KEY``)
of the application "perpetual_inventory".
"""
import json
import logging
import mimetypes
import os
from functools import wraps

from trytond import backend
from trytond.exceptions import UserError, UserWarning
from trytond.i18n import gettext
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.protocols.wrappers import (
    HTTPStatus, Response, with_pool, with_transaction)
from trytond.transaction import Transaction, TransactionError
from trytond.wsgi import app

from ..core import gs1

STATIC_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    'static', 'scanner')
STATIC_FILES = {'index.html', 'scanner.js', 'scanner.css'}
APPLICATION = 'perpetual_inventory'
PREFIX = '/<database_name>/perpetual_inventory'

logger = logging.getLogger(__name__)


def json_response(data, status=HTTPStatus.OK):
    return Response(
        json.dumps(data, separators=(',', ':')), status=status,
        content_type='application/json')


def json_error(status, code, message):
    return json_response(
        {'error': {'code': code, 'message': message}}, status=status)


def _request_user(request):
    "Return the id of the user who sent the request, or None"
    if request.session or (
            request.authorization
            and request.authorization.type in {'session', 'basic'}):
        return request.user_id
    authorization = request.authorization
    if authorization and authorization.type == 'bearer':
        UserApplication = Pool().get('res.user.application')
        application = UserApplication.check(
            getattr(authorization, 'token', '') or '', APPLICATION)
        if application and application.user:
            return application.user.id


def api(func):
    """Authenticate, check the scanner group and run func as the user.

    The handler runs with access rights checked, in the user's context
    (company, warehouse, language), and answers JSON: an error Tryton
    raises is the module's JSON error too (never Tryton's HTML page), and
    the transaction is rolled back so that it changes nothing.
    """
    @wraps(func)
    def wrapper(request, pool, *args, **kwargs):
        user_id = _request_user(request)
        if not user_id:
            return json_error(
                HTTPStatus.UNAUTHORIZED, 'unauthorized',
                "Log in or send a valid application key.")
        transaction = Transaction()
        with transaction.set_user(user_id), \
                transaction.set_context(_check_access=False):
            User = pool.get('res.user')
            ModelData = pool.get('ir.model.data')
            group_id = ModelData.get_id(
                'perpetual_inventory', 'group_warehouse_scanner')
            if group_id not in User.get_groups():
                return json_error(
                    HTTPStatus.FORBIDDEN, 'forbidden',
                    gettext('perpetual_inventory.msg_scanner_access_denied'))
            preferences = User.get_preferences(context_only=True)
        with transaction.set_user(user_id), \
                transaction.set_context(preferences, _check_access=True):
            try:
                return func(request, pool, *args, **kwargs)
            except (TransactionError, backend.DatabaseOperationalError):
                # with_transaction retries these
                raise
            except AccessError as exception:
                transaction.rollback()
                return json_error(
                    HTTPStatus.FORBIDDEN, 'access_denied', exception.message)
            except (UserError, UserWarning) as exception:
                transaction.rollback()
                return json_error(
                    HTTPStatus.BAD_REQUEST, 'user_error', exception.message)
            except Exception:
                logger.exception("scanner API %s", request.path)
                transaction.rollback()
                return json_error(
                    HTTPStatus.INTERNAL_SERVER_ERROR, 'server_error',
                    gettext('perpetual_inventory.msg_scanner_server_error'))
    return wrapper


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


@app.route(PREFIX + '/api/v1/session', methods=['GET'])
@with_pool
@with_transaction()
@api
def api_session(request, pool):
    User = pool.get('res.user')
    user = User(Transaction().user)
    warehouse = user.warehouse if hasattr(user, 'warehouse') else None
    return json_response({
            'user': {'id': user.id, 'login': user.login, 'name': user.name},
            'company': (
                user.company.rec_name if user.company else None),
            'warehouse': ({
                    'id': warehouse.id, 'code': warehouse.code,
                    'name': warehouse.name} if warehouse else None),
            })


@app.route(PREFIX + '/api/v1/lookup', methods=['GET'])
@with_pool
@with_transaction()
@api
def api_lookup(request, pool):
    Scanner = pool.get('perpetual_inventory.scanner')
    barcode = (request.args.get('barcode') or '').strip()
    if not barcode:
        return json_error(
            HTTPStatus.BAD_REQUEST, 'barcode_required',
            gettext('perpetual_inventory.msg_scanner_barcode_required'))
    if barcode.isdigit() and len(barcode) in gs1.GTIN_LENGTHS:
        try:
            gs1.validate_gtin(barcode)
        except gs1.BarcodeError as exception:
            return json_error(
                HTTPStatus.UNPROCESSABLE_ENTITY, 'barcode_invalid',
                gettext('perpetual_inventory.msg_scanner_barcode_invalid',
                    barcode=barcode, reason=str(exception)))
    result = Scanner.lookup(barcode)
    if result is None:
        return json_error(
            HTTPStatus.NOT_FOUND, 'barcode_unknown',
            gettext('perpetual_inventory.msg_scanner_barcode_unknown',
                barcode=barcode))
    return json_response(result)
