# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Declarations of the API's operations, their validator and OpenAPI 3.1.

An operation is declared once, as an Operation whose parameters and answer
are JSON Schema (the subset below). The same schema validates each request
(``validate``) and is written into the OpenAPI document (``openapi``), so
the document and the routes cannot drift apart.

The subset: ``type`` (object, string, integer, number, boolean, array),
``properties``, ``required``, ``additionalProperties: false``, ``items``,
``minimum``, ``maximum``, ``exclusiveMinimum``, ``minLength``,
``maxLength``, ``enum``, ``format: date``, ``nullable`` as
``type: [T, "null"]``.
"""
import datetime as dt
from typing import Callable, NamedTuple, Optional, Tuple

VERSION = '1.0.0'
# A number beyond this is a typing error (a barcode scanned into the
# quantity field), not a quantity.
MAX_QUANTITY = 1000000
MAX_TEXT = 512


class Operation(NamedTuple):
    "An API operation: its route, parameters, answer and errors"
    name: str
    method: str  # GET reads parameters from the query, POST from JSON
    summary: str
    description: str
    parameters: dict  # JSON Schema of an object
    answer: dict  # JSON Schema of the answer
    errors: Tuple[Tuple[int, str], ...] = ()  # (HTTP status, error code)
    mutating: bool = False
    path: Optional[str] = None  # defaults to the name
    # parameters -> (model, id) of the record the operation locks
    lock: Optional[Callable] = None

    @property
    def route(self):
        return self.path or self.name


class Invalid(ValueError):
    "A value that does not follow its schema"

    def __init__(self, rule, field, **values):
        super().__init__(rule, field)
        self.rule = rule
        self.field = field
        self.values = values


# Builders of the schema subset -------------------------------------------

def string(description, max_length=MAX_TEXT, min_length=None, enum=None,
        format=None):
    schema = {'type': 'string', 'description': description,
        'maxLength': max_length}
    if min_length is not None:
        schema['minLength'] = min_length
    if enum is not None:
        schema['enum'] = list(enum)
    if format is not None:
        schema['format'] = format
    return schema


def integer(description, minimum=None, maximum=None):
    schema = {'type': 'integer', 'description': description}
    if minimum is not None:
        schema['minimum'] = minimum
    if maximum is not None:
        schema['maximum'] = maximum
    return schema


def number(description, exclusive_minimum=None, maximum=None):
    schema = {'type': 'number', 'description': description}
    if exclusive_minimum is not None:
        schema['exclusiveMinimum'] = exclusive_minimum
    if maximum is not None:
        schema['maximum'] = maximum
    return schema


def boolean(description):
    return {'type': 'boolean', 'description': description}


def array(items, description=''):
    return {'type': 'array', 'items': items, 'description': description}


def nullable(schema):
    schema = dict(schema)
    schema['type'] = [schema['type'], 'null']
    return schema


def obj(properties, required=(), description='', closed=True):
    """Return the schema of an object.

    closed: refuse any other property (requests are closed, so that a
    misspelt field is an error, not silently ignored).
    """
    schema = {'type': 'object', 'properties': properties,
        'required': list(required)}
    if description:
        schema['description'] = description
    if closed:
        schema['additionalProperties'] = False
    return schema


# Validation ---------------------------------------------------------------

_CHECKS = {
    'object': lambda v: isinstance(v, dict),
    'string': lambda v: isinstance(v, str),
    # JSON true is not the number 1
    'integer': lambda v: isinstance(v, int) and not isinstance(v, bool),
    'number': lambda v: (
        isinstance(v, (int, float)) and not isinstance(v, bool)),
    'boolean': lambda v: isinstance(v, bool),
    'array': lambda v: isinstance(v, list),
    'null': lambda v: v is None,
    }


def validate(schema, value, field=''):
    """Return value converted to Python (dates), or raise Invalid.

    Args:
        schema: the JSON Schema (subset) of value.
        value: the decoded JSON.
        field: the dotted name of value, for the error.
    """
    types = schema['type']
    if not isinstance(types, list):
        types = [types]
    if isinstance(value, float) and value.is_integer() and (
            'integer' in types):
        value = int(value)
    for type_ in types:
        if _CHECKS[type_](value):
            break
    else:
        raise Invalid('type', field, type=types[0])
    if value is None:
        return None
    if 'enum' in schema and value not in schema['enum']:
        raise Invalid('enum', field, values=schema['enum'])
    if type_ in {'integer', 'number'}:
        if value != value or value in (float('inf'), float('-inf')):
            raise Invalid('type', field, type=type_)
        if 'minimum' in schema and value < schema['minimum']:
            raise Invalid('minimum', field, minimum=schema['minimum'],
                value=value)
        if ('exclusiveMinimum' in schema
                and value <= schema['exclusiveMinimum']):
            raise Invalid('exclusive_minimum', field,
                minimum=schema['exclusiveMinimum'], value=value)
        if 'maximum' in schema and value > schema['maximum']:
            raise Invalid('maximum', field, maximum=schema['maximum'],
                value=value)
    elif type_ == 'string':
        if len(value) > schema.get('maxLength', MAX_TEXT):
            raise Invalid('max_length', field,
                length=schema.get('maxLength', MAX_TEXT))
        if len(value) < schema.get('minLength', 0):
            if not value:
                raise Invalid('missing', field)
            raise Invalid('min_length', field, length=schema['minLength'])
        if '\x00' in value:
            raise Invalid('type', field, type='string')
        if schema.get('format') == 'date':
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                raise Invalid('type', field, type='date')
    elif type_ == 'array':
        return [validate(schema['items'], v, '%s[%d]' % (field, i))
            for i, v in enumerate(value)]
    elif type_ == 'object':
        return _validate_object(schema, value, field)
    return value


def _validate_object(schema, value, field):
    properties = schema.get('properties', {})
    prefix = field + '.' if field else ''
    for name in schema.get('required', []):
        if value.get(name) is None:
            raise Invalid('missing', prefix + name)
    if schema.get('additionalProperties', True) is False:
        for name in value:
            if name not in properties:
                raise Invalid('unknown', prefix + name)
    result = {}
    for name, item in value.items():
        if name in properties:
            result[name] = validate(properties[name], item, prefix + name)
        else:
            result[name] = item
    return result


def from_query(schema, args):
    """Return the query string's arguments typed as the schema says.

    A query string carries text only: "12" is the integer 12 when the
    schema says integer; what cannot be converted is left as text for
    validate to refuse.
    """
    result = {}
    for name, text in args.items():
        item = schema['properties'].get(name)
        types = item['type'] if item else 'string'
        if not isinstance(types, list):
            types = [types]
        value = text
        try:
            if 'integer' in types:
                value = int(text)
            elif 'number' in types:
                value = float(text)
            elif 'boolean' in types and text in {'true', 'false'}:
                value = text == 'true'
        except ValueError:
            pass
        result[name] = value
    return result


# OpenAPI ------------------------------------------------------------------

ERROR = obj({
        'error': obj({
                'code': string("What went wrong, for programs"),
                'message': string(
                    "What went wrong, in plain words, in the user's "
                    "language", max_length=4096),
                }, ['code', 'message'], closed=False),
        }, ['error'], closed=False)




def openapi(operations, server_url, description=''):
    """Return the OpenAPI 3.1 document of the operations.

    Args:
        operations: the Operation declarations, in order.
        server_url: the API's base URL (…/perpetual_inventory/api/v1).
    """
    paths = {}
    for operation in operations:
        paths.setdefault('/' + operation.route, {})[
            operation.method.lower()] = _path_item(operation)
    return {
        'openapi': '3.1.0',
        'info': {
            'title': "Perpetual Inventory Scanner API",
            'version': VERSION,
            'description': description,
            },
        'servers': [{'url': server_url}],
        'security': [
            {'session': []}, {'sessionHeader': []}, {'basic': []},
            {'applicationKey': []}],
        'paths': paths,
        'components': {
            'schemas': {'Error': ERROR},
            'securitySchemes': {
                'session': {
                    'type': 'apiKey', 'in': 'cookie',
                    'name': 'tryton_session',
                    'description': "The web client's session cookie",
                    },
                'sessionHeader': {
                    'type': 'apiKey', 'in': 'header',
                    'name': 'Authorization',
                    'description': (
                        "Session base64(login:user id:session key), from "
                        "POST /<database>/session/login"),
                    },
                'basic': {'type': 'http', 'scheme': 'basic'},
                'applicationKey': {
                    'type': 'http', 'scheme': 'bearer',
                    'description': (
                        "A user application key of the application "
                        "\"perpetual_inventory\""),
                    },
                },
            },
        }


def _path_item(operation):
    item = {
        'operationId': operation.name,
        'summary': operation.summary,
        'description': operation.description,
        'responses': {
            '200': {
                'description': "The answer",
                'content': {'application/json': {
                        'schema': operation.answer}},
                },
            },
        }
    if operation.method == 'GET':
        required = set(operation.parameters.get('required', []))
        item['parameters'] = [{
                'name': name, 'in': 'query', 'required': name in required,
                'description': schema.get('description', ''),
                'schema': schema,
                } for name, schema in operation.parameters[
                    'properties'].items()]
    else:
        item['requestBody'] = {
            'required': True,
            'content': {'application/json': {
                    'schema': operation.parameters}},
            }
    statuses = {}
    for status, code in operation.errors + COMMON_ERRORS:
        statuses.setdefault(status, []).append(code)
    for status, codes in sorted(statuses.items()):
        item['responses'][str(status)] = {
            'description': "Error codes: " + ', '.join(sorted(set(codes))),
            'content': {'application/json': {
                    'schema': {'$ref': '#/components/schemas/Error'}}},
            }
    return item


# The errors any operation may answer
COMMON_ERRORS = (
    (400, 'json_malformed'),
    (400, 'field_missing'),
    (400, 'field_unknown'),
    (400, 'field_invalid'),
    (401, 'unauthorized'),
    (403, 'forbidden'),
    (403, 'access_denied'),
    (400, 'user_error'),
    (413, 'payload_too_large'),
    (503, 'busy'),
    )
