/* Scanner page: talks to the module's JSON API with Tryton's session. */
(function () {
  'use strict';
  // The page is served at /<db>/perpetual_inventory/scanner.
  const base = window.location.pathname.replace(/\/scanner\/?$/, '');
  const database = decodeURIComponent(base.split('/')[1] || '');
  const $ = (id) => document.getElementById(id);

  function showMessage(text, isError) {
    const message = $('message');
    message.textContent = text || '';
    message.className = isError ? 'error' : '';
  }

  async function api(path) {
    const response = await fetch(base + '/api/v1/' + path, {
      credentials: 'same-origin',
      headers: {'X-Requested-With': 'XMLHttpRequest'},
    });
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = {error: {message: 'Unexpected answer from the server (' +
        response.status + ').'}};
    }
    return {status: response.status, data: data};
  }

  function showLogin() {
    $('login-form').hidden = false;
    $('scan-form').hidden = true;
    $('logout').hidden = true;
    $('who').textContent = database;
    $('login').focus();
  }

  function showScanner(session) {
    $('login-form').hidden = true;
    $('scan-form').hidden = false;
    $('logout').hidden = false;
    $('who').textContent = session.user.name +
      (session.warehouse ? ' — ' + session.warehouse.name : '');
    $('barcode').focus();
  }

  async function start() {
    const answer = await api('session');
    if (answer.status === 200) {
      showScanner(answer.data);
    } else if (answer.status === 401) {
      showLogin();
    } else {
      showLogin();
      showMessage(answer.data.error.message, true);
    }
  }

  function cell(text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) {
      td.className = className;
    }
    return td;
  }

  function render(data) {
    const result = $('result');
    result.textContent = '';
    const card = document.createElement('div');
    card.className = 'card';
    const title = document.createElement('h2');
    if (data.type === 'product') {
      const product = data.product;
      title.textContent = product.name;
      card.appendChild(title);
      const barcodes = document.createElement('p');
      barcodes.textContent = product.barcodes.join(', ');
      card.appendChild(barcodes);
      const table = document.createElement('table');
      for (const line of data.stock) {
        const tr = document.createElement('tr');
        tr.appendChild(cell(line.warehouse + ' — ' + line.location));
        tr.appendChild(cell(line.quantity + ' ' + product.unit, 'qty'));
        table.appendChild(tr);
      }
      card.appendChild(table);
    } else {
      title.textContent = data.location.name;
      card.appendChild(title);
      const p = document.createElement('p');
      p.textContent = data.location.kind +
        (data.location.warehouse ? ' — ' + data.location.warehouse : '');
      card.appendChild(p);
    }
    result.appendChild(card);
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
      showMessage('Too many attempts, wait a moment.', true);
    } else {
      showMessage('Wrong user name or password.', true);
    }
  });

  $('logout').addEventListener('click', async () => {
    await fetch('/' + encodeURIComponent(database) + '/session/logout', {
      method: 'POST', credentials: 'same-origin'});
    $('result').textContent = '';
    showLogin();
  });

  $('scan-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = $('barcode');
    const barcode = input.value.trim();
    input.value = '';
    input.focus();
    if (!barcode) {
      return;
    }
    const answer = await api('lookup?barcode=' + encodeURIComponent(barcode));
    if (answer.status === 200) {
      showMessage('');
      render(answer.data);
    } else if (answer.status === 401) {
      showLogin();
    } else {
      $('result').textContent = '';
      showMessage(answer.data.error.message, true);
    }
  });

  start();
}());
