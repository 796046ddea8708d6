# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""The JSON API's machinery: one route per declared operation.

``register(operation)`` adds the route of an Operation (controllers/
schema.py) and wraps its handler so that every operation is handled alike:

- authentication through Tryton only: the web client's session (cookie or
  ``Authorization: Session``), HTTP Basic with the user's password, or a
  user application key (``Authorization: Bearer KEY``) of the application
  "perpetual_inventory"; then the scanner group;
- the body limited in size, decoded, validated against the declaration;
- a mutating operation claims its ``idempotency_key`` first
  (perpetual_inventory.scanner.request): a replay answers the stored
  answer and runs nothing;
- errors answered as ``{"error": {"code", "message"}}`` in the user's
  language, the transaction rolled back; never Tryton's HTML error page.

Lock waits and serialization failures are retried by Tryton's
``with_transaction`` (``[database] retry``); a lock that stays taken past
that is retried here a little longer, then answered 503 "busy".
"""
import hashlib
import json
import logging
import time
from functools import wraps

from trytond import backend
from trytond.exceptions import UserError, UserWarning
from trytond.i18n import gettext
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.protocols.wrappers import (
    HTTPStatus, Response, with_pool, with_transaction)
from trytond.transaction import (
    Transaction, TransactionError, without_check_access)
from trytond.wsgi import app
from werkzeug.exceptions import RequestEntityTooLarge

from ..exceptions import ScannerError
from . import schema

APPLICATION = 'perpetual_inventory'
PREFIX = '/<database_name>/perpetual_inventory'
API_PREFIX = PREFIX + '/api/v1/'
# A scan is a few hundred bytes; a bigger body is a mistake or an attack.
MAX_BODY = 16 * 1024
# How long a scan waits, beyond Tryton's own retries, for a document that
# another scan holds locked
BUSY_RETRIES = 20
IDEMPOTENCY_KEY = schema.string(
    "A key the client generates once per scan (a UUID): sending the same "
    "request again with it answers the first answer and changes nothing",
    max_length=128, min_length=8)

logger = logging.getLogger(__name__)
OPERATIONS = {}  # name: (Operation, handler)


class Replay(TransactionError):
    """The idempotency key was claimed by a transaction that committed after
    this one started: start again to read its answer."""


class Refused(Exception):
    "An error answer: HTTP status, code and message"

    def __init__(self, status, code, message):
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message


def json_response(data, status=HTTPStatus.OK):
    return Response(
        json.dumps(data, separators=(',', ':'), default=str),
        status=status, content_type='application/json')


def json_error(status, code, message):
    return json_response(
        {'error': {'code': code, 'message': message}}, status=status)


def _session_user(request):
    "Return the user of the request's session or password, or None"
    if request.session or (
            request.authorization
            and request.authorization.type in {'session', 'basic'}):
        return request.user_id


def request_user(request):
    "Return the id of the user who sent the request, or None"
    user_id = _session_user(request)
    if user_id:
        return user_id
    authorization = request.authorization
    if authorization and authorization.type == 'bearer':
        UserApplication = Pool().get('res.user.application')
        application = UserApplication.check(
            getattr(authorization, 'token', '') or '', APPLICATION)
        if application and application.user:
            return application.user.id


def _message(name, **values):
    return gettext('perpetual_inventory.' + name, **values)


_TYPE_WORDS = {
    'integer': 'msg_scanner_type_integer',
    'number': 'msg_scanner_type_number',
    'string': 'msg_scanner_type_string',
    'boolean': 'msg_scanner_type_boolean',
    'object': 'msg_scanner_type_object',
    'array': 'msg_scanner_type_array',
    'date': 'msg_scanner_type_date',
    }


def invalid_message(invalid):
    "Return the plain words of a schema.Invalid"
    field = invalid.field
    values = invalid.values
    if invalid.rule == 'missing':
        return 'field_missing', _message(
            'msg_scanner_field_missing', field=field)
    if invalid.rule == 'unknown':
        return 'field_unknown', _message(
            'msg_scanner_field_unknown', field=field)
    if invalid.rule == 'type':
        return 'field_invalid', _message('msg_scanner_field_type',
            field=field, type=_message(_TYPE_WORDS[values['type']]))
    if invalid.rule == 'enum':
        return 'field_invalid', _message('msg_scanner_field_enum',
            field=field, values=', '.join(map(str, values['values'])))
    if invalid.rule == 'max_length':
        return 'field_invalid', _message('msg_scanner_field_length',
            field=field, length=values['length'])
    if invalid.rule == 'min_length':
        return 'field_invalid', _message('msg_scanner_field_length_min',
            field=field, length=values['length'])
    if invalid.rule == 'minimum':
        return 'field_invalid', _message('msg_scanner_field_minimum',
            field=field, minimum=values['minimum'])
    if invalid.rule == 'exclusive_minimum':
        return 'field_invalid', _message('msg_scanner_field_positive',
            field=field, minimum=values['minimum'])
    return 'field_invalid', _message('msg_scanner_field_maximum',
        field=field, maximum=values['maximum'])


def _parameters(request, operation):
    "Return the request's validated parameters, or raise Refused"
    if operation.method == 'GET':
        data = schema.from_query(operation.parameters, request.args)
    else:
        too_large = Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            'payload_too_large',
            _message('msg_scanner_payload_too_large', size=MAX_BODY))
        length = request.content_length
        if length is not None and length > MAX_BODY:
            raise too_large
        try:
            # limited to the endpoint's max_request_size (MAX_BODY)
            body = request.get_data()
        except RequestEntityTooLarge:
            raise too_large
        if len(body) > MAX_BODY:
            raise too_large
        try:
            data = json.loads(body.decode('utf-8'))
        except (UnicodeDecodeError, ValueError) as exception:
            raise Refused(HTTPStatus.BAD_REQUEST, 'json_malformed',
                _message('msg_scanner_json_malformed',
                    reason=str(exception)[:200]))
        if not isinstance(data, dict):
            raise Refused(HTTPStatus.BAD_REQUEST, 'json_malformed',
                _message('msg_scanner_json_object'))
    try:
        return data, schema.validate(operation.parameters, data)
    except schema.Invalid as invalid:
        code, message = invalid_message(invalid)
        raise Refused(HTTPStatus.BAD_REQUEST, code, message)


def _digest(operation, data):
    "Return the fingerprint of a request, without its idempotency key"
    body = {k: v for k, v in data.items() if k != 'idempotency_key'}
    text = json.dumps([operation.name, body], sort_keys=True,
        separators=(',', ':'), default=str)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def _check_group(pool, user_id):
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    group_id = ModelData.get_id(
        'perpetual_inventory', 'group_warehouse_scanner')
    if group_id not in User.get_groups():
        raise Refused(HTTPStatus.FORBIDDEN, 'forbidden',
            _message('msg_scanner_access_denied'))
    return User.get_preferences(context_only=True)


def _run(request, pool, operation, handler):
    "Return the answer of the operation, run as the request's user"
    user_id = request_user(request)
    if not user_id:
        return json_error(HTTPStatus.UNAUTHORIZED, 'unauthorized',
            _message('msg_scanner_unauthorized'))
    transaction = Transaction()
    try:
        with transaction.set_user(user_id), without_check_access():
            preferences = _check_group(pool, user_id)
        with transaction.set_user(user_id), \
                transaction.set_context(preferences, _check_access=True):
            raw, parameters = _parameters(request, operation)
            if not operation.mutating:
                return json_response(handler(pool, **parameters))
            return _run_once(request, pool, operation, handler, raw,
                parameters)
    except (TransactionError, backend.DatabaseOperationalError):
        # with_transaction retries these
        raise
    except Refused as refused:
        transaction.rollback()
        return json_error(refused.status, refused.code, refused.message)
    except AccessError as exception:
        transaction.rollback()
        return json_error(
            HTTPStatus.FORBIDDEN, 'access_denied', exception.message)
    except ScannerError as exception:
        transaction.rollback()
        answer = {'code': exception.code, 'message': exception.message}
        if exception.details is not None:
            answer['details'] = exception.details
        return json_response({'error': answer}, status=exception.status)
    except (UserError, UserWarning) as exception:
        transaction.rollback()
        return json_error(
            HTTPStatus.BAD_REQUEST, 'user_error', exception.message)
    except Exception:
        logger.exception("scanner API %s", request.path)
        transaction.rollback()
        return json_error(
            HTTPStatus.INTERNAL_SERVER_ERROR, 'server_error',
            _message('msg_scanner_server_error'))


def _run_once(request, pool, operation, handler, raw, parameters):
    "Run a mutating operation once per idempotency key"
    Request = pool.get('perpetual_inventory.scanner.request')
    if operation.lock:
        # First thing: Tryton takes the lock at the start of the next
        # attempt, so the first attempt stops here, before any work.
        model, id_ = operation.lock(parameters)
        pool.get(model).lock([id_])
    key = parameters.pop('idempotency_key')
    digest = _digest(operation, raw)
    try:
        claim = Request.claim(operation.name, key, digest)
    except Request.Taken:
        # The other transaction committed the key after this one's
        # snapshot: a new transaction reads its answer. The key is in the
        # table now, so the second attempt cannot come back here.
        replays = request.environ.get('perpetual_inventory.replays', 0)
        if replays >= 3:
            raise Refused(HTTPStatus.CONFLICT, 'idempotency_in_progress',
                _message('msg_scanner_idempotency_in_progress'))
        request.environ['perpetual_inventory.replays'] = replays + 1
        raise Replay()
    if claim.answer is not None:
        return json_response(json.loads(claim.answer), status=claim.status)
    answer = handler(pool, **parameters)
    Request.store(claim, HTTPStatus.OK, answer)
    return json_response(answer)


def register(operation):
    "Return a decorator that makes a handler the route of the operation"
    def decorator(handler):
        @with_transaction()
        def attempt(request, pool):
            return _run(request, pool, operation, handler)

        @with_pool
        def route(request, pool):
            return _busy_retry(attempt, request, pool)

        @wraps(handler)
        def endpoint(request, database_name):
            # Tryton checks a session or a password in a transaction of
            # its own: before the route's transaction starts.
            _session_user(request)
            return route(request, database_name)
        endpoint.max_request_size = MAX_BODY
        app.route(API_PREFIX + operation.route,
            methods=[operation.method])(endpoint)
        OPERATIONS[operation.name] = (operation, handler)
        return handler
    return decorator


def _busy_retry(attempt, request, pool):
    """Run the attempt, again when its transaction cannot take a lock.

    Tryton takes the locks a transaction asked for (Model.lock) at the start
    of its next attempt, NOWAIT, and gives up after ``[database] retry``
    short waits; a document busy that long is retried here, then answered
    503. (Inside with_pool: what escapes it is Tryton's HTML error.)
    """
    for count in range(BUSY_RETRIES):
        try:
            return attempt(request, pool)
        except backend.DatabaseOperationalError:
            logger.debug("scanner API busy %s", request.path, exc_info=True)
            time.sleep(0.05 * (count + 1))
    with Transaction().start(pool.database_name, 0, readonly=True):
        return json_error(HTTPStatus.SERVICE_UNAVAILABLE, 'busy',
            _message('msg_scanner_busy'))
