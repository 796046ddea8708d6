/* Scanner page: talks to the module's JSON API with Tryton's session.
 *
 * Look up: each scan is a GET lookup. Receive: the first scan opens a
 * purchase or supplier shipment, the next ones count items. Every
 * mutating call goes through a queue kept in IndexedDB with its
 * idempotency key, sent in order; a scan made while the network is down
 * waits there (a reload keeps it) and is sent when it comes back: the
 * server applies each key once. */
(function () {
  'use strict';
  // The page is served at /<db>/perpetual_inventory/scanner.
  const base = window.location.pathname.replace(/\/scanner\/?$/, '');
  const database = decodeURIComponent(base.split('/')[1] || '');
  const $ = (id) => document.getElementById(id);
  const state = {mode: 'lookup', document: null, retry: null, last: null};

  // Feedback: colour, a short tone and a vibration.
  let audio = null;
  function feedback(ok) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.frequency.value = ok ? 880 : 220;
      gain.gain.value = 0.1;
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start();
      oscillator.stop(audio.currentTime + (ok ? 0.08 : 0.3));
    } catch (e) { /* no sound on this device */ }
    if (navigator.vibrate) {
      navigator.vibrate(ok ? 40 : [80, 60, 80]);
    }
  }

  function showMessage(text, kind) {
    const message = $('message');
    message.textContent = text || '';
    message.className = kind || '';
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) {
      return crypto.randomUUID();
    }
    return 'k' + Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  async function decode(response) {
    try {
      return await response.json();
    } catch (e) {
      return {error: {message: 'Unexpected answer from the server (' +
        response.status + ').'}};
    }
  }

  async function api(path) {
    const response = await fetch(base + '/api/v1/' + path, {
      credentials: 'same-origin',
      headers: {'X-Requested-With': 'XMLHttpRequest'},
    });
    return {status: response.status, data: await decode(response)};
  }

  // The queue of mutating calls (IndexedDB, in order) -------------------
  let db = null;
  function openQueue() {
    return new Promise((resolve) => {
      if (!window.indexedDB) {
        resolve(null);
        return;
      }
      const request = indexedDB.open('perpetual_inventory_scanner', 1);
      request.onupgradeneeded = () => {
        request.result.createObjectStore('queue',
          {keyPath: 'id', autoIncrement: true});
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => resolve(null);
    });
  }
  const memory = [];
  function store(mode) {
    return db.transaction('queue', mode).objectStore('queue');
  }
  function queued() {
    if (!db) {
      return Promise.resolve(memory.slice());
    }
    return new Promise((resolve) => {
      const request = store('readonly').getAll();
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => resolve([]);
    });
  }
  function enqueue(item) {
    if (!db) {
      item.id = Date.now() + Math.random();
      memory.push(item);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const request = store('readwrite').add(item);
      request.onsuccess = () => resolve();
      request.onerror = () => resolve();
    });
  }
  function dequeue(item) {
    if (!db) {
      memory.splice(memory.findIndex((i) => i.id === item.id), 1);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const request = store('readwrite').delete(item.id);
      request.onsuccess = () => resolve();
      request.onerror = () => resolve();
    });
  }

  async function showQueue() {
    const items = await queued();
    const queue = $('queue');
    queue.hidden = items.length === 0;
    queue.textContent = items.length ?
      items.length + ' scan(s) waiting for the network' +
      (navigator.onLine ? '…' : ' (offline)') : '';
  }

  let pumping = false;
  async function pump() {
    if (pumping) {
      return;
    }
    pumping = true;
    try {
      for (;;) {
        const items = await queued();
        await showQueue();
        if (!items.length) {
          break;
        }
        const item = items[0];
        let response;
        try {
          response = await fetch(base + '/api/v1/' + item.path, {
            method: 'POST',
            credentials: 'same-origin',
            headers: {'Content-Type': 'application/json',
              'X-Requested-With': 'XMLHttpRequest'},
            body: JSON.stringify(item.body),
          });
        } catch (e) {
          // No network: keep the queue, try again later.
          setTimeout(pump, 3000);
          break;
        }
        if (response.status === 401) {
          showLogin();
          break;
        }
        if (response.status === 503) {
          setTimeout(pump, 1000);
          break;
        }
        const data = await decode(response);
        await dequeue(item);
        answered(item, response.status, data);
      }
    } finally {
      pumping = false;
      showQueue();
    }
  }
  window.addEventListener('online', pump);
  window.addEventListener('offline', showQueue);

  async function send(path, body) {
    body.idempotency_key = uuid();
    await enqueue({path: path, body: body});
    await showQueue();
    pump();
  }

  // Screens -----------------------------------------------------------
  function showLogin() {
    $('login-form').hidden = false;
    $('scan-form').hidden = true;
    $('modes').hidden = true;
    $('actions').hidden = true;
    $('logout').hidden = true;
    $('who').textContent = database;
    $('login').focus();
  }

  function showScanner(session) {
    $('login-form').hidden = true;
    $('scan-form').hidden = false;
    $('modes').hidden = false;
    $('logout').hidden = false;
    $('who').textContent = session.user.name +
      (session.warehouse ? ' — ' + session.warehouse.name : '');
    setMode(state.mode);
    pump();
  }

  function setMode(mode) {
    state.mode = mode;
    $('mode-lookup').classList.toggle('active', mode === 'lookup');
    $('mode-receive').classList.toggle('active', mode === 'receive');
    const receiving = mode === 'receive' && state.document;
    $('actions').hidden = !receiving;
    $('quantity-row').hidden = !receiving;
    $('confirm').hidden = true;
    $('barcode-label').textContent = mode === 'lookup' ? 'Scan a barcode' :
      (receiving ? 'Scan an item of ' + state.document.number :
        'Scan a purchase or supplier shipment');
    $('scan-submit').textContent = mode === 'lookup' ? 'Look up' :
      (receiving ? 'Count' : 'Open');
    $('barcode').focus();
  }

  async function start() {
    db = db || await openQueue();
    const answer = await api('session');
    if (answer.status === 200) {
      showScanner(answer.data);
    } else if (answer.status === 401) {
      showLogin();
    } else {
      showLogin();
      showMessage(answer.data.error.message, 'error');
    }
    showQueue();
  }

  function cell(text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) {
      td.className = className;
    }
    return td;
  }

  function card(titleText) {
    const result = $('result');
    result.textContent = '';
    const div = document.createElement('div');
    div.className = 'card';
    const title = document.createElement('h2');
    title.textContent = titleText;
    div.appendChild(title);
    result.appendChild(div);
    return div;
  }

  function paragraph(parent, text) {
    const p = document.createElement('p');
    p.textContent = text;
    parent.appendChild(p);
  }

  function render(data) {
    if (data.type === 'product') {
      const product = data.product;
      const div = card(product.name);
      paragraph(div, product.barcodes.join(', '));
      const table = document.createElement('table');
      for (const line of data.stock) {
        const tr = document.createElement('tr');
        tr.appendChild(cell(line.warehouse + ' — ' + line.location));
        tr.appendChild(cell(line.quantity + ' ' + product.unit, 'qty'));
        table.appendChild(tr);
      }
      for (const line of data.bins || []) {
        const tr = document.createElement('tr');
        tr.appendChild(cell(line.name));
        tr.appendChild(cell(line.quantity + ' ' + product.unit, 'qty'));
        table.appendChild(tr);
      }
      div.appendChild(table);
      for (const point of data.order_points || []) {
        paragraph(div, 'Reorder at ' + point.reorder_point +
          ', order up to ' + point.order_up_to);
      }
      if (data.incoming && data.incoming.quantity) {
        paragraph(div, 'Incoming: ' + data.incoming.quantity + ' ' +
          product.unit + (data.incoming.date ?
            ' from ' + data.incoming.date : ''));
      }
    } else if (data.type === 'location') {
      const div = card(data.location.name);
      paragraph(div, data.location.kind +
        (data.location.warehouse ? ' — ' + data.location.warehouse : ''));
      const table = document.createElement('table');
      for (const line of data.contents || []) {
        const tr = document.createElement('tr');
        tr.appendChild(cell(line.name));
        tr.appendChild(cell(line.quantity + ' ' + line.unit, 'qty'));
        table.appendChild(tr);
      }
      div.appendChild(table);
    } else {
      const div = card(data.document.number);
      paragraph(div, (data.document.supplier || '') + ' — ' +
        data.document.state);
    }
  }

  function renderReceipt(data) {
    const div = card(data.document.number + ' — ' +
      (data.document.supplier || ''));
    const table = document.createElement('table');
    for (const line of data.lines) {
      const tr = document.createElement('tr');
      tr.className = line.status;
      tr.appendChild(cell(line.name));
      tr.appendChild(cell(line.counted + ' / ' + line.expected + ' ' +
        line.unit, 'qty'));
      table.appendChild(tr);
    }
    div.appendChild(table);
    paragraph(div, data.next);
  }

  // Answers of the queued calls, in the order they were sent.
  function answered(item, status, data) {
    if (status !== 200) {
      feedback(false);
      showMessage(data.error.message, 'error');
      const code = data.error.code;
      if (['over_ordered', 'product_not_on_order',
        'confirmation_required'].includes(code)) {
        const body = Object.assign({}, item.body, {confirm: true});
        delete body.idempotency_key;
        state.retry = {path: item.path, body: body};
        $('confirm').hidden = false;
      }
      return;
    }
    feedback(true);
    if (item.path === 'receive/done') {
      showMessage(data.next, 'ok');
      state.document = null;
      setMode('receive');
      const div = card(data.shipment.number || '');
      paragraph(div, data.shipment.state);
      return;
    }
    if (data.understood) {
      const understood = data.understood;
      showMessage(understood.quantity + ' × ' + understood.product.name +
        (understood.lot ? ' — lot ' + understood.lot : '') +
        (understood.expiry ? ' — exp. ' + understood.expiry : '') +
        ': ' + data.line.counted + ' / ' + data.line.expected, 'ok');
    } else if (data.undone) {
      showMessage('Undone: ' + data.undone.quantity + ' × ' +
        data.undone.product.name, 'ok');
    }
    renderReceipt(data);
  }

  async function receive(barcode) {
    if (!state.document) {
      const answer = await api('receive/open?barcode=' +
        encodeURIComponent(barcode));
      if (answer.status === 200) {
        feedback(true);
        state.document = answer.data.document;
        showMessage(answer.data.next, 'ok');
        renderReceipt(answer.data);
        setMode('receive');
      } else if (answer.status === 401) {
        showLogin();
      } else {
        feedback(false);
        showMessage(answer.data.error.message, 'error');
      }
      return;
    }
    const body = {document: {type: state.document.type,
      id: state.document.id}, barcode: barcode};
    const quantity = parseFloat($('quantity').value);
    if (quantity) {
      body.quantity = quantity;
    }
    $('quantity').value = '';
    $('confirm').hidden = true;
    await send('receive/scan', body);
  }

  async function lookup(barcode) {
    const answer = await api('lookup?barcode=' + encodeURIComponent(barcode));
    if (answer.status === 200) {
      showMessage('');
      feedback(true);
      render(answer.data);
    } else if (answer.status === 401) {
      showLogin();
    } else {
      feedback(false);
      $('result').textContent = '';
      showMessage(answer.data.error.message, 'error');
    }
  }

  $('login-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    showMessage('');
    const response = await fetch('/' + encodeURIComponent(database) +
      '/session/login', {
      method: 'POST',
      credentials: 'same-origin',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({
        params: [$('login').value, {password: $('password').value}, null],
      }),
    });
    $('password').value = '';
    if (response.ok) {
      start();
    } else if (response.status === 429) {
      showMessage('Too many attempts, wait a moment.', 'error');
    } else {
      showMessage('Wrong user name or password.', 'error');
    }
  });

  $('logout').addEventListener('click', async () => {
    await fetch('/' + encodeURIComponent(database) + '/session/logout', {
      method: 'POST', credentials: 'same-origin'});
    $('result').textContent = '';
    showLogin();
  });

  $('mode-lookup').addEventListener('click', () => setMode('lookup'));
  $('mode-receive').addEventListener('click', () => setMode('receive'));
  $('confirm').addEventListener('click', async () => {
    if (state.retry) {
      const retry = state.retry;
      state.retry = null;
      $('confirm').hidden = true;
      await send(retry.path, retry.body);
    }
    $('barcode').focus();
  });
  $('undo').addEventListener('click', async () => {
    await send('receive/undo', {document: {type: state.document.type,
      id: state.document.id}});
    $('barcode').focus();
  });
  $('done').addEventListener('click', async () => {
    await send('receive/done', {document: {type: state.document.type,
      id: state.document.id}});
  });
  $('close').addEventListener('click', () => {
    state.document = null;
    $('result').textContent = '';
    showMessage('');
    setMode('receive');
  });

  // A keyboard-wedge scanner types the code and Enter: the form submits.
  $('scan-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = $('barcode');
    const barcode = input.value.trim();
    input.value = '';
    input.focus();
    if (!barcode) {
      return;
    }
    if (state.mode === 'receive') {
      await receive(barcode);
    } else {
      await lookup(barcode);
    }
  });

  start();
}());
