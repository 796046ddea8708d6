"""What the browser sweep opens, found through JSON-RPC, and how it opens it.

The sweep drives sao through its own entry points (``Sao.Action``, the
tabs' screens) rather than by clicking through nested menus: it opens each
entry exactly as activating it in the menu does, so that a list, form or
wizard that sao cannot show fails the same way a user sees it fail.
"""
import base64
import json
import os
import re
import sqlite3
import urllib.request

MODULE = 'perpetual_inventory'
# Tryton's own requests for optional files of sao (custom.js, locale, ...)
# answer 404 or 405; they say nothing about the module's screens.
IGNORED_CONSOLE = re.compile(
    r'Failed to load resource: the server responded with a status of 40[45]')
IDLE_TIMEOUT = 10


class RPC:
    "JSON-RPC on the demo server as one user (HTTP Basic)"

    def __init__(self, url, database, login, password):
        self.url = '%s%s/rpc/' % (url, database)
        self.authorization = 'Basic ' + base64.b64encode(
            ('%s:%s' % (login, password)).encode()).decode()
        self.context = {}
        self.context = self('model.res.user.get_preferences', True)

    def __call__(self, method, *params):
        params = list(params)
        if method.startswith('model.'):
            params.append(self.context)
        request = urllib.request.Request(self.url, method='POST',
            data=json.dumps({'id': 1, 'method': method, 'params': params}
                ).encode(),
            headers={'Content-Type': 'application/json',
                'Authorization': self.authorization})
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
        if 'error' in answer:
            raise RuntimeError('%s: %s' % (method, answer['error']))
        return answer['result']

    def search_read(self, model, domain, fields, limit=None):
        return self('model.%s.search_read' % model, domain, 0, limit, None,
            fields)


def records_of_module(data_dir, model, database='demo'):
    """Return {XML id: database id} of the module's records of model.

    ir.model.data is not readable through RPC: the demo's SQLite file is
    read instead (the browser tests run on the SQLite demo)."""
    connection = sqlite3.connect(os.path.join(data_dir, database + '.sqlite'))
    try:
        return dict(connection.execute(
                'SELECT fs_id, db_id FROM ir_model_data '
                'WHERE module = ? AND model = ?', (MODULE, model)))
    finally:
        connection.close()


def module_models():
    "Return the models the module adds or extends (its tryton.cfg)"
    import configparser
    import importlib
    package = 'trytond.modules.' + MODULE
    config = configparser.ConfigParser()
    config.read(os.path.join(os.path.dirname(importlib.import_module(
                    package).__file__), 'tryton.cfg'))
    models = set()
    for section in config.sections():
        if not section.startswith('register'):
            continue
        for path in config.get(section, 'model', fallback='').split():
            module, name = path.rsplit('.', 1)
            models.add(getattr(importlib.import_module(
                        package + '.' + module), name).__name__)
    return models


def _action_id(reference):
    "Return the id of an action given as 'ir.action.xxx,ID'"
    if reference and ',' in reference:
        return int(reference.split(',')[1])


def menus(rpc, models, own):
    """Return the menu entries the module adds or extends, as dicts of id,
    name and action: its own entries (ids in own) and those opening one of
    its models"""
    entries = rpc.search_read('ir.ui.menu', [],
        ['complete_name', 'action'])
    windows = {w['id']: w['res_model'] for w in rpc.search_read(
            'ir.action.act_window', [], ['res_model'])}
    found = []
    for entry in entries:
        model = None
        if (entry['action'] or '').startswith('ir.action.act_window,'):
            model = windows.get(_action_id(entry['action']))
        if entry['id'] in own or model in models:
            found.append({'id': entry['id'], 'name': entry['complete_name'],
                    'model': model})
    return sorted(found, key=lambda e: e['name'])


def keyword_actions(rpc, own):
    """Return the actions the module binds to records (relate and form
    actions) among the keywords of ids own, as dicts of action id, name,
    keyword and model"""
    found = []
    for keyword in rpc.search_read('ir.action.keyword',
            [('id', 'in', list(own))], ['keyword', 'model', 'action']):
        model = keyword['model'].split(',')[0]
        action, = rpc('model.ir.action.read', [keyword['action']],
            ['name', 'type'])
        found.append({'action': keyword['action'], 'name': action['name'],
                'type': action['type'], 'keyword': keyword['keyword'],
                'model': model})
    return sorted(found, key=lambda a: (a['model'], a['name']))


def buttons(rpc, own):
    "Return the buttons of ids own, as (model, name)"
    found = []
    if own:
        for button in rpc('model.ir.model.button.read', list(own),
                ['model', 'name']):
            found.append((button['model'], button['name']))
    return sorted(found)


# JavaScript run in the page: count the RPC calls in flight and the
# failed ones, so that "done loading" and "an error happened" are facts.
INSTRUMENT = """() => {
    if (window.__sweep) { return; }
    window.__sweep = {pending: 0, failures: []};
    const rpc = Sao.rpc;
    Sao.rpc = function(args, ...rest) {
        window.__sweep.pending += 1;
        let prm;
        try {
            prm = rpc.call(this, args, ...rest);
        } finally {
            if (!prm || typeof prm.always !== 'function') {
                // a synchronous call answers at once
                window.__sweep.pending -= 1;
            }
        }
        if (!prm || typeof prm.always !== 'function') {
            return prm;
        }
        prm.always(() => { window.__sweep.pending -= 1; });
        prm.fail((error) => {
            window.__sweep.failures.push(
                args.method + ': ' + JSON.stringify(error).slice(0, 500));
        });
        return prm;
    };
    // Sao.rpc carries helpers of its own (prepareObject, ...)
    Object.assign(Sao.rpc, rpc);
}"""

IDLE = """() => window.__sweep && window.__sweep.pending === 0
    && !jQuery('#processing').is(':visible')"""

OPEN_MENU = """(id) => { Sao.Action.exec_keyword(
    'tree_open', {'model': 'ir.ui.menu', 'id': id}, null, false); }"""

OPEN_ACTION = """([action, model, id]) => { Sao.Action.execute(
    action, {'model': model, 'id': id, 'ids': [id]},
    jQuery.extend({}, Sao.Session.current_session.context), true); }"""

# What the current tab shows: its view, the fields of that view and the
# number of records loaded.
CURRENT = """() => {
    const tab = Sao.Tab.tabs.get_current();
    if (!tab || !tab.screen) {
        return {tabs: Sao.Tab.tabs.length, kind: tab ? 'other' : null};
    }
    const screen = tab.screen;
    const view = screen.current_view;
    return {
        tabs: Sao.Tab.tabs.length,
        kind: 'screen',
        name: tab.name_el ? tab.name_el.text() : '',
        model: screen.model_name,
        view_type: view ? view.view_type : null,
        // the fields of every view the screen has loaded, with their type
        fields: Object.fromEntries(Object.entries(screen.model.fields).map(
            ([name, field]) => [name, field.description.type])),
        records: screen.group ? screen.group.length : 0,
    };
}"""

SWITCH = """([view_type]) => {
    const screen = Sao.Tab.tabs.get_current().screen;
    if (view_type === 'form' && screen.group.length
            && !screen.current_record) {
        screen.current_record = screen.group[0];
    }
    // not awaited: the sweep waits for sao to be idle, with a limit
    screen.switch_view(view_type);
}"""

SHOWS = """([view_type]) => {
    const tab = Sao.Tab.tabs.get_current();
    const view = tab && tab.screen && tab.screen.current_view;
    return Boolean(view) && view.view_type === view_type;
}"""

VIEW_TYPES = """() => {
    const screen = Sao.Tab.tabs.get_current().screen;
    const types = [];
    for (const view of screen.views) { types.push(view.view_type); }
    for (const item of screen.view_to_load) { types.push(item); }
    return types;
}"""

CLOSE_TABS = """() => new Promise((resolve) => {
    // a tab that asks something before closing does not block the sweep
    window.setTimeout(() => resolve(false), 5000);
    Sao.Tab.tabs.close(false).always(() => resolve(true));
})"""
